"""Writes to leads outside of import: update and delete from the API, plus the de-duplication key
that import and update share."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.exceptions import ConflictError
from leads.models import Lead, Score, ScoreCause, ScoreTransition
from leads.queue import DISPATCH, enqueue_after_commit

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
    return lead_name_key(name=name, company=company)


def lead_name_key(*, name: str, company: str) -> str:
    """The name + company key, also kept for leads that have an email (`Lead.name_key`): a row
    without an email matches a lead that has one by it."""
    return f"n:{normalise_key_part(name)}|{normalise_key_part(company)}"[:518]


LEAD_EDITABLE_FIELDS = ("name", "role", "company", "industry", "location", "linkedin_bio", "email", "attributes",
                        "status", "owner", "tags")


def _plain(field: str, value: Any) -> Any:
    """A field's value as the outbox keeps it (JSON): the owner by username."""
    if field == "owner":
        return value.username if value is not None else None
    return value


def _attributes_change(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the columns that changed: an upload's attributes can be large, the outbox stays small."""
    keys = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    return {key: old.get(key) for key in keys}, {key: new.get(key) for key in keys}


def lead_update(*, lead: Lead, data: dict[str, Any], cause: str = ScoreCause.MANUAL) -> Lead:
    """Apply validated changes; the dedupe key follows them, and a clash with a twin is a 409.

    Each changed field goes to the outbox (field_update workflows read it) with `cause`: "manual"
    for a person, "workflow" for an automation (which never fires field workflows again).
    """
    changed = [field for field in LEAD_EDITABLE_FIELDS if field in data and getattr(lead, field) != data[field]]
    if not changed:
        return lead
    before = {field: _plain(field, getattr(lead, field)) for field in changed}
    after = {field: _plain(field, data[field]) for field in changed}
    if "attributes" in changed:
        before["attributes"], after["attributes"] = _attributes_change(before["attributes"], after["attributes"])
    for field in changed:
        setattr(lead, field, data[field])
    lead.dedupe_key = lead_dedupe_key(name=lead.name, company=lead.company, email=lead.email)
    lead.full_clean(exclude=["workspace", "dedupe_key", "owner"], validate_unique=False, validate_constraints=False)
    now = timezone.now()
    try:
        with transaction.atomic():
            lead.save(update_fields=[*changed, "dedupe_key", "name_key", "updated_at"])
            # Its scores were made from the old values: the next run without `rescore` redoes them.
            Score.objects.filter(lead=lead, is_current=True, stale_cause="").update(stale_cause=ScoreCause.MANUAL)
            ScoreTransition.objects.bulk_create([
                ScoreTransition(workspace_id=lead.workspace_id, lead=lead, kind=ScoreTransition.Kind.FIELD,
                                field_name=field, old_value=before[field], new_value=after[field],
                                cause=cause, created_at=now)
                for field in changed])
            enqueue_after_commit(DISPATCH)
    except IntegrityError as exc:
        raise ConflictError(DUPLICATE_LEAD, code="duplicate_lead") from exc
    return lead


def lead_delete(*, lead: Lead) -> None:
    lead.delete()


def leads_bulk_update(*, leads: list[Lead], data: dict[str, Any]) -> int:
    """The same validated change (owner, status) applied to each lead through `lead_update`, so every
    changed field reaches the outbox as a person's edit would; returns how many changed."""
    changed = 0
    for lead in leads:
        before = lead.updated_at
        lead_update(lead=lead, data=data)
        changed += lead.updated_at != before
    return changed
