"""A lead's timeline: TimelineEntry rows the fold writes, plus the events after the workspace's mark.

DESIGN "Engagement" (a lead's timeline at GET /api/leads/{id}/events/). Events have no index by
lead: a lead's are found through the timeline, so deleting a lead must go through it too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from leads.models import Event, Lead, LeadEngagement, TimelineEntry, Workspace
from leads.selectors import lead_events
from leads.services.engagement import engagement_fold, events_ingest
from leads.tests.conftest import Tenant
from leads.tests.engagement.support import days_ago
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db




def send(workspace: Workspace, lead: Lead, *days: float, prefix: str = "e") -> None:
    result = events_ingest(workspace=workspace, items=[
        {"lead": lead.pk, "type": "email_open", "occurred_at": days_ago(age), "external_id": f"{prefix}{n}"}
        for n, age in enumerate(days)])
    assert result.accepted == len(days), result.as_dict()


def timeline(tenant: Tenant, lead: Lead) -> list[str]:
    response = tenant.client.get(reverse("lead-events", args=[lead.pk]), {"page_size": 100})
    assert response.status_code == 200, response.content
    return [event["external_id"] for event in response.json()["results"]]


def test_the_timeline_is_whole_before_after_and_between_folds(tenant: Tenant, held: list[Any]) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    bob = LeadFactory(workspace=tenant.workspace, email="bob@example.com")
    send(tenant.workspace, ann, 5, 1, 3)
    send(tenant.workspace, bob, 2, prefix="b")
    assert timeline(tenant, ann) == ["e1", "e2", "e0"]  # newest first, none folded yet
    assert not TimelineEntry.objects.exists()

    assert engagement_fold(workspace_id=tenant.workspace.pk) == 4
    assert TimelineEntry.objects.filter(lead=ann).count() == 3
    assert timeline(tenant, ann) == ["e1", "e2", "e0"]  # folded: the same, each once

    send(tenant.workspace, ann, 0.5, 4, prefix="n")  # after the mark: in the tail
    assert timeline(tenant, ann) == ["n0", "e1", "e2", "n1", "e0"]
    assert timeline(tenant, bob) == ["b0"]
    engagement_fold(workspace_id=tenant.workspace.pk)
    assert timeline(tenant, ann) == ["n0", "e1", "e2", "n1", "e0"]
    assert TimelineEntry.objects.count() == Event.objects.count() == 6


def test_the_timeline_reads_by_index_never_every_event(tenant: Tenant, held: list[Any]) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    send(tenant.workspace, ann, 1, 2)
    engagement_fold(workspace_id=tenant.workspace.pk)
    send(tenant.workspace, ann, 3, prefix="n")
    stale = Workspace.objects.get(pk=tenant.workspace.pk)
    stale.events_folded_through = 0  # read before any fold: its tail holds every event, each once
    assert lead_events(workspace=stale, lead=ann).count() == 3
    sql, params = lead_events(workspace=tenant.workspace, lead=ann).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SCAN leads_event" not in plan and "SCAN leads_timelineentry" not in plan, plan
    assert "timeline_lead_time" in plan and "leads_event_workspace_id" in plan, plan


def both_folded_and_not(tenant: Tenant) -> tuple[Lead, Lead]:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    bob = LeadFactory(workspace=tenant.workspace, email="bob@example.com")
    send(tenant.workspace, ann, 1, 2)
    send(tenant.workspace, bob, 1, prefix="b")
    engagement_fold(workspace_id=tenant.workspace.pk)
    send(tenant.workspace, ann, 3, prefix="n")  # not folded yet
    send(tenant.workspace, bob, 3, prefix="m")
    return ann, bob


def bobs_events_only(bob: Lead) -> None:
    assert sorted(Event.objects.values_list("external_id", flat=True)) == ["b0", "m0"]
    assert set(TimelineEntry.objects.values_list("lead_id", flat=True)) == {bob.pk}


def test_deleting_a_lead_deletes_its_events_folded_or_not(tenant: Tenant, held: list[Any]) -> None:
    ann, bob = both_folded_and_not(tenant)
    assert tenant.client.delete(reverse("lead-detail", args=[ann.pk])).status_code == 204
    bobs_events_only(bob)
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 1  # bob's one; nothing of ann's is left
    assert list(LeadEngagement.objects.values_list("lead_id", flat=True)) == [bob.pk]


def test_a_queryset_delete_deletes_the_events_too(tenant: Tenant, held: list[Any]) -> None:
    ann, bob = both_folded_and_not(tenant)
    assert Lead.objects.filter(pk=ann.pk).delete()[0] >= 1
    bobs_events_only(bob)


def test_the_admins_delete_action_deletes_the_events_too(tenant: Tenant, held: list[Any]) -> None:
    ann, bob = both_folded_and_not(tenant)
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    response = staff.post(reverse("admin:leads_lead_changelist"),
                          {"action": "delete_selected", "_selected_action": [ann.pk], "post": "yes"})
    assert response.status_code == 302, response.content[:500]
    assert not Lead.objects.filter(pk=ann.pk).exists()
    bobs_events_only(bob)


def test_deleting_a_workspace_deletes_its_events_and_no_others(tenant: Tenant, other_tenant: Tenant,
                                                              held: list[Any]) -> None:
    ann, bob = both_folded_and_not(tenant)
    carl = LeadFactory(workspace=other_tenant.workspace, email="carl@example.com")
    send(other_tenant.workspace, carl, 1, prefix="c")
    engagement_fold(workspace_id=other_tenant.workspace.pk)
    tenant.workspace.delete()
    assert list(Event.objects.values_list("external_id", flat=True)) == ["c0"]
    assert list(TimelineEntry.objects.values_list("lead_id", flat=True)) == [carl.pk]


def test_events_whose_lead_is_gone_do_not_stop_the_fold(tenant: Tenant, held: list[Any]) -> None:
    """Events of a lead removed without them (a raw delete, a restore from elsewhere): the fold
    skips them, never failing on them again and again, and folds the others."""
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    bob = LeadFactory(workspace=tenant.workspace, email="bob@example.com")
    send(tenant.workspace, ann, 1)
    send(tenant.workspace, bob, 1, prefix="b")
    Lead.objects.filter(pk=ann.pk)._raw_delete(connection.alias)
    assert engagement_fold(workspace_id=tenant.workspace.pk) == 2
    assert list(LeadEngagement.objects.values_list("lead_id", flat=True)) == [bob.pk]
    assert list(TimelineEntry.objects.values_list("lead_id", flat=True)) == [bob.pk]
    tenant.workspace.refresh_from_db()
    assert tenant.workspace.events_folded_through == Event.objects.order_by("-pk").first().pk


def test_every_lead_at_once_is_not_one_call_away() -> None:
    """As Django's own delete: a queryset's, never the manager's (Lead.objects.delete() would take
    every lead of every workspace)."""
    with pytest.raises(AttributeError):
        Lead.objects.delete()
