"""Trying rules and models before they count: nothing here writes a score.

- `rule_test(rule, lead, offer)`: what one rule reads on one lead and whether it fires.
- `scoring_model_preview(model, offer, settings, rules, sample_size)`: a proposed version of a model
  scored on a sample of the offer's scored leads, against their current scores: both
  distributions and the leads that move most. The AI verdicts are the ones the current scores hold
  (nothing is paid for a preview); a lead whose score has none is scored by the local provider when
  that is the configured one, and otherwise left out and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Q
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.models import Lead, Offer, Outcome, Score, ScoringModel, ScoringRule
from leads.scoring.backtest import auc, backtest_summary
from leads.scoring.engine import evaluate
from leads.scoring.facts import NO_ENGAGEMENT
from leads.scoring.learned import featurize, probability
from leads.scoring.model import CompiledModel, ModelSpec, RuleSpec, compile_model, compile_rule
from leads.scoring.operators import RuleConfigError
from leads.scoring.types import IntentResult, OfferData
from leads.selectors import DISTRIBUTION_BUCKETS
from leads.services.engagement import engagement_facts
from leads.services.intent import intent_provider_from_settings
from leads.services.learned_models import learned_part_for, learned_part_of, trained_model_current
from leads.services.scoring import ALL_FACT_COLUMNS, facts_from_row, offer_data
from leads.services.scoring_models import MODEL_SETTINGS, check_settings, model_spec, rule_spec

PREVIEW_TOP_CHANGES = 20
BACKTEST_MAX_LEADS = 100_000
BAD_PROPOSED_RULE = "Proposed rule {index}: {message}"


def _facts_of(lead_ids: list[int], now: Any) -> dict[int, Any]:
    rows = Lead.objects.filter(pk__in=lead_ids).values_list("pk", *ALL_FACT_COLUMNS)
    engagement = engagement_facts(lead_ids)
    return {row[0]: facts_from_row(row, ALL_FACT_COLUMNS, now, engagement.get(row[0], NO_ENGAGEMENT))
            for row in rows}


@dataclass(frozen=True)
class RuleTest:
    rule: ScoringRule
    lead: int
    points_awarded: int
    rule_applied: bool
    value_seen: object


def _json_ready(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    return value


def rule_test(*, rule: ScoringRule, lead: Lead, offer: Offer | None) -> RuleTest:
    compiled = compile_rule(rule_spec(rule))
    facts = _facts_of([lead.pk], timezone.now())[lead.pk]
    the_offer = offer_data(offer) if offer is not None else OfferData(name="")
    applied = compiled.fires(facts, the_offer)
    points = rule.points if applied and not rule.knockout else 0
    return RuleTest(rule=rule, lead=lead.pk, points_awarded=points, rule_applied=applied,
                    value_seen=_json_ready(compiled.read(facts)))


def _proposed_spec(model: ScoringModel, settings: dict[str, Any] | None,
                   rules: list[dict[str, Any]] | None) -> ModelSpec:
    spec = model_spec(model)
    if settings:
        unknown = set(settings) - set(MODEL_SETTINGS)
        if unknown:
            raise LeadsError(f"Unknown settings: {', '.join(sorted(unknown))}.", code="invalid",
                             details={"settings": sorted(unknown)})
        check_settings(settings, spec)
        spec = replace(spec, **{k: v for k, v in settings.items() if k != "description"})
    if rules is not None:
        proposed = []
        for index, data in enumerate(rules, start=1):
            try:
                rule = RuleSpec(name=str(data.get("name") or f"Rule {index}"), operator=str(data.get("operator", "")),
                                points=data.get("points", 0), field_name=str(data.get("field_name") or ""),
                                value=data.get("value"), group=str(data.get("rule_type") or "demographic"),
                                priority=int(data.get("priority", 100)), is_active=bool(data.get("is_active", True)),
                                knockout=bool(data.get("knockout", False)), id=data.get("id"))
                compile_rule(rule)
            except RuleConfigError as exc:
                message = BAD_PROPOSED_RULE.format(index=index, message=exc.message)
                raise LeadsError(message, code="invalid", details={"rules": {str(index): {exc.field: [exc.message]}}}
                                 ) from None
            except (TypeError, ValueError):
                message = BAD_PROPOSED_RULE.format(index=index, message="priority must be a whole number.")
                raise LeadsError(message, code="invalid", details={"rules": {str(index): ["Invalid."]}}) from None
            proposed.append(rule)
        spec = replace(spec, rules=tuple(proposed))
    return replace(spec, version=None)


def _distribution(scores: list[int], intents: list[str]) -> dict[str, Any]:
    buckets = [0] * len(DISTRIBUTION_BUCKETS)
    for score in scores:
        buckets[min(max(score, 0) // 20, 4)] += 1
    return {
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "buckets": [{"range": f"{low}-{high}", "min": low, "max": high, "count": buckets[i]}
                    for i, (low, high) in enumerate(DISTRIBUTION_BUCKETS)],
        "intents": {intent: intents.count(intent) for intent in ("High", "Medium", "Low")},
    }


def _verdicts(compiled: CompiledModel, leads: list[int], current: dict[int, Score], facts: dict[int, Any],
              the_offer: OfferData) -> dict[int, IntentResult]:
    """The AI verdict per lead without paying for one: the current score's, else the local provider's
    when that is the configured one. Leads left out have neither (or the model has no AI part)."""
    if not compiled.spec.ai_enabled:
        return {}
    verdicts: dict[int, IntentResult] = {}
    missing: list[int] = []
    for lead_id in leads:
        score = current.get(lead_id)
        if score is not None and score.ai_intent:
            ai = score.score_breakdown.get("ai") or {}
            verdicts[lead_id] = IntentResult(score.ai_intent, ai.get("reasoning", ""), score.provider,  # type: ignore[arg-type]
                                             score.model)
        else:
            missing.append(lead_id)
    provider = intent_provider_from_settings()
    if missing and provider.name == "local":
        answers = provider.classify_many([facts[i].lead for i in missing], the_offer)
        verdicts.update({i: a for i, a in zip(missing, answers, strict=True) if isinstance(a, IntentResult)})
    return verdicts


def scoring_model_preview(*, model: ScoringModel, offer: Offer, settings: dict[str, Any] | None,
                          rules: list[dict[str, Any]] | None, sample_size: int) -> dict[str, Any]:
    spec = _proposed_spec(model, settings, rules)
    compiled: CompiledModel = compile_model(spec)
    current = list(Score.objects.filter(offer=offer, is_current=True).select_related("lead")
                   .order_by("-lead_id")[:sample_size])
    now = timezone.now()
    facts = _facts_of([score.lead_id for score in current], now)
    the_offer = offer_data(offer)
    verdicts = _verdicts(compiled, [score.lead_id for score in current], {s.lead_id: s for s in current}, facts,
                         the_offer)
    learned = learned_part_for(workspace_id=offer.workspace_id, offer_id=offer.pk, weight=spec.learned_weight)
    before_scores: list[int] = []
    before_intents: list[str] = []
    after_scores: list[int] = []
    after_intents: list[str] = []
    changes: list[dict[str, Any]] = []
    left_out = 0
    for score in current:
        verdict = verdicts.get(score.lead_id)
        if compiled.spec.ai_enabled and verdict is None:
            left_out += 1
            continue
        result = evaluate(compiled, facts[score.lead_id], the_offer, verdict, learned)
        before_scores.append(score.score)
        before_intents.append(score.intent)
        after_scores.append(result.score)
        after_intents.append(result.intent)
        changes.append({"lead": score.lead_id, "lead_name": score.lead.name, "company": score.lead.company,
                        "current_score": score.score, "proposed_score": result.score,
                        "change": result.score - score.score, "current_intent": score.intent,
                        "proposed_intent": result.intent, "proposed_reasoning": result.reasoning})
    changes.sort(key=lambda c: (-abs(c["change"]), c["lead"]))
    return {
        "model": model.pk, "offer": offer.pk, "sample_size": len(after_scores), "left_out_without_verdict": left_out,
        "proposed": {**spec.to_json(), "id": model.pk},
        "current_distribution": _distribution(before_scores, before_intents),
        "proposed_distribution": _distribution(after_scores, after_intents),
        "summary": {
            "raised": sum(1 for c in changes if c["change"] > 0),
            "lowered": sum(1 for c in changes if c["change"] < 0),
            "unchanged": sum(1 for c in changes if c["change"] == 0),
            "intent_changed": sum(1 for c in changes if c["current_intent"] != c["proposed_intent"]),
        },
        "top_changes": [c for c in changes[:PREVIEW_TOP_CHANGES] if c["change"] != 0],
    }


def scoring_model_backtest(*, model: ScoringModel, offer: Offer, settings: dict[str, Any] | None,
                           rules: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A model (as saved, or with proposed settings and rules) scored on every lead with an outcome:
    how well its scores ranked won above lost, next to the rules alone and the learned model."""
    spec = _proposed_spec(model, settings, rules)
    compiled = compile_model(spec)
    outcomes = dict(Outcome.objects.filter(workspace_id=offer.workspace_id)
                    .filter(Q(offer=offer) | Q(offer__isnull=True)).order_by("lead_id")
                    .values_list("lead_id", "outcome")[:BACKTEST_MAX_LEADS])
    lead_ids = list(outcomes)
    # Unordered: Score's default order (best first) makes SQLite walk every score of the offer.
    current = {s.lead_id: s for s in Score.objects.filter(offer=offer, is_current=True, lead_id__in=lead_ids)
               .order_by()}
    facts = _facts_of(lead_ids, timezone.now())
    the_offer = offer_data(offer)
    verdicts = _verdicts(compiled, lead_ids, current, facts, the_offer)
    # The trained model's AUC is reported beside the scores' even when the model gives it no points.
    trained = trained_model_current(workspace_id=offer.workspace_id, offer_id=offer.pk)
    learned = learned_part_of(trained) if trained is not None else None
    scores: list[int] = []
    rule_scores: list[int] = []
    probabilities: list[float] = []
    intents: list[str] = []
    won: list[bool] = []
    left_out = 0
    for lead_id in lead_ids:
        verdict = verdicts.get(lead_id)
        if compiled.spec.ai_enabled and verdict is None:
            left_out += 1
            continue
        result = evaluate(compiled, facts[lead_id], the_offer, verdict, learned if spec.learned_weight else None)
        scores.append(result.score)
        rule_scores.append(result.rule_score)
        intents.append(result.intent)
        won.append(outcomes[lead_id] == Outcome.Result.WON)
        if learned is not None:  # unrounded, and also for a model that gives the learned part no points
            fired = [r.spec.name for r in compiled.rules if r.fires(facts[lead_id], the_offer)]
            probabilities.append(probability(learned.model, featurize(facts[lead_id], fired)))
    return {
        "model": model.pk, "offer": offer.pk, "proposed": {**spec.to_json(), "id": model.pk},
        "left_out_without_verdict": left_out,
        **backtest_summary(scores, won, intents),
        "rules_only_auc": auc(rule_scores, won),
        "learned": None if trained is None else {
            "trained_model": trained.pk, "version": trained.version,
            # On leads it was trained on: optimistic. The cross-validated figure is the fair one.
            "auc_on_these_leads": auc(probabilities, won), "cv_auc": trained.cv_auc,
            "holdout_auc": trained.holdout_auc, "n_outcomes": trained.n_outcomes,
        },
    }
