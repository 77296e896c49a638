"""The learned model scoring applies, and how much of its weight counts (the blend).

    learned_part_for(workspace_id=..., offer_id=..., weight=...) -> LearnedPart | None
"""

from __future__ import annotations

import json
from functools import lru_cache

from django.db.models import Q

from leads.models import Offer, Score, ScoreCause, ScoringModel, TrainedModel
from leads.scoring.engine import LearnedPart
from leads.scoring.learned import LearnedModel

MIN_EACH = 50
#: Outcomes at which the learned part counts in full; below, its points are scaled down in
#: proportion (DESIGN: "until enough outcomes exist the rules carry the score alone").
FULL_BLEND_AT = 1000


def learned_blend(n_outcomes: int) -> float:
    """How much of the learned part's weight applies, 0–1: none under 100 outcomes (training's
    minimum), all from FULL_BLEND_AT, in proportion between."""
    if n_outcomes < 2 * MIN_EACH:
        return 0.0
    return round(min(1.0, n_outcomes / FULL_BLEND_AT), 3)


def learned_scores_stale(*, workspace_id: int) -> list[int]:
    """Mark stale (cause `outcome`) the current scores of offers whose model has a learned part;
    returns those offers' ids."""
    learned = list(ScoringModel.objects.filter(workspace_id=workspace_id, learned_weight__gt=0)
                   .values_list("pk", "is_default"))
    if not learned:
        return []
    uses_learned = Q(scoring_model_id__in=[pk for pk, _ in learned])
    if any(is_default for _, is_default in learned):
        uses_learned |= Q(scoring_model__isnull=True)
    offers = list(Offer.objects.filter(uses_learned, workspace_id=workspace_id).values_list("pk", flat=True))
    Score.objects.filter(workspace_id=workspace_id, offer_id__in=offers, is_current=True, stale_cause="") \
        .update(stale_cause=ScoreCause.OUTCOME)
    return offers


def trained_model_current(*, workspace_id: int, offer_id: int | None) -> TrainedModel | None:
    """The newest model trained for this offer, else the newest trained on the whole workspace."""
    models = TrainedModel.objects.filter(workspace_id=workspace_id).order_by("-version", "-id")
    if offer_id is not None:
        found = models.filter(offer_id=offer_id).first()
        if found is not None:
            return found
    return models.filter(offer__isnull=True).first()


@lru_cache(maxsize=32)
def _learned_model(key: str) -> LearnedModel:
    return LearnedModel.from_json(json.loads(key))


def learned_part_of(trained: TrainedModel) -> LearnedPart:
    """A stored model as the engine applies it (parsed once per distinct model per process)."""
    # Keyed on content, like compiled scoring models: ids come back after a test's rollback.
    model = _learned_model(json.dumps(trained.model, sort_keys=True, separators=(",", ":")))
    return LearnedPart(model=model, blend=learned_blend(trained.n_outcomes),
                       trained_model_id=trained.pk, version=trained.version)


def learned_part_for(*, workspace_id: int, offer_id: int | None, weight: int) -> LearnedPart | None:
    """The learned part a scoring run applies, or None (no weight, or nothing trained yet)."""
    if weight <= 0:
        return None
    trained = trained_model_current(workspace_id=workspace_id, offer_id=offer_id)
    return learned_part_of(trained) if trained is not None else None
