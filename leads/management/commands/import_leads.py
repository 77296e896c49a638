"""`manage.py import_leads FILE --workspace NAME [--strict]`: a CSV import from the shell.

The same two service calls as `POST /api/leads/upload/` (create checks and stores the file, run
imports it), run in this process with a progress bar. Exits non-zero when the file is refused or the
job does not succeed, so scripts can rely on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from leads.exceptions import ImportFileError
from leads.models import Job, Workspace
from leads.services.imports import import_job_create, import_job_run

ERRORS_SHOWN = 20


class Command(BaseCommand):
    help = "Import leads from a CSV file into a workspace, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file to import.")
        parser.add_argument("--workspace", required=True, help="Name of the workspace to import into.")
        parser.add_argument("--strict", action="store_true", help="All-or-nothing: store nothing if any row fails.")
        parser.add_argument("--create-workspace", action="store_true", help="Create the workspace if it is missing.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (for logs and CI).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        name = options["workspace"]
        if options["create_workspace"]:
            workspace, _ = Workspace.objects.get_or_create(name=name)
        else:
            workspace = Workspace.objects.filter(name=name).first()
            if workspace is None:
                raise CommandError(f"No workspace named {name!r}: pass --create-workspace to create it.")
        with path.open("rb") as handle:
            try:
                job = import_job_create(workspace=workspace, user=None, upload=File(handle, name=str(path)),
                                        filename=path.name, strict=options["strict"], inline=True)
            except ImportFileError as exc:
                raise CommandError(exc.message) from exc
        with tqdm(total=job.total, unit="row", desc=f"import job {job.pk}", disable=options["no_progress"],
                  file=self.stderr._out) as bar:

            def progress(current: Job) -> None:
                bar.total = max(current.total, current.processed)
                bar.update(current.processed - bar.n)
                bar.set_postfix(created=current.created, updated=current.updated, skipped=current.skipped,
                                failed=current.failed, refresh=False)

            import_job_run(job.pk, progress=progress)
        job.refresh_from_db()
        for error in job.errors[:ERRORS_SHOWN]:
            column = f" [{error['column']}]" if error.get("column") else ""
            self.stderr.write(f"line {error['line']}{column}: {error['reason']}")
        if len(job.errors) > ERRORS_SHOWN or job.errors_truncated:
            self.stderr.write(f"... and more: see job {job.pk} (GET /api/jobs/{job.pk}/).")
        self.stdout.write(f"Job {job.pk} {job.status}: {job.message}")
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(f"Job {job.pk} ended {job.status}.")
