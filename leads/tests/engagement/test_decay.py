"""The engagement part: points per event type halving every half-life, capped, within a horizon.

DESIGN "Engagement" (decay). Pure: fixed clocks, hand-built aggregates, numbers worked out by hand
next to each case (points × 0.5 ^ (age / half-life), summed per type, then rounded).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leads.scoring.engagement import BAD_ENGAGEMENT, day_number, engagement_points, validate_engagement
from leads.scoring.engine import AI_OFF_REASONING, KNOCKOUT_AI_REASONING, evaluate
from leads.scoring.facts import EngagementFacts, LeadFacts
from leads.scoring.model import ModelSpec, RuleSpec, compile_model
from leads.scoring.operators import RuleConfigError
from leads.scoring.templates import TEMPLATES
from leads.scoring.types import Intent, IntentResult, LeadData, OfferData

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
TODAY = day_number(NOW)
OFFER = OfferData(name="Outreach Pilot", ideal_use_cases=("B2B SaaS",))

OPEN = {"points": 5, "half_life_days": 14, "max_points": 20}
CLICK = {"points": 10, "half_life_days": 7}
UNSUBSCRIBE = {"points": -20, "half_life_days": 30}
CONFIG: dict[str, Any] = {"email_open": OPEN, "email_click": CLICK, "unsubscribe": UNSUBSCRIBE, "horizon_days": 180}


def by_age(**types: dict[int, int]) -> EngagementFacts:
    """Aggregates from {type: {age in days: events}} as ingest keeps them (per-day counts)."""
    return EngagementFacts(
        counts={t: sum(days.values()) for t, days in types.items()},
        daily={t: {TODAY - age: n for age, n in days.items()} for t, days in types.items()},
    )


def entry(event_type: str, events: int, points: int, capped_from: int | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"type": event_type, "events": events, "points": points}
    if capped_from is not None:
        found["capped_from"] = capped_from
    return found


# --- half-life, rounding, caps, negative points ---------------------------------------------------


@pytest.mark.parametrize(
    ("engagement", "total", "details"),
    [
        pytest.param(by_age(email_open={0: 1}), 5, [entry("email_open", 1, 5)], id="an open today is worth 5"),
        pytest.param(by_age(email_open={14: 2}), 5, [entry("email_open", 2, 5)],
                     id="two opens 14 days ago: 2 x 2.5 = 5"),
        pytest.param(by_age(email_open={28: 4}), 5, [entry("email_open", 4, 5)],
                     id="four opens 28 days ago: 4 x 1.25 = 5"),
        pytest.param(by_age(email_open={28: 1}), 1, [entry("email_open", 1, 1)], id="one open 28 days ago: 1.25 -> 1"),
        pytest.param(by_age(email_open={7: 1}), 4, [entry("email_open", 1, 4)],
                     id="one open 7 days ago: 5 x 0.5^0.5 = 3.54 -> 4"),
        pytest.param(by_age(email_open={21: 1}), 2, [entry("email_open", 1, 2)],
                     id="one open 21 days ago: 5 x 0.5^1.5 = 1.77 -> 2"),
        pytest.param(by_age(email_open={28: 3}), 4, [entry("email_open", 3, 4)],
                     id="three opens 28 days ago: 3.75 rounded once -> 4, not 1+1+1"),
        pytest.param(by_age(email_open={0: 1, 14: 1, 28: 2}), 10, [entry("email_open", 4, 10)],
                     id="opens over several days: 5 + 2.5 + 2 x 1.25 = 10"),
        pytest.param(by_age(email_open={60: 1}), 0, [], id="one open 60 days ago: 0.26 -> 0, left out"),
        pytest.param(by_age(email_open={0: 4}), 20, [entry("email_open", 4, 20)], id="four opens today: at the cap"),
        pytest.param(by_age(email_open={0: 6}), 20, [entry("email_open", 6, 20, capped_from=30)],
                     id="six opens today: 30 capped at 20"),
        pytest.param(by_age(email_click={0: 1, 7: 1, 14: 2}), 20, [entry("email_click", 4, 20)],
                     id="no cap on clicks: 10 + 5 + 2 x 2.5 = 20"),
        pytest.param(by_age(unsubscribe={0: 1}), -20, [entry("unsubscribe", 1, -20)], id="negative points today"),
        pytest.param(by_age(unsubscribe={30: 1}), -10, [entry("unsubscribe", 1, -10)],
                     id="negative points fade too: -20 x 0.5 = -10"),
        pytest.param(by_age(email_open={0: 1}, unsubscribe={0: 1}), -15,
                     [entry("email_open", 1, 5), entry("unsubscribe", 1, -20)], id="5 - 20 = -15"),
        pytest.param(by_age(email_open={0: 2, 14: 2}, email_click={7: 1}), 20,
                     [entry("email_open", 4, 15), entry("email_click", 1, 5)],
                     id="several types: opens 10 + 5, a click 7 days ago 5"),
        pytest.param(by_age(page_view={0: 10}, meeting={0: 1}), 0, [], id="types the config lacks count nothing"),
        pytest.param(EngagementFacts(), 0, [], id="no engagement at all"),
    ],
)
def test_engagement_points(engagement: EngagementFacts, total: int, details: list[dict[str, Any]]) -> None:
    assert engagement_points(CONFIG, engagement, NOW) == (total, details), engagement


def test_a_negative_type_is_not_raised_by_its_max_points() -> None:
    """max_points caps from above; a penalty stays a penalty."""
    config = {"unsubscribe": {"points": -20, "half_life_days": 30, "max_points": 5}}
    assert engagement_points(config, by_age(unsubscribe={0: 1}), NOW) == (-20, [entry("unsubscribe", 1, -20)])


def test_ages_are_whole_days_since_the_events_utc_day() -> None:
    """Late on a day, an event of the same UTC day is age 0; the next morning it is age 1."""
    config = {"email_open": {"points": 8, "half_life_days": 1}}
    engagement = by_age(email_open={0: 1})
    assert engagement_points(config, engagement, NOW.replace(hour=23, minute=59)) == (8, [entry("email_open", 1, 8)])
    next_morning = NOW.replace(hour=0, minute=1) + timedelta(days=1)
    assert engagement_points(config, engagement, next_morning) == (4, [entry("email_open", 1, 4)])


# --- horizon --------------------------------------------------------------------------------------

LASTING = {"points": 10, "half_life_days": 3650}


@pytest.mark.parametrize(
    ("config", "ages", "total", "events"),
    [
        pytest.param({"meeting": LASTING, "horizon_days": 30}, {29: 1}, 10, 1,
                     id="horizon 30, 29 days old: 10 x 0.5^(29/3650) = 9.95 -> 10"),
        pytest.param({"meeting": LASTING, "horizon_days": 30}, {31: 1}, 0, 0, id="horizon 30, 31 days old: 0"),
        pytest.param({"meeting": LASTING, "horizon_days": 30}, {29: 1, 31: 3, 400: 2}, 10, 1,
                     id="horizon 30: only the event inside counts, and is the only one counted"),
        pytest.param({"meeting": LASTING}, {179: 1}, 10, 1, id="default horizon 180, 179 days old: 9.67 -> 10"),
        pytest.param({"meeting": LASTING}, {181: 1}, 0, 0, id="default horizon 180, 181 days old: 0"),
        pytest.param({"meeting": LASTING, "horizon_days": 730}, {500: 1}, 9, 1,
                     id="horizon 730, 500 days old: 10 x 0.5^(500/3650) = 9.09 -> 9"),
    ],
)
def test_horizon(config: dict[str, Any], ages: dict[int, int], total: int, events: int) -> None:
    points, details = engagement_points(config, by_age(meeting=ages), NOW)
    assert points == total
    assert details == ([entry("meeting", events, total)] if events else [])


# --- aggregates without day counts: the latest event's age for all of them -------------------------


@pytest.mark.parametrize(
    ("engagement", "total", "details"),
    [
        pytest.param(EngagementFacts(counts={"email_open": 2}, last_at={"email_open": NOW - timedelta(days=14)}),
                     5, [entry("email_open", 2, 5)], id="two opens, the last 14 days ago: 2 x 2.5"),
        pytest.param(EngagementFacts(counts={"email_open": 6}, last_at={"email_open": NOW}),
                     20, [entry("email_open", 6, 20, capped_from=30)], id="capped the same way"),
        pytest.param(EngagementFacts(counts={"email_open": 2}, last_at={"email_open": NOW - timedelta(days=200)}),
                     0, [], id="the last one beyond the horizon: 0"),
        pytest.param(EngagementFacts(counts={}, last_at={"email_open": NOW}), 0, [], id="a time without a count: 0"),
        pytest.param(EngagementFacts(counts={"email_open": 4}, last_at={"email_open": NOW},
                                     daily={"email_open": {TODAY - 28: 4}}),
                     5, [entry("email_open", 4, 5)], id="day counts win over last_at: 4 x 1.25, not 4 x 5"),
    ],
)
def test_no_day_counts_fall_back_to_the_latest_time(engagement: EngagementFacts, total: int,
                                                    details: list[dict[str, Any]]) -> None:
    assert engagement_points(CONFIG, engagement, NOW) == (total, details), engagement


@pytest.mark.parametrize(
    "engagement",
    [
        pytest.param(by_age(email_open={-1: 1}), id="with day counts"),
        pytest.param(EngagementFacts(counts={"email_open": 1}, last_at={"email_open": NOW + timedelta(hours=13)}),
                     id="without day counts"),
    ],
)
def test_an_event_slightly_ahead_of_the_clock_counts_as_today(engagement: EngagementFacts) -> None:
    """Ingest accepts events up to a day ahead (clock skew); such an event is worth a fresh one's
    points, whichever way its aggregates are kept."""
    assert engagement_points(CONFIG, engagement, NOW) == (5, [entry("email_open", 1, 5)])


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({}, id="empty"),
        pytest.param(CONFIG, id="the suite's config"),
        pytest.param(dict(TEMPLATES["engagement_decay"].spec.engagement), id="the engagement_decay template"),
        pytest.param({"horizon_days": 1, "max_points": 0}, id="settings at their lowest"),
        pytest.param({"horizon_days": 730, "max_points": 100}, id="settings at their highest"),
        pytest.param({"my_custom_event": {"points": -100, "half_life_days": 0.1}}, id="custom type, lowest values"),
        pytest.param({"x": {"points": 100, "half_life_days": 3650, "max_points": 100}}, id="highest values"),
        pytest.param({"email_open": {"points": 2.5, "half_life_days": 10.5, "max_points": 0}}, id="fractions"),
    ],
)
def test_valid_engagement(config: dict[str, Any]) -> None:
    validate_engagement(config)


@pytest.mark.parametrize(
    "config",
    [
        pytest.param([], id="a list"),
        pytest.param("email_open", id="a text"),
        pytest.param(None, id="null"),
        pytest.param({"horizon_days": 0}, id="horizon 0"),
        pytest.param({"horizon_days": 731}, id="horizon over 730"),
        pytest.param({"horizon_days": True}, id="horizon a boolean"),
        pytest.param({"horizon_days": "180"}, id="horizon a text"),
        pytest.param({"max_points": 101}, id="max_points over 100"),
        pytest.param({"max_points": -1}, id="max_points negative"),
        pytest.param({"Email_Open": OPEN}, id="uppercase type"),
        pytest.param({"email-open": OPEN}, id="type with a dash"),
        pytest.param({"1open": OPEN}, id="type starting with a digit"),
        pytest.param({"e" * 51: OPEN}, id="type of 51 characters"),
        pytest.param({"email_open": 5}, id="points without an object"),
        pytest.param({"email_open": {"points": 5}}, id="no half-life"),
        pytest.param({"email_open": {"half_life_days": 14}}, id="no points"),
        pytest.param({"email_open": {"points": 5, "half_life_days": 0}}, id="half-life 0"),
        pytest.param({"email_open": {"points": 5, "half_life_days": 3651}}, id="half-life over 3650"),
        pytest.param({"email_open": {"points": 101, "half_life_days": 14}}, id="points over 100"),
        pytest.param({"email_open": {"points": -101, "half_life_days": 14}}, id="points under -100"),
        pytest.param({"email_open": {"points": True, "half_life_days": 14}}, id="points a boolean"),
        pytest.param({"email_open": {"points": "5", "half_life_days": 14}}, id="points a text"),
        pytest.param({"email_open": {"points": 5, "half_life_days": 14, "max_points": 101}}, id="type cap over 100"),
        pytest.param({"email_open": {"points": 5, "half_life_days": 14, "max_points": -1}}, id="type cap negative"),
        pytest.param({"email_open": {"points": 5, "half_life_days": 14, "weight": 2}}, id="unknown key"),
    ],
)
def test_invalid_engagement(config: object) -> None:
    with pytest.raises(ValueError) as raised:
        validate_engagement(config)
    assert str(raised.value) == BAD_ENGAGEMENT


def test_a_model_with_a_bad_engagement_part_does_not_compile() -> None:
    with pytest.raises(RuleConfigError) as raised:
        compile_model(ModelSpec(name="Bad", ai_enabled=False, engagement={"email_open": {"points": 5}}))
    assert (raised.value.field, raised.value.message) == ("engagement", BAD_ENGAGEMENT)


# --- the engine: the engagement component next to the rules and the AI ----------------------------

RULES = (
    RuleSpec("Over 100 employees", "greater_than", 10, "company_size", 100, "firmographic", 10, id=1),
    RuleSpec("Opened in 30 days", "greater_than", 5, "events.email_open.count_30d", 0, "engagement", 20, id=2),
)
ENGAGEMENT = {"email_open": OPEN, "email_click": CLICK, "unsubscribe": UNSUBSCRIBE, "horizon_days": 180,
              "max_points": 25}
RULES_AND_ENGAGEMENT = compile_model(ModelSpec(name="Engaged", rule_max=30, ai_enabled=False, rules=RULES,
                                               engagement=ENGAGEMENT, id=7, version=3))
WITH_AI = compile_model(ModelSpec(name="Engaged + AI", rule_max=50, rules=RULES, engagement=ENGAGEMENT))
NO_ENGAGEMENT_PART = compile_model(ModelSpec(name="Rules only", rule_max=30, ai_enabled=False, rules=RULES))

RULES_COMPONENT_BOTH = {
    "part": "rules", "points": 15,
    "rules": [{"rule_id": 1, "label": "Over 100 employees", "group": "firmographic", "points": 10},
              {"rule_id": 2, "label": "Opened in 30 days", "group": "engagement", "points": 5}],
    "groups": [{"group": "firmographic", "points": 10}, {"group": "engagement", "points": 5}],
}


def lead(engagement: EngagementFacts, now: datetime = NOW, **columns: Any) -> LeadFacts:
    return LeadFacts(lead=LeadData(name="Maya Chen"), now=now, attributes=columns, engagement=engagement)


def verdict(intent: Intent) -> IntentResult:
    return IntentResult(intent=intent, reasoning="Runs outbound\n at scale.", provider="local",
                        model="leadscore-local-1")


def test_the_breakdown_adds_up_with_rules_and_engagement() -> None:
    """Rules 10 + 5 = 15; opens 2 x 5 + 2 x 2.5 = 15 and a click 7 days ago 5: engagement 20; 35."""
    result = evaluate(RULES_AND_ENGAGEMENT, lead(by_age(email_open={0: 2, 14: 2}, email_click={7: 1}),
                                                 company_size="250"), OFFER, None)
    engagement = {"part": "engagement", "points": 20,
                  "types": [entry("email_open", 4, 15), entry("email_click", 1, 5)]}
    assert result.breakdown["components"] == [RULES_COMPONENT_BOTH, engagement]
    assert (result.rule_score, result.ai_score, result.score, result.intent) == (15, 0, 35, "Low")
    assert sum(component["points"] for component in result.breakdown["components"]) == result.score
    assert "capped_from" not in result.breakdown
    assert result.breakdown["model"] == {"id": 7, "name": "Engaged", "version": 3}
    assert result.reasoning == (f"[Rule: Over 100 employees (+10), Opened in 30 days (+5)] [AI: {AI_OFF_REASONING}] "
                                "[Engagement: email open ×4 (+15), email click ×1 (+5)]")


def test_the_parts_cap_holds_the_engagement_component() -> None:
    """Opens 4 x 5 = 20 (at their cap) and a click today 10: 30, held at the part's 25."""
    result = evaluate(RULES_AND_ENGAGEMENT, lead(by_age(email_open={0: 4}, email_click={0: 1})), OFFER, None)
    engagement = {"part": "engagement", "points": 25, "capped_from": 30,
                  "types": [entry("email_open", 4, 20), entry("email_click", 1, 10)]}
    assert result.breakdown["components"][1] == engagement
    assert result.breakdown["components"][0]["points"] == 5  # "Opened in 30 days" alone
    assert result.score == 30 == sum(component["points"] for component in result.breakdown["components"])
    assert result.reasoning.endswith("[Engagement: email open ×4 (+20), email click ×1 (+10); 25 after the cap]")


def test_a_capped_type_shows_what_it_was_capped_from() -> None:
    result = evaluate(RULES_AND_ENGAGEMENT, lead(by_age(email_open={0: 6})), OFFER, None)
    assert result.breakdown["components"][1] == {"part": "engagement", "points": 20,
                                                 "types": [entry("email_open", 6, 20, capped_from=30)]}
    assert result.score == 25
    assert result.reasoning.endswith("[Engagement: email open ×6 (+20)]")


def test_no_activity_is_an_empty_component_and_says_so() -> None:
    result = evaluate(RULES_AND_ENGAGEMENT, lead(EngagementFacts(), company_size="250"), OFFER, None)
    assert result.breakdown["components"][1] == {"part": "engagement", "points": 0, "types": []}
    assert result.score == 10
    assert result.reasoning == (f"[Rule: Over 100 employees (+10)] [AI: {AI_OFF_REASONING}] "
                                "[Engagement: no recent activity (+0)]")


def test_the_ai_part_sits_between_rules_and_engagement() -> None:
    """Rules 15 + AI Medium 30 + engagement 20 = 65."""
    facts = lead(by_age(email_open={0: 2, 14: 2}, email_click={7: 1}), company_size="250")
    result = evaluate(WITH_AI, facts, OFFER, verdict("Medium"))
    assert [c["part"] for c in result.breakdown["components"]] == ["rules", "ai", "engagement"]
    assert result.breakdown["components"][1] == {"part": "ai", "points": 30, "intent": "Medium"}
    assert (result.rule_score, result.ai_score, result.score, result.intent) == (15, 30, 65, "Medium")
    assert sum(component["points"] for component in result.breakdown["components"]) == 65
    assert result.reasoning == ("[Rule: Over 100 employees (+10), Opened in 30 days (+5)] "
                                "[AI: Medium (+30): Runs outbound at scale.] "
                                "[Engagement: email open ×4 (+15), email click ×1 (+5)]")


@pytest.mark.parametrize(
    ("engagement", "intent", "total", "score"),
    [
        pytest.param(by_age(email_open={0: 4}), "High", 85, 85, id="rules 15 + AI 50 + opens 20 = 85"),
        pytest.param(by_age(email_open={0: 4}, email_click={0: 1}), "High", 90, 90,
                     id="rules 15 + AI 50 + engagement 30 held at 25 = 90"),
        pytest.param(by_age(email_open={0: 4}, email_click={0: 3}), "Medium", 70, 70,
                     id="rules 15 + AI 30 + engagement 50 held at 25 = 70"),
        pytest.param(by_age(unsubscribe={0: 2}), "Low", -20, 0,
                     id="rules 10 (no opens) + AI 10 + two unsubscribes -40 = -20, clamped at 0"),
    ],
)
def test_the_total_is_the_sum_of_components_unless_clamped(engagement: EngagementFacts, intent: Intent, total: int,
                                                           score: int) -> None:
    result = evaluate(WITH_AI, lead(engagement, company_size="250"), OFFER, verdict(intent))
    assert sum(component["points"] for component in result.breakdown["components"]) == total
    assert result.score == score
    if score == total:
        assert "capped_from" not in result.breakdown
    else:
        assert result.breakdown["capped_from"] == total


def test_over_100_is_clamped_and_the_raw_total_kept() -> None:
    """Rules 50 + AI High 50 + engagement 20 = 120, clamped to 100."""
    rules = (RuleSpec("Big", "greater_than", 50, "company_size", 100, "firmographic", 10),)
    model = compile_model(ModelSpec(name="Generous", rules=rules, engagement=ENGAGEMENT))
    result = evaluate(model, lead(by_age(email_open={0: 4}), company_size="250"), OFFER, verdict("High"))
    assert sum(component["points"] for component in result.breakdown["components"]) == 120
    assert (result.score, result.breakdown["capped_from"], result.intent) == (100, 120, "High")


def test_a_model_without_an_engagement_part_has_no_such_component() -> None:
    result = evaluate(NO_ENGAGEMENT_PART, lead(by_age(email_open={0: 4}), company_size="250"), OFFER, None)
    assert [c["part"] for c in result.breakdown["components"]] == ["rules"]
    assert result.score == 15
    assert "[Engagement:" not in result.reasoning


# --- the engagement_decay template, by hand --------------------------------------------------------

DECAY = compile_model(TEMPLATES["engagement_decay"].spec)
BUSY = EngagementFacts(
    counts={"email_open": 5, "email_click": 2, "page_view": 6, "meeting": 1, "call": 1, "deal_stage_change": 1,
            "note": 5},
    daily={"email_open": {TODAY: 3, TODAY - 14: 2}, "email_click": {TODAY: 1, TODAY - 14: 1},
           "page_view": {TODAY: 6}, "meeting": {TODAY - 30: 1}, "call": {TODAY - 60: 1},
           "deal_stage_change": {TODAY - 60: 1}, "note": {TODAY: 5}},
    first_activity=NOW - timedelta(days=60), last_activity=NOW - timedelta(hours=2),
)


def test_engagement_decay_template_scores_a_busy_lead() -> None:
    """Opens 3 x 5 + 2 x 2.5 = 20 (cap 25); clicks 10 + 5 = 15 (cap 20); visits 6 x 4 = 24, capped at 20;
    a meeting 30 days ago 8 x 0.5 = 4; a call 60 days ago 4 x 0.25 = 1; a deal move 60 days ago
    10 x 0.5 = 5; notes are not in the model. Engagement 65; rules: over 100 employees +5, active in
    the last 7 days +5 (rule_max 10). 75: High."""
    result = evaluate(DECAY, lead(BUSY, company_size="250"), OFFER, None)
    engagement = {"part": "engagement", "points": 65, "types": [
        entry("email_open", 5, 20), entry("email_click", 2, 15), entry("page_view", 6, 20, capped_from=24),
        entry("meeting", 1, 4), entry("call", 1, 1), entry("deal_stage_change", 1, 5)]}
    assert result.breakdown["components"][1] == engagement
    assert result.breakdown["components"][0]["points"] == 10
    assert (result.score, result.intent, result.ai_score) == (75, "High", 0)
    assert result.reasoning == (
        f"[Rule: Over 100 employees (+5), Active in the last 7 days (+5)] [AI: {AI_OFF_REASONING}] "
        "[Engagement: email open ×5 (+20), email click ×2 (+15), page view ×6 (+20), meeting ×1 (+4), call ×1 (+1), "
        "deal stage change ×1 (+5)]")


def test_engagement_decay_template_cools_a_quiet_lead_down() -> None:
    """The same lead 28 days later, nothing new: opens 3 x 1.25 + 2 x 0.625 = 5; clicks 2.5 + 1.25 = 3.75
    -> 4; visits 24 x 0.0625 = 1.5 -> 2; meeting 8 x 0.5^(58/30) = 2.09 -> 2; call 4 x 0.5^(88/30) = 0.52
    -> 1; deal move 10 x 0.5^(88/60) = 3.62 -> 4. Engagement 18, size +5, not active lately: 23, Low."""
    later = NOW + timedelta(days=28)
    result = evaluate(DECAY, lead(BUSY, now=later, company_size="250"), OFFER, None)
    assert result.breakdown["components"][1] == {"part": "engagement", "points": 18, "types": [
        entry("email_open", 5, 5), entry("email_click", 2, 4), entry("page_view", 6, 2), entry("meeting", 1, 2),
        entry("call", 1, 1), entry("deal_stage_change", 1, 4)]}
    assert (result.score, result.intent) == (23, "Low")


def test_engagement_decay_template_unsubscribe_is_a_knockout() -> None:
    engagement = EngagementFacts(counts={**BUSY.counts, "unsubscribe": 1}, daily=BUSY.daily,
                                 last_activity=BUSY.last_activity)
    result = evaluate(DECAY, lead(engagement, company_size="250"), OFFER, None)
    assert (result.score, result.intent, result.knockout) == (0, "Low", "Unsubscribed")
    assert result.reasoning == f"[Rule: Knockout: Unsubscribed] [AI: {KNOCKOUT_AI_REASONING}]"
