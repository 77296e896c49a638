"""Celery tasks: thin interfaces that take ids and call a service, which re-reads the rows."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any) -> None:
    """Send a task once the surrounding transaction commits (at once in eager mode, as in tests)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        task.apply(args=args, throw=True)
    else:
        transaction.on_commit(lambda: task.delay(*args))


@shared_task(acks_late=True, reject_on_worker_lost=True)
def score_chunk_task(chunk_id: int) -> None:
    from leads.services.scoring import score_chunk_run

    score_chunk_run(chunk_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
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
