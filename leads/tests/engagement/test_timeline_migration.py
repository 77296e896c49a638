"""Migration 0017 on a database with folded events: each gets its timeline entry, and SQLite's copy
of the events table must not draw an id at or below a workspace's mark again (the fold, which takes
ids after the mark, would never see that event)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("leads", "0016_events_folded_through")]
AFTER = [("leads", "0017_timeline_entries")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_folded_events_get_entries_and_no_id_is_drawn_twice() -> None:
    old = migrate(BEFORE)
    try:
        Workspace, Lead, Event = (old.get_model("leads", name) for name in ("Workspace", "Lead", "Event"))
        workspace = Workspace.objects.create(name="migrated")
        ann = Lead.objects.create(workspace=workspace, name="Ann", dedupe_key="e:ann@example.com")
        bob = Lead.objects.create(workspace=workspace, name="Bob", dedupe_key="e:bob@example.com")
        moment = "2026-11-30T10:00:00Z"
        for lead in (ann, ann, bob, bob):
            Event.objects.create(workspace=workspace, lead=lead, type="email_open", occurred_at=moment)
        last = Event.objects.order_by("-pk").first().pk
        Workspace.objects.filter(pk=workspace.pk).update(events_folded_through=last)
        Event.objects.filter(lead=bob).delete()  # the highest ids: SQLite's copy would draw them again
        bob.delete()

        new = migrate(AFTER)
        Event, TimelineEntry = new.get_model("leads", "Event"), new.get_model("leads", "TimelineEntry")
        assert sorted(TimelineEntry.objects.values_list("lead_id", flat=True)) == [ann.pk, ann.pk]
        fresh = Event.objects.create(workspace_id=workspace.pk, lead_id=ann.pk, type="call", occurred_at=moment)
        assert fresh.pk > last
    finally:
        migrate(new_leaf())


def new_leaf() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()
