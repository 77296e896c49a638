"""Celery tasks: thin interfaces that take ids and call a service, which re-reads the rows."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any) -> None:
    """Send a task once the surrounding transaction commits (at once in eager mode, as in tests)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.apply(args=args, throw=True)
    else:
        transaction.on_commit(lambda: task.delay(*args))


class _JobTask(Task):
    """Retries transient database errors (a busy SQLite file, a dropped connection); when the retries
    run out, the job is marked failed instead of staying "running" for ever."""

    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = 60
    max_retries = 5
    acks_late = True
    reject_on_worker_lost = True

    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        from leads.services.jobs import job_fail

        logger.error("Task %s failed for good: %s", self.name, exc)
        job_id = args[0] if self.name.endswith("leads_import_task") else None
        chunk_id = args[0] if self.name.endswith("score_chunk_task") else None
        job_fail(job_id=job_id, chunk_id=chunk_id, reason=f"{type(exc).__name__}: {exc}")


@shared_task(base=_JobTask)
def score_chunk_task(chunk_id: int) -> None:
    from leads.services.scoring import score_chunk_run

    score_chunk_run(chunk_id)


@shared_task(base=_JobTask)
def leads_import_task(job_id: int) -> None:
    from leads.services.imports import import_job_run

    import_job_run(job_id)


@worker_ready.connect
def _resume_unfinished_jobs(**_: Any) -> None:
    # The embedded broker forgets what a killed worker held; re-queueing unwritten chunks at start
    # makes "restart the worker" the recovery on every broker.
    from leads.services.scoring import score_jobs_resume

    queued = score_jobs_resume()
    if queued:
        logger.info("Re-queued %d unfinished scoring chunks", queued)
