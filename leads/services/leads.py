"""Writes to leads outside of import: update and delete from the API, plus the de-duplication key
that import and update share."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import IntegrityError, transaction

from leads.exceptions import ConflictError
from leads.models import Lead, Score, ScoreCause

DUPLICATE_LEAD = "Another lead in this workspace already has this email, or this name and company."

# What a key keeps: runs of word characters and the few symbols of emails and names (@ . + -);
# everything else (spaces, other punctuation) separates them.
_KEY_TOKEN = re.compile(r"[\w@.+-]+")


def normalise_key_part(value: str) -> str:
    """Case-, accent-form-, punctuation- and whitespace-insensitive form used for matching."""
    if not value.isascii():  # NFKC leaves ASCII as it is; most cells are ASCII and import calls this 4 times a row
        value = unicodedata.normalize("NFKC", value)
    return " ".join(_KEY_TOKEN.findall(value.casefold()))


def lead_dedupe_key(*, name: str, company: str, email: str) -> str:
    """How a re-upload finds the lead it updates: the email when present, else name + company."""
    email = email.strip().casefold()
    if email:
        return f"e:{email}"[:518]
    return f"n:{normalise_key_part(name)}|{normalise_key_part(company)}"[:518]


LEAD_EDITABLE_FIELDS = ("name", "role", "company", "industry", "location", "linkedin_bio", "email", "attributes")


def lead_update(*, lead: Lead, data: dict[str, Any]) -> Lead:
    """Apply validated changes; the dedupe key follows them, and a clash with a twin is a 409."""
    changed = [field for field in LEAD_EDITABLE_FIELDS if field in data and getattr(lead, field) != data[field]]
    for field in changed:
        setattr(lead, field, data[field])
    if not changed:
        return lead
    lead.dedupe_key = lead_dedupe_key(name=lead.name, company=lead.company, email=lead.email)
    lead.full_clean(exclude=["workspace", "dedupe_key"], validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            lead.save(update_fields=[*changed, "dedupe_key", "updated_at"])
            # Its scores were made from the old values: the next run without `rescore` redoes them.
            Score.objects.filter(lead=lead, is_current=True, stale_cause="").update(stale_cause=ScoreCause.MANUAL)
    except IntegrityError as exc:
        raise ConflictError(DUPLICATE_LEAD, code="duplicate_lead") from exc
    return lead


def lead_delete(*, lead: Lead) -> None:
    lead.delete()
