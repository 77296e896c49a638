"""The engagement API: POST /api/events/, a lead's timeline, engagement_summary, refresh, isolation.

DESIGN "Engagement" and "API of the second stage". Through the HTTP client and URL names; the
debounced rescore (a no-op in eager mode) is driven by calling engagement_rescore.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from leads.api.engagement import NOT_A_LIST
from leads.models import Event, Lead, LeadEngagement, Score
from leads.services.engagement import BAD_TYPE, TOO_MANY, UNKNOWN_LEAD
from leads.services.scoring import engagement_rescore
from leads.tests.conftest import Tenant
from leads.tests.engagement.support import current, decay_offer, iso, scored_leads
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

EVENTS = reverse("event-list")
UNKNOWN_ID = UNKNOWN_LEAD.format(what="id")
UNKNOWN_EMAIL = UNKNOWN_LEAD.format(what="email")
NOT_FOUND = {"error": "Not found.", "code": "not_found", "details": {}}
NO_ACTIVITY = {"email_opens": 0, "email_clicks": 0, "website_visits": 0, "crm_activities": 0, "last_activity": None}


def body(accepted: int = 0, duplicates: int = 0, rejected: int = 0, errors: list[dict[str, Any]] | None = None,
         created_leads: int = 0, leads: int = 0) -> dict[str, Any]:
    errors = errors or []
    return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected, "errors": errors,
            "errors_truncated": rejected > len(errors), "created_leads": created_leads, "leads": leads}


def post_events(client: APIClient, payload: Any, **query: str) -> Any:
    url = EVENTS + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(url, payload, format="json")


def ago(**delta: float) -> datetime:
    return (timezone.now() - timedelta(**delta)).replace(microsecond=0)


def timeline(client: APIClient, lead_id: int, **params: Any) -> Any:
    return client.get(reverse("lead-events", args=[lead_id]), params)


@pytest.fixture
def ann(tenant: Tenant) -> Lead:
    return LeadFactory(workspace=tenant.workspace, email="ann@example.com")


# --- POST /api/events/ ------------------------------------------------------------------------------


def test_one_object_is_a_201_with_the_summary(tenant: Tenant, ann: Lead) -> None:
    response = post_events(tenant.client, {"lead": ann.pk, "type": "email_open", "external_id": "o-1"})
    assert (response.status_code, response.json()) == (201, body(accepted=1, leads=1))
    assert Event.objects.get().lead_id == ann.pk


def test_a_list_with_a_bad_item_stores_the_rest(tenant: Tenant, ann: Lead) -> None:
    response = post_events(tenant.client, [{"lead": ann.pk, "type": "email_open"}, {"lead": ann.pk, "type": "Open!"},
                                           {"email": "ann@example.com", "type": "page_view", "external_id": "v"},
                                           {"email": "ann@example.com", "type": "page_view", "external_id": "v"}])
    assert (response.status_code, response.json()) == (201, body(
        accepted=2, duplicates=1, rejected=1, errors=[{"index": 1, "reason": BAD_TYPE}], leads=1))


def test_all_rejected_is_a_400_envelope_with_the_details(tenant: Tenant, ann: Lead) -> None:
    response = post_events(tenant.client, [{"lead": ann.pk, "type": "Open!"}, {"email": "x@example.com",
                                                                               "type": "email_open"}])
    assert response.status_code == 400
    assert response.json() == {
        "error": "No event was stored: 2 rejected (see details.errors).", "code": "invalid_events",
        "details": body(rejected=2, errors=[{"index": 0, "reason": BAD_TYPE}, {"index": 1, "reason": UNKNOWN_EMAIL}]),
    }
    assert not Event.objects.exists()


def test_only_duplicates_is_still_a_201(tenant: Tenant, ann: Lead) -> None:
    event = {"lead": ann.pk, "type": "email_open", "external_id": "o-1"}
    post_events(tenant.client, event)
    response = post_events(tenant.client, [event, event])
    assert (response.status_code, response.json()) == (201, body(duplicates=2))


def test_ingest_costs_the_same_queries_for_2_or_60_events(tenant: Tenant) -> None:
    """Leads are resolved, events inserted, aggregates and stale marks written in bulk: no query per event."""
    people = [LeadFactory(workspace=tenant.workspace, email=f"p{i}@example.com") for i in range(31)]

    def batch(leads: list[Lead]) -> list[dict[str, Any]]:
        return [{"lead": lead.pk, "type": "email_open"} for lead in leads] + [
            {"email": lead.email, "type": "page_view", "external_id": f"v-{lead.pk}"} for lead in leads]

    with CaptureQueriesContext(connection) as two:
        assert post_events(tenant.client, batch(people[:1])).json() == body(accepted=2, leads=1)
    with CaptureQueriesContext(connection) as sixty:
        assert post_events(tenant.client, batch(people[1:])).json() == body(accepted=60, leads=30)
    assert len(sixty) == len(two)


@pytest.mark.parametrize("raw", ["42", '"email_open"', "true", "null"])
def test_a_body_that_is_neither_an_object_nor_a_list_is_a_400(tenant: Tenant, raw: str) -> None:
    response = tenant.client.post(EVENTS, raw, content_type="application/json")
    assert (response.status_code, response.json()) == (400, {"error": NOT_A_LIST, "code": "invalid", "details": {}})


def test_a_body_that_is_not_json_is_a_400(tenant: Tenant) -> None:
    response = tenant.client.post(EVENTS, '[{"type": ', content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "parse_error")


def test_more_than_10000_events_is_a_413(tenant: Tenant, ann: Lead) -> None:
    response = post_events(tenant.client, [{"lead": ann.pk, "type": "email_open"}] * 10_001)
    assert response.status_code == 413
    assert response.json() == {"error": TOO_MANY, "code": "too_many_events", "details": {"limit": 10_000}}
    assert not Event.objects.exists()


@pytest.mark.parametrize(("flag", "created"), [("true", 1), ("1", 1), ("false", 0)])
def test_create_leads_in_the_query(tenant: Tenant, flag: str, created: int) -> None:
    response = post_events(tenant.client, {"email": "new@example.com", "type": "form_submit"}, create_leads=flag)
    if created:
        assert (response.status_code, response.json()) == (201, body(accepted=1, created_leads=1, leads=1))
    else:
        assert (response.status_code, response.json()["details"]["errors"]) == (
            400, [{"index": 0, "reason": UNKNOWN_EMAIL}])
    assert Lead.objects.filter(workspace=tenant.workspace, email="new@example.com").count() == created


def test_events_need_a_token(anon_client: APIClient) -> None:
    assert anon_client.post(EVENTS, {"email": "a@example.com", "type": "email_open"}, format="json").status_code == 401
    assert not Event.objects.exists()


# --- a lead's timeline ----------------------------------------------------------------------------


def test_the_timeline_is_newest_first_and_paginated(tenant: Tenant, ann: Lead) -> None:
    t1, t2, t3 = ago(days=3), ago(days=1), ago(days=2)
    post_events(tenant.client, [
        {"lead": ann.pk, "type": "email_open", "occurred_at": iso(t1), "source": "mailchimp", "external_id": "m-1",
         "properties": {"campaign": "spring"}},
        {"lead": ann.pk, "type": "page_view", "occurred_at": iso(t2), "properties": {"url": "/pricing"}},
        {"lead": ann.pk, "type": "email_click", "occurred_at": iso(t3)},
    ])
    post_events(tenant.client, {"lead": ann.pk, "type": "meeting", "occurred_at": iso(t2)})  # same time, later id
    by_type = {event.type: event for event in Event.objects.all()}

    first = timeline(tenant.client, ann.pk, page_size=2)
    assert first.status_code == 200
    page = first.json()
    assert (page["count"], page["previous"]) == (4, None)
    assert page["next"] is not None
    assert [event["type"] for event in page["results"]] == ["meeting", "page_view"]
    second = tenant.client.get(page["next"]).json()
    assert [event["type"] for event in second["results"]] == ["email_click", "email_open"]
    assert second["next"] is None
    opened = by_type["email_open"]
    assert second["results"][1] == {
        "id": opened.pk, "lead": ann.pk, "type": "email_open", "occurred_at": iso(t1), "source": "mailchimp",
        "external_id": "m-1", "properties": {"campaign": "spring"}, "created_at": iso(opened.created_at)}


def test_the_timeline_costs_the_same_queries_for_2_or_40_events(tenant: Tenant, ann: Lead) -> None:
    bob = LeadFactory(workspace=tenant.workspace, email="bob@example.com")
    post_events(tenant.client, [{"lead": ann.pk, "type": "email_open"}] * 2 + [{"lead": bob.pk, "type": "call"}] * 40)
    with CaptureQueriesContext(connection) as few:
        assert len(timeline(tenant.client, ann.pk).json()["results"]) == 2
    with CaptureQueriesContext(connection) as many:
        assert len(timeline(tenant.client, bob.pk).json()["results"]) == 40
    assert len(few) == len(many)


def test_an_unknown_lead_has_no_timeline(tenant: Tenant) -> None:
    response = timeline(tenant.client, 987_654_321)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


# --- engagement_summary -------------------------------------------------------------------------------

ACTIVITY = ["email_open"] * 3 + ["email_click"] + ["page_view"] * 2 + [
    "call", "note", "demo_request", "email_reply", "meeting", "deal_stage_change", "unsubscribe", "email_sent",
    "form_submit", "email_bounce", "my_custom_event"]


def test_a_leads_payload_carries_its_engagement_summary(tenant: Tenant, ann: Lead) -> None:
    """3 opens, 1 click, 2 visits; CRM activity: call, note, demo request, reply, meeting, deal move = 6."""
    bob = LeadFactory(workspace=tenant.workspace, email="bob@example.com")
    latest = ago(hours=5)
    events = [{"lead": ann.pk, "type": event_type, "occurred_at": iso(latest - timedelta(hours=i))}
              for i, event_type in enumerate(ACTIVITY)]
    post_events(tenant.client, events[::-1])  # oldest first: the order sent must not matter
    expected = {"email_opens": 3, "email_clicks": 1, "website_visits": 2, "crm_activities": 6,
                "last_activity": iso(latest)}
    assert tenant.client.get(reverse("lead-detail", args=[ann.pk])).json()["engagement_summary"] == expected
    assert tenant.client.get(reverse("lead-detail", args=[bob.pk])).json()["engagement_summary"] == NO_ACTIVITY
    listed = {lead["id"]: lead["engagement_summary"]
              for lead in tenant.client.get(reverse("lead-list")).json()["results"]}
    assert listed == {ann.pk: expected, bob.pk: NO_ACTIVITY}


def test_the_lead_list_reads_summaries_without_a_query_per_lead(tenant: Tenant) -> None:
    leads = [LeadFactory(workspace=tenant.workspace, email=f"p{i}@example.com") for i in range(6)]
    post_events(tenant.client, [{"lead": leads[0].pk, "type": "email_open"}])
    with CaptureQueriesContext(connection) as one:
        tenant.client.get(reverse("lead-list"), {"email": "p0@example.com"})
    post_events(tenant.client, [{"lead": lead.pk, "type": "email_open"} for lead in leads])
    with CaptureQueriesContext(connection) as six:
        response = tenant.client.get(reverse("lead-list"))
    assert [lead["engagement_summary"]["email_opens"] for lead in response.json()["results"]] == [1] * 5 + [2]
    assert len(six) == len(one)


# --- a rule over 30-day counts and a stage over a recent action, end to end -----------------------------


@pytest.fixture
def opens_offer(tenant: Tenant) -> int:
    """A model with one rule, "3+ opens in 30 days" (+45), AI off; a stage "demo" for a demo request
    within 7 days; an offer scored by the model. Built through the API."""
    client = tenant.client
    model = client.post(reverse("scoring-model-list"), {"name": "Opens", "template": "default", "ai_enabled": False},
                        format="json").json()
    for rule in model["rules"]:
        assert client.delete(reverse("scoring-rule-detail", args=[rule["id"]])).status_code == 204
    rule = client.post(reverse("scoring-rule-list"), {
        "model": model["id"], "name": "3+ opens in 30 days", "rule_type": "engagement",
        "field_name": "events.email_open.count_30d", "operator": "greater_than", "value": 2, "points": 45},
        format="json")
    assert rule.status_code == 201, rule.json()
    stage = client.post(reverse("stage-list"), {"name": "Asked for a demo", "stage": "demo", "order": 30,
                                                "required_actions": ["demo_request"], "time_constraint_days": 7},
                        format="json")
    assert stage.status_code == 201, stage.json()
    offer = client.post(reverse("offer-list"), {"name": "Pilot", "scoring_model": model["id"]}, format="json")
    assert offer.status_code == 201, offer.json()
    return offer.json()["id"]


def test_a_30_day_count_rule_and_a_recent_action_stage_end_to_end(tenant: Tenant, opens_offer: int) -> None:
    """Ann: 3 opens within 30 days and a demo request 3 days ago -> 45, stage demo. Bob: 2 opens within
    30 days (2 more 40+ days ago) and a demo request 10 days ago -> 0, no stage. Cid: 3 recent opens,
    no demo request -> 45, mql (from 40)."""
    ann, bob, cid = (LeadFactory(workspace=tenant.workspace, email=f"{name}@example.com")
                     for name in ("ann", "bob", "cid"))
    now = ago()

    def event(lead: Lead, event_type: str, days: int) -> dict[str, Any]:
        return {"lead": lead.pk, "type": event_type, "occurred_at": iso(now - timedelta(days=days))}

    response = post_events(tenant.client, [
        event(ann, "email_open", 1), event(ann, "email_open", 2), event(ann, "email_open", 28),
        event(ann, "demo_request", 3),
        event(bob, "email_open", 1), event(bob, "email_open", 2), event(bob, "email_open", 40),
        event(bob, "email_open", 45), event(bob, "demo_request", 10),
        event(cid, "email_open", 0), event(cid, "email_open", 5), event(cid, "email_open", 6),
    ])
    assert response.json() == body(accepted=12, leads=3)
    scored = tenant.client.post(reverse("lead-score"), {"offer": opens_offer}, format="json")
    assert scored.status_code == 200, scored.json()
    results = {r["id"]: r for r in tenant.client.get(reverse("lead-results"), {"offer": opens_offer}).json()["results"]}
    assert {lead_id: (r["score"], r["qualification_stage"]) for lead_id, r in results.items()} == {
        ann.pk: (45, "demo"), bob.pk: (0, ""), cid.pk: (45, "mql")}
    assert results[ann.pk]["score_breakdown"]["rules"] == [{"label": "3+ opens in 30 days", "points": 45}]
    assert results[bob.pk]["score_breakdown"]["rules"] == []
    day = timedelta(days=1)
    assert {lead_id: r["engagement_summary"] for lead_id, r in results.items()} == {
        ann.pk: {"email_opens": 3, "email_clicks": 0, "website_visits": 0, "crm_activities": 1,
                 "last_activity": iso(now - day)},
        bob.pk: {"email_opens": 4, "email_clicks": 0, "website_visits": 0, "crm_activities": 1,
                 "last_activity": iso(now - day)},
        cid.pk: {"email_opens": 3, "email_clicks": 0, "website_visits": 0, "crm_activities": 0,
                 "last_activity": iso(now)},
    }


def test_new_events_move_a_lead_into_the_stage_after_the_rescore(tenant: Tenant, opens_offer: int) -> None:
    ann = LeadFactory(workspace=tenant.workspace, email="ann@example.com")
    tenant.client.post(reverse("lead-score"), {"offer": opens_offer}, format="json")
    assert Score.objects.get(lead=ann, is_current=True).score == 0
    post_events(tenant.client,
                [{"lead": ann.pk, "type": "email_open"}] * 3 + [{"lead": ann.pk, "type": "demo_request"}])
    assert Score.objects.get(lead=ann, is_current=True).stale_cause == "events"
    assert engagement_rescore(workspace_id=tenant.workspace.pk) == 1
    score = Score.objects.get(lead=ann, is_current=True)
    assert (score.score, score.stage, score.cause, score.previous_score) == (45, "demo", "events", 0)


# --- POST /api/leads/refresh/ ---------------------------------------------------------------------------


def test_refresh_rescores_the_stale_leads_and_answers_202_with_the_jobs(tenant: Tenant) -> None:
    """Ann opens two emails today under engagement_decay: 2 x 5 + active lately 5 = 15."""
    offer = decay_offer(tenant.workspace)
    ann, bob = scored_leads(tenant.workspace, offer, "ann@example.com", "bob@example.com")
    bob_before = current(bob, offer)
    post_events(tenant.client, [{"lead": ann.pk, "type": "email_open"}] * 2)

    response = tenant.client.post(reverse("lead-refresh"))
    assert response.status_code == 202
    jobs = response.json()["jobs"]
    assert len(jobs) == 1
    job = jobs[0]
    assert {key: job[key] for key in ("kind", "status", "offer", "total", "processed", "failed", "skipped")} == {
        "kind": "score", "status": "succeeded", "offer": offer.pk, "total": 1, "processed": 1, "failed": 0,
        "skipped": 0}
    assert job["url"].endswith(reverse("job-detail", args=[job["id"]]))
    rescored = current(ann, offer)
    assert (rescored.score, rescored.cause, rescored.stale_cause, rescored.previous_score) == (15, "events", "", 0)
    assert current(bob, offer).pk == bob_before.pk


def test_refresh_with_nothing_stale_starts_runs_that_score_nothing(tenant: Tenant) -> None:
    offer = decay_offer(tenant.workspace)
    scored_leads(tenant.workspace, offer, "ann@example.com")
    count = Score.objects.count()
    response = tenant.client.post(reverse("lead-refresh"))
    assert response.status_code == 202
    assert [(job["total"], job["status"]) for job in response.json()["jobs"]] == [(0, "succeeded")]
    assert Score.objects.count() == count


# --- isolation ------------------------------------------------------------------------------------------


def test_another_workspaces_lead_is_unknown_to_events_and_its_timeline_404(tenant: Tenant, ann: Lead,
                                                                           other_tenant: Tenant) -> None:
    theirs = LeadFactory(workspace=other_tenant.workspace, email="eve@example.com")
    post_events(other_tenant.client, {"lead": theirs.pk, "type": "email_open"})

    response = post_events(tenant.client, [{"lead": theirs.pk, "type": "email_open"},
                                           {"email": "eve@example.com", "type": "email_open"}])
    assert response.status_code == 400
    assert response.json()["details"] == body(
        rejected=2, errors=[{"index": 0, "reason": UNKNOWN_ID}, {"index": 1, "reason": UNKNOWN_EMAIL}])
    assert timeline(tenant.client, theirs.pk).status_code == 404
    assert timeline(tenant.client, theirs.pk).json() == NOT_FOUND
    assert tenant.client.get(reverse("lead-detail", args=[theirs.pk])).status_code == 404
    assert LeadEngagement.objects.get(lead=theirs).counts == {"email_open": 1}
    assert timeline(other_tenant.client, theirs.pk).json()["count"] == 1
    # create_leads makes a lead of the caller's own workspace, never touches theirs.
    created = post_events(tenant.client, {"email": "eve@example.com", "type": "email_open"}, create_leads="true")
    assert created.json() == body(accepted=1, created_leads=1, leads=1)
    assert Lead.objects.filter(email="eve@example.com").values_list("workspace", flat=True).count() == 2
    assert LeadEngagement.objects.get(lead=theirs).counts == {"email_open": 1}


def test_refresh_never_rescores_another_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs_offer = decay_offer(other_tenant.workspace)
    (eve,) = scored_leads(other_tenant.workspace, theirs_offer, "eve@example.com")
    post_events(other_tenant.client, {"lead": eve.pk, "type": "email_open"})
    assert tenant.client.post(reverse("lead-refresh")).json() == {"jobs": []}
    assert current(eve, theirs_offer).stale_cause == "events"
