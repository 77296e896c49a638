"""Celery tasks: thin interfaces that take ids and call a service, which re-reads the rows."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import task_prerun, worker_ready
from django.db import InterfaceError, OperationalError, reset_queries

from leads.queue import (
    DELIVER,
    DISPATCH,
    ENGAGEMENT_FOLD,
    ENGAGEMENT_RESCORE,
    IMPORT,
    JOBS_SWEEP,
    QUEUE_UNAVAILABLE,
    SCORE_CHUNK,
    SCORE_REFRESH,
    SWEEP,
    TRAIN,
)
from leads.services.automations import (
    DISPATCH_BATCH,
    automations_sweep,
    executions_deliver,
    transitions_dispatch,
)
from leads.services.engagement import engagement_fold
from leads.services.imports import import_job_run
from leads.services.job_sweep import jobs_sweep
from leads.services.jobs import job_fail
from leads.services.scoring import engagement_rescore, score_chunk_run, scores_refresh
from leads.services.training_jobs import training_run

__all__ = ["QUEUE_UNAVAILABLE", "automations_sweep_task", "engagement_fold_task", "engagement_rescore_task",
           "execution_deliver_task", "jobs_sweep_task", "leads_import_task", "score_chunk_task",
           "scores_refresh_task", "training_task", "transitions_dispatch_task"]
DISPATCH_ROUNDS = 20  # per task: a backlog beyond 20 batches is taken up by the next nudge or sweep

logger = logging.getLogger(__name__)


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
        logger.error("Task %s failed for good: %s", self.name, exc)
        job_id = args[0] if self.name == IMPORT else None
        chunk_id = args[0] if self.name == SCORE_CHUNK else None
        job_fail(job_id=job_id, chunk_id=chunk_id, reason=f"{type(exc).__name__}: {exc}")


class _TrainTask(_JobTask):
    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        logger.error("Task %s failed for good: %s", self.name, exc)
        job_fail(job_id=args[0], reason=f"{type(exc).__name__}: {exc}")


@shared_task(base=_TrainTask, name=TRAIN)
def training_task(job_id: int) -> None:
    training_run(job_id)


@shared_task(base=_JobTask, name=SCORE_CHUNK)
def score_chunk_task(chunk_id: int) -> None:
    score_chunk_run(chunk_id)


@shared_task(base=_JobTask, name=IMPORT)
def leads_import_task(job_id: int) -> None:
    import_job_run(job_id)


class _AutomationTask(Task):
    """Retries transient database errors; a delivery that still fails is found again by the sweep."""

    autoretry_for = (OperationalError, InterfaceError)
    retry_backoff = 2
    retry_backoff_max = 60
    max_retries = 5
    acks_late = True
    reject_on_worker_lost = True


@shared_task(base=_AutomationTask, name=DISPATCH)
def transitions_dispatch_task() -> None:
    for _ in range(DISPATCH_ROUNDS):
        if transitions_dispatch() < DISPATCH_BATCH:
            return


@shared_task(base=_AutomationTask, name=DELIVER)
def execution_deliver_task(execution_ids: list[int] | int) -> None:
    # A bare id is a message queued before deliveries came in batches.
    executions_deliver(execution_ids if isinstance(execution_ids, list) else [execution_ids])


@shared_task(base=_AutomationTask, name=SWEEP)
def automations_sweep_task() -> None:
    counts = automations_sweep()
    if any(counts.values()):
        logger.info("Automations sweep: %s", counts)


@shared_task(base=_AutomationTask, name=JOBS_SWEEP)
def jobs_sweep_task() -> None:
    counts = jobs_sweep()
    if any(counts.values()):
        logger.info("Jobs sweep re-queued %s", counts)


@shared_task(base=_AutomationTask, name=ENGAGEMENT_RESCORE)
def engagement_rescore_task(workspace_id: int) -> None:
    engagement_rescore(workspace_id=workspace_id)


@shared_task(base=_AutomationTask, name=ENGAGEMENT_FOLD)
def engagement_fold_task(workspace_id: int) -> None:
    engagement_fold(workspace_id=workspace_id)


@shared_task(base=_AutomationTask, name=SCORE_REFRESH)
def scores_refresh_task() -> None:
    started = scores_refresh()
    if started:
        logger.info("Scheduled refresh started %d scoring runs", started)


@task_prerun.connect
def _forget_debug_queries(task: Task | None = None, **_: Any) -> None:
    # Django forgets logged queries (DEBUG on) when a request starts; a worker never starts one. A
    # task run eagerly runs inside its caller, whose log (a test counting queries) is not ours to clear.
    if task is not None and task.request.is_eager:
        return
    reset_queries()


@worker_ready.connect
def _resume_unfinished_jobs(**_: Any) -> None:
    # The embedded broker forgets what a killed worker had fetched: at start, every unfinished chunk
    # and import nobody holds is queued again. What a worker killed a moment ago still holds (its
    # lease runs on) is taken over by the jobs sweep once the lease has run out.
    counts = jobs_sweep(at_start=True)
    if any(counts.values()):
        logger.info("Re-queued %d unfinished scoring chunks and %d import jobs", counts["chunks"], counts["imports"])
    # Deliveries a killed worker held (their lease runs out) and an outbox left behind.
    automations_sweep()


# --- Connectors -----------------------------------------------------------------------------------
from leads.queue import HUBSPOT_SYNC  # noqa: E402
from leads.services.connectors import hubspot_sync_fail, hubspot_sync_run  # noqa: E402

__all__ += ["hubspot_sync_task"]


class _SyncTask(_JobTask):
    """As _JobTask, but when the retries run out the sync job fails with a sync's own message."""

    def on_failure(self, exc: Exception, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        logger.error("Task %s failed for good: %s", self.name, type(exc).__name__)
        hubspot_sync_fail(job_id=args[0], reason=type(exc).__name__)


@shared_task(base=_SyncTask, name=HUBSPOT_SYNC)
def hubspot_sync_task(job_id: int) -> None:
    hubspot_sync_run(job_id)
