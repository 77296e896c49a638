"""Scoring-model templates a workspace can copy: specs, no database.

- `default`: the first stage's formula exactly (DESIGN "Scoring — the exact semantics"): role
  +20/+10, industry fit +20/+10, complete profile +10, the AI layer 50/30/10, thresholds 70/40.
- `budget_size_industry_urgency`: the classic four-factor model over uploaded columns `budget`,
  `company_size`, `industry` and `urgency`, AI off. Tiers are written as steps that add up ("budget
  stated" +10, "over 10k" +10, "over 50k" +10 gives 10/20/30), so every rule reads as one fact and
  a person can add the breakdown up; group caps keep an industry that matches two lists ("Health
  tech") at its tier's top.
- `engagement_led`: points for recent opens, clicks, visits, CRM activity, deal movement, size and
  recency, in the classic weights (25/20/20/15/10/5/5), as rules over 30-day counts; AI off.
- `engagement_decay`: the same weights as caps on the engagement part, whose points fade with a
  half-life per event type, so a lead that goes quiet cools down day by day; AI off.
"""

from __future__ import annotations

from dataclasses import dataclass

from leads.scoring.model import ModelSpec, RuleSpec
from leads.scoring.rules import (
    HIT_ADJACENT_INDUSTRY,
    HIT_COMPLETE_PROFILE,
    HIT_DECISION_MAKER,
    HIT_EXACT_ICP,
    HIT_INFLUENCER,
)


@dataclass(frozen=True, slots=True)
class Template:
    key: str
    name: str
    description: str
    spec: ModelSpec


def default_model_spec() -> ModelSpec:
    return ModelSpec(
        name="Default",
        rules=(
            RuleSpec(HIT_DECISION_MAKER.label, "role_level", HIT_DECISION_MAKER.points, "role", "decision_maker",
                     "demographic", 10),
            RuleSpec(HIT_INFLUENCER.label, "role_level", HIT_INFLUENCER.points, "role", "influencer",
                     "demographic", 20),
            RuleSpec(HIT_EXACT_ICP.label, "industry_fit", HIT_EXACT_ICP.points, "industry", "exact",
                     "firmographic", 30),
            RuleSpec(HIT_ADJACENT_INDUSTRY.label, "industry_fit", HIT_ADJACENT_INDUSTRY.points, "industry", "adjacent",
                     "firmographic", 40),
            RuleSpec(HIT_COMPLETE_PROFILE.label, "profile_complete", HIT_COMPLETE_PROFILE.points, "", True,
                     "demographic", 50),
        ),
    )


TECH = (r"\b(tech|technology|technologies|software|saas|it|information technology|computer\w*|internet|cloud"
        r"|cyber\w*|data|ai|electronics|semiconductors?|telecom\w*|informatik|edv)\b")
FINANCE = (r"\b(financ\w*|fintech|bank\w*|insur\w*|invest\w*|capital|payments?|accounting|wealth|asset management"
           r"|credit|lending|versicherung\w*)\b")
HEALTHCARE = (r"\b(health\w*|medical|medicine|hospitals?|pharma\w*|biotech\w*|clinic\w*|life sciences|dental"
              r"|gesundheit\w*)\b")
IMMEDIATELY = ["immediately", "immediate", "asap", "as soon as possible", "now", "urgent", "today", "right away",
               "sofort", "ab sofort", "umgehend", "dringend", "heute", "immediatement", "de suite", "inmediato"]
THIS_WEEK = ["this week", "within a week", "next few days", "diese woche", "in dieser woche", "innerhalb einer woche",
             "cette semaine", "esta semana"]
THIS_MONTH = ["this month", "within a month", "within 30 days", "next 30 days", "diesen monat", "dieser monat",
              "in diesem monat", "innerhalb eines monats", "ce mois ci", "este mes"]


def budget_size_industry_urgency_spec() -> ModelSpec:
    return ModelSpec(
        name="Budget, size, industry, urgency",
        rule_max=100,
        ai_enabled=False,
        group_caps={"budget": {"max_points": 30}, "size": {"max_points": 30}, "industry": {"max_points": 20},
                    "urgency": {"max_points": 20}},
        rules=(
            RuleSpec("Budget stated", "is_not_empty", 10, "budget", None, "budget", 10),
            RuleSpec("Budget over 10k", "greater_than", 10, "budget", 10_000, "budget", 11),
            RuleSpec("Budget over 50k", "greater_than", 10, "budget", 50_000, "budget", 12),
            RuleSpec("Company size stated", "is_not_empty", 10, "company_size", None, "size", 20),
            RuleSpec("Over 100 employees", "greater_than", 10, "company_size", 100, "size", 21),
            RuleSpec("Over 500 employees", "greater_than", 10, "company_size", 500, "size", 22),
            RuleSpec("Industry stated", "is_not_empty", 5, "industry", None, "industry", 30),
            RuleSpec("Technology industry", "regex", 15, "industry", TECH, "industry", 31),
            RuleSpec("Finance industry", "regex", 10, "industry", FINANCE, "industry", 32),
            RuleSpec("Healthcare industry", "regex", 5, "industry", HEALTHCARE, "industry", 33),
            RuleSpec("Urgency stated", "is_not_empty", 5, "urgency", None, "urgency", 40),
            RuleSpec("Buying this month or sooner", "in_list", 5, "urgency", [*THIS_MONTH, *THIS_WEEK, *IMMEDIATELY],
                     "urgency", 41),
            RuleSpec("Buying this week or sooner", "in_list", 5, "urgency", [*THIS_WEEK, *IMMEDIATELY], "urgency", 42),
            RuleSpec("Buying immediately", "in_list", 5, "urgency", IMMEDIATELY, "urgency", 43),
        ),
    )


def engagement_led_spec() -> ModelSpec:
    return ModelSpec(
        name="Engagement-led",
        rule_max=100,
        ai_enabled=False,
        rules=(
            RuleSpec("Opened an email in the last 30 days", "greater_than", 10, "events.email_open.count_30d", 0,
                     "engagement", 10),
            RuleSpec("3+ opens in 30 days", "greater_than", 8, "events.email_open.count_30d", 2, "engagement", 11),
            RuleSpec("6+ opens in 30 days", "greater_than", 7, "events.email_open.count_30d", 5, "engagement", 12),
            RuleSpec("Clicked an email in the last 30 days", "greater_than", 10, "events.email_click.count_30d", 0,
                     "engagement", 20),
            RuleSpec("3+ clicks in 30 days", "greater_than", 10, "events.email_click.count_30d", 2, "engagement", 21),
            RuleSpec("Visited the site in the last 30 days", "greater_than", 10, "events.page_view.count_30d", 0,
                     "engagement", 30),
            RuleSpec("5+ visits in 30 days", "greater_than", 10, "events.page_view.count_30d", 4, "engagement", 31),
            RuleSpec("CRM activity", "greater_than", 8, "activities_count", 0, "behavioral", 40),
            RuleSpec("4+ CRM activities", "greater_than", 7, "activities_count", 3, "behavioral", 41),
            RuleSpec("Deal stage moved", "greater_than", 10, "events.deal_stage_change.count", 0, "behavioral", 50),
            RuleSpec("Over 100 employees", "greater_than", 5, "company_size", 100, "firmographic", 60),
            RuleSpec("Active in the last 7 days", "less_than", 5, "last_activity_days_ago", 7, "engagement", 70),
            RuleSpec("Unsubscribed", "greater_than", 0, "events.unsubscribe.count", 0, "engagement", 5,
                     knockout=True),
        ),
    )


def engagement_decay_spec() -> ModelSpec:
    """The classic weights as caps on points that fade: what a prospect did lately counts most."""
    return ModelSpec(
        name="Engagement with decay",
        rule_max=10,
        ai_enabled=False,
        engagement={
            "email_open": {"points": 5, "half_life_days": 14, "max_points": 25},
            "email_click": {"points": 10, "half_life_days": 14, "max_points": 20},
            "page_view": {"points": 4, "half_life_days": 7, "max_points": 20},
            "meeting": {"points": 8, "half_life_days": 30, "max_points": 8},
            "call": {"points": 4, "half_life_days": 30, "max_points": 4},
            "email_reply": {"points": 3, "half_life_days": 21, "max_points": 3},
            "deal_stage_change": {"points": 10, "half_life_days": 60, "max_points": 10},
            "horizon_days": 180,
        },
        rules=(
            RuleSpec("Over 100 employees", "greater_than", 5, "company_size", 100, "firmographic", 10),
            RuleSpec("Active in the last 7 days", "less_than", 5, "last_activity_days_ago", 7, "engagement", 20),
            RuleSpec("Unsubscribed", "greater_than", 0, "events.unsubscribe.count", 0, "engagement", 5,
                     knockout=True),
        ),
    )


TEMPLATES: dict[str, Template] = {
    template.key: template
    for template in (
        Template("default", "Default", "The built-in model: role, industry fit and a complete profile (0–50) "
                 "plus the AI layer's reading of the lead against the offer (0–50).", default_model_spec()),
        Template("budget_size_industry_urgency", "Budget, size, industry, urgency",
                 "The classic four-factor model over your uploaded columns budget, company_size, industry and "
                 "urgency (German values such as “Sofort” understood). AI off; 0–100 from the rules alone.",
                 budget_size_industry_urgency_spec()),
        Template("engagement_led", "Engagement-led",
                 "Scores what prospects do: recent email opens (25), clicks (20), site visits (20), CRM activity "
                 "(15), deal movement (10), size (5) and recency (5). An unsubscribe disqualifies. AI off.",
                 engagement_led_spec()),
        Template("engagement_decay", "Engagement with decay",
                 "Points per email open (5), click (10), visit (4), meeting, call, reply and deal move that halve "
                 "every 7–60 days, capped in the classic weights (25/20/20/15/10), plus size (5) and recency (5). "
                 "Beat rescores on SCORE_REFRESH_INTERVAL, so quiet leads cool down. AI off.", engagement_decay_spec()),
    )
}
