"""The beat schedule in django-celery-beat's tables, so the Django admin shows it.

    beat_schedule_sync() -> BeatScheduleSync(created=[…], updated=[…], removed=[…])

CELERY_BEAT_SCHEDULE (main/settings.py, from the environment: SCORE_REFRESH_INTERVAL,
AUTOMATION_SWEEP_SECONDS, JOB_LEASE_SECONDS) defines the entries. beat runs with django-celery-beat's
DatabaseScheduler, which reads PeriodicTask rows and, each time it starts, writes the setting's
entries into them by name. Every `migrate` ends with `beat_schedule_sync` (leads.apps; by hand:
`manage.py beat_schedule_sync`), which writes them the same way, through the scheduler's own
ModelEntry, so the rows are there before beat first starts, and also deletes the entries it wrote
that the setting no longer defines (SCORE_REFRESH_INTERVAL=0 turns the rescore off), which beat
alone would keep running. Idempotent: a second run changes nothing (interval rows are shared,
looked up by value).

In the admin (Periodic tasks) an entry can be paused, which survives restarts, or given another
interval, which beat follows at once until its next start re-applies the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import ModelEntry

#: Marks the rows this module writes (and may delete); the admin shows it as the task's description.
MANAGED = "From CELERY_BEAT_SCHEDULE (main/settings.py): beat re-applies its schedule when it starts."
_COMPARED = ("task", "interval_id", "crontab_id", "solar_id", "clocked_id", "args", "kwargs", "queue",
             "exchange", "routing_key", "priority", "headers", "expire_seconds", "description")


@dataclass
class BeatScheduleSync:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def _state(task: PeriodicTask) -> tuple[Any, ...]:
    return tuple(getattr(task, name) for name in _COMPARED)


def beat_schedule_sync(*, schedule: Mapping[str, Mapping[str, Any]] | None = None,
                       using: str = DEFAULT_DB_ALIAS) -> BeatScheduleSync:
    """Write `schedule` (default: settings.CELERY_BEAT_SCHEDULE) into PeriodicTask rows and delete the
    rows written earlier for entries it no longer has."""
    if using != DEFAULT_DB_ALIAS:
        return BeatScheduleSync()  # the scheduler reads and writes the default database only
    with transaction.atomic(using=using):
        return _sync(settings.CELERY_BEAT_SCHEDULE if schedule is None else schedule)


def _sync(schedule: Mapping[str, Mapping[str, Any]]) -> BeatScheduleSync:
    result = BeatScheduleSync()
    before = {task.name: _state(task) for task in PeriodicTask.objects.filter(name__in=list(schedule))}
    for name, entry in schedule.items():
        if name not in before:
            ModelEntry.from_entry(name, app=current_app, **{**entry, "description": MANAGED})
            result.created.append(name)
            continue
        # A row left as it was is not saved again: saving tells a running beat to reload everything.
        wanted = PeriodicTask(name=name, **ModelEntry._unpack_fields(**{**entry, "description": MANAGED}))
        if _state(wanted) != before[name]:
            ModelEntry.from_entry(name, app=current_app, **{**entry, "description": MANAGED})
            result.updated.append(name)
    gone = PeriodicTask.objects.filter(description=MANAGED).exclude(name__in=list(schedule))
    result.removed = sorted(gone.values_list("name", flat=True))
    for task in gone:
        task.delete()  # one by one: the model's delete signal tells a running beat
    return result
