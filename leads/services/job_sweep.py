"""The jobs sweep: what beat runs every half lease (and every worker at start) so that no import or
scoring run waits for a worker that is gone, and no upload outlives its import."""

from __future__ import annotations

from leads.services.imports import import_jobs_resume
from leads.services.scoring import score_jobs_resume
from leads.services.upload_store import uploads_orphaned_discard


def jobs_sweep(*, at_start: bool = False) -> dict[str, int]:
    """Queue again the imports and chunks a dead worker held, and remove uploads nothing will import.
    Safe to run as often as liked: every delivery claims its work first."""
    return {"imports": import_jobs_resume(at_start=at_start), "chunks": score_jobs_resume(at_start=at_start),
            "uploads_removed": uploads_orphaned_discard()}
