"""The factors for and against behind a score's conversion probability, worked out when it is read.

    learned_factors(scores) -> {score id: {"up": [{feature, value, effect}, ...], "down": [...]}}

A scoring run stores the learned part's probability, not its factors: ranking and writing ten
factors per lead made the learned part cost half as much again as the rest of a million-lead run,
while people read the factors of a page of leads at a time. A score's factors come from the model
version that scored it (the breakdown names it), the lead's facts and the rules that fired (the
breakdown lists them), read as of the moment it was scored, so "days since creation" means what
it meant then. They match the stored probability as long as the score is current; a stale score
(`stale`: the lead, its events or the model changed since) gets the factors of the lead as it is
now, until the rescore that is on its way. A score without a learned part, or whose model version
is gone, has none (None).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leads.models import Lead, Score, TrainedModel
from leads.scoring.facts import NO_ENGAGEMENT
from leads.scoring.learned import featurize, predict
from leads.services.engagement import engagement_facts
from leads.services.learned_models import learned_part_of
from leads.services.scoring import ALL_FACT_COLUMNS, facts_from_row

Factors = dict[str, list[dict[str, Any]]]


def _component(score: Score, part: str) -> dict[str, Any]:
    """The breakdown's component for `part` ("learned", "rules"), or {} when it has none."""
    for component in (score.score_breakdown or {}).get("components", ()):
        if component.get("part") == part:
            return component
    return {}


def _fired_rules(score: Score) -> list[str]:
    return [str(hit.get("label", "")) for hit in _component(score, "rules").get("rules", ())]


def learned_factors(scores: Iterable[Score]) -> dict[int, Factors | None]:
    """Each score's factors by score id (None without a learned part); a few queries for any number
    of scores, so a page asks once."""
    wanted: list[tuple[Score, int]] = []
    factors: dict[int, Factors | None] = {}
    for score in scores:
        model_id = (_component(score, "learned").get("trained_model") or {}).get("id")
        factors[score.pk] = None
        if isinstance(model_id, int):
            wanted.append((score, model_id))
    if not wanted:
        return factors
    trained = TrainedModel.objects.in_bulk({model_id for _, model_id in wanted})
    parts = {pk: learned_part_of(model) for pk, model in trained.items()}
    lead_ids = list({score.lead_id for score, model_id in wanted if model_id in parts})
    rows = {row[0]: row for row in Lead.objects.filter(pk__in=lead_ids).values_list("pk", *ALL_FACT_COLUMNS)}
    reads_engagement = any(part.model.reads_engagement for part in parts.values())
    engagement = engagement_facts(lead_ids) if reads_engagement and lead_ids else {}
    for score, model_id in wanted:
        part, row = parts.get(model_id), rows.get(score.lead_id)
        if part is None or row is None:
            continue
        facts = facts_from_row(row, ALL_FACT_COLUMNS, score.created_at, engagement.get(score.lead_id, NO_ENGAGEMENT))
        prediction = predict(part.model, featurize(facts, _fired_rules(score)))
        factors[score.pk] = {"up": [factor.as_json for factor in prediction.up],
                             "down": [factor.as_json for factor in prediction.down]}
    return factors
