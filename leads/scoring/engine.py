"""A compiled scoring model + one lead's facts + the AI verdict -> the score and how it was made.

    evaluate(model, facts, offer, verdict) -> ScoreResult

Arithmetic (DESIGN "Scoring models"): the points of the rules that match, summed per group and held
within the group's `min_points`/`max_points`; the rule layer capped at `rule_max`; plus the AI
layer's points for the verdict (when the model has one); the total clamped to 0–100 and labelled
High from `high_from`, Medium from `medium_from`. A matching knockout rule short-cuts all of it:
score 0, intent Low, its name as the reason, and the AI is never asked.

The engine never calls a provider: the service asks one for `verdict` (a verdict is never invented
here) and stores the result. Formats, kept exactly so the first stage's clients still read them:

- reasoning: `[Rule: Decision maker role (+20), Exact ICP match (+20)] [AI: High (+50): <verdict
  reasoning>]`. When no rule fires the rule part is `[Rule: none (+0)]`: always two bracketed parts,
  so a client splitting on "] [" never meets a missing half. The AI part opens with the verdict and
  its points, as each rule shows its own, so the reasoning adds up to the score; the verdict's
  reasoning is put on one line (and not labelled twice when it already opens with "High:").
- breakdown: `{"rule_score", "ai_score", "ai_intent", "rules": [{"label", "points"}...],
  "ai": {"provider", "model", "reasoning"}}` as before, plus `components` (one entry per part,
  with the rules' ids and groups and any capped amounts, so a person can add the numbers up),
  `model` and, for a knockout, `knockout`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leads.scoring.engagement import engagement_points
from leads.scoring.facts import LeadFacts
from leads.scoring.learned import LearnedModel, featurize, probability
from leads.scoring.model import CompiledModel, CompiledRule, ModelSpec, compile_model
from leads.scoring.templates import default_model_spec
from leads.scoring.types import Intent, IntentResult, LeadData, OfferData, RuleHit

HIGH_FROM = 70
MEDIUM_FROM = 40
NO_RULE_REASONING = "none (+0)"
AI_OFF_REASONING = "not part of this scoring model"
KNOCKOUT_AI_REASONING = "not asked: a knockout rule disqualified the lead"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    rule_score: int
    ai_score: int
    score: int
    intent: Intent
    ai_intent: Intent | str
    reasoning: str
    breakdown: dict[str, Any]
    #: The knockout rule's name when one disqualified the lead.
    knockout: str | None = field(default=None, compare=False)
    #: The learned model's probability of winning, when the model has a learned part.
    conversion_probability: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class LearnedPart:
    """A trained model applied as the learned part of a scoring model: `round(probability ×
    learned_weight × blend)` points, the blend growing with the outcomes it learned from."""

    model: LearnedModel
    blend: float
    trained_model_id: int | None = None
    version: int | None = None


def intent_for(score: int, *, high_from: int = HIGH_FROM, medium_from: int = MEDIUM_FROM) -> Intent:
    """The final label of a 0–100 score."""
    if score >= high_from:
        return "High"
    if score >= medium_from:
        return "Medium"
    return "Low"


@dataclass(frozen=True, slots=True)
class _Hit:
    rule_id: int | None
    label: str
    group: str
    points: int


def _points(points: int) -> str:
    return f"{points:+d}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _ai_text(intent: str, points: int, reasoning: str) -> str:
    """ "High (+50): <reasoning>"; a reasoning that opens with its own label is not labelled twice."""
    label = f"{intent}:"
    if reasoning[: len(label)].lower() == label.lower():
        reasoning = reasoning[len(label):].lstrip()
    return f"{intent} ({_points(points)}): {reasoning}" if reasoning else f"{intent} ({_points(points)})"


def _model_ref(spec: ModelSpec) -> dict[str, Any]:
    return {"id": spec.id, "name": spec.name, "version": spec.version}


def _knocked_out(spec: ModelSpec, rule: CompiledRule) -> ScoreResult:
    label = rule.spec.name
    return ScoreResult(
        rule_score=0, ai_score=0, score=0, intent="Low", ai_intent="",
        reasoning=f"[Rule: Knockout: {label}] [AI: {KNOCKOUT_AI_REASONING}]",
        breakdown={
            "rule_score": 0, "ai_score": 0, "ai_intent": "", "rules": [], "ai": None,
            "knockout": {"rule_id": rule.spec.id, "label": label, "group": rule.spec.group},
            "components": [{"part": "rules", "points": 0, "rules": [], "groups": []}],
            "model": _model_ref(spec),
        },
        knockout=label,
    )


@dataclass(frozen=True, slots=True)
class _RulePart:
    """Everything the fired rules contribute, the same for every lead that fires the same rules."""

    rule_score: int
    component: dict[str, Any]
    legacy_rules: list[dict[str, Any]]
    reasoning: str


def _rule_part(spec: ModelSpec, hits: list[_Hit]) -> _RulePart:
    # Groups in the order their first rule fired, each held within its cap.
    raw_by_group: dict[str, int] = {}
    for hit in hits:
        raw_by_group[hit.group] = raw_by_group.get(hit.group, 0) + hit.points
    groups: list[dict[str, Any]] = []
    rules_raw = 0
    for group, raw in raw_by_group.items():
        cap = spec.group_caps.get(group) or {}
        points = raw
        if "max_points" in cap:
            points = min(points, cap["max_points"])
        if "min_points" in cap:
            points = max(points, cap["min_points"])
        entry: dict[str, Any] = {"group": group, "points": points}
        if points != raw:
            entry["capped_from"] = raw
        groups.append(entry)
        rules_raw += points
    rule_score = min(rules_raw, spec.rule_max)
    component: dict[str, Any] = {
        "part": "rules", "points": rule_score,
        "rules": [{"rule_id": h.rule_id, "label": h.label, "group": h.group, "points": h.points} for h in hits],
        "groups": groups,
    }
    if rule_score != rules_raw:
        component["capped_from"] = rules_raw
    reasoning = ", ".join(f"{h.label} ({_points(h.points)})" for h in hits) or NO_RULE_REASONING
    if rule_score != sum(h.points for h in hits):
        reasoning += f"; {rule_score} after caps"
    return _RulePart(rule_score, component, [{"label": h.label, "points": h.points} for h in hits], reasoning)


def _engagement_part(spec: ModelSpec, facts: LeadFacts) -> dict[str, Any] | None:
    if not spec.engagement:
        return None
    points, types = engagement_points(spec.engagement, facts.engagement, facts.now)
    component: dict[str, Any] = {"part": "engagement", "points": points, "types": types}
    cap = spec.engagement.get("max_points")
    if cap is not None and points > cap:
        component["capped_from"], component["points"] = points, cap
    return component


def _engagement_reasoning(component: dict[str, Any]) -> str:
    parts = [f"{t['type'].replace('_', ' ')} ×{t['events']} ({_points(t['points'])})" for t in component["types"]]
    text = ", ".join(parts) or "no recent activity (+0)"
    if "capped_from" in component:
        text += f"; {component['points']} after the cap"
    return text


def _learned_component(spec: ModelSpec, learned: LearnedPart, facts: LeadFacts,
                       fired: list[str]) -> dict[str, Any]:
    # The factors behind the probability are not stored: they are worked out when a score is read
    # (`leads.services.learned_factors`), which a page does for 50 leads and a run would do for a
    # million (ranking them and writing them made the learned part cost half as much as the rest).
    chance = probability(learned.model, featurize(facts, fired))
    return {
        "part": "learned", "points": round(chance * spec.learned_weight * learned.blend),
        "probability": round(chance, 4), "weight": spec.learned_weight, "blend": learned.blend,
        "trained_model": {"id": learned.trained_model_id, "version": learned.version},
    }


def _learned_reasoning(component: dict[str, Any]) -> str:
    text = f"{component['probability']:.0%} likely to convert ({_points(component['points'])}"
    if component["blend"] < 1:  # few outcomes yet: say why the points are fewer than the odds suggest
        text += f": {component['weight']} points × {component['blend']:g} while outcomes are few"
    return text + ")"


def _assemble(spec: ModelSpec, part: _RulePart, verdict: IntentResult | None,
              engagement: dict[str, Any] | None = None, learned: dict[str, Any] | None = None) -> ScoreResult:
    rule_score = part.rule_score
    components: list[dict[str, Any]] = [part.component]
    if spec.ai_enabled:
        if verdict is None:
            raise ValueError("This scoring model has an AI part: a verdict is needed.")
        try:
            ai_score = spec.ai_points[verdict.intent]
        except KeyError:
            raise ValueError(f"AI verdict has an unknown intent {verdict.intent!r}.") from None
        ai_intent: str = verdict.intent
        ai_reasoning = _one_line(verdict.reasoning)
        ai_detail: dict[str, Any] | None = {"provider": verdict.provider, "model": verdict.model,
                                            "reasoning": ai_reasoning}
        components.append({"part": "ai", "points": ai_score, "intent": verdict.intent})
        ai_part = _ai_text(verdict.intent, ai_score, ai_reasoning)
    else:
        ai_score, ai_intent, ai_part, ai_detail = 0, "", AI_OFF_REASONING, None

    total = rule_score + ai_score
    reasoning = f"[Rule: {part.reasoning}] [AI: {ai_part}]"
    if engagement is not None:
        components.append(engagement)
        total += engagement["points"]
        reasoning += f" [Engagement: {_engagement_reasoning(engagement)}]"
    if learned is not None:
        components.append(learned)
        total += learned["points"]
        reasoning += f" [Learned: {_learned_reasoning(learned)}]"
    score = min(max(total, 0), 100)
    breakdown: dict[str, Any] = {
        "rule_score": rule_score,
        "ai_score": ai_score,
        "ai_intent": ai_intent,
        "rules": part.legacy_rules,
        "ai": ai_detail,
        "components": components,
        "model": _model_ref(spec),
    }
    if score != total:
        breakdown["capped_from"] = total
    return ScoreResult(
        rule_score=rule_score,
        ai_score=ai_score,
        score=score,
        intent=intent_for(score, high_from=spec.high_from, medium_from=spec.medium_from),
        ai_intent=ai_intent,
        reasoning=reasoning,
        breakdown=breakdown,
        conversion_probability=learned["probability"] if learned is not None else None,
    )


# Rule parts are kept per compiled model and set of fired rules: leads share few combinations, and
# the part is the costliest piece of a breakdown to build. Results share these dicts, which nobody
# mutates (they are stored as they are).
_RULE_PARTS_MAX = 20_000


def evaluate(model: CompiledModel, facts: LeadFacts, offer: OfferData, verdict: IntentResult | None,
             learned: LearnedPart | None = None) -> ScoreResult:
    """Score one lead. `verdict` may be None when the model has no AI part or a knockout fires;
    `learned` is the trained model of a scoring model with a learned part (None: no points).

    Raises ValueError for a missing verdict the model needs, or one whose intent is not
    High/Medium/Low (a provider bug).
    """
    knockout = model.knockout_for(facts, offer)
    if knockout is not None:
        return _knocked_out(model.spec, knockout)
    rules = model.rules
    fired = tuple(i for i, rule in enumerate(rules) if rule.fires(facts, offer))
    parts = model.rule_parts
    part = parts.get(fired)
    if part is None:
        if len(parts) >= _RULE_PARTS_MAX:
            parts.clear()
        specs = [rules[i].spec for i in fired]
        part = parts[fired] = _rule_part(model.spec, [_Hit(r.id, r.name, r.group, r.points) for r in specs])
    learned_component = None
    if learned is not None and model.spec.learned_weight:
        learned_component = _learned_component(model.spec, learned, facts, [rules[i].spec.name for i in fired])
    return _assemble(model.spec, part, verdict, _engagement_part(model.spec, facts), learned_component)


# --- the first stage's entry points, now the built-in default model -------------------------------

DEFAULT_MODEL: CompiledModel = compile_model(default_model_spec())


def combine(hits: list[RuleHit], verdict: IntentResult) -> ScoreResult:
    """The default model's score of rule hits already computed plus an AI verdict."""
    spec = DEFAULT_MODEL.spec
    return _assemble(spec, _rule_part(spec, [_Hit(None, hit.label, "", hit.points) for hit in hits]), verdict)


def score_lead(lead: LeadData, offer: OfferData, verdict: IntentResult, *, now: datetime | None = None) -> ScoreResult:
    """Score one lead for one offer under the built-in default model."""
    facts = LeadFacts(lead=lead, now=now or datetime.now(UTC))
    return evaluate(DEFAULT_MODEL, facts, offer, verdict)
