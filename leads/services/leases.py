"""Leases: how a worker says "I am on it", and how a live worker takes over from a dead one.

The rule the automations' deliveries follow (`WorkflowExecution.updated_at`, AUTOMATION_LEASE_SECONDS),
applied to imports (`Job.heartbeat_at`) and scoring chunks (`JobChunk.heartbeat_at`), JOB_LEASE_SECONDS:

- claim: one UPDATE stamps the row with now, only if nobody holds it or the holder's stamp is older
  than the lease, so two deliveries of one task can't both run it;
- heartbeat: while it works, the holder renews the stamp every quarter of the lease from a thread
  of its own (`lease_kept`), so a long batch or a slow AI call is never taken for a dead worker;
- take-over: the jobs sweep (beat, and every worker at start) queues again what a holder left with
  an expired stamp; the claim decides who gets it.

A worker killed with SIGKILL stops renewing; within a lease and a sweep another worker (or the same
one, restarted) goes on from the last committed batch or the unwritten chunks, on any broker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections, models
from django.utils import timezone

logger = logging.getLogger(__name__)


def lease_seconds() -> float:
    return max(float(settings.JOB_LEASE_SECONDS), 1.0)


def lease_over(now: datetime | None = None) -> datetime:
    """Stamps older than this belong to a worker that stopped renewing them."""
    return (now or timezone.now()) - timedelta(seconds=lease_seconds())


def lease_free(field: str = "heartbeat_at", now: datetime | None = None) -> models.Q:
    """Rows nobody holds: never claimed, or their holder's lease ran out."""
    return models.Q(**{f"{field}__isnull": True}) | models.Q(**{f"{field}__lt": lease_over(now)})


class Lease:
    """A held lease; `lost` turns true when a renewal finds the row taken over by someone else
    (this process was frozen past the lease), so the holder can stop instead of racing the new one."""

    def __init__(self, queryset: models.QuerySet, stamp: datetime, field: str = "heartbeat_at") -> None:
        self._queryset = queryset
        self._field = field
        self.stamp = stamp
        self.lost = False

    def renew(self) -> None:
        now = timezone.now()
        renewed = self._queryset.filter(**{self._field: self.stamp}).update(**{self._field: now})
        if renewed:
            self.stamp = now
        else:
            self.lost = True


@contextmanager
def lease_kept(queryset: models.QuerySet, stamp: datetime, field: str = "heartbeat_at") -> Iterator[Lease]:
    """Renew the lease of the rows of `queryset` (claimed at `stamp`) until the block ends.

    Eager mode (unit tests, debugging) runs tasks inside the caller's transaction, where no other
    worker exists to take anything over: no thread there."""
    lease = Lease(queryset, stamp, field)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield lease
        return
    stop = threading.Event()
    thread = threading.Thread(target=_heartbeat, args=(lease, stop, lease_seconds() / 4), daemon=True,
                              name="lease-heartbeat")
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join(timeout=lease_seconds())


def _heartbeat(lease: Lease, stop: threading.Event, every: float) -> None:
    try:
        while not stop.wait(every) and not lease.lost:
            try:
                lease.renew()
            except DatabaseError as exc:  # a busy or restarting database: the next beat tries again
                logger.warning("Could not renew a job lease: %s", exc)
    finally:
        connections.close_all()  # this thread's own connections
