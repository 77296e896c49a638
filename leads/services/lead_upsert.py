"""The one lead upsert: validated lead values in, matched to the workspace's leads, written in batches.

The import runs every batch of a file through `LeadUpsert.apply`; `POST /api/leads/` asks the same
matcher whether a lead exists (`LeadUpsert.existing_id`) before it writes one with `apply`, so a
lead created by hand and a lead uploaded find their twins the same way.

Matching, in file order, as if one by one:
- a row with an email finds the lead with that email (case-insensitive); else it claims a lead
  stored without an email under the same name + company, which then gains the email;
- a row without an email finds the lead stored under its name + company; else a lead that has an
  email and the same name + company (`Lead.name_key`; the oldest, if several), so re-uploading a
  file without its email column updates the leads instead of making twins.
Updates never erase: a blank value leaves the stored one alone; extra columns are merged into
`attributes` (the row's value wins per key).

Writes bypass model instances: per batch, ONE query fetches the leads whose keys appear in it (and
one more for rows without an email that found nothing), then two executemany statements insert new
leads and update changed ones. Building a million Lead objects and going through bulk_create would
cost more than the whole rest of the import; the values are validated by `csv_parsing` against the
same limits as the model fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leads.exceptions import ConflictError, LeadsError
from leads.models import Lead, Score, ScoreCause, Workspace
from leads.search_index import search_index_bulk
from leads.services import csv_parsing as cp
from leads.services.bulk_insert import rows_insert
from leads.services.leads import lead_dedupe_key, lead_name_key

# Keys per IN (...) query: far below SQLite's 32,766 variables and PostgreSQL's 65,535.
KEY_QUERY_CHUNK = 5000


@dataclass(slots=True, eq=False)
class UpsertLead:
    """A lead as one batch sees it: from the database (id set) or about to be created (id None)."""

    id: int | None
    key: str
    values: tuple[str, ...]
    attributes: dict[str, Any]
    dirty: bool = False


@dataclass
class UpsertOutcome:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    # The leads created or changed, in row order (a lead may appear more than once).
    touched: list[UpsertLead] = field(default_factory=list)
    #: Each row's lead (created, changed or not), by the row's line.
    leads_by_line: dict[int, UpsertLead] = field(default_factory=dict)


class LeadUpsert:
    """Matches and writes rows for one workspace; build once, apply batch after batch."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        fields = [Lead._meta.get_field(name) for name in (*cp.LEAD_FIELDS, "attributes", "dedupe_key", "name_key",
                                                            "created_at", "updated_at")]
        self._attributes_field = Lead._meta.get_field("attributes")
        self._updated_at_field = Lead._meta.get_field("updated_at")
        quote = connection.ops.quote_name
        table = quote(Lead._meta.db_table)
        self._insert_columns = [f.column for f in (Lead._meta.get_field("workspace"), *fields)]
        # PostgreSQL: a batch's keys go to the lookup as one array instead of thousands of placeholders.
        self._postgres = connection.vendor == "postgresql"
        selected = ", ".join(quote(name) for name in (
            "dedupe_key", Lead._meta.pk.column,
            *(Lead._meta.get_field(name).column for name in (*cp.LEAD_FIELDS, "attributes"))))
        workspace_column = quote(Lead._meta.get_field("workspace").column)
        self._select_sql = {column: self._lookup_sql(table, selected, workspace_column, column)
                            for column in ("dedupe_key", "name_key")}
        updated = [quote(f.column) for f in fields if f.name != "created_at"]
        self._update_sql = (
            f"UPDATE {table} SET {', '.join(f'{column} = %s' for column in updated)} "
            f"WHERE {quote(Lead._meta.pk.column)} = %s"
        )

    def _lookup_sql(self, table: str, selected: str, workspace_column: str, name: str) -> str:
        # dedupe_key is unique; of several leads under one name_key, the oldest (SQLite: picked in Python,
        # an ORDER BY could make it walk the table in id order instead of probing the index).
        order = f"ORDER BY {connection.ops.quote_name(Lead._meta.pk.column)}" if name != "dedupe_key" else ""
        column = connection.ops.quote_name(name)
        if self._postgres:
            # One index probe per key, whatever the statistics say: with `= ANY(keys)` the planner
            # walked every lead of the workspace instead until the table passed ~300k rows (a batch's
            # lookups grew to 0.7 s, against 0.13 s). LIMIT keeps the subquery a subquery.
            return (f"SELECT wanted.key, l.* FROM unnest(%s::text[]) AS wanted(key) CROSS JOIN LATERAL ("
                    f"SELECT {selected} FROM {table} WHERE {workspace_column} = %s "
                    f"AND {column} = wanted.key {order} LIMIT 1) AS l")
        return (f"SELECT {column}, {selected} FROM {table} WHERE {workspace_column} = %s "
                f"AND {column} IN ({{keys}})")

    # Matching ---------------------------------------------------------------------------------
    def existing_id(self, row: cp.ParsedRow) -> int | None:
        """The id of the lead `apply([row])` would update, or None when it would create one."""
        email, name = row.values[cp.EMAIL], lead_name_key(name=row.values[cp.NAME], company=row.values[cp.COMPANY])
        key = lead_dedupe_key(name=row.values[cp.NAME], company=row.values[cp.COMPANY], email=email)
        found = self._existing({key, name})
        lead = found.get(key)
        if lead is None and email:
            other = found.get(name)
            lead = other if other is not None and not other.values[cp.EMAIL] else None
        if lead is None and not email:
            lead = self._existing({name}, column="name_key").get(name)
        return lead.id if lead is not None else None

    def apply(self, rows: list[cp.ParsedRow]) -> UpsertOutcome:
        """Apply valid rows in order; returns what happened to each."""
        email_at, name_at, company_at = cp.EMAIL, cp.NAME, cp.COMPANY
        keyed: list[tuple[cp.ParsedRow, str, str | None]] = []
        wanted: set[str] = set()
        for row in rows:
            values = row.values
            key = lead_dedupe_key(name=values[name_at], company=values[company_at], email=values[email_at])
            alt = (lead_dedupe_key(name=values[name_at], company=values[company_at], email="")
                   if values[email_at] else None)
            keyed.append((row, key, alt))
            wanted.add(key)
            if alt is not None:
                wanted.add(alt)
        found = self._existing(wanted)
        # Rows without an email that match no key: the lead with an email under their name + company.
        by_name = self._existing({key for _, key, alt in keyed if alt is None and key not in found},
                                 column="name_key")
        pending: dict[str, UpsertLead] = {}
        pending_names: dict[str, UpsertLead] = {}  # name + company -> a lead with an email, in this batch
        new: list[UpsertLead] = []
        outcome = UpsertOutcome()
        before: dict[int, tuple[tuple[str, ...], dict[str, Any]]] = {}  # stored state of leads rows change
        for row, key, alt in keyed:
            lead = pending.get(key) or found.pop(key, None)
            if lead is None and alt is not None:
                # No lead has this email: claim one stored without an email under the same name + company.
                other = pending.get(alt) or found.get(alt)
                if other is not None and not other.values[email_at]:
                    lead = other
                    pending.pop(alt, None)
                    found.pop(alt, None)
                    lead.key = key
            if lead is None and alt is None:
                lead = pending_names.get(key)
                if lead is None and (named := by_name.pop(key, None)) is not None:
                    # The same lead may also be in this batch under its email key: one object for it.
                    lead = pending.get(named.key) or found.pop(named.key, None) or named
                    pending[lead.key] = lead
            if lead is None:
                lead = UpsertLead(None, key, row.values, row.attributes)
                pending[key] = lead
                if alt is not None:
                    pending_names.setdefault(alt, lead)
                new.append(lead)
                outcome.touched.append(lead)
                outcome.leads_by_line[row.line] = lead
                outcome.created += 1
                continue
            pending[key] = lead
            outcome.leads_by_line[row.line] = lead
            if lead.values[email_at]:
                pending_names.setdefault(lead_name_key(name=lead.values[name_at], company=lead.values[company_at]),
                                         lead)
            values = tuple(given or stored for given, stored in zip(row.values, lead.values, strict=True))
            attributes = {**lead.attributes, **row.attributes} if row.attributes else lead.attributes
            if values == lead.values and attributes == lead.attributes:
                outcome.skipped += 1
                continue
            if lead.id is not None and id(lead) not in before:
                before[id(lead)] = (lead.values, lead.attributes)
            lead.values, lead.attributes = values, attributes
            lead.dirty = lead.id is not None
            outcome.touched.append(lead)
            outcome.updated += 1
        # A lead the file repeats with different values ends where it started when the file is uploaded
        # again: its rows changed nothing stored, so they count as unchanged and nothing is written.
        if before:
            unchanged = {id(lead) for lead in outcome.touched
                         if id(lead) in before and (lead.values, lead.attributes) == before[id(lead)]}
            if unchanged:
                repeats = sum(1 for lead in outcome.touched if id(lead) in unchanged)
                outcome.updated, outcome.skipped = outcome.updated - repeats, outcome.skipped + repeats
                for lead in outcome.touched:
                    if id(lead) in unchanged:
                        lead.dirty = False
                outcome.touched = [lead for lead in outcome.touched if id(lead) not in unchanged]
        self._store(pending, new)
        return outcome

    def _existing(self, keys: set[str], *, column: str = "dedupe_key") -> dict[str, UpsertLead]:
        """The workspace's leads with any of these keys in `column`, by key (probes its index;
        for `name_key`, the oldest lead per key).

        Raw SQL: the ORM spends longer preparing a 5,000-value IN list than the database spends
        answering it, and Lead's default ORDER BY would make SQLite walk the whole workspace.
        """
        found: dict[str, UpsertLead] = {}
        if not keys:
            return found
        ordered = list(keys)
        from_json = self._attributes_field.from_db_value
        sql = self._select_sql[column]
        with connection.cursor() as cursor:
            for start in range(0, len(ordered), KEY_QUERY_CHUNK):
                chunk = ordered[start:start + KEY_QUERY_CHUNK]
                if self._postgres:
                    cursor.execute(sql, [chunk, self.workspace_id])
                else:
                    cursor.execute(sql.format(keys=", ".join(["%s"] * len(chunk))), [self.workspace_id, *chunk])
                for matched, key, pk, *values, attributes in cursor.fetchall():
                    if matched not in found or pk < found[matched].id:
                        found[matched] = UpsertLead(pk, key, tuple(values),
                                                    from_json(attributes, None, connection) or {})
        return found

    def _store(self, pending: dict[str, UpsertLead], new: list[UpsertLead]) -> None:
        """Updates first: a lead that moved from its name+company key to an email key frees the old key."""
        now = timezone.now()
        stamp = self._updated_at_field.get_db_prep_save(now, connection)
        to_json = self._attributes_field.get_db_prep_save
        name_at, company_at = cp.NAME, cp.COMPANY
        with connection.cursor() as cursor:
            dirty = list({id(lead): lead for lead in pending.values() if lead.dirty}.values())
            if dirty:
                cursor.executemany(self._update_sql, [
                    (*lead.values, to_json(lead.attributes, connection), lead.key,
                     lead_name_key(name=lead.values[name_at], company=lead.values[company_at]), stamp, lead.id)
                    for lead in dirty
                ])
                # New values: the leads' current scores are stale until the next run redoes them.
                Score.objects.filter(lead_id__in=[lead.id for lead in dirty], is_current=True,
                                     stale_cause="").update(stale_cause=ScoreCause.UPLOAD)
            if new:
                empty = to_json({}, connection)
                with search_index_bulk(connection):  # the batch's new leads indexed in one statement
                    rows_insert(Lead._meta.db_table, self._insert_columns, (
                        (self.workspace_id, *lead.values,
                         to_json(lead.attributes, connection) if lead.attributes else empty, lead.key,
                         lead_name_key(name=lead.values[name_at], company=lead.values[company_at]), stamp, stamp)
                        for lead in new))


# --- one lead from the API ------------------------------------------------------------------------
LEAD_EXISTS = (
    "This lead already exists (lead {id}: the same email, or the same name and company): change it with "
    "PATCH /api/leads/{id}/."
)
LEAD_INVALID = "The lead is invalid: {reason}"
EXTRA_FIELDS = ("status", "owner", "tags")


def lead_create(*, workspace: Workspace, data: dict[str, Any]) -> Lead:
    """Create one lead with the import's rules and matching: a twin is a ConflictError naming its id.

    The values pass `csv_parsing.check_lead_values`, as every row of a file does; an email the import
    would keep aside with a warning is an error here, where the person sending it can fix it.
    """
    values = [str(data.get(name) or "").strip() for name in cp.LEAD_FIELDS]
    row = cp.check_lead_values(0, values, dict(data.get("attributes") or {}))
    problems = row if isinstance(row, list) else list(row.warnings)
    if problems:
        raise LeadsError(LEAD_INVALID.format(reason=problems[0][1]), code="invalid",
                         details={column or "non_field_errors": [reason] for column, reason in reversed(problems)})
    assert isinstance(row, cp.ParsedRow)
    upsert = LeadUpsert(workspace.pk)
    key = lead_dedupe_key(name=row.values[cp.NAME], company=row.values[cp.COMPANY], email=row.values[cp.EMAIL])
    try:
        with transaction.atomic():
            existing = upsert.existing_id(row)
            if existing is None:
                upsert.apply([row])
    except IntegrityError:  # created by a concurrent request between the lookup and the insert
        existing = upsert.existing_id(row)
    if existing is not None:
        raise ConflictError(LEAD_EXISTS.format(id=existing), code="duplicate_lead", details={"id": existing})
    lead = Lead.objects.get(workspace=workspace, dedupe_key=key)
    extra = {name: data[name] for name in EXTRA_FIELDS if name in data}
    if extra:
        for name, value in extra.items():
            setattr(lead, name, value)
        lead.save(update_fields=[*extra, "updated_at"])
    return lead
