"""Writes to offers."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from leads.models import Offer, Workspace

OFFER_FIELDS = ("name", "value_props", "ideal_use_cases", "adjacent_industries")


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
    return offer
