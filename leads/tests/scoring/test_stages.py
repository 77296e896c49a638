"""Which stage a freshly scored lead is in: criteria, forward-only, knockouts (leads/scoring/stages.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from leads.scoring.facts import EngagementFacts, LeadFacts
from leads.scoring.stages import DISQUALIFIED, StageSpec, compile_stages, stage_for
from leads.scoring.types import LeadData

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LEAD = LeadData(name="Maya Chen", role="VP Sales", company="Acme Cloud")

MQL = StageSpec(key="mql", name="MQL", order=10, minimum_score=40)
SQL = StageSpec(key="sql", name="SQL", order=20, minimum_score=70)
# Listed lowest first on purpose: compile_stages must order them furthest first itself.
BASIC = (MQL, SQL)
NEEDS_EMAIL = (MQL, replace(SQL, required_fields=("email", "attributes.budget")))
NEEDS_DEMO = (MQL, replace(SQL, required_actions=("demo_request",)))
DEMO_IN_14_DAYS = (MQL, replace(SQL, required_actions=("demo_request",), time_constraint_days=14))
SQL_CAN_DROP = (MQL, replace(SQL, forward_only=False))
THREE = (StageSpec(key="lead", name="Lead", order=0), MQL, SQL)


def facts(*, email: str = "", budget: object = None, demo_count: int = 0,
          demo_days_ago: float | None = None) -> LeadFacts:
    last_at = {} if demo_days_ago is None else {"demo_request": NOW - timedelta(days=demo_days_ago)}
    engagement = EngagementFacts(counts={"demo_request": demo_count} if demo_count else {}, last_at=last_at)
    attributes = {} if budget is None else {"budget": budget}
    return LeadFacts(lead=LEAD, now=NOW, email=email, attributes=attributes, engagement=engagement)


COMPLETE = facts(email="maya@acme.example", budget="50k", demo_count=1, demo_days_ago=3)


@dataclass(frozen=True)
class Case:
    stages: tuple[StageSpec, ...]
    score: int
    expected: str
    facts: LeadFacts = COMPLETE
    previous: str = ""
    knocked_out: bool = False


CASES = [
    pytest.param(Case(BASIC, 39, ""), id="below every minimum: no stage"),
    pytest.param(Case(BASIC, 0, ""), id="0: no stage"),
    pytest.param(Case(BASIC, 40, "mql"), id="40 reaches mql"),
    pytest.param(Case(BASIC, 69, "mql"), id="69 is still mql"),
    pytest.param(Case(BASIC, 70, "sql"), id="70 reaches sql, the highest that holds"),
    pytest.param(Case(BASIC, 100, "sql"), id="100 is sql"),
    pytest.param(Case(THREE, 10, "lead"), id="a stage with minimum 0 holds for everyone"),
    pytest.param(Case(THREE, 75, "sql"), id="three stages: the furthest that holds"),
    # required fields
    pytest.param(Case(NEEDS_EMAIL, 80, "sql"), id="required fields present"),
    pytest.param(Case(NEEDS_EMAIL, 80, "mql", facts=facts(budget="50k")), id="required email missing blocks sql"),
    pytest.param(Case(NEEDS_EMAIL, 80, "mql", facts=facts(email="N/A", budget="50k")),
                 id="a placeholder email counts as missing"),
    pytest.param(Case(NEEDS_EMAIL, 80, "mql", facts=facts(email="maya@acme.example")),
                 id="required column missing blocks sql"),
    pytest.param(Case(NEEDS_EMAIL, 80, "mql", facts=facts(email="maya@acme.example", budget="  ")),
                 id="a blank column counts as missing"),
    pytest.param(Case(NEEDS_EMAIL, 30, "", facts=facts(email="maya@acme.example", budget="50k")),
                 id="required fields present but the score too low"),
    # required actions, no time window
    pytest.param(Case(NEEDS_DEMO, 80, "sql", facts=facts(demo_count=1)), id="required action happened"),
    pytest.param(Case(NEEDS_DEMO, 80, "sql", facts=facts(demo_count=2, demo_days_ago=400)),
                 id="required action long ago counts without a window"),
    pytest.param(Case(NEEDS_DEMO, 80, "mql", facts=facts()), id="required action never happened"),
    # required actions within N days
    pytest.param(Case(DEMO_IN_14_DAYS, 80, "sql", facts=facts(demo_count=1, demo_days_ago=13)), id="within 14 days"),
    pytest.param(Case(DEMO_IN_14_DAYS, 80, "sql", facts=facts(demo_count=1, demo_days_ago=14)),
                 id="exactly 14 days ago is within"),
    pytest.param(Case(DEMO_IN_14_DAYS, 80, "mql", facts=facts(demo_count=1, demo_days_ago=14.5)),
                 id="outside 14 days"),
    pytest.param(Case(DEMO_IN_14_DAYS, 80, "mql", facts=facts(demo_count=1)), id="count but no last time"),
    # forward only
    pytest.param(Case(BASIC, 50, "sql", previous="sql"), id="forward-only: sql kept when the score drops to mql"),
    pytest.param(Case(BASIC, 10, "sql", previous="sql"), id="forward-only: sql kept when no stage holds"),
    pytest.param(Case(BASIC, 10, "mql", previous="mql"), id="forward-only: mql kept"),
    pytest.param(Case(BASIC, 80, "sql", previous="mql"), id="moving forward from mql to sql"),
    pytest.param(Case(NEEDS_EMAIL, 80, "sql", facts=facts(), previous="sql"),
                 id="forward-only: sql kept when its criteria no longer hold"),
    pytest.param(Case(SQL_CAN_DROP, 50, "mql", previous="sql"), id="forward_only off: sql drops to mql"),
    pytest.param(Case(SQL_CAN_DROP, 10, "", previous="sql"), id="forward_only off: sql drops to nothing"),
    pytest.param(Case(SQL_CAN_DROP, 10, "mql", previous="mql"), id="forward_only off on sql only: mql still kept"),
    # knockouts and stale stages
    pytest.param(Case(BASIC, 90, DISQUALIFIED, knocked_out=True), id="knocked out"),
    pytest.param(Case(BASIC, 0, DISQUALIFIED, previous="sql", knocked_out=True),
                 id="knocked out beats a forward-only stage"),
    pytest.param(Case(BASIC, 50, "mql", previous=DISQUALIFIED), id="disqualified without a knockout: computed"),
    pytest.param(Case(BASIC, 10, "", previous=DISQUALIFIED), id="disqualified without a knockout: none holds"),
    pytest.param(Case(BASIC, 50, "mql", previous="gone"), id="a previous stage that no longer exists is ignored"),
    pytest.param(Case(BASIC, 10, "", previous="gone"), id="a vanished previous stage and nothing holds"),
]


@pytest.mark.parametrize("case", CASES)
def test_stage_for(case: Case) -> None:
    stage = stage_for(compile_stages(case.stages), score=case.score, facts=case.facts, previous=case.previous,
                      knocked_out=case.knocked_out)
    assert stage == case.expected, case


def test_no_stages_at_all() -> None:
    assert stage_for((), score=100, facts=COMPLETE) == ""
    assert stage_for((), score=100, facts=COMPLETE, previous="sql") == ""
    assert stage_for((), score=100, facts=COMPLETE, knocked_out=True) == DISQUALIFIED


def test_compile_stages_orders_furthest_first() -> None:
    assert [stage.spec.key for stage in compile_stages(THREE)] == ["sql", "mql", "lead"]


def test_compile_stages_rejects_a_field_that_cannot_be_one() -> None:
    with pytest.raises(ValueError, match="Unknown field 'events.demo_request'"):
        compile_stages([replace(SQL, required_fields=("events.demo_request",))])
