"""Rules + AI verdict -> the final score (DESIGN "Scoring — the exact semantics").

    score_lead(lead, offer, verdict) -> ScoreResult

`score = rule_score + ai_score` (0–100); `intent` is High from 70, Medium from 40, else Low. The
engine never calls a provider: the service asks one for `verdict` (an AI verdict is never invented
here) and stores the `ScoreResult`.

Formats, kept exactly so existing clients can read them:

- reasoning: `[Rule: Decision maker role (+20), Exact ICP match (+20)] [AI: <verdict reasoning>]`.
  When no rule fires the rule part is `[Rule: none (+0)]`: always the same two bracketed parts, so
  a client splitting on "] [" never meets a missing half. The verdict's reasoning is put on one
  line (runs of whitespace, newlines included, become one space) so CSV exports stay one row.
- breakdown: `{"rule_score", "ai_score", "ai_intent", "rules": [{"label", "points"}...],
  "ai": {"provider", "model", "reasoning"}}`, the same facts as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leads.scoring.intent.base import AI_POINTS
from leads.scoring.rules import DEFAULT_RULESET, Rule, rule_layer
from leads.scoring.types import Intent, IntentResult, LeadData, OfferData, RuleHit

HIGH_FROM = 70
MEDIUM_FROM = 40
NO_RULE_REASONING = "none (+0)"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    rule_score: int
    ai_score: int
    score: int
    intent: Intent
    ai_intent: Intent
    reasoning: str
    breakdown: dict[str, Any]


def intent_for(score: int) -> Intent:
    """The final label of a 0–100 score."""
    if score >= HIGH_FROM:
        return "High"
    if score >= MEDIUM_FROM:
        return "Medium"
    return "Low"


def score_lead(
    lead: LeadData, offer: OfferData, verdict: IntentResult, ruleset: tuple[Rule, ...] = DEFAULT_RULESET
) -> ScoreResult:
    """Score one lead for one offer from the rule layer and the AI verdict."""
    return combine(rule_layer(lead, offer, ruleset), verdict)


def combine(hits: list[RuleHit], verdict: IntentResult) -> ScoreResult:
    """The score of rule hits already computed plus an AI verdict.

    Raises ValueError for a verdict whose intent is not High/Medium/Low (a provider bug).
    """
    try:
        ai_score = AI_POINTS[verdict.intent]
    except KeyError:
        raise ValueError(f"AI verdict has an unknown intent {verdict.intent!r}.") from None
    rule_score = sum(hit.points for hit in hits)
    score = rule_score + ai_score
    ai_reasoning = " ".join(verdict.reasoning.split())
    rule_part = ", ".join(f"{hit.label} (+{hit.points})" for hit in hits) or NO_RULE_REASONING
    return ScoreResult(
        rule_score=rule_score,
        ai_score=ai_score,
        score=score,
        intent=intent_for(score),
        ai_intent=verdict.intent,
        reasoning=f"[Rule: {rule_part}] [AI: {ai_reasoning}]",
        breakdown={
            "rule_score": rule_score,
            "ai_score": ai_score,
            "ai_intent": verdict.intent,
            "rules": [{"label": hit.label, "points": hit.points} for hit in hits],
            "ai": {"provider": verdict.provider, "model": verdict.model, "reasoning": ai_reasoning},
        },
    )
