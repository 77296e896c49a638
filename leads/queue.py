"""The one adapter to the task broker: services queue work by task name and never import tasks.py.

    enqueue("leads.tasks.score_chunk_task", chunk_id)

Eager mode (unit tests) runs the task at once; inside a transaction the send waits for the
commit, so a worker never looks for rows that aren't there yet. A broker that can't be reached
raises QueueUnavailableError, so the caller can fail its job and the client gets a 503 instead
of a job that would wait for ever.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as KombuOperationalError

from leads.exceptions import QueueUnavailableError

logger = logging.getLogger(__name__)

SCORE_CHUNK = "leads.tasks.score_chunk_task"
IMPORT = "leads.tasks.leads_import_task"
DISPATCH = "leads.tasks.transitions_dispatch_task"
DELIVER = "leads.tasks.execution_deliver_task"
SWEEP = "leads.tasks.automations_sweep_task"
ENGAGEMENT_RESCORE = "leads.tasks.engagement_rescore_task"
ENGAGEMENT_FOLD = "leads.tasks.engagement_fold_task"
SCORE_REFRESH = "leads.tasks.scores_refresh_task"
TRAIN = "leads.tasks.training_task"
JOBS_SWEEP = "leads.tasks.jobs_sweep_task"

QUEUE_UNAVAILABLE = "The task queue is not reachable right now, so the job could not start; try again shortly."
# A broker outage must answer quickly, not hang the request through kombu's default retries.
_SEND_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def _send(task_name: str, args: tuple[Any, ...], countdown: float | None = None) -> None:
    current_app.send_task(task_name, args=args, countdown=countdown, retry_policy=_SEND_RETRY_POLICY)


def enqueue(task_name: str, *args: Any) -> None:
    """Send task `task_name` with `args` (see the module docstring for when it runs)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        current_app.tasks[task_name].apply(args=args, throw=True)
    elif transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _send(task_name, args))
    else:
        try:
            _send(task_name, args)
        except (KombuOperationalError, ConnectionError, OSError) as exc:
            logger.error("Could not queue %s%r: %s", task_name, args, exc)
            raise QueueUnavailableError(QUEUE_UNAVAILABLE) from exc


def enqueue_after_commit(task_name: str, *args: Any) -> None:
    """Send a task once the current transaction commits, eager mode included (a test inside a
    transaction that never commits sends nothing, as production would not either). A broker that
    is down then only delays the work: the sweep finds it. For nudges, not for a job's own tasks."""
    transaction.on_commit(lambda: _enqueue_quietly(task_name, args))


def _enqueue_quietly(task_name: str, args: tuple[Any, ...]) -> None:
    try:
        enqueue(task_name, *args)
    except QueueUnavailableError:
        logger.warning("Could not queue %s%r (the sweep will)", task_name, args)


def enqueue_later(task_name: str, *args: Any, countdown: float) -> None:
    """Send a task to run `countdown` seconds from now, best effort: whatever waits this way is also
    found later by a sweep (due deliveries by the automations sweep, stale scores by the scheduled
    refresh), so a lost message (or eager mode, which has no clock) delays the work but never drops it."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    send = lambda: _send_quietly(task_name, args, countdown)  # noqa: E731
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(send)
    else:
        send()


def enqueue_soon(task_name: str, *args: Any, countdown: float) -> None:
    """As enqueue_later, for work a reader waits for (events folded into aggregates): eager mode
    runs it at once, as enqueue does, instead of leaving it to a sweep."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        enqueue(task_name, *args)
        return
    transaction.on_commit(lambda: _send_quietly(task_name, args, countdown))


def _send_quietly(task_name: str, args: tuple[Any, ...], countdown: float) -> None:
    try:
        _send(task_name, args, countdown)
    except (KombuOperationalError, ConnectionError, OSError) as exc:
        logger.warning("Could not queue %s%r for later (the sweep will): %s", task_name, args, exc)

# --- Connectors ---------------------------------------------------------------------------------
HUBSPOT_SYNC = "leads.tasks.hubspot_sync_task"
