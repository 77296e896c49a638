"""Scoring to automation, end to end: a scoring job (eager) writes scores, the outbox is drained
after the commit, and a score_threshold workflow fires once per crossing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from leads.models import Lead, Offer, Score, ScoreTransition, Workspace
from leads.services.automations import transitions_dispatch
from leads.services.leads import lead_update
from leads.services.scoring import score_job_start
from leads.services.scoring_models import _compiled, scoring_model_create
from leads.tests.automation.support import executions, make_workflow
from leads.tests.factories import LeadFactory
from leads.tests.receivers import Receiver

# The four-factor template (AI off, 0-100 from the rules): budget 10/20/30, size 10/20/30,
# industry stated 5 + technology 15, urgency stated 5 + this month 5 + this week 5 + immediately 5.
PROFILES = {
    "top": ("Software", {"budget": "100000", "company_size": "1000", "urgency": "immediately"}),  # 30+30+20+20
    "edge": ("Software", {"budget": "20000", "company_size": "200", "urgency": "this month"}),  # 20+20+20+10
    "near": ("Software", {"budget": "20000", "company_size": "200", "urgency": "later"}),  # 20+20+20+5
    "cold": ("", {}),
}


@pytest.fixture(autouse=True)
def _fresh_compiled_models() -> Iterator[None]:
    """Ids repeat after each test's rollback: a model compiled by another test must not answer."""
    _compiled.cache_clear()
    yield
    _compiled.cache_clear()


@pytest.fixture
def four_factor_offer(workspace: Workspace, offer: Offer, stages: None) -> Offer:
    model = scoring_model_create(workspace=workspace, user=None,
                                 data={"name": "Four factors", "template": "budget_size_industry_urgency"})
    offer.scoring_model = model
    offer.save(update_fields=["scoring_model"])
    return offer


@pytest.fixture
def leads(workspace: Workspace) -> dict[str, Lead]:
    return {key: LeadFactory(workspace=workspace, name=key.title(), industry=industry, attributes=attributes)
            for key, (industry, attributes) in PROFILES.items()}


def current(leads: dict[str, Lead], offer: Offer) -> dict[str, tuple[int, str, str]]:
    scores = {s.lead_id: (s.score, s.intent, s.stage) for s in Score.objects.filter(offer=offer, is_current=True)}
    return {key: scores[lead.pk] for key, lead in leads.items()}


@pytest.mark.django_db
def test_a_threshold_fires_once_per_crossing(workspace: Workspace, four_factor_offer: Offer, leads: dict[str, Lead],
                                             receiver: Receiver,
                                             django_capture_on_commit_callbacks: Callable[..., Any]) -> None:
    offer = four_factor_offer
    workflow = make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70}, action="webhook",
                             action_config={"url": receiver.url()}, offer=offer)

    def score(**kwargs: Any) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            job = score_job_start(workspace=workspace, user=None, offer=offer, **kwargs).job
        job.refresh_from_db()
        assert job.status == "succeeded", job.message
        assert not ScoreTransition.objects.exists()  # the outbox was drained after the commit

    def fired() -> list[tuple[int, int | None, int | None]]:
        return [(e.lead_id, e.payload["previous_score"], e.payload["score"]) for e in executions(workflow)]

    score()
    assert current(leads, offer) == {"top": (100, "High", "sql"), "edge": (70, "High", "sql"),
                                     "near": (65, "Medium", "mql"), "cold": (0, "Low", "")}
    assert sorted(fired()) == sorted([(leads["top"].pk, None, 100), (leads["edge"].pk, None, 70)])
    assert [e.status for e in executions(workflow)] == ["succeeded", "succeeded"]
    assert sorted(r.json()["lead"]["id"] for r in receiver.requests) == sorted([leads["top"].pk, leads["edge"].pk])

    # Rescoring leads that didn't move fires nothing (and writes no transition).
    score(rescore=True)
    assert len(fired()) == 2
    assert len(receiver.requests) == 2

    # "near" gets more urgent and crosses; the field changes themselves fire nothing here.
    with django_capture_on_commit_callbacks(execute=True):
        lead_update(lead=leads["near"], data={"attributes": {**PROFILES["near"][1], "urgency": "immediately"}})
    score()
    assert current(leads, offer)["near"] == (80, "High", "sql")
    assert fired()[2:] == [(leads["near"].pk, 65, 80)]

    # "top" falls below 70 (nothing), then rises again (fires again).
    with django_capture_on_commit_callbacks(execute=True):
        lead_update(lead=leads["top"], data={"attributes": {"company_size": "1000"}})
    score()
    assert current(leads, offer)["top"] == (50, "Medium", "sql")
    assert len(fired()) == 3
    with django_capture_on_commit_callbacks(execute=True):
        lead_update(lead=leads["top"], data={"attributes": PROFILES["top"][1]})
    score()
    assert fired()[3:] == [(leads["top"].pk, 50, 100)]
    assert len(receiver.requests) == 4
    score(rescore=True)
    assert len(fired()) == 4


@pytest.mark.django_db
def test_without_the_commit_the_dispatcher_is_called_by_hand(workspace: Workspace, four_factor_offer: Offer,
                                                             leads: dict[str, Lead], receiver: Receiver) -> None:
    """Inside a test's transaction nothing commits: the outbox waits until transitions_dispatch runs."""
    workflow = make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70}, action="add_tag",
                             action_config={"tag": "hot"})
    score_job_start(workspace=workspace, user=None, offer=four_factor_offer)
    assert ScoreTransition.objects.count() == 4
    assert executions(workflow) == []
    assert transitions_dispatch() == 4
    assert sorted(e.lead_id for e in executions(workflow)) == sorted([leads["top"].pk, leads["edge"].pk])
    assert {key: Lead.objects.get(pk=lead.pk).tags for key, lead in leads.items()} == {
        "top": ["hot"], "edge": ["hot"], "near": [], "cold": []}
