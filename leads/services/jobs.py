"""The job life cycle, for imports and scoring alike: queueing, the moves between states
(queued -> running -> succeeded / failed / cancelled, each counted in `leadscore_jobs_total`),
waiting within a budget, cancelling, recording errors. Services call these; none sets a status
of its own."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leads.exceptions import ConflictError, QueueUnavailableError
from leads.metrics import JOBS
from leads.models import Job, JobChunk
from leads.queue import enqueue
from leads.services.upload_store import upload_discard

JOB_ALREADY_FINISHED = "This job has already finished; there is nothing to cancel."
JOB_FAILED = "The job stopped on an internal error:"
JOB_FAILED_IMPORT = "Rows already imported are kept; upload the file again to import the rest."
JOB_FAILED_SCORE = "Scores already written are kept; start the run again to score the rest."
JOB_FAILED_TRAIN = "No model was stored; start the training again."


def job_tasks_queue(*, job_id: int, task_name: str, task_ids: Iterable[int]) -> None:
    """Queue a job's tasks, one per id. If the broker can't be reached, nobody would ever run the
    job: it is marked failed and QueueUnavailableError goes up (the client gets a 503)."""
    try:
        for task_id in task_ids:
            enqueue(task_name, task_id)
    except QueueUnavailableError as exc:
        job_fail(job_id=job_id, reason=exc.message)
        raise


def job_mark_running(*, job: Job) -> None:
    """A queued job's first task started (a job already running or finished is left alone)."""
    Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(status=Job.Status.RUNNING,
                                                                   started_at=timezone.now())


def job_finish(*, job: Job, status: str, message: str, fields: Iterable[str] = ()) -> None:
    """End `job` with `status` and `message`, saving `fields` too (counters the caller changed)."""
    now = timezone.now()
    job.status, job.message, job.finished_at = status, message[:2000], now
    job.started_at = job.started_at or now
    job.save(update_fields=["status", "message", "finished_at", "started_at", *fields, "updated_at"])
    JOBS.labels(kind=job.kind, status=status).inc()


def job_wait(*, job: Job, timeout: float | None = None, poll_seconds: float = 0.1) -> Job:
    """Re-read the job until it finishes or the wait budget runs out; returns the freshest copy."""
    budget = settings.JOB_WAIT_SECONDS if timeout is None else timeout
    deadline = time.monotonic() + budget
    job.refresh_from_db()
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(min(poll_seconds, max(deadline - time.monotonic(), 0)))
        poll_seconds = min(poll_seconds * 1.5, 0.5)
        job.refresh_from_db()
    return job


def job_cancel(*, job: Job) -> Job:
    """Stop a queued or running job. Work already written stays; chunks not yet run are skipped."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            raise ConflictError(JOB_ALREADY_FINISHED, code="job_finished")
        job.cancel_requested = True
        job.status = Job.Status.CANCELLED
        job.finished_at = timezone.now()
        job.message = job.message or "Cancelled by request."
        job.save(update_fields=["cancel_requested", "status", "finished_at", "message", "updated_at"])
    JOBS.labels(kind=job.kind, status=job.status).inc()
    if job.kind == Job.Kind.IMPORT:
        # Nothing will import it now. A worker reading it keeps its open file (and stops at its next
        # batch); one that dies meanwhile leaves nothing behind.
        upload_discard(job)
    return job


def errors_append(job: Job, new_errors: list[dict[str, Any]], *, cap: int | None = None) -> list[str]:
    """Append to job.errors within the cap; returns the fields to save."""
    if not new_errors:
        return []
    cap = settings.JOB_MAX_ERRORS if cap is None else cap
    room = max(cap - len(job.errors), 0)
    job.errors = [*job.errors, *new_errors[:room]]
    if len(new_errors) > room:
        job.errors_truncated = True
    return ["errors", "errors_truncated"]


def job_fail(*, job_id: int | None = None, chunk_id: int | None = None, reason: str) -> None:
    """Mark a job failed after its task gave up, so nobody waits for it for ever."""
    if job_id is None and chunk_id is not None:
        job_id = JobChunk.objects.filter(pk=chunk_id).values_list("job_id", flat=True).first()
    if job_id is None:
        return
    job = Job.objects.filter(pk=job_id).only("kind", "params").first()
    if job is None:
        return
    again = {Job.Kind.IMPORT: JOB_FAILED_IMPORT, Job.Kind.TRAIN: JOB_FAILED_TRAIN}.get(job.kind, JOB_FAILED_SCORE)
    message = f"{JOB_FAILED} {reason.rstrip('.')}. {again}"
    updated = Job.objects.filter(pk=job_id, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
        status=Job.Status.FAILED, finished_at=timezone.now(), message=message[:2000])
    if not updated:
        return
    JOBS.labels(kind=job.kind, status=Job.Status.FAILED).inc()
    if job.kind == Job.Kind.IMPORT:
        upload_discard(job)  # nothing will import it now
