"""Outcomes: which leads were won and which lost, from the API, a CSV, the lead upload or the CRM.

    parse_outcome("Closed Won") -> "won"          # pure; None for a blank cell, ValueError otherwise
    outcomes_record(workspace=..., items=[...])   # one, or a list of up to 10,000
    outcomes_record_csv(workspace=..., upload=f)  # lead/email, outcome, occurred_at, value columns

A lead has one outcome: a newer one replaces it. Recording outcomes never rescores by itself; a
training run does (its scores' cause is `outcome`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from leads.exceptions import ImportFileError
from leads.models import Lead, Offer, Outcome, Workspace
from leads.services import csv_parsing as cp
from leads.services.engagement import IngestResult, lead_reference, upload_text
from leads.services.leads import lead_dedupe_key

MAX_OUTCOMES_PER_REQUEST = 10_000
TOO_MANY = f"At most {MAX_OUTCOMES_PER_REQUEST:,} outcomes per request: split the list."
UNKNOWN_LEAD = "No lead with this {what} in your workspace."
BAD_OUTCOME = "outcome must be won or lost (1/0, yes/no, true/false and converted/not converted are read too)."
BAD_TIME = "occurred_at must be an ISO 8601 date or date and time, e.g. 2026-11-30 or 2026-11-30T14:05:00Z."
FUTURE_TIME = "occurred_at is more than a day in the future."
BAD_VALUE = "value must be a number of at most 12 digits before the decimal point, e.g. 12500.50."
UNKNOWN_OFFER = "No offer with this id in your workspace."
OUTCOME_CSV_COLUMNS = "The file needs an outcome column (Outcome, Converted, Won or Status) and a lead or email column."

# How people write "won" and "lost", after lower-casing, removing accents and squeezing spaces,
# dashes and underscores. Status-like words ("customer", "churned") are CRM vocabulary.
_WON = frozenset({"1", "1.0", "true", "t", "yes", "y", "won", "win", "converted", "closed won", "closedwon",
                  "customer", "success", "successful", "ja", "oui", "si", "sim", "gewonnen", "gagne"})
_LOST = frozenset({"0", "0.0", "false", "f", "no", "n", "lost", "lose", "loss", "not converted", "unconverted",
                   "closed lost", "closedlost", "churned", "failed", "nein", "non", "nao", "verloren", "perdu"})

#: Lead-upload columns read as the outcome (normalised headers, best first). "status" counts only
#: when its value reads as an outcome: elsewhere it is a column like any other.
OUTCOME_HEADERS = ("outcome", "converted", "won", "dealoutcome", "closedwon", "status")
_STRICT_HEADERS = frozenset(OUTCOME_HEADERS) - {"status"}


def _plain(value: str) -> str:
    text = unicodedata.normalize("NFKD", value.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.replace("-", " ").replace("_", " ").split())


def parse_outcome(value: object) -> str | None:
    """"won", "lost", or None for a blank value; ValueError (BAD_OUTCOME) for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "won" if value else "lost"
    if isinstance(value, int | float):
        if value in (0, 1):
            return "won" if value == 1 else "lost"
        raise ValueError(BAD_OUTCOME)
    if not isinstance(value, str):
        raise ValueError(BAD_OUTCOME)
    text = _plain(value)
    if not text:
        return None
    if text in _WON:
        return "won"
    if text in _LOST:
        return "lost"
    raise ValueError(BAD_OUTCOME)


def outcome_column(header_keys: Iterable[str]) -> tuple[str, bool] | None:
    """Which extra column of a lead upload holds the outcome: (its attributes key, whether every
    value must read as one). None when the file has none."""
    ranked: list[tuple[int, str]] = []
    for key in header_keys:
        normalised = cp.normalise_header(key)
        if normalised in OUTCOME_HEADERS:
            ranked.append((OUTCOME_HEADERS.index(normalised), key))
    if not ranked:
        return None
    _, key = min(ranked)
    return key, cp.normalise_header(key) in _STRICT_HEADERS


def _occurred(raw: object, now: datetime) -> datetime:
    if raw in (None, ""):
        return now
    moment: datetime | None = None
    if isinstance(raw, str):
        try:
            moment = parse_datetime(raw.strip())
            if moment is None and (day := parse_date(raw.strip())) is not None:
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError(BAD_TIME)
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    if moment > now + timedelta(days=1):
        raise ValueError(FUTURE_TIME)
    return moment


def _value(raw: object) -> Decimal | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(BAD_VALUE)
    try:
        value = Decimal(str(raw).strip().replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(BAD_VALUE) from None
    if not value.is_finite() or abs(value) >= Decimal(10) ** 12:
        raise ValueError(BAD_VALUE)
    return value


@dataclass(frozen=True, slots=True)
class _Item:
    where: dict[str, Any]
    lead_id: int | None
    email: str
    outcome: str
    occurred_at: datetime
    value: Decimal | None
    offer_id: int | None


def _parse(item: object, where: dict[str, Any], now: datetime) -> _Item | None:
    """One outcome, checked (ValueError with a reason); None for a blank outcome (nothing to record)."""
    if not isinstance(item, Mapping):
        raise ValueError("Each outcome is an object.")
    lead_id, email = lead_reference(item)
    outcome = parse_outcome(item.get("outcome"))
    if outcome is None:
        raise ValueError(BAD_OUTCOME)
    offer_id = item.get("offer")
    if offer_id not in (None, ""):
        if isinstance(offer_id, bool) or not isinstance(offer_id, int | str) or not str(offer_id).isascii() \
                or not str(offer_id).isdigit() or not 1 <= int(offer_id) < 2**63:
            raise ValueError("offer must be an offer id.")
        offer_id = int(offer_id)
    else:
        offer_id = None
    return _Item(where, lead_id, email, outcome, _occurred(item.get("occurred_at"), now), _value(item.get("value")),
                 offer_id)


def _resolve(workspace: Workspace, items: list[_Item], result: IngestResult) -> dict[int, int]:
    ids = {item.lead_id for item in items if item.lead_id is not None}
    known = set(Lead.objects.filter(workspace=workspace, pk__in=ids).values_list("pk", flat=True)) if ids else set()
    keys = {lead_dedupe_key(name="", company="", email=item.email) for item in items if item.lead_id is None}
    by_key = dict(Lead.objects.filter(workspace=workspace, dedupe_key__in=list(keys))
                  .values_list("dedupe_key", "pk")) if keys else {}
    offers = {item.offer_id for item in items if item.offer_id is not None}
    known_offers = set(Offer.objects.filter(workspace=workspace, pk__in=offers).values_list("pk", flat=True))
    resolved: dict[int, int] = {}
    for index, item in enumerate(items):
        if item.offer_id is not None and item.offer_id not in known_offers:
            result.reject(item.where, UNKNOWN_OFFER)
            continue
        if item.lead_id is not None:
            lead_id = item.lead_id if item.lead_id in known else None
            what = "id"
        else:
            lead_id = by_key.get(lead_dedupe_key(name="", company="", email=item.email))
            what = "email"
        if lead_id is None:
            result.reject(item.where, UNKNOWN_LEAD.format(what=what))
        else:
            resolved[index] = lead_id
    return resolved


@dataclass(frozen=True, slots=True)
class OutcomeInput:
    """A parsed outcome for a lead already known by id (the lead upload and the CRM sync)."""

    lead_id: int
    outcome: str
    occurred_at: datetime
    value: Decimal | None = None
    offer_id: int | None = None


def outcomes_upsert(*, workspace_id: int, outcomes: Sequence[OutcomeInput], source: str) -> int:
    """Store these outcomes (the last one per lead wins) in the caller's transaction; returns how many."""
    latest: dict[int, OutcomeInput] = {}
    for outcome in outcomes:
        latest[outcome.lead_id] = outcome
    if not latest:
        return 0
    now = timezone.now()
    existing = {o.lead_id: o for o in Outcome.objects.filter(workspace_id=workspace_id, lead_id__in=list(latest))}
    changed: list[Outcome] = []
    new: list[Outcome] = []
    for lead_id, given in latest.items():
        row = existing.get(lead_id)
        if row is None:
            new.append(Outcome(workspace_id=workspace_id, lead_id=lead_id, outcome=given.outcome,
                               occurred_at=given.occurred_at, value=given.value, offer_id=given.offer_id,
                               source=source))
            continue
        row.outcome, row.occurred_at, row.source, row.updated_at = given.outcome, given.occurred_at, source, now
        if given.value is not None:
            row.value = given.value
        if given.offer_id is not None:
            row.offer_id = given.offer_id
        changed.append(row)
    Outcome.objects.bulk_create(new, batch_size=1000)
    Outcome.objects.bulk_update(changed, ["outcome", "occurred_at", "value", "offer_id", "source", "updated_at"],
                                batch_size=1000)
    return len(latest)


def outcomes_record(*, workspace: Workspace, items: list[Any], where: list[dict[str, Any]] | None = None,
                    source: str = Outcome.Source.API) -> IngestResult:
    """Record a list of outcomes: each stored, or rejected with its index (or line) and reason."""
    if len(items) > MAX_OUTCOMES_PER_REQUEST:
        raise ImportFileError(TOO_MANY, status_code=413, code="too_many_outcomes")
    now = timezone.now()
    result = IngestResult()
    parsed: list[_Item] = []
    for index, item in enumerate(items):
        place = where[index] if where is not None else {"index": index}
        try:
            one = _parse(item, place, now)
        except ValueError as exc:
            result.reject(place, str(exc))
            continue
        if one is not None:
            parsed.append(one)
    with transaction.atomic():
        resolved = _resolve(workspace, parsed, result)
        result.accepted = outcomes_upsert(workspace_id=workspace.pk, source=source, outcomes=[
            OutcomeInput(lead_id, parsed[i].outcome, parsed[i].occurred_at, parsed[i].value, parsed[i].offer_id)
            for i, lead_id in resolved.items()])
        result.leads = set(resolved.values())
    result.errors.sort(key=lambda error: error.get("line", error.get("index", 0)))  # in the order sent
    return result


_CSV_FIELDS = {"lead": "lead", "leadid": "lead", "id": "lead", "email": "email", "emailaddress": "email",
               "outcome": "outcome", "converted": "outcome", "won": "outcome", "status": "outcome",
               "result": "outcome", "dealoutcome": "outcome", "occurredat": "occurred_at", "date": "occurred_at",
               "closedate": "occurred_at", "closedat": "occurred_at", "value": "value", "amount": "value",
               "dealvalue": "value", "offer": "offer", "offerid": "offer"}


def _csv_items(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    header, rows = cp.header_and_rows(text, delimiter)
    columns = [_CSV_FIELDS.get(cp.normalise_header(cell)) for cell in header]
    if "outcome" not in columns or not ({"lead", "email"} & set(columns)):
        raise ImportFileError(OUTCOME_CSV_COLUMNS, code="missing_columns", details={"header": header[:50]})
    for line, cells in rows:
        yield line, {name: cell.strip() or None for name, cell in zip(columns, cells, strict=False) if name}


def outcomes_record_csv(*, workspace: Workspace, upload: Any) -> IngestResult:
    """A CSV of outcomes, as a whole (one transaction) with row errors by line number."""
    text = upload_text(upload, max_bytes=settings.EVENTS_UPLOAD_MAX_BYTES)
    total = IngestResult()
    items: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    try:
        for line, item in _csv_items(text.lines, text.delimiter):
            if len(items) == MAX_OUTCOMES_PER_REQUEST * 10:
                raise ImportFileError(f"At most {MAX_OUTCOMES_PER_REQUEST * 10:,} outcomes per file: split it.",
                                      status_code=413, code="too_many_rows")
            items.append(item)
            lines.append({"line": line})
    except cp.CsvSyntaxError as exc:
        raise ImportFileError(exc.message, code="invalid_csv", details={"line": exc.line}) from None
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"The file is not valid {text.encoding}: {exc.reason}.",
                              code="undecodable_file") from None
    with transaction.atomic():
        for start in range(0, len(items), MAX_OUTCOMES_PER_REQUEST):
            part = outcomes_record(workspace=workspace, items=items[start:start + MAX_OUTCOMES_PER_REQUEST],
                                   where=lines[start:start + MAX_OUTCOMES_PER_REQUEST], source=Outcome.Source.UPLOAD)
            total.accepted += part.accepted
            total.leads |= part.leads
            for error in part.errors:
                total.reject({k: v for k, v in error.items() if k != "reason"}, error["reason"])
            total.rejected += part.rejected - len(part.errors)
    return total


def outcome_summary(outcome: Outcome | None) -> dict[str, Any] | None:
    if outcome is None:
        return None
    return {"outcome": outcome.outcome, "occurred_at": outcome.occurred_at.isoformat(),
            "value": str(outcome.value) if outcome.value is not None else None, "source": outcome.source,
            "offer": outcome.offer_id}
