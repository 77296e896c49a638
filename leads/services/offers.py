"""Writes to offers."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q

from leads.models import Offer, ScoreCause, Workspace
from leads.services.scoring_models import scores_mark_stale

OFFER_FIELDS = ("name", "value_props", "ideal_use_cases", "adjacent_industries", "scoring_model")


@transaction.atomic
def offer_create(*, workspace: Workspace, data: dict[str, Any]) -> Offer:
    offer = Offer(workspace=workspace, **{f: data[f] for f in OFFER_FIELDS if f in data})
    offer.full_clean()
    offer.save()
    return offer


@transaction.atomic
def offer_update(*, offer: Offer, data: dict[str, Any]) -> Offer:
    changed = [f for f in OFFER_FIELDS if f in data and getattr(offer, f) != data[f]]
    for field in changed:
        setattr(offer, field, data[field])
    if changed:
        offer.full_clean()
        offer.save(update_fields=[*changed, "updated_at"])
        # Every field of an offer feeds its scores (the name and lists go to the AI layer too).
        scores_mark_stale(workspace=offer.workspace, cause=ScoreCause.MODEL_CHANGE, scope=Q(offer=offer))
    return offer
