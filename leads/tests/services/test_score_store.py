"""The one writer of scores: history, cause, stage and the transition outbox (leads/services/score_store.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from leads.exceptions import LeadsError
from leads.models import Lead, Offer, QualificationStage, Score, ScoreTransition, Workspace
from leads.scoring.engine import evaluate
from leads.scoring.facts import LeadFacts
from leads.scoring.model import ModelSpec, RuleSpec, compile_model
from leads.scoring.stages import StageSpec, compile_stages
from leads.scoring.types import LeadData, OfferData
from leads.services.score_store import ScoreDraft, ScoreTarget, score_stage_set, scores_write
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OFFER_DATA = OfferData(name="Outreach Pilot")
# AI off; the lead's "tier" column decides the score, a "competitor" column knocks it out.
MODEL = compile_model(ModelSpec(name="Tiers", ai_enabled=False, rule_max=100, rules=(
    RuleSpec("Tier A", "equals", 80, "attributes.tier", "a", "fit", 10),
    RuleSpec("Top tier", "equals", 85, "attributes.tier", "top", "fit", 11),
    RuleSpec("Tier B", "equals", 50, "attributes.tier", "b", "fit", 20),
    RuleSpec("Tier C", "equals", 20, "attributes.tier", "c", "fit", 30),
    RuleSpec("Competitor", "equals", 0, "attributes.competitor", "yes", "fit", 1, knockout=True),
)))
STAGES = compile_stages([StageSpec(key="mql", name="MQL", order=10, minimum_score=40),
                         StageSpec(key="sql", name="SQL", order=20, minimum_score=70)])


@pytest.fixture
def offer(workspace: Workspace) -> Offer:
    return OfferFactory(workspace=workspace)


@pytest.fixture
def lead(workspace: Workspace) -> Lead:
    return LeadFactory(workspace=workspace)


@pytest.fixture
def user(tenant: Tenant) -> AbstractBaseUser:
    return get_user_model().objects.get(username="alice")


@pytest.fixture
def stages(workspace: Workspace) -> None:
    """The stage rows score_stage_set checks keys against (the same as STAGES)."""
    QualificationStage.objects.create(workspace=workspace, name="MQL", stage="mql", order=10, minimum_score=40)
    QualificationStage.objects.create(workspace=workspace, name="SQL", stage="sql", order=20, minimum_score=70)


def target(offer: Offer, *, stale_cause: str = "") -> ScoreTarget:
    return ScoreTarget(workspace_id=offer.workspace_id, offer_id=offer.pk, scoring_model_id=None, model_version=None,
                       stages=STAGES, stale_cause=stale_cause)


def draft(lead_id: int, **columns: str) -> ScoreDraft:
    facts = LeadFacts(lead=LeadData(name="Maya Chen"), now=NOW, attributes=columns)
    return ScoreDraft(lead_id=lead_id, facts=facts, result=evaluate(MODEL, facts, OFFER_DATA, None),
                      provider="rules", ai_model="")


def write(offer: Offer, *drafts: ScoreDraft, cause: str | None = None, stale_cause: str = "") -> int:
    with transaction.atomic():
        return scores_write(target(offer, stale_cause=stale_cause), list(drafts), cause=cause)


def current(lead: Lead, offer: Offer) -> Score:
    return Score.objects.get(lead=lead, offer=offer, is_current=True)


def transitions(offer: Offer) -> list[tuple[object, ...]]:
    return list(ScoreTransition.objects.filter(offer=offer).order_by("id").values_list(
        "lead_id", "previous_score", "score", "previous_intent", "intent", "previous_stage", "stage", "cause"))


@pytest.mark.django_db
def test_first_write(lead: Lead, offer: Offer) -> None:
    """The first score of a lead: cause upload, no previous score, one transition from nothing."""
    one = draft(lead.pk, tier="a")
    assert write(offer, one) == 1
    score = current(lead, offer)
    assert (score.rule_score, score.ai_score, score.score, score.intent, score.ai_intent) == (80, 0, 80, "High", "")
    assert (score.previous_score, score.score_change, score.cause, score.stale_cause) == (None, None, "upload", "")
    assert (score.stage, score.stage_set_by_id, score.stage_set_at) == ("sql", None, None)
    assert (score.provider, score.model, score.scoring_model_id, score.model_version) == ("rules", "", None, None)
    assert score.reasoning == "[Rule: Tier A (+80)] [AI: not part of this scoring model]"
    assert score.score_breakdown == one.result.breakdown
    assert score.workspace_id == offer.workspace_id
    assert transitions(offer) == [(lead.pk, None, 80, "", "High", "", "sql", "upload")]


@pytest.mark.django_db
def test_second_write_keeps_history(lead: Lead, offer: Offer) -> None:
    """A rescore: the old row stays as history, the new one says where it came from."""
    write(offer, draft(lead.pk, tier="b"))
    first = current(lead, offer)
    assert write(offer, draft(lead.pk, tier="a")) == 1
    first.refresh_from_db()
    assert first.is_current is False
    assert (first.score, first.stage) == (50, "mql")
    score = current(lead, offer)
    assert (score.score, score.previous_score, score.score_change, score.cause, score.stage) == (
        80, 50, 30, "rescore", "sql")
    assert Score.objects.filter(lead=lead, offer=offer).count() == 2
    assert transitions(offer) == [
        (lead.pk, None, 50, "", "Medium", "", "mql", "upload"),
        (lead.pk, 50, 80, "Medium", "High", "mql", "sql", "rescore"),
    ]


@pytest.mark.django_db
def test_a_drop_keeps_the_stage_reached(lead: Lead, offer: Offer) -> None:
    """Forward-only: 80 (sql) then 20 keeps sql, with a negative score_change."""
    write(offer, draft(lead.pk, tier="a"))
    assert write(offer, draft(lead.pk, tier="c")) == 1
    score = current(lead, offer)
    assert (score.score, score.intent, score.previous_score, score.score_change, score.stage) == (
        20, "Low", 80, -60, "sql")
    assert transitions(offer)[-1] == (lead.pk, 80, 20, "High", "Low", "sql", "sql", "rescore")


@pytest.mark.django_db
def test_stale_cause_becomes_the_cause(lead: Lead, offer: Offer) -> None:
    write(offer, draft(lead.pk, tier="b"))
    Score.objects.filter(lead=lead, offer=offer, is_current=True).update(stale_cause="events")
    write(offer, draft(lead.pk, tier="a"))
    score = current(lead, offer)
    assert (score.cause, score.stale_cause) == ("events", "")
    assert transitions(offer)[-1][-1] == "events"


@pytest.mark.django_db
def test_target_stale_cause_is_stored_on_the_new_row(lead: Lead, offer: Offer) -> None:
    """Scores computed while the model changed are written already stale."""
    write(offer, draft(lead.pk, tier="b"), stale_cause="model_change")
    score = current(lead, offer)
    assert (score.cause, score.stale_cause) == ("upload", "model_change")
    write(offer, draft(lead.pk, tier="b"))
    score = current(lead, offer)
    assert (score.cause, score.stale_cause) == ("model_change", "")


@pytest.mark.django_db
def test_identical_rewrite_writes_history_but_no_transition(lead: Lead, offer: Offer) -> None:
    write(offer, draft(lead.pk, tier="b"))
    assert write(offer, draft(lead.pk, tier="b")) == 0
    score = current(lead, offer)
    assert (score.score, score.previous_score, score.score_change, score.cause) == (50, 50, 0, "rescore")
    assert Score.objects.filter(lead=lead, offer=offer).count() == 2
    assert len(transitions(offer)) == 1


@pytest.mark.django_db
def test_same_score_new_stage_is_a_transition(lead: Lead, offer: Offer) -> None:
    """A knockout keeps score 0 / Low but changes the stage: that is a transition."""
    write(offer, draft(lead.pk, tier="x"))
    assert (current(lead, offer).score, current(lead, offer).stage) == (0, "")
    assert write(offer, draft(lead.pk, tier="x", competitor="yes")) == 1
    score = current(lead, offer)
    assert (score.score, score.intent, score.stage) == (0, "Low", "disqualified")
    assert score.reasoning == "[Rule: Knockout: Competitor] [AI: not asked: a knockout rule disqualified the lead]"
    assert transitions(offer)[-1] == (lead.pk, 0, 0, "Low", "Low", "", "disqualified", "rescore")


@pytest.mark.django_db
def test_explicit_cause_overrides(lead: Lead, offer: Offer) -> None:
    write(offer, draft(lead.pk, tier="b"), cause="manual")
    assert current(lead, offer).cause == "manual"
    Score.objects.filter(lead=lead, offer=offer, is_current=True).update(stale_cause="events")
    write(offer, draft(lead.pk, tier="a"), cause="schedule")
    assert current(lead, offer).cause == "schedule"
    assert [t[-1] for t in transitions(offer)] == ["manual", "schedule"]


@pytest.mark.django_db
def test_a_batch_of_leads(workspace: Workspace, offer: Offer) -> None:
    old, new, same = LeadFactory.create_batch(3, workspace=workspace)
    write(offer, draft(old.pk, tier="c"), draft(same.pk, tier="b"))
    assert write(offer, draft(old.pk, tier="a"), draft(new.pk, tier="b"), draft(same.pk, tier="b")) == 2
    assert {(s.lead_id, s.score, s.previous_score, s.cause) for s in Score.objects.filter(is_current=True)} == {
        (old.pk, 80, 20, "rescore"), (new.pk, 50, None, "upload"), (same.pk, 50, 50, "rescore")}
    assert Score.objects.count() == 5


@pytest.mark.django_db
def test_scores_of_another_offer_are_left_alone(workspace: Workspace, lead: Lead, offer: Offer) -> None:
    other = OfferFactory(workspace=workspace)
    write(other, draft(lead.pk, tier="c"))
    write(offer, draft(lead.pk, tier="a"))
    assert current(lead, other).score == 20
    assert current(lead, offer).cause == "upload"


@pytest.mark.django_db
def test_nothing_to_write(offer: Offer) -> None:
    assert write(offer) == 0
    assert Score.objects.count() == 0


def test_scores_write_needs_a_transaction() -> None:
    """Outside the caller's transaction the history and the outbox could part: refused before any query."""
    with pytest.raises(AssertionError, match="scores_write needs the caller's transaction"):
        scores_write(ScoreTarget(workspace_id=1, offer_id=1, scoring_model_id=None, model_version=None, stages=()),
                     [draft(1, tier="a")])


# --- stages set by a person ----------------------------------------------------------------------


@pytest.mark.django_db
def test_manual_stage(lead: Lead, offer: Offer, user: AbstractBaseUser, stages: None) -> None:
    write(offer, draft(lead.pk, tier="a"))
    before = current(lead, offer)
    score = score_stage_set(score=before, stage="mql", user=user)
    assert score.pk != before.pk
    assert score == current(lead, offer)
    assert (score.stage, score.stage_set_by_id, score.cause, score.previous_score, score.score_change) == (
        "mql", user.pk, "manual", 80, 0)
    assert score.stage_set_at is not None
    assert (score.score, score.intent, score.reasoning) == (before.score, before.intent, before.reasoning)
    before.refresh_from_db()
    assert before.is_current is False
    assert transitions(offer)[-1] == (lead.pk, 80, 80, "High", "High", "sql", "mql", "manual")


@pytest.mark.django_db
def test_manual_stage_survives_a_rescore(lead: Lead, offer: Offer, user: AbstractBaseUser, stages: None) -> None:
    write(offer, draft(lead.pk, tier="b"))
    manual = score_stage_set(score=current(lead, offer), stage="sql", user=user)
    assert write(offer, draft(lead.pk, tier="top")) == 1
    score = current(lead, offer)
    assert (score.score, score.stage, score.stage_set_by_id, score.stage_set_at) == (
        85, "sql", user.pk, manual.stage_set_at)
    assert (score.previous_score, score.score_change, score.cause) == (50, 35, "rescore")
    write(offer, draft(lead.pk, tier="c", competitor="yes"))
    score = current(lead, offer)
    assert (score.score, score.stage, score.stage_set_by_id) == (0, "sql", user.pk), "a person's stage wins"


@pytest.mark.django_db
def test_manual_stage_cleared(lead: Lead, offer: Offer, user: AbstractBaseUser, stages: None) -> None:
    """None hands the stage back to the criteria: the score is stale (manual) until the next run."""
    write(offer, draft(lead.pk, tier="b"))
    score_stage_set(score=current(lead, offer), stage="sql", user=user)
    count = len(transitions(offer))
    cleared = score_stage_set(score=current(lead, offer), stage=None, user=user)
    assert (cleared.stage_set_by_id, cleared.stage_set_at, cleared.stale_cause, cleared.cause) == (
        None, None, "manual", "manual")
    assert cleared == current(lead, offer)
    assert cleared.stage == ""  # no stage until the criteria decide
    assert transitions(offer)[count:] == [(lead.pk, 50, 50, "Medium", "Medium", "sql", "", "manual")]
    write(offer, draft(lead.pk, tier="b"))
    score = current(lead, offer)
    assert (score.cause, score.stale_cause, score.stage_set_by_id) == ("manual", "", None)


@pytest.mark.django_db
def test_cleared_manual_stage_lets_the_criteria_decide(lead: Lead, offer: Offer, user: AbstractBaseUser,
                                                       stages: None) -> None:
    """A lead at 50 set to sql by hand, then handed back: the criteria say mql, not the hand-set sql."""
    write(offer, draft(lead.pk, tier="b"))
    score_stage_set(score=current(lead, offer), stage="sql", user=user)
    score_stage_set(score=current(lead, offer), stage=None, user=user)
    write(offer, draft(lead.pk, tier="b"))
    assert current(lead, offer).stage == "mql"


@pytest.mark.django_db
def test_manual_disqualified_is_allowed(lead: Lead, offer: Offer, user: AbstractBaseUser, stages: None) -> None:
    write(offer, draft(lead.pk, tier="a"))
    assert score_stage_set(score=current(lead, offer), stage="disqualified", user=user).stage == "disqualified"


@pytest.mark.django_db
def test_unknown_stage(lead: Lead, offer: Offer, user: AbstractBaseUser, stages: None) -> None:
    write(offer, draft(lead.pk, tier="a"))
    with pytest.raises(LeadsError) as error:
        score_stage_set(score=current(lead, offer), stage="vip", user=user)
    assert (error.value.code, error.value.status_code) == ("unknown_stage", 400)
    assert error.value.message == ("Unknown stage 'vip': use one of disqualified, mql, sql, or null to let the "
                                   "criteria decide again.")
    assert error.value.details == {"stage": ["Unknown stage 'vip'."]}
    assert Score.objects.filter(lead=lead, offer=offer).count() == 1
    assert current(lead, offer).stage == "sql"


@pytest.mark.django_db
def test_stage_set_on_history_is_refused(lead: Lead, offer: Offer, user: AbstractBaseUser, stages: None) -> None:
    write(offer, draft(lead.pk, tier="a"))
    old = current(lead, offer)
    write(offer, draft(lead.pk, tier="b"))
    with pytest.raises(LeadsError) as error:
        score_stage_set(score=old, stage="mql", user=user)
    assert (error.value.code, error.value.status_code) == ("no_score", 404)
