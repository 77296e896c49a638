"""The scheduled refresh: decaying scores redone once per SCORE_REFRESH_INTERVAL slot, and beat's entries.

DESIGN "Engagement" (rescoring on a schedule). `scores_refresh(now=…)` gets fixed clocks; the slot is
`now // SCORE_REFRESH_INTERVAL`, claimed per workspace with one compare-and-swap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import current_app

import leads.tasks  # noqa: F401  (registers the tasks beat names)
from leads.models import Job, Lead, Offer, Score, Workspace
from leads.services.engagement import events_ingest
from leads.services.scoring import engagement_rescore, fresh_scores, run_leads, score_job_start, scores_refresh
from leads.services.scoring_models import scoring_model_make_default
from leads.tests.conftest import Tenant
from leads.tests.engagement.support import current, decay_model, decay_offer, scored_leads
from leads.tests.factories import OfferFactory

pytestmark = pytest.mark.django_db

INTERVAL = 6 * 3600
# 13:00 UTC: the slot of 12:00–18:00, so an hour later is the same slot and six hours later the next.
T = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
SLOT = int(T.timestamp()) // INTERVAL


@dataclass
class World:
    decay: Offer
    plain: Offer
    ann: Lead  # has events
    bob: Lead  # has none
    theirs_offer: Offer
    eve: Lead  # another workspace, default model (no engagement part), has events


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant, settings: Any) -> World:
    """Every score fresh: the events' rescore has run."""
    settings.SCORE_REFRESH_INTERVAL = INTERVAL
    workspace = tenant.workspace
    decay = decay_offer(workspace)
    plain = OfferFactory(workspace=workspace, name="Plain")
    ann, bob = scored_leads(workspace, decay, "ann@example.com", "bob@example.com")
    score_job_start(workspace=workspace, user=None, offer=plain)
    events_ingest(workspace=workspace, items=[{"lead": ann.pk, "type": "email_open"}])
    engagement_rescore(workspace_id=workspace.pk)

    theirs_offer = OfferFactory(workspace=other_tenant.workspace, name="Theirs")
    (eve,) = scored_leads(other_tenant.workspace, theirs_offer, "eve@example.com")
    events_ingest(workspace=other_tenant.workspace, items=[{"lead": eve.pk, "type": "email_open"}])
    engagement_rescore(workspace_id=other_tenant.workspace.pk)
    assert not Score.objects.filter(is_current=True).exclude(stale_cause="").exists()
    return World(decay, plain, ann, bob, theirs_offer, eve)


def snapshot(world: World) -> dict[str, int]:
    """The current score id of every (lead, offer)."""
    return {
        "ann/decay": current(world.ann, world.decay).pk, "ann/plain": current(world.ann, world.plain).pk,
        "bob/decay": current(world.bob, world.decay).pk, "bob/plain": current(world.bob, world.plain).pk,
        "eve/theirs": current(world.eve, world.theirs_offer).pk,
    }


def refresh(now: datetime) -> tuple[int, int]:
    """scores_refresh at `now`: (what it returns, jobs it created)."""
    jobs = Job.objects.count()
    started = scores_refresh(now=now)
    return started, Job.objects.count() - jobs


def test_only_decaying_scores_of_leads_with_events_are_redone_with_cause_schedule(world: World,
                                                                                  tenant: Tenant) -> None:
    """Ann's one open today under engagement_decay: 5, plus active lately 5 = 10, before and after."""
    before = snapshot(world)
    theirs_jobs = Job.objects.filter(workspace=world.theirs_offer.workspace).count()
    started, jobs = refresh(T)
    assert started == jobs >= 1
    after = snapshot(world)
    assert {key for key in before if before[key] != after[key]} == {"ann/decay"}
    redone = current(world.ann, world.decay)
    assert (redone.cause, redone.stale_cause, redone.score, redone.previous_score) == ("schedule", "", 10, 10)
    assert Job.objects.filter(workspace=world.theirs_offer.workspace).count() == theirs_jobs
    tenant.workspace.refresh_from_db()
    assert tenant.workspace.score_refreshed_slot == SLOT


def test_a_second_call_in_the_same_slot_starts_nothing(world: World) -> None:
    refresh(T)
    scores = Score.objects.count()
    assert refresh(T + timedelta(hours=1)) == (0, 0)
    assert refresh(T) == (0, 0)
    assert Score.objects.count() == scores


def test_the_next_slot_runs_again(world: World) -> None:
    refresh(T)
    first = current(world.ann, world.decay).pk
    started, jobs = refresh(T + timedelta(hours=6))
    assert started == jobs >= 1
    again = current(world.ann, world.decay)
    assert again.pk != first
    assert again.cause == "schedule"
    assert Workspace.objects.get(pk=world.decay.workspace_id).score_refreshed_slot == SLOT + 1
    assert current(world.bob, world.decay).pk == snapshot(world)["bob/decay"]


def test_an_earlier_slot_after_a_later_one_starts_nothing(world: World) -> None:
    """A beat whose clock lags must not redo a slot already done."""
    refresh(T + timedelta(hours=6))
    assert refresh(T) == (0, 0)


def test_interval_0_turns_the_refresh_off(world: World, settings: Any) -> None:
    settings.SCORE_REFRESH_INTERVAL = 0
    before = snapshot(world)
    assert refresh(T) == (0, 0)
    assert snapshot(world) == before
    assert Workspace.objects.get(pk=world.decay.workspace_id).score_refreshed_slot is None


def test_a_default_model_that_decays_covers_offers_without_a_model(tenant: Tenant, settings: Any) -> None:
    settings.SCORE_REFRESH_INTERVAL = INTERVAL
    workspace = tenant.workspace
    scoring_model_make_default(model=decay_model(workspace), user=None)
    offer = OfferFactory(workspace=workspace)  # no model of its own: the default
    (ann,) = scored_leads(workspace, offer, "ann@example.com")
    events_ingest(workspace=workspace, items=[{"lead": ann.pk, "type": "email_click"}])
    engagement_rescore(workspace_id=workspace.pk)
    before = current(ann, offer)
    assert before.score_breakdown["components"][-1]["part"] == "engagement"

    refresh(T)
    after = current(ann, offer)
    assert (after.pk != before.pk, after.cause) == (True, "schedule")


def test_a_workspace_without_a_decaying_model_is_left_alone(other_tenant: Tenant, settings: Any) -> None:
    settings.SCORE_REFRESH_INTERVAL = INTERVAL
    offer = OfferFactory(workspace=other_tenant.workspace)
    (eve,) = scored_leads(other_tenant.workspace, offer, "eve@example.com")
    events_ingest(workspace=other_tenant.workspace, items=[{"lead": eve.pk, "type": "email_open"}])
    engagement_rescore(workspace_id=other_tenant.workspace.pk)
    before = current(eve, offer).pk
    assert refresh(T) == (0, 0)
    assert current(eve, offer).pk == before


def test_scores_already_stale_are_redone_too(tenant: Tenant, settings: Any) -> None:
    """Every decaying score of a lead with events is redone once per slot, also one that went stale
    (its rescore message lost) while no other score was due: it keeps its first cause."""
    settings.SCORE_REFRESH_INTERVAL = INTERVAL
    offer = decay_offer(tenant.workspace)
    (ann,) = scored_leads(tenant.workspace, offer, "ann@example.com")
    events_ingest(workspace=tenant.workspace, items=[{"lead": ann.pk, "type": "email_open"}])
    stale = current(ann, offer)
    assert stale.stale_cause == "events"

    refresh(T)
    redone = current(ann, offer)
    assert redone.pk != stale.pk
    assert (redone.cause, redone.stale_cause, redone.score) == ("events", "", 10)  # 5 for the open + 5 active


def test_a_lost_rescore_message_is_made_up_for_by_the_next_refresh(tenant: Tenant) -> None:
    """queue.enqueue_later: a lost message delays the work but never drops it; for a rescore, the
    scheduled refresh of the next slot redoes every stale score."""
    offer = decay_offer(tenant.workspace)
    (ann,) = scored_leads(tenant.workspace, offer, "ann@example.com")
    events_ingest(workspace=tenant.workspace, items=[{"lead": ann.pk, "type": "email_open"}])
    stale = current(ann, offer)  # the debounced rescore never came (eager mode sends nothing later)
    assert stale.stale_cause == "events"
    now = datetime.now(UTC)
    assert scores_refresh(now=now) >= 1
    redone = current(ann, offer)
    assert redone.pk != stale.pk
    assert (redone.cause, redone.stale_cause) == ("events", "")
    assert scores_refresh(now=now) == 0  # the same slot: nothing again


# --- beat ---------------------------------------------------------------------------------------------


def test_the_beat_schedule_holds_both_entries(settings: Any) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["scores-refresh"] == {"task": "leads.tasks.scores_refresh_task",
                                          "schedule": min(60.0, float(settings.SCORE_REFRESH_INTERVAL))}
    assert schedule["automations-sweep"] == {"task": "leads.tasks.automations_sweep_task",
                                             "schedule": settings.AUTOMATION_SWEEP_SECONDS}
    for entry in schedule.values():
        assert entry["task"] in current_app.tasks


def _beat_schedule_with(interval: str) -> dict[str, tuple[str, float]]:
    """The two engagement-relevant beat entries as settings build them for this SCORE_REFRESH_INTERVAL."""
    env = {**os.environ, "SCORE_REFRESH_INTERVAL": interval, "DJANGO_SETTINGS_MODULE": "main.settings_test"}
    code = ("import json; from django.conf import settings; s = settings.CELERY_BEAT_SCHEDULE; "
            "print(json.dumps({k: [s[k]['task'], s[k]['schedule']] for k in ('scores-refresh', 'automations-sweep') "
            "if k in s}))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[3], timeout=60)
    return {key: (task, schedule) for key, (task, schedule) in json.loads(done.stdout).items()}


@pytest.mark.parametrize(
    ("interval", "refresh_entry"),
    [("0", None), ("30", ("leads.tasks.scores_refresh_task", 30.0)),
     ("21600", ("leads.tasks.scores_refresh_task", 60.0))],
    ids=["off", "every 30 s", "every 6 h, checked each minute"],
)
def test_the_refresh_entry_follows_the_interval(interval: str, refresh_entry: tuple[str, float] | None,
                                                settings: Any) -> None:
    entries = {"automations-sweep": ("leads.tasks.automations_sweep_task", settings.AUTOMATION_SWEEP_SECONDS)}
    if refresh_entry is not None:
        entries["scores-refresh"] = refresh_entry
    assert _beat_schedule_with(interval) == entries


def test_the_beat_task_runs_the_refresh(world: World) -> None:
    before = current(world.ann, world.decay).pk
    current_app.tasks["leads.tasks.scores_refresh_task"].apply(throw=True)
    redone = current(world.ann, world.decay)
    assert (redone.pk != before, redone.cause) == (True, "schedule")
    assert current(world.bob, world.decay).pk == snapshot(world)["bob/decay"]


def test_the_rescore_task_runs_the_debounced_rescore(tenant: Tenant) -> None:
    offer = decay_offer(tenant.workspace)
    (ann,) = scored_leads(tenant.workspace, offer, "ann@example.com")
    events_ingest(workspace=tenant.workspace, items=[{"lead": ann.pk, "type": "email_open"}])
    current_app.tasks["leads.tasks.engagement_rescore_task"].apply(args=(tenant.workspace.pk,), throw=True)
    assert current(ann, offer).cause == "events"


def test_a_stale_run_finds_its_leads_one_probe_each(tenant: Tenant) -> None:
    """The leads a run takes (only stale ones, or the unscored and stale ones) are asked lead by
    lead in lead order, through the (lead, offer) index: not by collecting the offer's scores in
    score order first, which read a row at a random place each (10 s at a million leads)."""
    from django.db import connection

    workspace = tenant.workspace
    offer = decay_offer(workspace)
    ann, bob, cid = scored_leads(workspace, offer, "ann@example.com", "bob@example.com", "cid@example.com")
    Score.objects.filter(lead=bob, is_current=True).update(stale_cause="events")
    dee = Lead.objects.create(workspace=workspace, email="dee@example.com", name="dee", dedupe_key="dee")
    for stale_only, rescore, expected in ((True, False, [bob]), (False, False, [bob, dee]),
                                          (False, True, [ann, bob, cid, dee])):
        leads = run_leads(workspace=workspace, offer=offer, lead_ids=None, rescore=rescore, stale_only=stale_only)
        assert list(leads) == expected
        sql, params = leads.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
        if not rescore:
            assert "CORRELATED" in plan and "one_current_score_per_lead_offer" in plan, plan
        assert "score_distribution" not in plan and "score_current" not in plan and "TEMP B-TREE" not in plan, plan
    job = score_job_start(workspace=workspace, user=None, offer=offer, stale_only=True).job
    assert job.total == 1 and job.status == "succeeded"
    assert current(bob, offer).cause == "events"


def test_a_chunk_checks_its_leads_scores_one_probe_each(tenant: Tenant) -> None:
    """Before scoring a chunk, a run skips the leads whose score another run made fresh meanwhile:
    one (lead, offer) probe per lead, never a walk of the offer's scores in their best-first order."""
    from django.db import connection

    offer = decay_offer(tenant.workspace)
    ann, bob = scored_leads(tenant.workspace, offer, "ann@example.com", "bob@example.com")
    Score.objects.filter(lead=bob, is_current=True).update(stale_cause="events")
    # A chunk's worth of ids (the plan SQLite picks depends on how many the list holds).
    chunk = [ann.pk, bob.pk, *range(bob.pk + 1, bob.pk + 2000)]
    fresh = fresh_scores(offer=offer, lead_ids=chunk)
    assert set(fresh) == {ann.pk}
    sql, params = fresh.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " | ".join(str(row[-1]) for row in cursor.fetchall())
    assert "one_current_score_per_lead_offer" in plan and "score_current" not in plan, plan
