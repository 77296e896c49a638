"""Celery tasks: thin interfaces that take ids and call a service, which re-reads the rows."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import task_prerun, worker_ready
from django.conf import settings
from django.db import InterfaceError, OperationalError, reset_queries, transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from leads.exceptions import QueueUnavailableError

logger = logging.getLogger(__name__)


QUEUE_UNAVAILABLE = "The task queue is not reachable right now, so the job could not start; try again shortly."
# A broker outage must answer quickly, not hang the request through kombu's default retries.
_SEND_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def enqueue(task: Task, *args: Any) -> None:
    """Send a task now (at once inline in eager mode, as in tests; after commit inside a transaction).

    Raises QueueUnavailableError when the broker can't be reached, so the caller can fail its job
    and the client gets a 503 instead of a job that would wait for ever.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.apply(args=args, throw=True)
    elif transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: task.apply_async(args=args, retry_policy=_SEND_RETRY_POLICY))
    else:
        try:
            task.apply_async(args=args, retry_policy=_SEND_RETRY_POLICY)
        except (KombuOperationalError, ConnectionError, OSError) as exc:
            logger.error("Could not queue %s%r: %s", task.name, args, exc)
            raise QueueUnavailableError(QUEUE_UNAVAILABLE) from exc


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


@task_prerun.connect
def _forget_debug_queries(**_: Any) -> None:
    # Django forgets logged queries (DEBUG on) when a request starts; a worker never starts one.
    reset_queries()


@worker_ready.connect
def _resume_unfinished_jobs(**_: Any) -> None:
    # The embedded broker forgets what a killed worker held; re-queueing unwritten chunks at start
    # makes "restart the worker" the recovery on every broker.
    from leads.services.imports import import_jobs_resume
    from leads.services.scoring import score_jobs_resume

    chunks, imports = score_jobs_resume(), import_jobs_resume()
    if chunks or imports:
        logger.info("Re-queued %d unfinished scoring chunks and %d import jobs", chunks, imports)
