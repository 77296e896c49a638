"""What the engine knows about one lead: its fields, uploaded columns, engagement and learned odds.

    field_reader("attributes.budget") -> (facts -> value)

Services build a `LeadFacts` per lead from the database; rules read it through readers compiled
once per rule, so a million evaluations never parse a field name. A field name is one of:

- a lead field: name, role (alias title), company, industry, location, linkedin_bio, email,
  status, owner, tags, created_at;
- `attributes.<column>` for an uploaded column, or the bare column name when no field has it;
- a computed field: days_since_creation, last_activity_days_ago, email_opens_count,
  email_clicks_count, website_visits, activities_count, events.<type>.count and
  events.<type>.count_<N>d (events of that type in the last N days).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from leads.scoring.types import LeadData

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EngagementFacts:
    """Per-lead event aggregates (kept up to date by the fold after each ingest), never raw events.

    `daily` holds, per event type, counts per UTC day number (days since 1970-01-01) for the recent
    window, which is what `events.<type>.count_<N>d` and time-bound stage criteria read.
    """

    counts: Mapping[str, int] = field(default_factory=dict)
    last_at: Mapping[str, datetime] = field(default_factory=dict)
    daily: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    first_activity: datetime | None = None
    last_activity: datetime | None = None

    def count_within(self, event_type: str, days: int, now: datetime) -> int:
        buckets = self.daily.get(event_type)
        if not buckets:
            last = self.last_at.get(event_type)
            # Without day buckets only "none at all" and "the last one is older" are certain.
            if last is None or last < now - timedelta(days=days):
                return 0
            return self.counts.get(event_type, 0)
        today = (now - _EPOCH).days
        return sum(count for day, count in buckets.items() if today - day < days)


NO_ENGAGEMENT = EngagementFacts()


@dataclass(frozen=True, slots=True)
class LeadFacts:
    lead: LeadData
    now: datetime
    email: str = ""
    status: str = ""
    owner: str = ""
    tags: tuple[str, ...] = ()
    created_at: datetime | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    engagement: EngagementFacts = NO_ENGAGEMENT
    #: The learned model's probability of winning, when one applies.
    probability: float | None = None


Reader = Callable[[LeadFacts], object]

UNKNOWN_FIELD = "Unknown field {name!r}: use a lead field, attributes.<column>, or a computed field ({computed})."
EMPTY_FIELD = "This operator needs a field_name."

_LEAD_DATA_FIELDS = {"name": "name", "role": "role", "title": "role", "company": "company", "industry": "industry",
                     "location": "location", "linkedin_bio": "linkedin_bio"}
_OTHER_FIELDS: dict[str, Reader] = {
    "email": lambda f: f.email,
    "status": lambda f: f.status,
    "owner": lambda f: f.owner,
    "tags": lambda f: f.tags,
    "created_at": lambda f: f.created_at,
}
# Event types that stand for "the team worked this lead" in activities_count.
CRM_ACTIVITY_TYPES = ("call", "meeting", "note", "email_reply", "demo_request", "deal_stage_change")


def _days_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max((now - moment).days, 0)


COMPUTED_FIELDS: dict[str, Reader] = {
    "days_since_creation": lambda f: _days_since(f.created_at, f.now),
    "last_activity_days_ago": lambda f: _days_since(f.engagement.last_activity, f.now),
    "email_opens_count": lambda f: f.engagement.counts.get("email_open", 0),
    "email_clicks_count": lambda f: f.engagement.counts.get("email_click", 0),
    "website_visits": lambda f: f.engagement.counts.get("page_view", 0),
    "activities_count": lambda f: sum(f.engagement.counts.get(t, 0) for t in CRM_ACTIVITY_TYPES),
}
_KEY_SEPARATORS = re.compile(r"[\s_\-.]+")
_EVENTS_FIELD = re.compile(r"^events\.([a-z0-9_]{1,50})\.count(?:_([1-9][0-9]{0,3})d)?$")
KNOWN_FIELDS = (*_LEAD_DATA_FIELDS, *_OTHER_FIELDS)


def _lead_data_reader(attribute: str) -> Reader:
    return lambda facts: getattr(facts.lead, attribute)


@lru_cache(maxsize=10_000)
def attribute_key(name: str) -> str:
    """How a column name is matched: "Company Size", "company_size" and "company-size" are one."""
    return " ".join(_KEY_SEPARATORS.split(name.casefold())).strip()


def _attribute_reader(key: str) -> Reader:
    wanted = attribute_key(key)

    def read(facts: LeadFacts) -> object:
        attributes = facts.attributes
        value = attributes.get(key)
        if value is not None or not attributes:
            return value
        for stored, value in attributes.items():
            if attribute_key(stored) == wanted:
                return value
        return None

    return read


def _events_reader(event_type: str, days: int | None) -> Reader:
    if days is None:
        return lambda facts: facts.engagement.counts.get(event_type, 0)
    return lambda facts: facts.engagement.count_within(event_type, days, facts.now)


def field_reader(name: str) -> Reader:
    """A function reading field `name` from facts; raises ValueError (UNKNOWN_FIELD) for a name that
    can't be a field (empty, or an `events.` name that isn't one of the computed forms)."""
    name = (name or "").strip()
    if not name:
        raise ValueError(EMPTY_FIELD)
    key = name.lower()
    if key in _LEAD_DATA_FIELDS:
        return _lead_data_reader(_LEAD_DATA_FIELDS[key])
    if key in _OTHER_FIELDS:
        return _OTHER_FIELDS[key]
    if key in COMPUTED_FIELDS:
        return COMPUTED_FIELDS[key]
    if key.startswith("events."):
        match = _EVENTS_FIELD.match(key)
        if not match:
            raise ValueError(UNKNOWN_FIELD.format(name=name, computed=", ".join(
                [*COMPUTED_FIELDS, "events.<type>.count", "events.<type>.count_<N>d"])))
        return _events_reader(match[1], int(match[2]) if match[2] else None)
    if key.startswith("attributes."):
        column = name[len("attributes."):]
        if not column:
            raise ValueError(UNKNOWN_FIELD.format(name=name, computed=", ".join(COMPUTED_FIELDS)))
        return _attribute_reader(column)
    # A bare name no field has: an uploaded column, as the CSV header had it.
    return _attribute_reader(name)


def reads_attributes(name: str) -> bool:
    """Whether reading `name` needs the lead's uploaded columns (services load them only then)."""
    key = (name or "").strip().lower()
    return bool(key) and key not in _LEAD_DATA_FIELDS and key not in _OTHER_FIELDS and key not in COMPUTED_FIELDS \
        and not key.startswith("events.")
