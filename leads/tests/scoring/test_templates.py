"""The templates a workspace can copy score as DESIGN "Scoring models" describes them (leads/scoring/templates.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leads.scoring.engine import DEFAULT_MODEL, KNOCKOUT_AI_REASONING, evaluate
from leads.scoring.facts import EngagementFacts, LeadFacts
from leads.scoring.model import compile_model
from leads.scoring.templates import TEMPLATES
from leads.scoring.types import Intent, LeadData, OfferData

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = (NOW - datetime(1970, 1, 1, tzinfo=UTC)).days
OFFER = OfferData(name="Anything", ideal_use_cases=("B2B SaaS",))
FOUR_FACTOR = compile_model(TEMPLATES["budget_size_industry_urgency"].spec)
ENGAGEMENT_LED = compile_model(TEMPLATES["engagement_led"].spec)


def four_factor(budget: object = None, size: object = None, industry: str = "", urgency: object = None,
                **columns: Any):  # type: ignore[no-untyped-def]
    attributes = {key: value for key, value in
                  (("budget", budget), ("company_size", size), ("urgency", urgency)) if value is not None}
    attributes.update(columns)
    facts = LeadFacts(lead=LeadData(name="Jonas Weber", industry=industry), now=NOW, attributes=attributes)
    return evaluate(FOUR_FACTOR, facts, OFFER, None)


def test_four_factor_acceptance_case() -> None:
    """The issue's example: 60.000 € budget, 600 employees, Software, "Sofort" is a perfect 100."""
    result = four_factor("60.000 €", "600", "Software", "Sofort")
    assert (result.score, result.intent, result.rule_score, result.ai_score, result.ai_intent) == (
        100, "High", 100, 0, "")
    assert result.reasoning == (
        "[Rule: Budget stated (+10), Budget over 10k (+10), Budget over 50k (+10), Company size stated (+10), "
        "Over 100 employees (+10), Over 500 employees (+10), Industry stated (+5), Technology industry (+15), "
        "Urgency stated (+5), Buying this month or sooner (+5), Buying this week or sooner (+5), "
        "Buying immediately (+5)] [AI: not part of this scoring model]")
    assert result.breakdown["components"][0]["groups"] == [
        {"group": "budget", "points": 30}, {"group": "size", "points": 30}, {"group": "industry", "points": 20},
        {"group": "urgency", "points": 20}]
    assert result.breakdown["ai"] is None


@pytest.mark.parametrize(
    ("budget", "points"),
    [
        pytest.param("5,000", 10, id="5,000 -> 10"),
        pytest.param(5000, 10, id="5000 as a number -> 10"),
        pytest.param("10k", 10, id="10k is not over 10k -> 10"),
        pytest.param("20k", 20, id="20k -> 20"),
        pytest.param("€20.000", 20, id="€20.000 -> 20"),
        pytest.param("50.000 €", 20, id="50.000 € is not over 50k -> 20"),
        pytest.param("60k", 30, id="60k -> 30"),
        pytest.param("1.2M", 30, id="1.2M -> 30"),
        pytest.param("tbd", 0, id="placeholder -> 0"),
        pytest.param(None, 0, id="missing -> 0"),
    ],
)
def test_four_factor_budget_tiers(budget: object, points: int) -> None:
    assert four_factor(budget=budget).score == points


@pytest.mark.parametrize(
    ("size", "points"),
    [
        pytest.param("50", 10, id="50 -> 10"),
        pytest.param("51-200", 10, id="51-200 reads as 51 -> 10"),
        pytest.param("100", 10, id="100 is not over 100 -> 10"),
        pytest.param("101-500", 20, id="101-500 -> 20"),
        pytest.param(250, 20, id="250 as a number -> 20"),
        pytest.param("500", 20, id="500 is not over 500 -> 20"),
        pytest.param("600", 30, id="600 -> 30"),
        pytest.param("1000+", 30, id="1000+ -> 30"),
        pytest.param(None, 0, id="missing -> 0"),
    ],
)
def test_four_factor_size_tiers(size: object, points: int) -> None:
    assert four_factor(size=size).score == points


@pytest.mark.parametrize(
    ("industry", "points", "capped_from"),
    [
        pytest.param("Software", 20, None, id="Software -> 20"),
        pytest.param("SaaS", 20, None, id="SaaS -> 20"),
        pytest.param("Information Technology", 20, None, id="Information Technology -> 20"),
        pytest.param("Banking", 15, None, id="Banking -> 15"),
        pytest.param("Fintech", 15, None, id="Fintech is finance -> 15"),
        pytest.param("Versicherung", 15, None, id="Versicherung -> 15"),
        pytest.param("Fintech Software", 20, 30, id="Fintech Software: tech and finance, capped at 20"),
        pytest.param("Healthcare", 10, None, id="Healthcare -> 10"),
        pytest.param("Health Tech", 20, 25, id="Health Tech: tech and healthcare, capped at 20"),
        pytest.param("Retail", 5, None, id="Retail -> 5"),
        pytest.param("", 0, None, id="missing -> 0"),
        pytest.param("N/A", 0, None, id="placeholder -> 0"),
    ],
)
def test_four_factor_industry_tiers(industry: str, points: int, capped_from: int | None) -> None:
    result = four_factor(industry=industry)
    assert result.score == points
    groups = result.breakdown["components"][0]["groups"]
    if points:
        expected: dict[str, Any] = {"group": "industry", "points": points}
        if capped_from is not None:
            expected["capped_from"] = capped_from
        assert groups == [expected]
    else:
        assert groups == []


@pytest.mark.parametrize(
    ("urgency", "points"),
    [
        pytest.param("ASAP", 20, id="ASAP -> 20"),
        pytest.param("Sofort", 20, id="Sofort -> 20"),
        pytest.param("immediately", 20, id="immediately -> 20"),
        pytest.param("Diese Woche", 15, id="Diese Woche -> 15"),
        pytest.param("diese Woche", 15, id="diese Woche -> 15"),
        pytest.param("this week", 15, id="this week -> 15"),
        pytest.param("this month", 10, id="this month -> 10"),
        pytest.param("Diesen Monat", 10, id="Diesen Monat -> 10"),
        pytest.param("later", 5, id="later -> 5"),
        pytest.param("Q3", 5, id="Q3 -> 5"),
        pytest.param(None, 0, id="missing -> 0"),
    ],
)
def test_four_factor_urgency_tiers(urgency: object, points: int) -> None:
    assert four_factor(urgency=urgency).score == points


@pytest.mark.parametrize(
    ("columns", "industry", "score", "intent"),
    [
        pytest.param({"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"}, "Software", 100, "High",
                     id="acceptance: 30+30+20+20"),
        pytest.param({"budget": "20k", "company_size": "51-200", "urgency": "this month"}, "Fintech", 55, "Medium",
                     id="20+10+15+10 = 55"),
        pytest.param({"budget": "5,000", "company_size": "50", "urgency": "later"}, "Retail", 30, "Low",
                     id="10+10+5+5 = 30"),
        pytest.param({"budget": "60k", "company_size": "101-500", "urgency": "diese Woche"}, "Health Tech", 85,
                     "High", id="30+20+20+15 = 85"),
        pytest.param({"budget": "20k", "company_size": "600", "urgency": "ASAP"}, "", 70, "High",
                     id="20+30+0+20 = 70 (no industry)"),
        pytest.param({"budget": "5,000", "company_size": "50"}, "Healthcare", 30, "Low",
                     id="10+10+10+0 = 30 (no urgency)"),
        pytest.param({"budget": "20k", "company_size": "150", "urgency": "this week"}, "Retail", 60, "Medium",
                     id="20+20+5+15 = 60"),
        pytest.param({"Budget": "60.000 €", "Company Size": "600", "Urgency": "Sofort"}, "Software", 100, "High",
                     id="CSV headers as people write them"),
        pytest.param({}, "", 0, "Low", id="nothing known: 0"),
    ],
)
def test_four_factor_leads(columns: dict[str, Any], industry: str, score: int, intent: Intent) -> None:
    result = evaluate(FOUR_FACTOR, LeadFacts(lead=LeadData(name="Jonas Weber", industry=industry), now=NOW,
                                             attributes=columns), OFFER, None)
    assert (result.score, result.intent) == (score, intent), columns
    assert sum(c["points"] for c in result.breakdown["components"]) == score


def test_four_factor_settings() -> None:
    spec = TEMPLATES["budget_size_industry_urgency"].spec
    assert (spec.ai_enabled, spec.rule_max, spec.high_from, spec.medium_from) == (False, 100, 70, 40)
    assert FOUR_FACTOR.needs_attributes is True


# --- engagement-led ----------------------------------------------------------------------------


def engagement_led(engagement: EngagementFacts, **columns: Any):  # type: ignore[no-untyped-def]
    facts = LeadFacts(lead=LeadData(name="Maya Chen"), now=NOW, attributes=columns, engagement=engagement)
    return evaluate(ENGAGEMENT_LED, facts, OFFER, None)


EVERYTHING = EngagementFacts(
    counts={"email_open": 9, "email_click": 3, "page_view": 5, "call": 2, "meeting": 1, "deal_stage_change": 1},
    daily={"email_open": {TODAY: 4, TODAY - 10: 2, TODAY - 40: 3}, "email_click": {TODAY - 1: 3},
           "page_view": {TODAY: 1, TODAY - 29: 4}},
    last_activity=NOW - timedelta(days=1),
)


@pytest.mark.parametrize(
    ("engagement", "columns", "score", "labels"),
    [
        pytest.param(EngagementFacts(), {}, 0, [], id="no engagement: 0"),
        pytest.param(EVERYTHING, {"company_size": "250"}, 100, [
            "Opened an email in the last 30 days", "3+ opens in 30 days", "6+ opens in 30 days",
            "Clicked an email in the last 30 days", "3+ clicks in 30 days", "Visited the site in the last 30 days",
            "5+ visits in 30 days", "CRM activity", "4+ CRM activities", "Deal stage moved", "Over 100 employees",
            "Active in the last 7 days"], id="everything: 25+20+20+15+10+5+5 = 100"),
        pytest.param(EngagementFacts(
            counts={"email_open": 1, "page_view": 2, "call": 1},
            daily={"email_open": {TODAY - 3: 1}, "page_view": {TODAY - 5: 2}},
            last_activity=NOW - timedelta(days=10)),
            {"company_size": "50"}, 28,
            ["Opened an email in the last 30 days", "Visited the site in the last 30 days", "CRM activity"],
            id="one open, two visits, one call, quiet for 10 days: 10+10+8 = 28"),
        pytest.param(EngagementFacts(
            counts={"email_open": 8, "email_click": 4, "page_view": 9},
            daily={"email_open": {TODAY - 40: 8}, "email_click": {TODAY - 31: 4}, "page_view": {TODAY - 35: 9}},
            last_activity=NOW - timedelta(days=31)),
            {}, 0, [], id="all of it over 30 days ago: 0"),
        pytest.param(EngagementFacts(
            counts={"email_click": 3, "note": 2, "email_reply": 2},
            last_at={"email_click": NOW - timedelta(days=2)},
            last_activity=NOW - timedelta(days=6, hours=23)),
            {}, 40,
            ["Clicked an email in the last 30 days", "3+ clicks in 30 days", "CRM activity", "4+ CRM activities",
             "Active in the last 7 days"], id="no buckets, clicked 2 days ago, 4 activities, 6 days quiet: 40"),
    ],
)
def test_engagement_led(engagement: EngagementFacts, columns: dict[str, Any], score: int,
                        labels: list[str]) -> None:
    result = engagement_led(engagement, **columns)
    assert result.score == score
    assert [rule["label"] for rule in result.breakdown["rules"]] == labels
    assert sum(rule["points"] for rule in result.breakdown["rules"]) == score


def test_engagement_led_unsubscribe_disqualifies() -> None:
    engagement = EngagementFacts(counts={**EVERYTHING.counts, "unsubscribe": 1}, daily=EVERYTHING.daily,
                                 last_activity=EVERYTHING.last_activity)
    result = engagement_led(engagement, company_size="250")
    assert (result.score, result.intent, result.knockout) == (0, "Low", "Unsubscribed")
    assert result.reasoning == f"[Rule: Knockout: Unsubscribed] [AI: {KNOCKOUT_AI_REASONING}]"


def test_engagement_led_weights_add_up_to_100() -> None:
    """The classic weights 25/20/20/15/10/5/5, by group of signal."""
    spec = TEMPLATES["engagement_led"].spec
    by_field: dict[str, int] = {}
    for rule in spec.rules:
        if not rule.knockout:
            by_field[rule.field_name] = by_field.get(rule.field_name, 0) + rule.points
    assert by_field == {"events.email_open.count_30d": 25, "events.email_click.count_30d": 20,
                        "events.page_view.count_30d": 20, "activities_count": 15,
                        "events.deal_stage_change.count": 10, "company_size": 5, "last_activity_days_ago": 5}
    assert (spec.ai_enabled, spec.rule_max) == (False, 100)


# --- the default -------------------------------------------------------------------------------


def test_default_template_is_the_built_in_default() -> None:
    template = TEMPLATES["default"].spec
    assert template == DEFAULT_MODEL.spec
    compiled = compile_model(template)
    assert [r.spec for r in compiled.rules] == [r.spec for r in DEFAULT_MODEL.rules]
    assert [(r.name, r.operator, r.points, r.field_name, r.value, r.group, r.priority, r.knockout)
            for r in template.rules] == [
        ("Decision maker role", "role_level", 20, "role", "decision_maker", "demographic", 10, False),
        ("Influencer role", "role_level", 10, "role", "influencer", "demographic", 20, False),
        ("Exact ICP match", "industry_fit", 20, "industry", "exact", "firmographic", 30, False),
        ("Adjacent industry", "industry_fit", 10, "industry", "adjacent", "firmographic", 40, False),
        ("Complete profile", "profile_complete", 10, "", True, "demographic", 50, False),
    ]
    assert (template.rule_max, template.ai_enabled, dict(template.ai_points), template.high_from,
            template.medium_from, dict(template.group_caps)) == (
        50, True, {"High": 50, "Medium": 30, "Low": 10}, 70, 40, {})
    assert DEFAULT_MODEL.needs_attributes is False


def test_templates_are_listed_by_key() -> None:
    assert list(TEMPLATES) == ["default", "budget_size_industry_urgency", "engagement_led", "engagement_decay"]
    assert all(template.key == key for key, template in TEMPLATES.items())
