"""Where an accepted upload waits until a worker imports it (settings.UPLOAD_STORAGE).

- "filesystem": the file stays where the web process wrote it, under MEDIA_ROOT. Web and workers
  must share that folder: one machine (the embedded default) or one volume (docker compose).
- "database": the web process copies the file into UploadPart rows of 1 MB, then deletes its own
  copy; the worker that runs the import writes them back to a file on its own disk. Web and worker
  processes on different machines (Render, Heroku, several hosts) then share nothing but the
  database, which they share anyway. The parts are deleted with the file when the import ends.

Either way the import itself reads a local file, with every pass it needs (header, strict
validation, resume after a crash).
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from leads.models import Job, UploadPart

PART_BYTES = 1024 * 1024
DATABASE = "database"
# An upload file nothing refers to is removed once untouched this long: longer than the web process
# takes between writing a file's last byte and creating its job (the row count of a large file).
ORPHAN_SECONDS = 15 * 60


def upload_keep(*, job: Job, path: Path) -> None:
    """Make the upload of a just-created job readable by the worker that will import it."""
    if settings.UPLOAD_STORAGE != DATABASE:
        return
    with transaction.atomic(), path.open("rb") as source:
        index = 0
        while data := source.read(PART_BYTES):
            UploadPart.objects.create(job=job, index=index, data=data)
            index += 1
        job.params = {**job.params, "storage": DATABASE, "parts": index}
        job.save(update_fields=["params", "updated_at"])
    path.unlink(missing_ok=True)


def upload_local_path(job: Job) -> Path | None:
    """The upload as a file on this machine, fetched from the database if that is where it waits;
    None when it is gone (the job finished meanwhile, or the file was removed)."""
    path = _path_here(job)
    if path is None or path.is_file():
        return path
    if job.params.get("storage") != DATABASE:
        return None
    parts = UploadPart.objects.filter(job=job).order_by("index")
    if parts.count() != job.params.get("parts"):
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("wb") as target:
        # One part in memory at a time: 1 MB, whatever the size of the file.
        for data in parts.values_list("data", flat=True).iterator(chunk_size=1):
            target.write(data)
    partial.replace(path)  # a worker killed halfway leaves no truncated file under the real name
    return path


def upload_discard(job: Job) -> None:
    """Remove the upload of a finished job, from this disk and from the database."""
    path = _path_here(job)
    if path is not None:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".part").unlink(missing_ok=True)
    if job.params.get("storage") == DATABASE:
        UploadPart.objects.filter(job=job).delete()


def _path_here(job: Job) -> Path | None:
    """Where the upload's file is (filesystem) or goes (database) on this machine: a worker writes
    the parts under its own MEDIA_ROOT, whatever folder the web process used."""
    path = Path(job.params.get("path", ""))
    if not path.name:
        return None
    if job.params.get("storage") == DATABASE:
        return Path(settings.MEDIA_ROOT) / "imports" / path.name
    return path


def uploads_orphaned_discard(*, older_than: float = ORPHAN_SECONDS) -> int:
    """Remove the upload files under this machine's MEDIA_ROOT that no queued or running import
    will read: left by a process killed between storing a file and its job, or a job that ended on
    a machine that could not remove them. Returns how many were removed."""
    directory = Path(settings.MEDIA_ROOT) / "imports"
    if not directory.is_dir():
        return 0
    wanted = {Path(params.get("path", "")).name for params in Job.objects.filter(
        kind=Job.Kind.IMPORT, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).values_list("params", flat=True)}
    cutoff = time.time() - older_than
    removed = 0
    for path in directory.iterdir():
        name = path.name.removesuffix(".part")
        try:
            if name in wanted or not path.is_file() or path.stat().st_mtime > cutoff:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
    return removed
