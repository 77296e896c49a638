"""The learned model scoring applies, and how much of its weight counts (the blend).

    learned_part_for(workspace_id=..., offer_id=..., weight=...) -> LearnedPart | None
"""

from __future__ import annotations

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


def trained_model_current(*, workspace_id: int, offer_id: int | None,
                          without_model: bool = False) -> TrainedModel | None:
    """The newest model trained for this offer, else the newest trained on the whole workspace
    (`without_model`: its JSON deferred, read only if asked for)."""
    models = TrainedModel.objects.filter(workspace_id=workspace_id).order_by("-version", "-id")
    if without_model:
        models = models.defer("model", "top_factors", "cv_folds")
    if offer_id is not None:
        found = models.filter(offer_id=offer_id).first()
        if found is not None:
            return found
    return models.filter(offer__isnull=True).first()


_PARSED_MAX = 32
_parsed: dict[tuple[int, int, str], LearnedModel] = {}


def learned_part_of(trained: TrainedModel) -> LearnedPart:
    """A stored model as the engine applies it, parsed once per model version per process.

    A version never changes once trained, so it is known by id, version and training time (ids
    come back after a test's rollback; the time does not). Its JSON is read only to parse it:
    `trained` may defer `model`, which every chunk of a run would otherwise load and compare.
    """
    key = (trained.pk, trained.version, trained.trained_at.isoformat())
    model = _parsed.get(key)
    if model is None:
        model = LearnedModel.from_json(trained.model)
        if len(_parsed) >= _PARSED_MAX:
            _parsed.clear()
        _parsed[key] = model
    return LearnedPart(model=model, blend=learned_blend(trained.n_outcomes),
                       trained_model_id=trained.pk, version=trained.version)


def learned_part_for(*, workspace_id: int, offer_id: int | None, weight: int) -> LearnedPart | None:
    """The learned part a scoring run applies, or None (no weight, or nothing trained yet)."""
    if weight <= 0:
        return None
    trained = trained_model_current(workspace_id=workspace_id, offer_id=offer_id, without_model=True)
    return learned_part_of(trained) if trained is not None else None
