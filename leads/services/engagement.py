"""Events in, then folded into the leads' aggregates, the touched scores marked stale and a rescore
on its way.

    events_ingest(workspace=…, items=[{…}, …], create_leads=False) -> IngestResult
    events_ingest_csv(workspace=…, upload=…, create_leads=False) -> IngestResult
    engagement_fold(workspace_id=…) -> int

Each item: `lead` (id) or `email`, `type`, `occurred_at` (ISO 8601, default now), `source`
(default "api"), `external_id`, `properties`. Items are checked one by one: a bad one is reported
with its index (or CSV line) and reason and the others go in. An event already stored, or sent
twice in one request, with the same source and external_id, counts once (`duplicates`).

An ingest stores the request's events in one transaction, and nothing else. It used to update each
lead's aggregates row and its score's stale mark too: with 10,000 events for 10,000 leads, that is
as many random rows rewritten per request, in the write lock and on the disk, one event at a time.

The fold, ENGAGEMENT_FOLD_DELAY_SECONDS later in the worker (at once in eager mode), and first thing
in every rescore of stale scores, takes the workspace's events after `events_folded_through`, up to
ENGAGEMENT_FOLD_CHUNK at a time, in lead order: each touched lead's aggregates (counts and latest
time per type, per-day counts inside the window, first and last activity) updated once for all its
events, the leads' scores marked stale and the mark moved on, in one transaction. Then one rescore
per workspace is queued, at most every ENGAGEMENT_RESCORE_DELAY_SECONDS, whatever the number of
requests.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import orjson
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leads.exceptions import ImportFileError, LeadsError
from leads.gc_pause import gc_paused
from leads.models import Event, Lead, LeadEngagement, Score, ScoreCause, TimelineEntry, Workspace
from leads.models.engagement import events_folded_through, workspace_events_lock
from leads.queue import ENGAGEMENT_FOLD, ENGAGEMENT_RESCORE, enqueue_later, enqueue_soon
from leads.scoring.engagement import EVENT_TYPE, MAX_HORIZON_DAYS, day_number
from leads.scoring.facts import CRM_ACTIVITY_TYPES, EngagementFacts
from leads.services import csv_parsing as cp
from leads.services.bulk_insert import rows_insert
from leads.services.leads import lead_dedupe_key, lead_name_key

MAX_EVENTS_PER_REQUEST = 10_000
PROPERTIES_MAX_CHARS = 10_000
ERRORS_KEPT = 1000
#: Events read at a time by a fold; how often it reads again when a lead was deleted meanwhile.
FOLD_READ_ROWS = 20_000
FOLD_ATTEMPTS = 5
#: Per-day counts are kept this far back: the longest decay horizon a model may use.
DAILY_WINDOW_DAYS = MAX_HORIZON_DAYS

TOO_MANY = f"At most {MAX_EVENTS_PER_REQUEST:,} events per request: split the list."
NO_LEAD = "Give the lead's id (lead) or email."
UNKNOWN_LEAD = "No lead with this {what} in your workspace (send create_leads=true to create leads by email)."
BAD_TYPE = "type must be lowercase letters, digits and _ (1–50 characters), e.g. email_open."
BAD_TIME = "occurred_at must be an ISO 8601 date and time, e.g. 2026-11-30T14:05:00Z."
FUTURE_TIME = "occurred_at is more than a day in the future."
BAD_FIELD = "{name} must be a text of at most {limit} characters."
BAD_PROPERTIES = f"properties must be an object of at most {PROPERTIES_MAX_CHARS:,} characters of JSON."
EVENT_CSV_COLUMNS = "The file needs a type column and a lead (lead id) or email column."
CSV_TOO_LARGE = "The file is larger than {mb} MB (EVENTS_UPLOAD_MAX_BYTES): split it."
CSV_TOO_MANY_ROWS = "The file has more than {rows:,} events (EVENTS_UPLOAD_MAX_ROWS): split it."


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    created_leads: int = 0
    leads: set[int] = field(default_factory=set)

    def reject(self, where: dict[str, Any], reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({**where, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected,
                "errors": self.errors, "errors_truncated": self.rejected > len(self.errors),
                "created_leads": self.created_leads, "leads": len(self.leads)}


@dataclass(frozen=True, slots=True)
class _Item:
    where: dict[str, Any]
    lead_id: int | None
    email: str
    type: str
    occurred_at: datetime
    source: str
    external_id: str
    properties: dict[str, Any]


def _text(item: Mapping[str, Any], name: str, limit: int, default: str = "") -> str:
    value = item.get(name, default)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool) and name == "external_id":
        value = str(value)
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(BAD_FIELD.format(name=name, limit=limit))
    return value.strip()


def lead_reference(item: Mapping[str, Any]) -> tuple[int | None, str]:
    """The lead an ingested item (an event, an outcome) names: (its id, or None, and the email,
    casefolded); ValueError when it names neither or a bad one."""
    lead = item.get("lead")
    lead_id = None
    if lead not in (None, ""):
        try:
            lead_id = int(lead)
        except (TypeError, ValueError):
            raise ValueError("lead must be a lead id.") from None
        if not 1 <= lead_id < 2**63:
            raise ValueError("lead must be a lead id.")
    email = _text(item, "email", 254).casefold()
    if lead_id is None and not email:
        raise ValueError(NO_LEAD)
    return lead_id, email


def _parse(item: object, where: dict[str, Any], now: datetime) -> _Item:
    """One event, checked; ValueError with the reason a person can act on."""
    if not isinstance(item, Mapping):
        raise ValueError("Each event is an object.")
    lead_id, email = lead_reference(item)
    event_type = _text(item, "type", 50)
    if not EVENT_TYPE.match(event_type):
        raise ValueError(BAD_TYPE)
    raw_time = item.get("occurred_at")
    if raw_time in (None, ""):
        occurred = now
    else:
        occurred = _moment(raw_time)
        if occurred > now + timedelta(days=1):
            raise ValueError(FUTURE_TIME)
    properties = item.get("properties") or {}
    if not isinstance(properties, dict) or (
            properties and len(json.dumps(properties, default=str)) > PROPERTIES_MAX_CHARS):
        raise ValueError(BAD_PROPERTIES)
    return _Item(where, lead_id, email, event_type, occurred, _text(item, "source", 50, "api") or "api",
                 _text(item, "external_id", 200), properties)


def _moment(raw: object) -> datetime:
    """An ISO 8601 time as an aware datetime (without an offset: UTC, as everywhere here)."""
    if not isinstance(raw, str):
        raise ValueError(BAD_TIME)
    try:
        # What parse_datetime tries first; its own pattern only for what fromisoformat refuses.
        occurred = datetime.fromisoformat(raw)
    except ValueError:
        try:
            occurred = parse_datetime(raw)
        except ValueError:  # well-formed but impossible ("2026-13-01"): the same sentence
            occurred = None
        if occurred is None:
            raise ValueError(BAD_TIME) from None
    if occurred.tzinfo is None or occurred.utcoffset() is None:
        occurred = occurred.replace(tzinfo=UTC)
    return occurred


def _in(values: Iterable[Any]) -> tuple[str, list[Any]]:
    """`IN` over many values as one parameter: SQLite's json_each, PostgreSQL's `= ANY`. Ten
    thousand placeholders cost Django more to compile than the database to answer."""
    values = list(values)
    if connection.vendor == "sqlite":
        return "IN (SELECT value FROM json_each(%s))", [orjson.dumps(values).decode()]
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [values]
    return f"IN ({', '.join(['%s'] * len(values))})", values


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _table(model: type) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _resolve_leads(workspace: Workspace, items: list[_Item], *, create: bool,
                   result: IngestResult) -> dict[int, int]:
    """Item index -> lead id, for items whose lead exists (or was created by email)."""
    ids = {item.lead_id for item in items if item.lead_id is not None}
    known_ids: set[int] = set()
    if ids:
        where, params = _in(ids)
        known_ids = {pk for pk, in _rows(f"SELECT id FROM {_table(Lead)} WHERE workspace_id = %s AND id {where}",
                                         [workspace.pk, *params])}
    keys = {item.email: lead_dedupe_key(name="", company="", email=item.email)
            for item in items if item.lead_id is None}
    by_key: dict[str, int] = {}

    def by_dedupe_key() -> dict[str, int]:
        where, params = _in(set(keys.values()))
        return dict(_rows(f"SELECT dedupe_key, id FROM {_table(Lead)} WHERE workspace_id = %s AND dedupe_key {where}",
                          [workspace.pk, *params]))

    if keys:
        by_key = by_dedupe_key()
        if create:
            missing = sorted({email for email, key in keys.items() if key not in by_key})
            if missing:
                Lead.objects.bulk_create([
                    Lead(workspace=workspace, email=email, name=email.split("@")[0], dedupe_key=keys[email],
                         name_key=lead_name_key(name=email.split("@")[0], company=""))
                    for email in missing],
                    batch_size=1000)
                result.created_leads += len(missing)
                by_key = by_dedupe_key()
    resolved: dict[int, int] = {}
    for index, item in enumerate(items):
        if item.lead_id is not None:
            if item.lead_id in known_ids:
                resolved[index] = item.lead_id
            else:
                result.reject(item.where, UNKNOWN_LEAD.format(what="id"))
        else:
            lead_id = by_key.get(keys[item.email])
            if lead_id is None:
                result.reject(item.where, UNKNOWN_LEAD.format(what="email"))
            else:
                resolved[index] = lead_id
    return resolved


def _already_stored(workspace: Workspace, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, external_id in pairs:
        by_source[source].append(external_id)
    for source, external_ids in by_source.items():
        where, params = _in(external_ids)
        # The last condition is the unique index's own: without it SQLite reads every event of the
        # workspace (a scan that grew with each request) instead of one index entry per id.
        found.update(_rows(f"SELECT source, external_id FROM {_table(Event)} WHERE workspace_id = %s "
                           f"AND source = %s AND external_id {where} AND NOT (external_id = '')",
                           [workspace.pk, source, *params]))
    return found


_EVENT_COLUMNS = ("workspace_id", "lead_id", "type", "occurred_at", "source", "external_id", "properties",
                  "created_at")


def _datetime_adapter() -> Any:
    """The database's value of an aware datetime. SQLite's is the UTC time as text, which
    Django's adapter builds at 10 µs a call (three calls an event)."""
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        def adapt(moment: datetime | None) -> str | None:
            return None if moment is None else str(moment.astimezone(UTC).replace(tzinfo=None))
        return adapt
    return connection.ops.adapt_datetimefield_value


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _event_moment(occurred: datetime) -> tuple[str, int]:
    """An event's time as the aggregates keep it: ISO text in UTC (one offset, so text order is time
    order) and its day number."""
    return occurred.astimezone(UTC).isoformat(), day_number(occurred)


def _stored_moments() -> Any:
    """stored occurred_at -> (ISO text, day number) as _event_moment gives them. SQLite's value is
    the UTC time as `str(datetime)` writes it, which is isoformat's with a space: rewritten as text,
    the day looked up once per date (parsing ten million times costs seconds)."""
    if connection.vendor != "sqlite" or connection.timezone_name != "UTC":
        return lambda stored: _event_moment(stored if isinstance(stored, datetime) else _moment(stored))
    days: dict[str, int] = {}

    def moment(stored: str) -> tuple[str, int]:
        date = stored[:10]
        day = days.get(date)
        if day is None:
            day = days[date] = day_number(datetime.fromisoformat(date).replace(tzinfo=UTC))
        return stored.replace(" ", "T", 1) + "+00:00", day
    return moment


_AGGREGATE_COLUMNS = ("counts", "last_at", "daily", "first_activity", "last_activity", "updated_at")
# The first and last activity are moved by the database: no time column is read back and parsed.
_AGGREGATE_SET = ("counts = %s, last_at = %s, daily = %s, "
                  "first_activity = CASE WHEN first_activity IS NULL OR first_activity > %s THEN %s "
                  "ELSE first_activity END, "
                  "last_activity = CASE WHEN last_activity IS NULL OR last_activity < %s THEN %s "
                  "ELSE last_activity END, updated_at = %s")


@dataclass
class _AggregateRows:
    """A fold's new LeadEngagement rows, values prepared for the cursor."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)


def _aggregates_reckon(workspace_id: int, events: list[tuple[int, str, Any, str, int]], now: datetime,
                       into: _AggregateRows) -> None:
    """The leads' LeadEngagement rows with new (lead, type, time as the database stores it, ISO time,
    day) events folded in, added to `into` (read now, written by _aggregates_write).

    Read and written through the cursor with one statement each: bulk_update's CASE expressions
    cost 5 s per 10,000 rows, the ORM's read of the JSON and time columns 1 s. The JSON goes through
    orjson (json's encoder was a third of this function). The stored time values order like the
    times (SQLite's UTC text, PostgreSQL's datetimes), so first and last are their min and max. Rows
    are written in lead order, so the table's pages are visited once each, in order.
    """
    by_lead: dict[int, list[tuple[str, Any, str, int]]] = defaultdict(list)
    for lead_id, *event in events:
        by_lead[lead_id].append(event)
    where, params = _in(by_lead)
    # From the leads: events of a lead deleted since they were stored have nothing to fold into.
    existing = {lead_id: (_json(counts), _json(last_at), _json(daily)) if counts is not None else None
                for lead_id, counts, last_at, daily in _rows(
                    f"SELECT l.id, e.counts, e.last_at, e.daily FROM {_table(Lead)} l "
                    f"LEFT JOIN {_table(LeadEngagement)} e ON e.lead_id = l.id WHERE l.id {where}", params)}
    oldest_day = day_number(now) - DAILY_WINDOW_DAYS
    stamp = _datetime_adapter()(now)
    inserts, updates = into.inserts, into.updates
    for lead_id in sorted(existing):
        items = by_lead[lead_id]
        known = existing[lead_id]
        counts, last_at, daily = known if known is not None else ({}, {}, {})
        for event_type, _stored, moment, day in items:
            counts[event_type] = counts.get(event_type, 0) + 1
            if last_at.get(event_type, "") < moment:
                last_at[event_type] = moment
            if day >= oldest_day:
                days = daily.setdefault(event_type, {})
                key = str(day)
                days[key] = days.get(key, 0) + 1
        for days in daily.values():  # the window slides: forget days nobody can read
            for day in [d for d in days if int(d) < oldest_day]:
                del days[day]
        first = min(item[1] for item in items)
        last = max(item[1] for item in items)
        if known is None:
            inserts.append((lead_id, workspace_id, _json_text(counts), _json_text(last_at), _json_text(daily),
                            first, last, stamp))
        else:
            updates.append((_json_text(counts), _json_text(last_at), _json_text(daily), first, first, last, last,
                            stamp, lead_id))


def _aggregates_write(rows: _AggregateRows) -> None:
    if rows.inserts:
        rows_insert(LeadEngagement._meta.db_table, ("lead_id", "workspace_id", *_AGGREGATE_COLUMNS), rows.inserts)
    if rows.updates:
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {_table(LeadEngagement)} SET {_AGGREGATE_SET} WHERE lead_id = %s",
                               rows.updates)


def events_ingest(*, workspace: Workspace, items: list[Any], create_leads: bool = False,
                  where: Iterable[dict[str, Any]] | None = None) -> IngestResult:
    """Store `items` (see the module docstring); `where` labels each item in errors (default its index)."""
    if len(items) > MAX_EVENTS_PER_REQUEST:
        raise LeadsError(TOO_MANY, code="too_many_events", status_code=413,
                         details={"limit": MAX_EVENTS_PER_REQUEST})
    # Tens of thousands of small, acyclic objects a request: the cycle collector would walk the
    # whole heap several times over for nothing (a sixth of the request's CPU).
    with gc_paused():
        return _events_store(workspace, items, create_leads, where)


def _events_store(workspace: Workspace, items: list[Any], create_leads: bool,
                  where: Iterable[dict[str, Any]] | None) -> IngestResult:
    result = IngestResult()
    now = timezone.now()
    labels = list(where) if where is not None else [{"index": i} for i in range(len(items))]
    parsed: list[_Item] = []
    for label, item in zip(labels, items, strict=True):
        try:
            parsed.append(_parse(item, label, now))
        except ValueError as exc:
            result.reject(label, str(exc))
    # Everything that does not read the database is prepared before the write transaction (SQLite
    # holds one writer at a time; the other web worker's request waits for this one's commit).
    adapt = _datetime_adapter()
    properties_field = Event._meta.get_field("properties")
    no_properties = properties_field.get_db_prep_save({}, connection)
    created_stamp = adapt(now)
    prepared = [(item.type, adapt(item.occurred_at), item.source, item.external_id,
                 properties_field.get_db_prep_save(item.properties, connection) if item.properties else no_properties)
                for item in parsed]
    with transaction.atomic():
        workspace_events_lock(workspace.pk)
        resolved = _resolve_leads(workspace, parsed, create=create_leads, result=result)
        pairs = {(parsed[i].source, parsed[i].external_id) for i in resolved if parsed[i].external_id}
        stored = _already_stored(workspace, pairs) if pairs else set()
        seen: set[tuple[str, str]] = set()
        rows: list[tuple[Any, ...]] = []
        for index, lead_id in resolved.items():
            item = parsed[index]
            if item.external_id:
                key = (item.source, item.external_id)
                if key in stored or key in seen:
                    result.duplicates += 1
                    continue
                seen.add(key)
            rows.append((workspace.pk, lead_id, *prepared[index], created_stamp))
            result.leads.add(lead_id)
        if rows:
            # In lead order (stable: a lead's events keep theirs): the lead-and-time index takes
            # its entries page after page instead of at random.
            rows.sort(key=itemgetter(1))
            rows_insert(Event._meta.db_table, _EVENT_COLUMNS, rows)
            engagement_fold_soon(workspace_id=workspace.pk)
        result.accepted = len(rows)
    return result


def engagement_fold_soon(*, workspace_id: int) -> None:
    """Queue one fold of the workspace's new events in a moment, unless one is queued (the fold
    forgets the mark when it starts, so events that arrive during a fold get the next one)."""
    delay = settings.ENGAGEMENT_FOLD_DELAY_SECONDS
    if cache.add(_fold_queued(workspace_id), 1, timeout=max(60, delay * 10)):
        enqueue_soon(ENGAGEMENT_FOLD, workspace_id, countdown=delay)


def _fold_queued(workspace_id: int) -> str:
    return f"leadscore:fold-queued:{workspace_id}"


def engagement_fold(*, workspace_id: int, queue_rescore: bool = True) -> int:
    """Fold the workspace's events not folded yet (see the module docstring), ENGAGEMENT_FOLD_CHUNK at
    a time, each chunk written in one transaction; then queue the debounced rescore, unless the
    caller starts the runs itself (`queue_rescore=False`). Returns the events folded."""
    cache.delete(_fold_queued(workspace_id))
    folded = 0
    with gc_paused():
        while moved := _fold_chunk(workspace_id, settings.ENGAGEMENT_FOLD_CHUNK):
            folded += moved
    if folded and queue_rescore:
        engagement_rescore_soon(workspace_id=workspace_id)
    return folded


def _fold_chunk(workspace_id: int, limit: int) -> int:
    """Fold the next `limit` new events; 0 when there are none, or when another fold (a second worker,
    a refresh) moved the mark first: that one goes on until none is left. The events and the
    aggregates are read, and the new aggregates reckoned, outside the write lock (SQLite's one writer
    at a time: the ingest requests write meanwhile); the transaction only writes, and moves the mark
    on from where the reading started, so what another fold wrote is never counted twice."""
    for _ in range(FOLD_ATTEMPTS):
        with transaction.atomic():
            # Under the ingests' lock: no event of the workspace below the bound is still uncommitted.
            workspace_events_lock(workspace_id)
            span = _fold_span(workspace_id, limit)
        if span is None:
            return 0
        start, bound, count = span
        rows = _AggregateRows()
        now = timezone.now()
        moment = _stored_moments()
        scope = "workspace_id = %s AND id > %s AND id <= %s"
        # As text on SQLite: the stored value, without the driver's datetime conversion.
        occurred = "CAST(occurred_at AS TEXT)" if connection.vendor == "sqlite" else "occurred_at"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT lead_id, type, {occurred} FROM {_table(Event)} WHERE {scope} ORDER BY lead_id",
                           [workspace_id, start, bound])
            batch: list[tuple[int, str, Any, str, int]] = []
            while page := cursor.fetchmany(FOLD_READ_ROWS):
                for lead_id, event_type, stored in page:
                    batch.append((lead_id, event_type, stored, *moment(stored)))
                if len(page) < FOLD_READ_ROWS:
                    break
                # Cut between two leads, so each lead's events are folded together.
                cut = len(batch)
                while cut and batch[cut - 1][0] == batch[-1][0]:
                    cut -= 1
                if cut:
                    _aggregates_reckon(workspace_id, batch[:cut], now, rows)
                    del batch[:cut]
        if batch:
            _aggregates_reckon(workspace_id, batch, now, rows)
        try:
            with transaction.atomic():
                workspace_events_lock(workspace_id)
                workspaces = Workspace.objects.filter(pk=workspace_id, events_folded_through=start)
                if not workspaces.update(events_folded_through=bound):
                    return 0  # another fold moved the mark first: what was read is out of date
                _aggregates_write(rows)
                with connection.cursor() as cursor:
                    # In lead order, after the timeline's last entries of each lead: its index's pages
                    # are each visited once. Joined to the leads for the same reason as the aggregates.
                    cursor.execute(f"INSERT INTO {_table(TimelineEntry)} (event_id, lead_id, occurred_at) "
                                   f"SELECT e.id, e.lead_id, e.occurred_at FROM {_table(Event)} e "
                                   f"JOIN {_table(Lead)} l ON l.id = e.lead_id "
                                   f"WHERE e.workspace_id = %s AND e.id > %s AND e.id <= %s "
                                   f"ORDER BY e.lead_id, e.occurred_at, e.id", [workspace_id, start, bound])
                    cursor.execute(f"UPDATE {_table(Score)} SET stale_cause = %s WHERE is_current AND stale_cause = '' "
                                   f"AND lead_id IN (SELECT lead_id FROM {_table(Event)} WHERE {scope})",
                                   [str(ScoreCause.EVENTS), workspace_id, start, bound])
        except IntegrityError:
            continue  # a lead deleted since the read: its aggregates row can't be inserted; read again
        return count
    return 0


def _fold_span(workspace_id: int, limit: int) -> tuple[int, int, int] | None:
    """(the mark, the id of the `limit`-th event after it or of the last, how many): by the workspace
    index (workspace, id), whose last entries the new events are."""
    start = events_folded_through(workspace_id)
    if start is None:
        return None
    ((bound, count),) = _rows(f"SELECT MAX(id), COUNT(*) FROM (SELECT id FROM {_table(Event)} WHERE workspace_id = %s "
                              f"AND id > %s ORDER BY id LIMIT %s) AS head", [workspace_id, start, limit])
    return (start, bound, count) if count else None


def engagement_rescore_soon(*, workspace_id: int) -> None:
    """Queue one rescore of the workspace's stale scores in a few seconds, unless one is queued."""
    delay = settings.ENGAGEMENT_RESCORE_DELAY_SECONDS
    if cache.add(f"leadscore:rescore-queued:{workspace_id}", 1, timeout=delay):
        enqueue_later(ENGAGEMENT_RESCORE, workspace_id, countdown=delay)


# --- CSV ----------------------------------------------------------------------------------------------

_CSV_FIELDS = {"lead": "lead", "leadid": "lead", "id": "lead", "email": "email", "emailaddress": "email",
               "type": "type", "eventtype": "type", "event": "type", "occurredat": "occurred_at",
               "timestamp": "occurred_at", "time": "occurred_at", "date": "occurred_at", "source": "source",
               "externalid": "external_id", "eventid": "external_id"}


def _csv_items(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    header, rows = cp.header_and_rows(text, delimiter)
    columns = [_CSV_FIELDS.get(cp.normalise_header(cell)) for cell in header]
    if "type" not in columns or not ({"lead", "email"} & set(columns)):
        raise ImportFileError(EVENT_CSV_COLUMNS, code="missing_columns", details={"header": header[:50]})
    for line, cells in rows:
        item: dict[str, Any] = {}
        properties: dict[str, str] = {}
        for position, cell in enumerate(cells):
            name = columns[position] if position < len(columns) else None
            if name is not None:
                item[name] = cell.strip() or None
            elif position < len(header) and cell.strip():
                properties[header[position].strip()[:100]] = cell.strip()[:1000]
        if properties:
            item["properties"] = properties
        yield line, item


@dataclass(frozen=True)
class UploadText:
    lines: Iterable[str]
    delimiter: str
    encoding: str


def upload_text(upload: Any, *, max_bytes: int) -> UploadText:
    """An uploaded CSV (events, outcomes) as text: size checked, encoding and delimiter sniffed the
    way lead uploads are."""
    if upload.size > max_bytes:
        raise ImportFileError(CSV_TOO_LARGE.format(mb=max_bytes // 2**20), status_code=413,
                              code="file_too_large", details={"limit_bytes": max_bytes})
    probe = cp.FileProbe()
    for chunk in upload.chunks():
        probe.feed(chunk)
    encoding = probe.finish()
    upload.seek(0)
    reader = cp.open_text(upload, encoding)
    sample = reader.read(cp.SNIFF_CHARS)
    reader.detach()  # a dropped wrapper would close the upload under us
    delimiter = cp.sniff_delimiter(sample, complete=len(sample) < cp.SNIFF_CHARS)
    upload.seek(0)
    return UploadText(cp.open_text(upload, encoding), delimiter, encoding)


def events_ingest_csv(*, workspace: Workspace, upload: Any, create_leads: bool = False) -> IngestResult:
    """A CSV of events (same encodings and delimiters as lead uploads), in batches, row errors with
    their line; the whole file in one transaction, so a failure stores nothing of it."""
    text = upload_text(upload, max_bytes=settings.EVENTS_UPLOAD_MAX_BYTES)
    encoding = text.encoding
    total = IngestResult()
    batch: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    rows = 0
    with transaction.atomic():
        try:
            for line, item in _csv_items(text.lines, text.delimiter):
                rows += 1
                if rows > settings.EVENTS_UPLOAD_MAX_ROWS:
                    raise ImportFileError(CSV_TOO_MANY_ROWS.format(rows=settings.EVENTS_UPLOAD_MAX_ROWS),
                                          status_code=413, code="too_many_rows")
                batch.append(item)
                lines.append({"line": line})
                if len(batch) == MAX_EVENTS_PER_REQUEST:
                    _merge(total, events_ingest(workspace=workspace, items=batch, create_leads=create_leads,
                                                where=lines))
                    batch, lines = [], []
        except cp.CsvSyntaxError as exc:
            raise ImportFileError(exc.message, code="invalid_csv", details={"line": exc.line}) from None
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"The file is not valid {encoding}: {exc.reason}.", code="undecodable_file") from None
        if batch:
            _merge(total, events_ingest(workspace=workspace, items=batch, create_leads=create_leads, where=lines))
    return total


def _merge(total: IngestResult, part: IngestResult) -> None:
    total.accepted += part.accepted
    total.duplicates += part.duplicates
    total.created_leads += part.created_leads
    total.leads |= part.leads
    for error in part.errors:
        total.reject({k: v for k, v in error.items() if k != "reason"}, error["reason"])
    total.rejected += part.rejected - len(part.errors)


# --- what scoring and the API read ----------------------------------------------------------------


def engagement_facts(lead_ids: list[int]) -> dict[int, EngagementFacts]:
    """The aggregates of these leads as the engine reads them (leads without events are absent)."""
    facts: dict[int, EngagementFacts] = {}
    rows = LeadEngagement.objects.filter(lead_id__in=lead_ids).values_list(
        "lead_id", "counts", "last_at", "daily", "first_activity", "last_activity")
    for lead_id, counts, last_at, daily, first, last in rows:
        times = {t: parse_datetime(stamp) for t, stamp in last_at.items() if stamp}
        facts[lead_id] = EngagementFacts(
            counts=counts, last_at={t: moment for t, moment in times.items() if moment is not None},
            daily={t: {int(day): n for day, n in days.items()} for t, days in daily.items()},
            first_activity=first, last_activity=last)
    return facts


def engagement_summary(row: LeadEngagement | None) -> dict[str, Any]:
    """`{email_opens, email_clicks, website_visits, crm_activities, last_activity}` of a lead."""
    counts = row.counts if row is not None else {}
    return {
        "email_opens": counts.get("email_open", 0),
        "email_clicks": counts.get("email_click", 0),
        "website_visits": counts.get("page_view", 0),
        "crm_activities": sum(counts.get(t, 0) for t in CRM_ACTIVITY_TYPES),  # what activities_count counts
        "last_activity": row.last_activity.isoformat().replace("+00:00", "Z")
        if row is not None and row.last_activity else None,
    }

