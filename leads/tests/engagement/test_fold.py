"""The fold: events stored by an ingest reach their leads' aggregates and stale marks afterwards.

DESIGN "Engagement" (aggregates kept up to date). The unit suite runs tasks eagerly, so an ingest
folds at once; here a real broker is stood in for by holding the commit's sends
(`django_capture_on_commit_callbacks(execute=False)`), so events wait until a test folds them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.models import Event, Lead, LeadEngagement, Workspace
from leads.services import engagement as engagement_service
from leads.services.engagement import engagement_fold, events_ingest
from leads.services.scoring import scores_refresh, workspace_rescore_stale
from leads.tests.conftest import Tenant
from leads.tests.engagement.support import current, days_ago, decay_offer, scored_leads
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db




def events(workspace: Workspace, *items: dict[str, Any]) -> Any:
    return events_ingest(workspace=workspace, items=list(items))


def folded_state(workspace: Workspace) -> dict[int, tuple[Any, ...]]:
    return {row.lead_id: (row.counts, row.last_at, row.daily, row.first_activity, row.last_activity)
            for row in LeadEngagement.objects.filter(workspace=workspace)}


def folded_through(workspace: Workspace) -> int:
    workspace.refresh_from_db(fields=["events_folded_through"])
    return workspace.events_folded_through


def test_an_event_is_on_the_timeline_at_once_and_in_the_counts_once_folded(tenant: Tenant, held: list[Any]) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    events(tenant.workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": days_ago(3)},
           {"lead": ann.pk, "type": "page_view", "occurred_at": days_ago(1), "external_id": "v-1"})
    timeline = tenant.client.get(reverse("lead-events", args=[ann.pk])).json()
    assert [(e["type"], e["external_id"]) for e in timeline["results"]] == [("page_view", "v-1"), ("email_open", "")]
    lead = tenant.client.get(reverse("lead-detail", args=[ann.pk])).json()
    assert lead["engagement_summary"]["email_opens"] == 0  # not folded yet
    assert not LeadEngagement.objects.exists() and folded_through(tenant.workspace) == 0

    assert engagement_fold(workspace_id=tenant.workspace.pk) == 2
    assert folded_through(tenant.workspace) == max(Event.objects.values_list("id", flat=True))
    lead = tenant.client.get(reverse("lead-detail", args=[ann.pk])).json()
    assert (lead["engagement_summary"]["email_opens"], lead["engagement_summary"]["website_visits"]) == (1, 1)
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 0  # nothing is folded twice
    assert LeadEngagement.objects.get(lead=ann).counts == {"email_open": 1, "page_view": 1}


def test_a_resend_before_and_after_the_fold_counts_once(tenant: Tenant, held: list[Any]) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    event = {"lead": ann.pk, "type": "email_open", "source": "mail", "external_id": "m-1"}
    assert events(tenant.workspace, event).accepted == 1
    assert events(tenant.workspace, event).duplicates == 1
    engagement_fold(workspace_id=tenant.workspace.pk)
    assert events(tenant.workspace, event).duplicates == 1
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 0
    assert Event.objects.count() == 1
    assert LeadEngagement.objects.get(lead=ann).counts == {"email_open": 1}


def test_scores_go_stale_when_their_events_are_folded(tenant: Tenant, settings: Any,
                                                      django_capture_on_commit_callbacks: Any) -> None:
    offer = decay_offer(tenant.workspace)
    ann, bob = scored_leads(tenant.workspace, offer, "ann@example.com", "bob@example.com")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with django_capture_on_commit_callbacks(execute=False):
        events(tenant.workspace, {"lead": ann.pk, "type": "meeting"})
    assert current(ann, offer).stale_cause == ""
    engagement_fold(workspace_id=tenant.workspace.pk)
    assert (current(ann, offer).stale_cause, current(bob, offer).stale_cause) == ("events", "")


def test_a_rescore_of_stale_scores_folds_first(tenant: Tenant, settings: Any,
                                               django_capture_on_commit_callbacks: Any) -> None:
    offer = decay_offer(tenant.workspace)
    (ann,) = scored_leads(tenant.workspace, offer, "ann@example.com")
    before = current(ann, offer).score
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with django_capture_on_commit_callbacks(execute=False):
        events(tenant.workspace, *[{"lead": ann.pk, "type": "demo_request"}] * 3)
    assert folded_through(tenant.workspace) == 0
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the runs score here
    cache.delete(f"leadscore:rescore-queued:{tenant.workspace.pk}")  # the cache outlives a test's rows
    workspace_rescore_stale(workspace=tenant.workspace)
    assert folded_through(tenant.workspace) == max(Event.objects.values_list("id", flat=True))
    assert current(ann, offer).score > before
    assert current(ann, offer).cause == "events"
    assert cache.get(f"leadscore:rescore-queued:{tenant.workspace.pk}") is None  # these runs were the rescore


@pytest.mark.parametrize(("chunk", "read_rows"), [(3, 20_000), (1_000, 2), (4, 3)])
def test_folding_in_chunks_and_small_reads_gives_what_one_fold_gives(tenant: Tenant, other_tenant: Tenant,
                                                                    held: list[Any], settings: Any,
                                                                    monkeypatch: pytest.MonkeyPatch, chunk: int,
                                                                    read_rows: int) -> None:
    """A lead's events cut across chunks and across reads still add up; the other workspace's wait."""
    people = [LeadFactory(workspace=tenant.workspace, email=f"p{i}@example.com") for i in range(4)]
    theirs = LeadFactory(workspace=other_tenant.workspace, email="eve@example.com")
    kinds = ["email_open", "page_view", "email_click"]
    batch = [{"lead": people[i % 4].pk if i % 3 else people[0].pk, "type": kinds[i % 3],
              "occurred_at": days_ago(i % 20)} for i in range(23)]

    def send() -> None:
        for start in range(0, len(batch), 5):  # several requests, the other workspace's events between
            events(tenant.workspace, *batch[start:start + 5])
            events(other_tenant.workspace, {"lead": theirs.pk, "type": "call"})

    send()
    settings.ENGAGEMENT_FOLD_CHUNK = 1_000_000
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 23
    expected = folded_state(tenant.workspace)

    # The same events again on fresh rows, folded in small chunks and small reads.
    Event.objects.filter(workspace=tenant.workspace).delete()
    LeadEngagement.objects.all().delete()
    send()
    settings.ENGAGEMENT_FOLD_CHUNK = chunk
    monkeypatch.setattr(engagement_service, "FOLD_READ_ROWS", read_rows)
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 23
    assert folded_state(tenant.workspace) == expected
    assert not LeadEngagement.objects.filter(lead=theirs).exists()
    assert folded_through(other_tenant.workspace) == 0
    assert engagement_fold(workspace_id=other_tenant.workspace.pk) == 10


def test_a_fold_costs_the_same_queries_for_2_or_60_events(tenant: Tenant, held: list[Any]) -> None:
    people = [LeadFactory(workspace=tenant.workspace, email=f"p{i}@example.com") for i in range(30)]
    events(tenant.workspace, *[{"lead": people[0].pk, "type": "email_open"}] * 2)
    with CaptureQueriesContext(connection) as two:
        engagement_fold(workspace_id=tenant.workspace.pk)
    events(tenant.workspace, *[{"lead": lead.pk, "type": kind} for lead in people for kind in ("call", "note")])
    with CaptureQueriesContext(connection) as sixty:
        assert engagement_fold(workspace_id=tenant.workspace.pk) == 60
    assert len(sixty) == len(two) + 1  # 29 of the leads are new: their aggregates are inserted, the first updated


def test_the_fold_reads_only_the_new_events(tenant: Tenant, held: list[Any]) -> None:
    """Its reads go by the workspace index from the mark on, never over the events already folded."""
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    events(tenant.workspace, *[{"lead": ann.pk, "type": "email_open"}] * 3)
    with CaptureQueriesContext(connection) as queries:
        engagement_fold(workspace_id=tenant.workspace.pk)
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "leads_event"' in q["sql"]]
    # The chunk's bound, its events, their timeline entries, the stale marks' leads; then "nothing left".
    assert len(reads) == 5
    with connection.cursor() as cursor:
        for sql in reads:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "INDEX leads_event_workspace_id" in plan and "SCAN leads_event" not in plan, (sql, plan)
            assert "rowid>?" in plan, (sql, plan)


def test_a_deleted_lead_takes_its_events_along(tenant: Tenant, held: list[Any]) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    bob = LeadFactory(workspace=tenant.workspace, email="bob@example.com")
    events(tenant.workspace, {"lead": ann.pk, "type": "email_open"}, {"lead": bob.pk, "type": "call"})
    Lead.objects.filter(pk=ann.pk).delete()
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 1
    assert list(LeadEngagement.objects.values_list("lead_id", flat=True)) == [bob.pk]


def test_another_workspace_never_sees_the_events(tenant: Tenant, other_tenant: Tenant, held: list[Any]) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    events(tenant.workspace, {"lead": ann.pk, "type": "email_open"})
    response = other_tenant.client.get(reverse("lead-events", args=[ann.pk]))
    assert response.status_code == 404
    assert engagement_fold(workspace_id=other_tenant.workspace.pk) == 0
    assert not LeadEngagement.objects.exists()


def test_a_fold_that_fails_leaves_the_mark_and_the_next_one_does_the_work(tenant: Tenant, held: list[Any],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    events(tenant.workspace, {"lead": ann.pk, "type": "email_open"}, {"lead": ann.pk, "type": "call"})

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(engagement_service, "_aggregates_write", broken)
    with pytest.raises(RuntimeError):
        engagement_fold(workspace_id=tenant.workspace.pk)
    assert folded_through(tenant.workspace) == 0 and not LeadEngagement.objects.exists()
    monkeypatch.undo()
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 2
    assert LeadEngagement.objects.get(lead=ann).counts == {"email_open": 1, "call": 1}


def test_a_fold_overtaken_between_its_read_and_its_write_stops_and_counts_nothing_twice(
        tenant: Tenant, held: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    events(tenant.workspace, *[{"lead": ann.pk, "type": "email_open"}] * 3)
    real_span = engagement_service._fold_span
    overtaken: list[int] = []

    def racing(workspace_id: int, limit: int) -> tuple[int, int, int] | None:
        span = real_span(workspace_id, limit)
        if not overtaken:  # a second worker folds the same events right after this one read its span
            monkeypatch.setattr(engagement_service, "_fold_span", real_span)
            overtaken.append(engagement_fold(workspace_id=workspace_id))
            monkeypatch.setattr(engagement_service, "_fold_span", racing)
        return span

    monkeypatch.setattr(engagement_service, "_fold_span", racing)
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 0
    assert overtaken == [3]
    assert LeadEngagement.objects.get(lead=ann).counts == {"email_open": 3}


def test_beats_refresh_folds_what_a_lost_message_left(tenant: Tenant, held: list[Any]) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    events(tenant.workspace, {"lead": ann.pk, "type": "email_open"})
    scores_refresh()
    assert folded_through(tenant.workspace) == Event.objects.get().pk
    assert LeadEngagement.objects.get(lead=ann).counts == {"email_open": 1}
