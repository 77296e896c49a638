"""The beat schedule in django-celery-beat's tables: present after `migrate`, idempotent (ours and
beat's own start-up import), following SCORE_REFRESH_INTERVAL, and read by the DatabaseScheduler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from leads.services.beat_schedule import MANAGED, beat_schedule_sync

ROOT = Path(__file__).resolve().parents[3]


def _schedule_with(**env: str) -> dict[str, Any]:
    """CELERY_BEAT_SCHEDULE as main/settings.py builds it from this environment (a fresh interpreter)."""
    code = "import json; from django.conf import settings; print(json.dumps(settings.CELERY_BEAT_SCHEDULE))"
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "main.settings_test", **env}
    done = subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True,
                          cwd=ROOT, timeout=60)
    return json.loads(done.stdout)


@pytest.fixture
def start_beat(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., DatabaseScheduler]]:
    """What `celery beat --scheduler django_celery_beat.schedulers:DatabaseScheduler` does as it
    starts (setup_schedule), returning the scheduler. Between ticks the scheduler closes the
    connections Django would close at the end of a request; here that would close the test database."""
    monkeypatch.setattr("django_celery_beat.schedulers.close_old_connections", lambda: None)
    made: list[DatabaseScheduler] = []

    def start(*, setup: bool = True) -> DatabaseScheduler:
        scheduler = DatabaseScheduler(app=current_app, lazy=True)
        made.append(scheduler)
        if setup:
            scheduler.setup_schedule()
        return scheduler

    yield start
    for scheduler in made:
        scheduler._finalize.cancel()  # its sync-at-exit would run after the test database is gone


def _rows() -> dict[str, tuple[str, int, str, bool]]:
    return {task.name: (task.task, task.interval.every, task.interval.period, task.enabled)
            for task in PeriodicTask.objects.select_related("interval")}


@pytest.mark.django_db
def test_the_settings_schedule_is_in_the_tables_after_migrate(settings: Any) -> None:
    """The test database was made by `migrate`, as every deployment's is: the rows are there."""
    expected = {name: (entry["task"], int(entry["schedule"]), "seconds", True)
                for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    assert set(expected) == {"automations-sweep", "jobs-sweep", "scores-refresh"}
    assert _rows() == expected
    assert set(PeriodicTask.objects.values_list("description", flat=True)) == {MANAGED}
    for task in PeriodicTask.objects.all():
        assert task.task in current_app.tasks

    PeriodicTask.objects.all().delete()
    out = StringIO()
    call_command("beat_schedule_sync", stdout=out)
    assert out.getvalue().strip() == "Beat schedule created: automations-sweep, jobs-sweep, scores-refresh."
    assert _rows() == expected


@pytest.mark.django_db
def test_setup_twice_and_beats_own_start_up_create_no_duplicates(
        start_beat: Callable[..., DatabaseScheduler]) -> None:
    rows = {task.name: (task.pk, task.interval_id) for task in PeriodicTask.objects.all()}
    intervals = IntervalSchedule.objects.count()
    assert len(rows) == 3

    call_command("migrate", "--noinput", verbosity=0)
    again = beat_schedule_sync()
    assert (again.created, again.updated, again.removed) == ([], [], [])
    out = StringIO()
    call_command("beat_schedule_sync", stdout=out)
    assert out.getvalue().strip() == "Beat schedule unchanged."
    scheduler = start_beat()
    assert {task.name: (task.pk, task.interval_id) for task in PeriodicTask.objects.all()} == rows
    assert IntervalSchedule.objects.count() == intervals
    assert set(scheduler.schedule) == set(rows)  # no celery.backend_cleanup: there is no result backend


@pytest.mark.django_db
def test_changing_score_refresh_interval_changes_the_entry(start_beat: Callable[..., DatabaseScheduler]) -> None:
    beat_schedule_sync(schedule=_schedule_with(SCORE_REFRESH_INTERVAL="21600"))
    assert _rows()["scores-refresh"] == ("leads.tasks.scores_refresh_task", 60, "seconds", True)
    pk = PeriodicTask.objects.get(name="scores-refresh").pk

    result = beat_schedule_sync(schedule=_schedule_with(SCORE_REFRESH_INTERVAL="30"))
    assert (result.created, result.updated, result.removed) == ([], ["scores-refresh"], [])
    assert _rows()["scores-refresh"] == ("leads.tasks.scores_refresh_task", 30, "seconds", True)
    assert PeriodicTask.objects.get(name="scores-refresh").pk == pk

    # 0 turns the refresh off: the entry goes (beat alone would keep running it).
    result = beat_schedule_sync(schedule=_schedule_with(SCORE_REFRESH_INTERVAL="0"))
    assert result.removed == ["scores-refresh"]
    assert set(_rows()) == {"automations-sweep", "jobs-sweep"}
    # What a running beat reads from the tables (this process's own settings still have the entry).
    assert set(start_beat(setup=False).schedule) == {"automations-sweep", "jobs-sweep"}


@pytest.mark.django_db
def test_a_pause_in_the_admin_survives_setup_and_other_tasks_are_left_alone(
        admin_client: Any, start_beat: Callable[..., DatabaseScheduler]) -> None:
    task = PeriodicTask.objects.get(name="automations-sweep")
    page = admin_client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
    assert page.status_code == 200 and b"automations-sweep" in page.content
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)  # what the admin's "disable" action does
    hand_made = PeriodicTask.objects.create(name="nightly report", task="leads.tasks.scores_refresh_task",
                                            interval=IntervalSchedule.objects.create(every=1, period="days"))
    beat_schedule_sync()
    assert "automations-sweep" not in start_beat().schedule
    assert PeriodicTask.objects.get(pk=task.pk).enabled is False
    assert PeriodicTask.objects.filter(pk=hand_made.pk).exists()
