"""The final score: rules + AI verdict, thresholds, reasoning and breakdown formats (DESIGN "Scoring")."""

from __future__ import annotations

import dataclasses

import pytest

from leads.scoring.engine import DEFAULT_MODEL, ScoreResult, combine, intent_for, score_lead
from leads.scoring.rules import (
    HIT_ADJACENT_INDUSTRY,
    HIT_COMPLETE_PROFILE,
    HIT_DECISION_MAKER,
    HIT_EXACT_ICP,
    HIT_INFLUENCER,
)
from leads.scoring.types import Intent, IntentResult, LeadData, OfferData, RuleHit

OFFER = OfferData(
    name="Outreach Pilot",
    value_props=("Automate outbound prospecting",),
    ideal_use_cases=("B2B SaaS mid-market",),
    adjacent_industries=("Marketing",),
)
LEAD = LeadData(
    name="Maya Chen",
    role="VP Sales",
    company="Acme Cloud",
    industry="B2B SaaS",
    location="Austin, TX",
    linkedin_bio="Scaling outbound.",
)


def verdict(intent: Intent, reasoning: str = "Looks keen.") -> IntentResult:
    return IntentResult(intent=intent, reasoning=reasoning, provider="local", model="leadscore-local-1")


@pytest.mark.parametrize(
    ("score", "intent"),
    [
        pytest.param(0, "Low", id="0"),
        pytest.param(39, "Low", id="39"),
        pytest.param(40, "Medium", id="40"),
        pytest.param(41, "Medium", id="41"),
        pytest.param(69, "Medium", id="69"),
        pytest.param(70, "High", id="70"),
        pytest.param(100, "High", id="100"),
    ],
)
def test_intent_thresholds(score: int, intent: Intent) -> None:
    assert intent_for(score) == intent


@pytest.mark.parametrize(
    ("hits", "ai_intent", "score", "intent"),
    [
        pytest.param([], "Low", 10, "Low", id="nothing+Low=10"),
        pytest.param([HIT_DECISION_MAKER], "Low", 30, "Low", id="20+Low=30"),
        pytest.param([HIT_INFLUENCER, HIT_COMPLETE_PROFILE], "Low", 30, "Low", id="20+Low=30 (two rules)"),
        pytest.param([HIT_EXACT_ICP, HIT_COMPLETE_PROFILE], "Low", 40, "Medium", id="30+Low=40"),
        pytest.param([HIT_INFLUENCER], "Medium", 40, "Medium", id="10+Medium=40"),
        pytest.param([], "Medium", 30, "Low", id="nothing+Medium=30"),
        pytest.param([HIT_EXACT_ICP], "High", 70, "High", id="20+High=70"),
        pytest.param([HIT_ADJACENT_INDUSTRY], "High", 60, "Medium", id="10+High=60"),
        pytest.param([HIT_DECISION_MAKER, HIT_EXACT_ICP], "Medium", 70, "High", id="40+Medium=70"),
        pytest.param([HIT_DECISION_MAKER, HIT_ADJACENT_INDUSTRY], "Medium", 60, "Medium", id="30+Medium=60"),
        pytest.param(
            [HIT_DECISION_MAKER, HIT_EXACT_ICP, HIT_COMPLETE_PROFILE], "High", 100, "High", id="50+High=100"
        ),
    ],
)
def test_score_is_rules_plus_ai(hits: list[RuleHit], ai_intent: Intent, score: int, intent: Intent) -> None:
    result = combine(hits, verdict(ai_intent))
    assert (result.rule_score + result.ai_score, result.score, result.intent) == (score, score, intent)
    assert result.ai_intent == ai_intent


# The first stage's breakdown keys; scoring models add `components` and `model` beside them.
FIRST_STAGE_KEYS = ("rule_score", "ai_score", "ai_intent", "rules", "ai")


def first_stage(result: ScoreResult) -> ScoreResult:
    return dataclasses.replace(result, breakdown={key: result.breakdown[key] for key in FIRST_STAGE_KEYS})


def test_full_lead_result_exactly() -> None:
    result = score_lead(LEAD, OFFER, verdict("Medium", "Medium: VP Sales (decision maker)."))
    assert first_stage(result) == ScoreResult(
        rule_score=50,
        ai_score=30,
        score=80,
        intent="High",
        ai_intent="Medium",
        reasoning=(
            "[Rule: Decision maker role (+20), Exact ICP match (+20), Complete profile (+10)] "
            "[AI: Medium (+30): VP Sales (decision maker).]"
        ),
        breakdown={
            "rule_score": 50,
            "ai_score": 30,
            "ai_intent": "Medium",
            "rules": [
                {"label": "Decision maker role", "points": 20},
                {"label": "Exact ICP match", "points": 20},
                {"label": "Complete profile", "points": 10},
            ],
            "ai": {
                "provider": "local",
                "model": "leadscore-local-1",
                "reasoning": "Medium: VP Sales (decision maker).",
            },
        },
    )


def test_breakdown_of_the_design_example() -> None:
    lead = dataclasses.replace(LEAD, location="")
    result = score_lead(lead, OFFER, verdict("Medium", "…"))
    assert first_stage(result).breakdown == {
        "rule_score": 40,
        "ai_score": 30,
        "ai_intent": "Medium",
        "rules": [{"label": "Decision maker role", "points": 20}, {"label": "Exact ICP match", "points": 20}],
        "ai": {"provider": "local", "model": "leadscore-local-1", "reasoning": "…"},
    }
    assert result.reasoning == "[Rule: Decision maker role (+20), Exact ICP match (+20)] [AI: Medium (+30): …]"


def test_rules_come_in_design_order() -> None:
    lead = dataclasses.replace(LEAD, role="Team Lead", industry="SaaS")
    result = score_lead(lead, OFFER, verdict("Low"))
    assert [(r["label"], r["points"]) for r in result.breakdown["rules"]] == [
        (hit.label, hit.points) for hit in (HIT_INFLUENCER, HIT_ADJACENT_INDUSTRY, HIT_COMPLETE_PROFILE)]


def test_the_default_model_is_the_five_spec_rules() -> None:
    assert [(r.spec.name, r.spec.points, r.spec.operator) for r in DEFAULT_MODEL.rules] == [
        ("Decision maker role", 20, "role_level"), ("Influencer role", 10, "role_level"),
        ("Exact ICP match", 20, "industry_fit"), ("Adjacent industry", 10, "industry_fit"),
        ("Complete profile", 10, "profile_complete")]
    assert (DEFAULT_MODEL.spec.rule_max, DEFAULT_MODEL.spec.high_from, DEFAULT_MODEL.spec.medium_from) == (50, 70, 40)


def test_the_breakdown_adds_up_in_components() -> None:
    result = score_lead(LEAD, OFFER, verdict("High"))
    assert result.breakdown["components"] == [
        {"part": "rules", "points": 50, "groups": [{"group": "demographic", "points": 30},
                                                   {"group": "firmographic", "points": 20}],
         "rules": [{"rule_id": None, "label": "Decision maker role", "group": "demographic", "points": 20},
                   {"rule_id": None, "label": "Exact ICP match", "group": "firmographic", "points": 20},
                   {"rule_id": None, "label": "Complete profile", "group": "demographic", "points": 10}]},
        {"part": "ai", "points": 50, "intent": "High"},
    ]
    assert result.breakdown["model"] == {"id": None, "name": "Default", "version": None}


def test_no_rule_fired_reads_none() -> None:
    result = score_lead(LeadData(name="Someone"), OFFER, verdict("Low", "Low: nothing to go on."))
    # The verdict's own "Low:" is not repeated after the engine's "Low (+10):".
    assert result.reasoning == "[Rule: none (+0)] [AI: Low (+10): nothing to go on.]"
    assert result.breakdown["rules"] == []
    assert (result.rule_score, result.ai_score, result.score, result.intent) == (0, 10, 10, "Low")


def test_ai_reasoning_is_kept_on_one_line() -> None:
    result = combine([], verdict("High", "  Line one.\n\nLine   two.\t"))
    assert result.reasoning == "[Rule: none (+0)] [AI: High (+50): Line one. Line two.]"
    assert result.breakdown["ai"]["reasoning"] == "Line one. Line two."


def test_unknown_ai_intent_is_a_provider_bug() -> None:
    with pytest.raises(ValueError, match="unknown intent 'Maybe'"):
        combine([], verdict("Maybe"))  # type: ignore[arg-type]
