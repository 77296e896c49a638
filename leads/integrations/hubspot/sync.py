"""Pure mapping between a HubSpot contact and Leadscore: no ORM, no settings, no network.

    contact_input(contact_id, properties)      -> ContactInput (lead fields, attributes, status, counters)
    counter_events(contact, lead_id=…, done=…) -> event items for `events_ingest` (only the new ones)
    write_back_values(score=…, intent=…, stage=…) -> the leadscore_* contact properties

Fields: firstname + lastname -> name, jobtitle -> role, company, industry, city + country ->
location, linkedinbio -> linkedin_bio, email. Every other pulled property with a value goes to
`attributes` under its HubSpot name (lifecyclestage included), except the engagement counters, their
"last …" dates, the modification times and our own leadscore_* properties. A blank property never
erases a stored value (as a CSV re-upload doesn't).

Lifecycle stage "customer" makes the lead's status "customer"; other stages leave the status alone.

Deals: a pipeline stage is closed won when HubSpot's stage metadata says `isClosed` with probability
1 (the default pipeline's `closedwon`), closed lost when it is closed at any other probability
(`closedlost`); a contact with a closed-won deal is won, else with a closed-lost one lost
(`contact_deal_outcome`).

Engagement counters become events, one per unit counted, with deterministic external ids
("contact:{id}:email_open:{n}" for the n-th open): a re-sync with the same counters adds none, a
counter that grew adds the difference. HubSpot keeps only the last time of each kind, so the new
events take that time (or the contact's modification time).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from leads.integrations.hubspot.client import parse_hubspot_time

SOURCE = "hubspot"
#: Field limits (leads.models.leads), repeated here so this module stays free of Django.
NAME_MAX, BIO_MAX, EMAIL_MAX = 255, 200_000, 254
ATTRIBUTE_MAX = 2000
#: New events one counter may add in one sync; HubSpot counters can reach thousands of page views.
MAX_EVENTS_PER_COUNTER = 500


@dataclass(frozen=True, slots=True)
class Counter:
    prop: str
    event_type: str
    last_at_prop: str | None


COUNTERS = (
    Counter("hs_email_delivered", "email_sent", "hs_email_last_send_date"),
    Counter("hs_email_open", "email_open", "hs_email_last_open_date"),
    Counter("hs_email_click", "email_click", "hs_email_last_click_date"),
    Counter("hs_email_bounce", "email_bounce", None),
    Counter("hs_analytics_num_page_views", "page_view", "hs_analytics_last_visit_timestamp"),
    # HubSpot's "number of sales activities" (calls, meetings, logged emails): CRM activity.
    Counter("num_contacted_notes", "note", "notes_last_contacted"),
)
WRITE_BACK_PROPERTIES = ("leadscore_score", "leadscore_intent", "leadscore_stage")
#: The definitions created in the portal when they are missing.
WRITE_BACK_DEFINITIONS = [
    {"name": "leadscore_score", "label": "Leadscore score", "type": "number", "field_type": "number",
     "group_name": "contactinformation", "description": "Score 0-100 from Leadscore."},
    {"name": "leadscore_intent", "label": "Leadscore intent", "type": "string", "field_type": "text",
     "group_name": "contactinformation", "description": "Buying intent from Leadscore: High, Medium or Low."},
    {"name": "leadscore_stage", "label": "Leadscore stage", "type": "string", "field_type": "text",
     "group_name": "contactinformation", "description": "Qualification stage from Leadscore (mql, sql…)."},
]
FIELD_PROPERTIES = ("email", "firstname", "lastname", "jobtitle", "company", "industry", "city", "country",
                    "linkedinbio")
ATTRIBUTE_PROPERTIES = ("lifecyclestage", "hs_lead_status", "state", "phone", "website", "numemployees",
                        "annualrevenue", "jobfunction", "hs_persona")
#: Changing only these is not a change of the contact: the times HubSpot bumps on every write, and ours.
NOT_FINGERPRINTED = frozenset({"lastmodifieddate", "hs_lastmodifieddate", "hs_object_id", "createdate",
                               *WRITE_BACK_PROPERTIES})
_NOT_ATTRIBUTES = frozenset({*FIELD_PROPERTIES, *NOT_FINGERPRINTED, *(c.prop for c in COUNTERS),
                             *(c.last_at_prop for c in COUNTERS if c.last_at_prop)})
PROPERTY_NAME = re.compile(r"^[a-z0-9_]{1,100}$")
CUSTOMER = "customer"


def contact_properties(extra: Sequence[str] = ()) -> list[str]:
    """The properties a sync asks HubSpot for: ours, then the workspace's extra ones."""
    names = [*FIELD_PROPERTIES, *ATTRIBUTE_PROPERTIES, *(c.prop for c in COUNTERS),
             *(c.last_at_prop for c in COUNTERS if c.last_at_prop), *WRITE_BACK_PROPERTIES, "createdate",
             "lastmodifieddate"]
    return list(dict.fromkeys([*names, *extra]))


@dataclass(frozen=True, slots=True)
class ContactInput:
    contact_id: str
    #: Lead fields with a value (blank ones are left out: they never erase).
    fields: dict[str, str]
    attributes: dict[str, str]
    #: "customer", or None to leave the lead's status alone.
    status: str | None
    #: {counter property: count}, for the counters HubSpot gave a number.
    counters: dict[str, int]
    counter_times: dict[str, datetime | None]
    modified_at: datetime | None
    #: The leadscore_* values as pulled (what the portal shows now).
    written: dict[str, str]
    fingerprint: str

    @property
    def identifiable(self) -> bool:
        """A lead needs an email, a name or a company to be found again."""
        return any(self.fields.get(name) for name in ("email", "name", "company"))


def _clean(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value).strip()[:limit]


def _count(value: Any) -> int | None:
    try:
        number = int(float(str(value).strip()))
    except (TypeError, ValueError):
        return None
    return max(number, 0)


def fingerprint(properties: Mapping[str, Any]) -> str:
    """What a contact is, for change detection: every pulled property but NOT_FINGERPRINTED ones."""
    kept = {key: value for key, value in properties.items() if key not in NOT_FINGERPRINTED and value not in (None, "")}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def contact_input(contact_id: str, properties: Mapping[str, Any]) -> ContactInput:
    """The lead values, status, counters and fingerprint of one pulled contact."""
    get = lambda name, limit=NAME_MAX: _clean(properties.get(name), limit)  # noqa: E731
    name = " ".join(part for part in (get("firstname"), get("lastname")) if part)[:NAME_MAX]
    location = ", ".join(part for part in (get("city"), get("country")) if part)[:NAME_MAX]
    values = {"name": name, "role": get("jobtitle"), "company": get("company"), "industry": get("industry"),
              "location": location, "linkedin_bio": get("linkedinbio", BIO_MAX), "email": get("email", EMAIL_MAX)}
    fields = {key: value for key, value in values.items() if value}
    attributes = {key: _clean(value, ATTRIBUTE_MAX) for key, value in properties.items()
                  if key not in _NOT_ATTRIBUTES and _clean(value, ATTRIBUTE_MAX)}
    lifecycle = get("lifecyclestage").casefold()
    counters: dict[str, int] = {}
    times: dict[str, datetime | None] = {}
    modified = parse_hubspot_time(properties.get("lastmodifieddate"))
    for counter in COUNTERS:
        count = _count(properties.get(counter.prop))
        if count is None:
            continue
        counters[counter.prop] = count
        last = parse_hubspot_time(properties.get(counter.last_at_prop)) if counter.last_at_prop else None
        times[counter.prop] = last or modified
    written = {key: _clean(properties.get(key), 100) for key in WRITE_BACK_PROPERTIES if properties.get(key)}
    return ContactInput(contact_id=contact_id, fields=fields, attributes=attributes,
                        status=CUSTOMER if lifecycle == CUSTOMER else None, counters=counters, counter_times=times,
                        modified_at=modified, written=written, fingerprint=fingerprint(properties))


def event_external_id(contact_id: str, event_type: str, n: int) -> str:
    return f"contact:{contact_id}:{event_type}:{n}"


def counter_events(contact: ContactInput, *, lead_id: int, done: Mapping[str, int],
                   now: datetime) -> Iterator[dict[str, Any]]:
    """Event items for the units each counter gained since `done` (at most MAX_EVENTS_PER_COUNTER each)."""
    for counter in COUNTERS:
        count = contact.counters.get(counter.prop)
        if count is None:
            continue
        first = max(done.get(counter.prop, 0), count - MAX_EVENTS_PER_COUNTER) + 1
        moment = contact.counter_times.get(counter.prop) or now
        moment = min(moment, now)
        for n in range(first, count + 1):
            yield {"lead": lead_id, "type": counter.event_type, "occurred_at": moment.isoformat(), "source": SOURCE,
                   "external_id": event_external_id(contact.contact_id, counter.event_type, n),
                   "properties": {"hubspot_contact": contact.contact_id, "property": counter.prop, "count": n}}


def write_back_values(*, score: int, intent: str, stage: str) -> dict[str, str]:
    """The contact properties that carry a lead's current score."""
    return {"leadscore_score": str(score), "leadscore_intent": intent, "leadscore_stage": stage}


# --- deals ----------------------------------------------------------------------------------------

WON, LOST = "won", "lost"
#: HubSpot's default pipeline names its closed stages so; a portal's own stages are read from its pipelines.
DEFAULT_STAGES = {"closedwon": WON, "closedlost": LOST}
DEAL_PROPERTIES = ["dealname", "dealstage", "pipeline", "closedate", "amount", "hs_is_closed_won", "hs_is_closed",
                   "hs_lastmodifieddate"]
#: Outcome.value's bounds (14 digits, 2 after the point).
VALUE_LIMIT = Decimal(10) ** 12


def stage_result(metadata: Mapping[str, Any]) -> str | None:
    """"won", "lost" or None (open) for a pipeline stage, as HubSpot itself reads its metadata: a closed
    stage at probability 1 is won, any other closed stage lost."""
    if str(metadata.get("isClosed", "")).strip().casefold() != "true":
        return None
    try:
        probability = float(str(metadata.get("probability", "")).strip())
    except ValueError:
        probability = 0.0
    return WON if probability >= 1.0 else LOST


def stage_results(stages: Iterable[Any]) -> dict[tuple[str, str], str | None]:
    """{(pipeline id, stage id): result} for every stage the portal's pipelines list."""
    return {(stage.pipeline, stage.id): stage_result(stage.metadata) for stage in stages}


def deal_result(properties: Mapping[str, Any], stages: Mapping[tuple[str, str], str | None]) -> str | None:
    """The deal's stage read through its pipeline; a stage the pipelines did not list falls back to the
    deal's own hs_is_closed_won / hs_is_closed, then to the default stage names."""
    stage, pipeline = str(properties.get("dealstage") or ""), str(properties.get("pipeline") or "")
    if (pipeline, stage) in stages:
        return stages[(pipeline, stage)]
    closed_won = str(properties.get("hs_is_closed_won") or "").casefold()
    closed = str(properties.get("hs_is_closed") or "").casefold()
    if closed_won == "true":
        return WON
    if closed == "true":
        return LOST
    if closed == "false":
        return None
    return DEFAULT_STAGES.get(stage.casefold())


def deal_amount(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip().replace(",", "")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and abs(amount) < VALUE_LIMIT else None


@dataclass(frozen=True, slots=True)
class DealOutcome:
    outcome: str
    occurred_at: datetime
    value: Decimal | None
    deal_id: str


def contact_deal_outcome(deals: Iterable[Any], stages: Mapping[tuple[str, str], str | None], *,
                         now: datetime) -> DealOutcome | None:
    """A contact's outcome from its deals: won if any deal is closed won (the latest such deal's close
    date and amount), else lost if any is closed lost (the latest one), else None. Open deals don't
    decide anything. A close date still in the future (HubSpot keeps the forecast one) gives way to
    the deal's last change, so the date stays put from one sync to the next."""
    best: dict[str, DealOutcome] = {}
    for deal in deals:
        result = deal_result(deal.properties, stages)
        if result is None:
            continue
        closed_at = parse_hubspot_time(deal.properties.get("closedate"))
        if closed_at is None or closed_at > now:
            closed_at = parse_hubspot_time(deal.properties.get("hs_lastmodifieddate"))
        if closed_at is None or closed_at > now:
            continue
        candidate = DealOutcome(result, closed_at, deal_amount(deal.properties.get("amount")), deal.id)
        current = best.get(result)
        if current is None or (candidate.occurred_at, candidate.deal_id) > (current.occurred_at, current.deal_id):
            best[result] = candidate
    return best.get(WON) or best.get(LOST)
