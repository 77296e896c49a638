"""Scoring-model arithmetic on hand-built models: groups, caps, AI points, thresholds, knockouts.

DESIGN "Scoring models".

Every rule below fires when the lead's uploaded column of the same name says "yes", so a case
names the rules that fire and the numbers are worked out by hand next to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest

from leads.scoring.engine import AI_OFF_REASONING, KNOCKOUT_AI_REASONING, evaluate
from leads.scoring.facts import EMPTY_FIELD, LeadFacts
from leads.scoring.intent.base import AI_POINTS
from leads.scoring.model import (
    BAD_AI_POINTS,
    BAD_GROUP_CAPS,
    BAD_INDUSTRY_FIT,
    BAD_POINTS,
    BAD_ROLE_LEVEL,
    BAD_RULE_MAX,
    BAD_THRESHOLDS,
    ModelSpec,
    RuleSpec,
    compile_model,
    compile_rule,
    validate_settings,
)
from leads.scoring.operators import RuleConfigError
from leads.scoring.types import Intent, IntentResult, LeadData, OfferData

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OFFER = OfferData(name="Outreach Pilot", ideal_use_cases=("B2B SaaS",))
AI_TEXT = "Bio talks about\n  scaling outbound."
AI_TEXT_ONE_LINE = "Bio talks about scaling outbound."


def verdict(intent: Intent) -> IntentResult:
    return IntentResult(intent=intent, reasoning=AI_TEXT, provider="local", model="leadscore-local-1")


def rule(name: str, points: int, group: str = "g1", *, priority: int = 100, rule_id: int | None = None,
         is_active: bool = True, knockout: bool = False) -> RuleSpec:
    """A rule that fires when attributes[name] == "yes"."""
    return RuleSpec(name=name, operator="equals", points=points, field_name=f"attributes.{name}", value="yes",
                    group=group, priority=priority, is_active=is_active, knockout=knockout, id=rule_id)


def facts(*fired: str) -> LeadFacts:
    return LeadFacts(lead=LeadData(name="Ada Lovelace"), now=NOW, attributes={name: "yes" for name in fired})


A = rule("A", 10, "g1", priority=10, rule_id=1)
B = rule("B", 5, "g1", priority=20, rule_id=2)
C = rule("C", 20, "g2", priority=30, rule_id=3)
D = rule("D", 15, "g3", priority=40, rule_id=4)
N1 = rule("N1", -10, "g1", priority=50, rule_id=5)
N2 = rule("N2", -5, "g1", priority=60, rule_id=6)
BIG1 = rule("BIG1", 40, "g1", priority=70, rule_id=7)
BIG2 = rule("BIG2", 30, "g2", priority=80, rule_id=8)
MINUS30 = rule("MINUS30", -30, "g1", priority=90, rule_id=9)


def spec(*rules: RuleSpec, **settings: Any) -> ModelSpec:
    return ModelSpec(name="Hand-built", rules=rules, id=7, version=3, **settings)


@dataclass(frozen=True)
class Case:
    model: ModelSpec
    fired: tuple[str, ...]
    ai: Intent | None
    rule_score: int
    ai_score: int
    score: int
    intent: Intent
    reasoning: str
    groups: list[dict[str, Any]] = field(default_factory=list)
    rules_capped_from: int | None = None
    total_capped_from: int | None = None


def ai_part(intent: Intent | None, points: int | None = None) -> str:
    """The AI part names the verdict and its points, so the reasoning adds up to the score."""
    if not intent:
        return f"[AI: {AI_OFF_REASONING}]"
    points = AI_POINTS[intent] if points is None else points
    return f"[AI: {intent} ({points:+d}): {AI_TEXT_ONE_LINE}]"


CASES = [
    pytest.param(Case(spec(A, B, C), ("A", "B", "C"), "Medium", 35, 30, 65, "Medium",
                      f"[Rule: A (+10), B (+5), C (+20)] {ai_part('Medium')}",
                      [{"group": "g1", "points": 15}, {"group": "g2", "points": 20}]),
                 id="groups summed: g1 10+5, g2 20, +Medium 30 = 65"),
    pytest.param(Case(spec(A, B, C), (), "Low", 0, 10, 10, "Low", f"[Rule: none (+0)] {ai_part('Low')}"),
                 id="no rule fires: 0 + Low 10"),
    pytest.param(Case(spec(A, B, C, group_caps={"g1": {"max_points": 10}}), ("A", "B", "C"), "Low", 30, 10, 40,
                      "Medium", f"[Rule: A (+10), B (+5), C (+20); 30 after caps] {ai_part('Low')}",
                      [{"group": "g1", "points": 10, "capped_from": 15}, {"group": "g2", "points": 20}]),
                 id="group max_points 10 cuts g1 15 -> 10"),
    pytest.param(Case(spec(N1, N2, C, group_caps={"g1": {"min_points": -5}}), ("N1", "N2", "C"), "High", 15, 50,
                      65, "Medium", f"[Rule: C (+20), N1 (-10), N2 (-5); 15 after caps] {ai_part('High')}",
                      [{"group": "g2", "points": 20}, {"group": "g1", "points": -5, "capped_from": -15}]),
                 id="group min_points -5 floors g1 -15 -> -5"),
    pytest.param(Case(spec(N1, N2, C, group_caps={"g1": {"min_points": -5, "max_points": 30}}), ("N1", "N2", "C"),
                      "High", 15, 50, 65, "Medium",
                      f"[Rule: C (+20), N1 (-10), N2 (-5); 15 after caps] {ai_part('High')}",
                      [{"group": "g2", "points": 20}, {"group": "g1", "points": -5, "capped_from": -15}]),
                 id="group min_points -5 with a max_points too floors g1 -15 -> -5"),
    pytest.param(Case(spec(A, B, group_caps={"g1": {"max_points": 30, "min_points": -30}}), ("A", "B"), "Low", 15,
                      10, 25, "Low", f"[Rule: A (+10), B (+5)] {ai_part('Low')}",
                      [{"group": "g1", "points": 15}]),
                 id="group within its caps is untouched"),
    pytest.param(Case(spec(A, C, D, rule_max=30), ("A", "C", "D"), "Medium", 30, 30, 60, "Medium",
                      f"[Rule: A (+10), C (+20), D (+15); 30 after caps] {ai_part('Medium')}",
                      [{"group": "g1", "points": 10}, {"group": "g2", "points": 20}, {"group": "g3", "points": 15}],
                      rules_capped_from=45),
                 id="rule_max 30 cuts 45"),
    pytest.param(Case(spec(A, N2), ("A", "N2"), "Low", 5, 10, 15, "Low",
                      f"[Rule: A (+10), N2 (-5)] {ai_part('Low')}", [{"group": "g1", "points": 5}]),
                 id="negative points: 10-5 + Low 10"),
    pytest.param(Case(spec(MINUS30), ("MINUS30",), "Low", -30, 10, 0, "Low",
                      f"[Rule: MINUS30 (-30)] {ai_part('Low')}", [{"group": "g1", "points": -30}],
                      total_capped_from=-20),
                 id="total -30+10 clamped to 0"),
    pytest.param(Case(spec(BIG1, BIG2, rule_max=100), ("BIG1", "BIG2"), "High", 70, 50, 100, "High",
                      f"[Rule: BIG1 (+40), BIG2 (+30)] {ai_part('High')}",
                      [{"group": "g1", "points": 40}, {"group": "g2", "points": 30}], total_capped_from=120),
                 id="total 70+50 clamped to 100"),
    pytest.param(Case(spec(BIG1, BIG2), ("BIG1", "BIG2"), "High", 50, 50, 100, "High",
                      f"[Rule: BIG1 (+40), BIG2 (+30); 50 after caps] {ai_part('High')}",
                      [{"group": "g1", "points": 40}, {"group": "g2", "points": 30}], rules_capped_from=70),
                 id="default rule_max 50 cuts 70; 50+50 = 100 exactly, no total cap"),
    pytest.param(Case(spec(A, C, ai_enabled=False), ("A", "C"), None, 30, 0, 30, "Low",
                      f"[Rule: A (+10), C (+20)] {ai_part(None)}",
                      [{"group": "g1", "points": 10}, {"group": "g2", "points": 20}]),
                 id="AI off: rules only, verdict None"),
    pytest.param(Case(spec(BIG1, BIG2, ai_enabled=False, rule_max=100), ("BIG1", "BIG2"), None, 70, 0, 70, "High",
                      f"[Rule: BIG1 (+40), BIG2 (+30)] {ai_part(None)}",
                      [{"group": "g1", "points": 40}, {"group": "g2", "points": 30}]),
                 id="AI off: 70 from rules alone is High"),
    pytest.param(Case(spec(A, ai_points={"High": 40, "Medium": 20, "Low": 0}, high_from=50, medium_from=20),
                      ("A",), "Medium", 10, 20, 30, "Medium", f"[Rule: A (+10)] {ai_part('Medium', 20)}",
                      [{"group": "g1", "points": 10}]),
                 id="custom ai_points Medium 20, medium_from 20: 30 is Medium"),
    pytest.param(Case(spec(A, ai_points={"High": 40, "Medium": 20, "Low": 0}, high_from=50, medium_from=20),
                      ("A",), "High", 10, 40, 50, "High", f"[Rule: A (+10)] {ai_part('High', 40)}",
                      [{"group": "g1", "points": 10}]),
                 id="custom ai_points High 40, high_from 50: 50 is High"),
    pytest.param(Case(spec(A, ai_points={"High": 40, "Medium": 20, "Low": 0}, high_from=50, medium_from=20),
                      (), "Low", 0, 0, 0, "Low", f"[Rule: none (+0)] {ai_part('Low', 0)}"),
                 id="custom ai_points Low 0: 0"),
    pytest.param(Case(spec(A, B, ai_points={"High": 40, "Medium": 20, "Low": 4}, high_from=50, medium_from=20),
                      ("A", "B"), "Low", 15, 4, 19, "Low", f"[Rule: A (+10), B (+5)] {ai_part('Low', 4)}",
                      [{"group": "g1", "points": 15}]),
                 id="custom medium_from 20: 19 is still Low"),
    pytest.param(Case(spec(A, C, ai_points={"High": 40, "Medium": 19, "Low": 0}, high_from=50, medium_from=20),
                      ("A", "C"), "Medium", 30, 19, 49, "Medium", f"[Rule: A (+10), C (+20)] {ai_part('Medium', 19)}",
                      [{"group": "g1", "points": 10}, {"group": "g2", "points": 20}]),
                 id="custom high_from 50: 49 is still Medium"),
    pytest.param(Case(spec(replace(A, is_active=False), C), ("A", "C"), "Low", 20, 10, 30, "Low",
                      f"[Rule: C (+20)] {ai_part('Low')}", [{"group": "g2", "points": 20}]),
                 id="inactive rule ignored"),
    pytest.param(Case(spec(replace(C, priority=5), D, A), ("A", "C", "D"), "Low", 45, 10, 55, "Medium",
                      f"[Rule: C (+20), A (+10), D (+15)] {ai_part('Low')}",
                      [{"group": "g2", "points": 20}, {"group": "g1", "points": 10}, {"group": "g3", "points": 15}]),
                 id="priority order (C 5, A 10, D 40), groups in the order they first fired"),
    pytest.param(Case(spec(rule("R2", 7, priority=10, rule_id=2), rule("R1", 3, priority=10, rule_id=1)),
                      ("R1", "R2"), "Low", 10, 10, 20, "Low", f"[Rule: R1 (+3), R2 (+7)] {ai_part('Low')}",
                      [{"group": "g1", "points": 10}]),
                 id="equal priority: lower id first"),
]


def _result(case: Case):  # type: ignore[no-untyped-def]
    return evaluate(compile_model(case.model), facts(*case.fired), OFFER,
                    verdict(case.ai) if case.ai is not None else None)


@pytest.mark.parametrize("case", CASES)
def test_arithmetic(case: Case) -> None:
    """Scores, intent, reasoning, groups and every capped amount as worked out by hand."""
    result = _result(case)
    breakdown = result.breakdown
    rules_part = breakdown["components"][0]
    assert (result.rule_score, result.ai_score, result.score, result.intent) == (
        case.rule_score, case.ai_score, case.score, case.intent), case
    assert result.reasoning == case.reasoning
    assert result.knockout is None
    assert rules_part["part"] == "rules"
    assert rules_part["points"] == case.rule_score
    assert rules_part["groups"] == case.groups
    assert rules_part.get("capped_from") == case.rules_capped_from
    assert breakdown.get("capped_from") == case.total_capped_from
    assert (breakdown["rule_score"], breakdown["ai_score"]) == (case.rule_score, case.ai_score)
    assert breakdown["model"] == {"id": 7, "name": "Hand-built", "version": 3}
    assert "knockout" not in breakdown


@pytest.mark.parametrize("case", CASES)
def test_rules_that_fired_are_listed_with_id_group_and_points(case: Case) -> None:
    """Both the first-stage `rules` list and the component's rules, in priority order."""
    result = _result(case)
    compiled = compile_model(case.model)
    fired = [r.spec for r in compiled.rules if r.spec.name in case.fired]
    assert result.breakdown["rules"] == [{"label": r.name, "points": r.points} for r in fired]
    assert result.breakdown["components"][0]["rules"] == [
        {"rule_id": r.id, "label": r.name, "group": r.group, "points": r.points} for r in fired]


@pytest.mark.parametrize("case", CASES)
def test_ai_component(case: Case) -> None:
    """The AI part: points for the verdict, or nothing at all when the model has no AI part."""
    result = _result(case)
    components = result.breakdown["components"]
    if case.ai is None:
        assert result.ai_intent == ""
        assert result.breakdown["ai_intent"] == ""
        assert result.breakdown["ai"] is None
        assert [c["part"] for c in components] == ["rules"]
    else:
        assert result.ai_intent == case.ai
        assert result.breakdown["ai_intent"] == case.ai
        assert result.breakdown["ai"] == {"provider": "local", "model": "leadscore-local-1",
                                          "reasoning": AI_TEXT_ONE_LINE}
        assert components[1] == {"part": "ai", "points": case.ai_score, "intent": case.ai}


@pytest.mark.parametrize("case", CASES)
def test_a_person_can_add_the_breakdown_up(case: Case) -> None:
    """Rules per group -> group (before caps); groups -> rule layer (before rule_max); components -> total."""
    breakdown = _result(case).breakdown
    rules_part = breakdown["components"][0]
    for group in rules_part["groups"]:
        raw = sum(r["points"] for r in rules_part["rules"] if r["group"] == group["group"])
        assert group.get("capped_from", group["points"]) == raw, group
    assert rules_part.get("capped_from", rules_part["points"]) == sum(g["points"] for g in rules_part["groups"])
    total = sum(c["points"] for c in breakdown["components"])
    assert breakdown.get("capped_from", total) == total
    assert breakdown["rule_score"] + breakdown["ai_score"] == total
    clamped = ("capped_from" in breakdown or "capped_from" in rules_part
               or any("capped_from" in g for g in rules_part["groups"]))
    if not clamped:
        assert total == case.score
        assert sum(r["points"] for r in breakdown["rules"]) == breakdown["rule_score"]


def test_ai_off_ignores_a_verdict_given_anyway() -> None:
    """A model without an AI part never counts a verdict, even when one is passed."""
    result = evaluate(compile_model(spec(A, ai_enabled=False)), facts("A"), OFFER, verdict("High"))
    assert (result.score, result.ai_score, result.ai_intent, result.breakdown["ai"]) == (10, 0, "", None)


def test_ai_on_without_a_verdict_is_an_error() -> None:
    """A verdict is never invented: the model needs one, the engine refuses to make one up."""
    with pytest.raises(ValueError, match="a verdict is needed"):
        evaluate(compile_model(spec(A)), facts("A"), OFFER, None)


def test_unknown_verdict_intent_is_an_error() -> None:
    bad = IntentResult(intent="Urgent", reasoning="?", provider="local", model="m")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown intent 'Urgent'"):
        evaluate(compile_model(spec(A)), facts("A"), OFFER, bad)


# --- knockouts ---------------------------------------------------------------------------------

KO = rule("Competitor", 0, "firmographic", priority=5, rule_id=40, knockout=True)
KO_LATER = rule("Student", 15, "demographic", priority=6, rule_id=41, knockout=True)


def test_knockout_short_cuts_everything() -> None:
    """Score 0, intent Low, its name as the reason; other rules ignored and no verdict needed."""
    model = compile_model(spec(A, C, KO, KO_LATER))
    result = evaluate(model, facts("A", "C", "Competitor", "Student"), OFFER, None)
    assert (result.rule_score, result.ai_score, result.score, result.intent, result.ai_intent) == (0, 0, 0, "Low", "")
    assert result.knockout == "Competitor"
    assert result.reasoning == f"[Rule: Knockout: Competitor] [AI: {KNOCKOUT_AI_REASONING}]"
    assert result.reasoning == "[Rule: Knockout: Competitor] [AI: not asked: a knockout rule disqualified the lead]"
    assert result.breakdown == {
        "rule_score": 0, "ai_score": 0, "ai_intent": "", "rules": [], "ai": None,
        "knockout": {"rule_id": 40, "label": "Competitor", "group": "firmographic"},
        "components": [{"part": "rules", "points": 0, "rules": [], "groups": []}],
        "model": {"id": 7, "name": "Hand-built", "version": 3},
    }


def test_knockout_ignores_a_verdict_given_anyway() -> None:
    result = evaluate(compile_model(spec(A, KO)), facts("A", "Competitor"), OFFER, verdict("High"))
    assert (result.score, result.intent, result.knockout) == (0, "Low", "Competitor")


def test_knockout_order_follows_priority() -> None:
    """The knockout with the lower priority number names the reason when two match."""
    model = compile_model(spec(replace(KO_LATER, priority=1), KO))
    result = evaluate(model, facts("Competitor", "Student"), OFFER, None)
    assert result.reasoning == f"[Rule: Knockout: Student] [AI: {KNOCKOUT_AI_REASONING}]"
    assert result.breakdown["knockout"] == {"rule_id": 41, "label": "Student", "group": "demographic"}


@pytest.mark.parametrize(
    ("rules", "fired", "score", "reasoning"),
    [
        pytest.param((A, C, KO), ("A", "C"), 40, f"[Rule: A (+10), C (+20)] {ai_part('Low')}",
                     id="knockout that doesn't match: scored normally, knockout not a hit"),
        pytest.param((A, replace(KO, points=30)), ("A",), 20, f"[Rule: A (+10)] {ai_part('Low')}",
                     id="a knockout's own points never count"),
        pytest.param((A, replace(KO, is_active=False)), ("A", "Competitor"), 20,
                     f"[Rule: A (+10)] {ai_part('Low')}", id="inactive knockout ignored"),
    ],
)
def test_knockout_that_does_not_apply(rules: tuple[RuleSpec, ...], fired: tuple[str, ...], score: int,
                                      reasoning: str) -> None:
    result = evaluate(compile_model(spec(*rules)), facts(*fired), OFFER, verdict("Low"))
    assert (result.score, result.reasoning, result.knockout) == (score, reasoning, None)
    assert "knockout" not in result.breakdown


def test_compile_model_separates_knockouts_and_drops_inactive_rules() -> None:
    model = compile_model(spec(replace(B, is_active=False), KO, C, A))
    assert [r.spec.name for r in model.rules] == ["A", "C"]
    assert [r.spec.name for r in model.knockouts] == ["Competitor"]
    assert model.needs_attributes is True


# --- compile errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_spec", "field", "message"),
    [
        pytest.param(RuleSpec("r", "equals", 101, "company", "Acme"), "points", BAD_POINTS, id="points 101"),
        pytest.param(RuleSpec("r", "equals", -101, "company", "Acme"), "points", BAD_POINTS, id="points -101"),
        pytest.param(RuleSpec("r", "equals", 2.5, "company", "Acme"), "points", BAD_POINTS,  # type: ignore[arg-type]
                     id="points 2.5"),
        pytest.param(RuleSpec("r", "equals", True, "company", "Acme"), "points", BAD_POINTS, id="points True"),
        pytest.param(RuleSpec("r", "equals", "10", "company", "Acme"), "points", BAD_POINTS,  # type: ignore[arg-type]
                     id="points '10'"),
        pytest.param(RuleSpec("r", "role_level", 20, "role", "ceo"), "value", BAD_ROLE_LEVEL, id="role_level ceo"),
        pytest.param(RuleSpec("r", "role_level", 20, "role", None), "value", BAD_ROLE_LEVEL, id="role_level None"),
        pytest.param(RuleSpec("r", "role_level", 20, "role", "Decision Maker"), "value", BAD_ROLE_LEVEL,
                     id="role_level 'Decision Maker'"),
        pytest.param(RuleSpec("r", "industry_fit", 20, "industry", "close"), "value", BAD_INDUSTRY_FIT,
                     id="industry_fit close"),
        pytest.param(RuleSpec("r", "industry_fit", 20, "industry", ["exact"]), "value", BAD_INDUSTRY_FIT,
                     id="industry_fit ['exact']"),
        pytest.param(RuleSpec("r", "equals", 5, "", "Acme"), "field_name", EMPTY_FIELD, id="empty field"),
        pytest.param(RuleSpec("r", "equals", 5, "   ", "Acme"), "field_name", EMPTY_FIELD, id="blank field"),
        pytest.param(RuleSpec("r", "approx", 5, "company", "Acme"), "operator", None, id="unknown operator"),
    ],
)
def test_compile_rule_errors(rule_spec: RuleSpec, field: str, message: str | None) -> None:
    with pytest.raises(RuleConfigError) as error:
        compile_rule(rule_spec)
    assert error.value.field == field
    if message is not None:
        assert error.value.message == message


@pytest.mark.parametrize(
    ("operator", "field_name", "value"),
    [
        pytest.param("equals", "events.email_open.total", "x", id="events.<type>.total"),
        pytest.param("greater_than", "events.email_open.count_0d", 1, id="count_0d"),
        pytest.param("greater_than", "events.email open.count", 1, id="space in event type"),
        pytest.param("equals", "attributes.", "x", id="attributes. without a column"),
        pytest.param("role_level", "events.x.y", "decision_maker", id="role_level on a bad field"),
        pytest.param("industry_fit", "events.x", "exact", id="industry_fit on a bad field"),
    ],
)
def test_compile_rule_bad_field_names(operator: str, field_name: str, value: object) -> None:
    with pytest.raises(RuleConfigError) as error:
        compile_rule(RuleSpec("r", operator, 5, field_name, value))
    assert error.value.field == "field_name"
    assert error.value.message.startswith(f"Unknown field {field_name!r}: use a lead field"), error.value.message


@pytest.mark.parametrize("points", [-100, 0, 100], ids=str)
def test_points_at_the_limits_compile(points: int) -> None:
    assert compile_rule(RuleSpec("r", "equals", points, "company", "Acme")).spec.points == points


@pytest.mark.parametrize(
    ("rule_spec", "lead", "fires"),
    [
        pytest.param(RuleSpec("r", "role_level", 20, "", "decision_maker"), LeadData(role="VP Sales"), True,
                     id="role_level reads role by default"),
        pytest.param(RuleSpec("r", "role_level", 20, "title", "influencer"), LeadData(role="Sales Manager"), True,
                     id="role_level influencer via title"),
        pytest.param(RuleSpec("r", "role_level", 20, "role", "influencer"), LeadData(role="CEO"), False,
                     id="a decision maker is not an influencer"),
        pytest.param(RuleSpec("r", "industry_fit", 20, "", "exact"), LeadData(industry="b2b saas"), True,
                     id="industry_fit exact"),
        pytest.param(RuleSpec("r", "industry_fit", 20, "", "adjacent"), LeadData(industry="B2B SaaS"), False,
                     id="an exact match is not adjacent"),
        pytest.param(RuleSpec("r", "profile_complete", 10), LeadData("a", "b", "c", "d", "e", "f"), True,
                     id="profile complete"),
        pytest.param(RuleSpec("r", "profile_complete", 10), LeadData("a", "b", "c", "d", "N/A", "f"), False,
                     id="placeholder makes a profile incomplete"),
    ],
)
def test_builtin_matchers(rule_spec: RuleSpec, lead: LeadData, fires: bool) -> None:
    assert compile_rule(rule_spec).fires(LeadFacts(lead=lead, now=NOW), OFFER) is fires


BASE = ModelSpec(name="m")


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        pytest.param({"rule_max": -1}, "rule_max", BAD_RULE_MAX, id="rule_max -1"),
        pytest.param({"rule_max": 101}, "rule_max", BAD_RULE_MAX, id="rule_max 101"),
        pytest.param({"rule_max": 50.5}, "rule_max", BAD_RULE_MAX, id="rule_max 50.5"),
        pytest.param({"rule_max": True}, "rule_max", BAD_RULE_MAX, id="rule_max True"),
        pytest.param({"rule_max": "50"}, "rule_max", BAD_RULE_MAX, id="rule_max '50'"),
        pytest.param({"medium_from": 80, "high_from": 70}, "high_from", BAD_THRESHOLDS, id="medium above high"),
        pytest.param({"medium_from": -1}, "high_from", BAD_THRESHOLDS, id="medium_from -1"),
        pytest.param({"high_from": 101}, "high_from", BAD_THRESHOLDS, id="high_from 101"),
        pytest.param({"high_from": "70"}, "high_from", BAD_THRESHOLDS, id="high_from '70'"),
        pytest.param({"medium_from": 40.5}, "high_from", BAD_THRESHOLDS, id="medium_from 40.5"),
        pytest.param({"ai_points": {"High": 50, "Medium": 30}}, "ai_points", BAD_AI_POINTS, id="ai_points no Low"),
        pytest.param({"ai_points": {"High": 50, "Medium": 30, "Low": 10, "Urgent": 60}}, "ai_points", BAD_AI_POINTS,
                     id="ai_points extra intent"),
        pytest.param({"ai_points": {"High": 101, "Medium": 30, "Low": 10}}, "ai_points", BAD_AI_POINTS,
                     id="ai_points 101"),
        pytest.param({"ai_points": {"High": 50, "Medium": 30.5, "Low": 10}}, "ai_points", BAD_AI_POINTS,
                     id="ai_points 30.5"),
        pytest.param({"ai_points": {"High": 50, "Medium": 30, "Low": False}}, "ai_points", BAD_AI_POINTS,
                     id="ai_points False"),
        pytest.param({"ai_points": [50, 30, 10]}, "ai_points", BAD_AI_POINTS, id="ai_points a list"),
        pytest.param({"group_caps": [["g", 10]]}, "group_caps", BAD_GROUP_CAPS, id="group_caps a list"),
        pytest.param({"group_caps": {"g": {}}}, "group_caps", BAD_GROUP_CAPS, id="empty cap"),
        pytest.param({"group_caps": {"g": 10}}, "group_caps", BAD_GROUP_CAPS, id="cap a number"),
        pytest.param({"group_caps": {"g": {"max": 10}}}, "group_caps", BAD_GROUP_CAPS, id="unknown cap key"),
        pytest.param({"group_caps": {"g": {"max_points": 10, "min_points": 20}}}, "group_caps", BAD_GROUP_CAPS,
                     id="min above max"),
        pytest.param({"group_caps": {"g": {"max_points": 101}}}, "group_caps", BAD_GROUP_CAPS, id="max 101"),
        pytest.param({"group_caps": {"g": {"min_points": -101}}}, "group_caps", BAD_GROUP_CAPS, id="min -101"),
        pytest.param({"group_caps": {"g": {"max_points": 7.5}}}, "group_caps", BAD_GROUP_CAPS, id="max 7.5"),
        pytest.param({"group_caps": {" ": {"max_points": 10}}}, "group_caps", BAD_GROUP_CAPS, id="blank group"),
    ],
)
def test_validate_settings_errors(settings: dict[str, Any], field: str, message: str) -> None:
    bad = replace(BASE, **settings)
    with pytest.raises(RuleConfigError) as error:
        validate_settings(bad)
    assert (error.value.field, error.value.message) == (field, message)
    with pytest.raises(RuleConfigError):
        compile_model(bad)


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"rule_max": 0}, id="rule_max 0"),
        pytest.param({"rule_max": 100}, id="rule_max 100"),
        pytest.param({"medium_from": 50, "high_from": 50}, id="medium == high"),
        pytest.param({"medium_from": 0, "high_from": 100}, id="thresholds at the limits"),
        pytest.param({"ai_points": {"High": 100, "Medium": 0, "Low": -100}}, id="ai_points at the limits"),
        pytest.param({"group_caps": {"g": {"max_points": 10, "min_points": 10}}}, id="min == max"),
        pytest.param({"group_caps": {"g": {"min_points": -100}}}, id="min only"),
    ],
)
def test_validate_settings_accepts(settings: dict[str, Any]) -> None:
    validate_settings(replace(BASE, **settings))
