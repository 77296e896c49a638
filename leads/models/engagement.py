"""Engagement: what prospects did (events) and, per lead, the aggregates rules and decay read.

Events are kept as they came. Scoring never reads them: a lead's `LeadEngagement` holds counts and
last time per type, per-day counts for the recent window, first and last activity, so a rule or the
decay of a million leads reads one small row per lead. An ingest only appends events; a fold moments
later (leads.services.engagement) brings the aggregates and the leads' `TimelineEntry` rows up to
the workspace's `events_folded_through`, many requests' events at a time.

A lead's timeline is its TimelineEntry rows plus its events after the mark (`lead_event_ids`).
Events have no index by lead of their own: ingests send events for leads at random, so such an index
took a random page per event, rewritten at every request's commit (the disk was the ingest's limit);
the fold adds a whole burst's entries in lead order, page after page.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models
from django.db.models import Q

from leads.models.leads import Lead
from leads.models.tenancy import Workspace


class Event(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    # Neither an index nor a database constraint (whose check on a lead's delete would read every
    # event): a lead's events are found through TimelineEntry, and deleted with it by Lead.delete and
    # the leads' queryset delete (lead_events_delete).
    lead = models.ForeignKey(Lead, on_delete=models.DO_NOTHING, related_name="events", db_index=False,
                             db_constraint=False)
    type = models.CharField(max_length=50)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=50, default="api")
    #: The sender's id of the event: the same (source, external_id) is one event, however often sent.
    external_id = models.CharField(max_length=200, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "source", "external_id"], condition=~Q(external_id=""),
                                    name="one_event_per_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.type} of lead {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class TimelineEntry(models.Model):
    """A folded event's place on its lead's timeline. Not a relation to Event: deleting a workspace
    deletes its events in one statement, where a relation would have Django load every event first."""

    event_id = models.BigIntegerField(primary_key=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+", db_index=False)
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["lead", "occurred_at", "event_id"], name="timeline_lead_time")]

    def __str__(self) -> str:
        return f"event {self.event_id} of lead {self.lead_id}"


class LeadEngagement(models.Model):
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="engagement")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    #: {type: number of events}
    counts = models.JSONField(default=dict)
    #: {type: ISO time of the latest event of that type}
    last_at = models.JSONField(default=dict)
    #: {type: {day number (days since 1970-01-01, UTC): events that day}}, for the recent window only.
    daily = models.JSONField(default=dict)
    first_activity = models.DateTimeField(null=True, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"engagement of lead {self.lead_id}"


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def workspace_events_lock(workspace_id: int) -> None:
    """Order the transactions that write a workspace's events: two ingests carrying the same
    external_id must not both find it new, a fold must not read the last event id while an ingest
    holds a lower one uncommitted (PostgreSQL draws ids before commit), and a lead's delete must not
    miss an event an ingest is adding. SQLite's IMMEDIATE transactions already serialise writers;
    PostgreSQL takes a per-workspace advisory lock until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7310, workspace_id])


def events_folded_through(workspace_id: int) -> int | None:
    """The workspace's mark as the database holds it now (None: no such workspace), without loading
    the workspace."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT events_folded_through FROM {_table(Workspace)} WHERE id = %s", [workspace_id])
        row = cursor.fetchone()
    return row[0] if row else None


def lead_event_ids(workspace_id: int, lead_ids: list[int], *, mark: int | None = None) -> tuple[str, list[int]]:
    """SQL and parameters for the ids of these leads' events (leads of one workspace): folded ones by
    the timeline's index, the others among the workspace's events after its mark (the fold's lag,
    seconds of events). The mark goes in as a value: PostgreSQL plans `id > <a subquery>` as a third
    of the table, and would read the workspace's events one by one. Any mark read earlier will do
    (`mark`, e.g. from the request's workspace): marks only move on, and the tail after an older one
    holds every event the entries lack (an id counts once in IN)."""
    if mark is None:
        mark = events_folded_through(workspace_id) or 0
    leads = "(" + ", ".join(["%s"] * len(lead_ids)) + ")"
    return (f"SELECT event_id FROM {_table(TimelineEntry)} WHERE lead_id IN {leads} "
            f"UNION ALL SELECT id FROM {_table(Event)} WHERE workspace_id = %s AND id > %s AND lead_id IN {leads}",
            [*lead_ids, workspace_id, mark, *lead_ids])


def lead_events_delete(lead_ids: Iterable[int]) -> None:
    """Delete the events of these leads; Lead.delete and the leads' queryset delete call it first."""
    ids = sorted(set(lead_ids))
    by_workspace: dict[int, list[int]] = {}
    for start in range(0, len(ids), 500):
        for lead_id, workspace_id in (Lead._base_manager.filter(pk__in=ids[start:start + 500])
                                      .values_list("pk", "workspace_id")):
            by_workspace.setdefault(workspace_id, []).append(lead_id)
    with connection.cursor() as cursor:
        for workspace_id, leads in sorted(by_workspace.items()):
            workspace_events_lock(workspace_id)
            for start in range(0, len(leads), 400):
                sql, params = lead_event_ids(workspace_id, leads[start:start + 400])
                cursor.execute(f"DELETE FROM {_table(Event)} WHERE id IN ({sql})", params)
