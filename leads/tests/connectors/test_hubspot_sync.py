"""HubSpot sync end to end: the API starts a job, the real hubspot-api-client pulls from the server on
127.0.0.1, leads, attributes, statuses and events come out, scores go back in batches, and the next
sync asks only for what changed — and ignores the changes it made itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leads.integrations.hubspot.client import RATE_LIMITED
from leads.models import Event, ExternalRecord, HubSpotConnector, Job, Lead, Offer, Score
from leads.services.connectors import KEPT, NOT_IDENTIFIABLE, SUMMARY, SYNC_OVERLAP
from leads.tests.conftest import Tenant
from leads.tests.connectors.conftest import PAGE_SIZE, connect, sync
from leads.tests.connectors.hubspot_server import (
    BATCH_UPDATE,
    CONTACTS,
    PROPERTIES_CREATE,
    SEARCH,
    HubSpotServer,
    Reply,
)
from leads.tests.factories import LeadFactory

ADA = {"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace", "jobtitle": "VP Engineering",
       "company": "Analytical Engines", "industry": "B2B SaaS", "city": "London", "country": "United Kingdom",
       "state": "England", "linkedinbio": "Scaling the engineering team.", "lifecyclestage": "customer",
       "hs_lead_status": "OPEN", "phone": "+44 20 7946 0000", "numemployees": "250",
       "website": "https://engines.example"}


def _person(i: int, **extra: Any) -> dict[str, Any]:
    return {"email": f"person{i}@example.com", "firstname": "Person", "lastname": str(i), "jobtitle": "Director",
            "company": f"Company {i}", "industry": "B2B SaaS", "lifecyclestage": "lead", **extra}


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _lead_of(tenant: Tenant, contact_id: str) -> Lead:
    return ExternalRecord.objects.select_related("lead").get(workspace=tenant.workspace, external_id=contact_id).lead


def _events(lead: Lead) -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = {}
    for event_type, external_id in Event.objects.filter(lead=lead).order_by("external_id").values_list(
            "type", "external_id"):
        by_type.setdefault(event_type, []).append(external_id)
    return by_type


def _score(tenant: Tenant, offer: Offer, leads: list[Lead]) -> None:
    response = tenant.client.post("/api/leads/score/", {"offer": offer.pk, "leads": [lead.pk for lead in leads]},
                                  format="json")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_first_sync_pages_through_every_contact(connected: Tenant, hubspot: HubSpotServer) -> None:
    """Several page-sized list requests with `after` cursors; never the whole account at once."""
    ids = [hubspot.add_contact(_person(i)) for i in range(25)]
    job = sync(connected)
    requests = hubspot.requests_to(CONTACTS)
    assert [(r.query["limit"], r.query.get("after")) for r in requests] == [
        ([str(PAGE_SIZE)], None), ([str(PAGE_SIZE)], [ids[10]]), ([str(PAGE_SIZE)], [ids[20]])]
    assert not hubspot.requests_to(SEARCH)
    assert (job.kind, job.processed, job.created, job.updated, job.skipped, job.failed) == ("sync", 25, 25, 0, 0, 0)
    assert job.message == SUMMARY.format(processed=25, created=25, updated=0, skipped=0, failed=0, events=0,
                                         written=0) + " Nothing written back: the workspace has no offer to score " \
                                                      "against yet."
    assert Lead.objects.filter(workspace=connected.workspace).count() == 25
    assert ExternalRecord.objects.filter(workspace=connected.workspace).count() == 25
    connector = HubSpotConnector.objects.get(workspace=connected.workspace)
    assert connector.last_synced_at is not None and connector.last_synced_at <= job.finished_at


@pytest.mark.django_db
def test_contact_properties_map_to_lead_fields_attributes_and_status(connected: Tenant,
                                                                    hubspot: HubSpotServer) -> None:
    ada = hubspot.add_contact(ADA)
    bob = hubspot.add_contact({"email": "bob@example.com", "firstname": "Bob", "lifecyclestage": "lead",
                               "city": "Paris"})
    sync(connected)
    lead = _lead_of(connected, ada)
    assert {f: getattr(lead, f) for f in ("name", "role", "company", "industry", "location", "linkedin_bio",
                                          "email", "status")} == {
        "name": "Ada Lovelace", "role": "VP Engineering", "company": "Analytical Engines", "industry": "B2B SaaS",
        "location": "London, United Kingdom", "linkedin_bio": "Scaling the engineering team.",
        "email": "ada@example.com", "status": "customer"}
    assert lead.attributes == {"state": "England", "lifecyclestage": "customer", "hs_lead_status": "OPEN",
                               "phone": "+44 20 7946 0000", "numemployees": "250",
                               "website": "https://engines.example"}
    other = _lead_of(connected, bob)
    assert (other.name, other.location, other.status, other.attributes) == (
        "Bob", "Paris", "new", {"lifecyclestage": "lead"})
    # The API shows the synced lead like any other.
    body = connected.client.get(f"/api/leads/{lead.pk}/").json()
    assert (body["status"], body["attributes"]["lifecyclestage"]) == ("customer", "customer")


@pytest.mark.django_db
def test_extra_properties_are_pulled_into_attributes(tenant: Tenant, hubspot: HubSpotServer) -> None:
    connect(tenant, properties=["budget", "urgency"])
    contact = hubspot.add_contact({**_person(1), "budget": "50k", "urgency": "this week"})
    sync(tenant)
    assert {"budget", "urgency"} <= set(hubspot.requests_to(CONTACTS)[0].query["properties"])
    assert _lead_of(tenant, contact).attributes == {"lifecyclestage": "lead", "budget": "50k",
                                                    "urgency": "this week"}


@pytest.mark.django_db
def test_an_existing_lead_is_matched_by_email_and_blank_values_never_erase(connected: Tenant,
                                                                           hubspot: HubSpotServer,
                                                                           offer: Offer) -> None:
    existing = LeadFactory(workspace=connected.workspace, email="grace@example.com", name="Grace Hopper",
                           role="Engineer", company="Navy", industry="Defense", location="Arlington",
                           attributes={"source": "csv"})
    _score(connected, offer, [existing])
    contact = hubspot.add_contact({"email": "GRACE@example.com", "firstname": "Grace", "lastname": "Hopper",
                                   "jobtitle": "Rear Admiral", "company": "", "lifecyclestage": "customer"})
    job = sync(connected, full=True)
    assert (job.created, job.updated) == (0, 1)
    existing.refresh_from_db()
    assert _lead_of(connected, contact).pk == existing.pk
    assert (existing.role, existing.company, existing.industry, existing.location, existing.status) == (
        "Rear Admiral", "Navy", "Defense", "Arlington", "customer")
    assert existing.attributes == {"source": "csv", "lifecyclestage": "customer"}
    assert Lead.objects.filter(workspace=connected.workspace).count() == 1
    # Its score was made from the old values: stale until the next run.
    assert Score.objects.get(lead=existing, is_current=True).stale_cause == "upload"


@pytest.mark.django_db
def test_a_contact_without_email_name_or_company_is_reported(connected: Tenant, hubspot: HubSpotServer) -> None:
    nobody = hubspot.add_contact({"phone": "+1 555 0100"})
    hubspot.add_contact(_person(1))
    job = sync(connected)
    assert (job.processed, job.created, job.failed) == (2, 1, 1)
    assert job.errors == [{"contact": nobody, "reason": NOT_IDENTIFIABLE}]


@pytest.mark.django_db
def test_engagement_counters_become_events_once(connected: Tenant, hubspot: HubSpotServer) -> None:
    """Counters -> events with deterministic ids: the same counters add none, grown ones the difference."""
    opened = datetime.now(UTC) - timedelta(days=2)
    contact = hubspot.add_contact({**_person(1), "hs_email_open": "3", "hs_email_click": "1",
                                   "hs_analytics_num_page_views": "2", "num_contacted_notes": "2",
                                   "hs_email_last_open_date": opened.isoformat()})
    first = sync(connected)
    lead = _lead_of(connected, contact)
    assert first.params["events"] == 8
    assert _events(lead) == {
        "email_open": [f"contact:{contact}:email_open:{n}" for n in (1, 2, 3)],
        "email_click": [f"contact:{contact}:email_click:1"],
        "page_view": [f"contact:{contact}:page_view:{n}" for n in (1, 2)],
        "note": [f"contact:{contact}:note:{n}" for n in (1, 2)]}
    opens = Event.objects.filter(lead=lead, type="email_open")
    assert {e.occurred_at for e in opens} == {opened}  # HubSpot keeps only the last open's time
    assert {e.source for e in Event.objects.filter(lead=lead)} == {"hubspot"}
    summary = connected.client.get(f"/api/leads/{lead.pk}/").json()["engagement_summary"]
    assert {k: summary[k] for k in ("email_opens", "email_clicks", "website_visits", "crm_activities")} == {
        "email_opens": 3, "email_clicks": 1, "website_visits": 2, "crm_activities": 2}

    again = sync(connected, full=True)  # same counters: nothing new
    assert (again.params["events"], again.skipped, Event.objects.filter(lead=lead).count()) == (0, 1, 8)

    hubspot.touch(contact, hs_email_open="5", hs_analytics_num_page_views="2")
    grown = sync(connected)
    assert grown.params["events"] == 2
    assert _events(lead)["email_open"] == [f"contact:{contact}:email_open:{n}" for n in (1, 2, 3, 4, 5)]
    assert Event.objects.filter(lead=lead).count() == 10


@pytest.mark.django_db
def test_the_second_sync_asks_only_for_contacts_modified_since(connected: Tenant, hubspot: HubSpotServer) -> None:
    ids = [hubspot.add_contact(_person(i)) for i in range(15)]
    sync(connected)
    connector = HubSpotConnector.objects.get(workspace=connected.workspace)
    hubspot.requests.clear()
    hubspot.touch(ids[3], jobtitle="Chief Executive Officer")

    job = sync(connected)
    assert not hubspot.requests_to(CONTACTS)
    (search,) = hubspot.requests_to(SEARCH)
    assert search.body["filterGroups"] == [{"filters": [{
        "propertyName": "lastmodifieddate", "operator": "GTE", "value": _ms(connector.last_synced_at - SYNC_OVERLAP)}]}]
    assert job.params["since"] == (connector.last_synced_at - SYNC_OVERLAP).isoformat()
    assert (job.processed, job.created, job.updated, job.skipped) == (1, 0, 1, 0)
    assert _lead_of(connected, ids[3]).role == "Chief Executive Officer"
    connector_after = HubSpotConnector.objects.get(workspace=connected.workspace)
    assert connector_after.last_synced_at > connector.last_synced_at


@pytest.mark.django_db
def test_a_failed_sync_keeps_whole_pages_and_does_not_move_the_watermark(connected: Tenant,
                                                                         hubspot: HubSpotServer) -> None:
    for i in range(25):
        hubspot.add_contact(_person(i))
    hubspot.script(*[Reply(429, headers={"Retry-After": "0"})] * 5, when="after=")
    response = connected.client.post("/api/connectors/hubspot/sync/", {}, format="json")
    assert response.status_code == 502
    body = response.json()
    assert (body["code"], body["error"]) == ("hubspot_rate_limited", RATE_LIMITED.format(attempts=5) + KEPT)
    job = Job.objects.get(pk=body["details"]["job"]["id"])
    assert (job.status, job.processed, job.created) == ("failed", 10, 10)
    assert HubSpotConnector.objects.get(workspace=connected.workspace).last_synced_at is None
    # The next sync lists everything again and finds the first page unchanged.
    again = sync(connected)
    assert (again.processed, again.created, again.skipped) == (25, 15, 10)


@pytest.mark.django_db
def test_scores_are_written_back_in_batches_and_never_reimported(connected: Tenant, hubspot: HubSpotServer,
                                                                 offer: Offer, settings: Any) -> None:
    settings.HUBSPOT_PAGE_SIZE = 100
    ids = [hubspot.add_contact(_person(i)) for i in range(240)]
    first = sync(connected)
    assert first.params["written_back"] == 0 and not hubspot.requests_to(BATCH_UPDATE)
    scored = [_lead_of(connected, contact_id) for contact_id in ids[:230]]
    _score(connected, offer, scored)

    job = sync(connected)
    updates = hubspot.requests_to(BATCH_UPDATE)
    assert [len(r.body["inputs"]) for r in updates] == [100, 100, 30]
    written = {item["id"]: item["properties"] for r in updates for item in r.body["inputs"]}
    scores = {s.lead_id: s for s in Score.objects.filter(offer=offer, is_current=True)}
    assert written == {
        contact_id: {"leadscore_score": str(scores[lead.pk].score), "leadscore_intent": scores[lead.pk].intent,
                     "leadscore_stage": scores[lead.pk].stage} for contact_id, lead in zip(ids, scored, strict=False)}
    assert hubspot.contacts[ids[0]]["properties"]["leadscore_intent"] == scores[scored[0].pk].intent
    assert job.params["written_back"] == 230
    # The portal lacked the properties: created once, before the first write.
    (created,) = hubspot.requests_to(PROPERTIES_CREATE)
    assert [p["name"] for p in created.body["inputs"]] == ["leadscore_score", "leadscore_intent", "leadscore_stage"]
    assert created.at < updates[0].at

    # Our writes bumped lastmodifieddate: the next sync sees those contacts, and ignores them.
    updated_at = dict(Lead.objects.values_list("pk", "updated_at"))
    events = Event.objects.count()
    hubspot.requests.clear()
    quiet = sync(connected)
    assert (quiet.processed, quiet.created, quiet.updated, quiet.skipped) == (230, 0, 0, 230)
    assert quiet.params["written_back"] == 0
    assert not hubspot.requests_to(BATCH_UPDATE) and not hubspot.requests_to(PROPERTIES_CREATE)
    assert dict(Lead.objects.values_list("pk", "updated_at")) == updated_at
    assert Event.objects.count() == events
    assert not Score.objects.filter(offer=offer, is_current=True).exclude(stale_cause="").exists()


@pytest.mark.django_db
def test_a_score_edited_in_hubspot_is_written_again(connected: Tenant, hubspot: HubSpotServer, offer: Offer) -> None:
    ids = [hubspot.add_contact(_person(i)) for i in range(3)]
    sync(connected)
    _score(connected, offer, [_lead_of(connected, contact_id) for contact_id in ids])
    sync(connected)
    hubspot.requests.clear()
    hubspot.touch(ids[1], leadscore_score="1")
    job = sync(connected)
    assert job.updated == 0
    (update,) = hubspot.requests_to(BATCH_UPDATE)
    score = Score.objects.get(lead=_lead_of(connected, ids[1]), is_current=True)
    assert update.body["inputs"] == [{"id": ids[1], "properties": {
        "leadscore_score": str(score.score), "leadscore_intent": score.intent, "leadscore_stage": score.stage}}]


@pytest.mark.django_db
def test_write_back_off_writes_nothing(tenant: Tenant, hubspot: HubSpotServer, offer: Offer) -> None:
    connect(tenant, write_back=False)
    contact = hubspot.add_contact(_person(1))
    sync(tenant)
    _score(tenant, offer, [_lead_of(tenant, contact)])
    job = sync(tenant)
    assert job.params["written_back"] == 0
    assert not hubspot.requests_to(BATCH_UPDATE) and not hubspot.requests_to(PROPERTIES_CREATE)


@pytest.mark.django_db
def test_write_back_uses_the_connectors_offer(tenant: Tenant, hubspot: HubSpotServer, offer: Offer) -> None:
    newer = Offer.objects.create(workspace=tenant.workspace, name="Newer offer", ideal_use_cases=["Retail"])
    connect(tenant, offer=offer.pk)
    contact = hubspot.add_contact(_person(1))
    sync(tenant)
    lead = _lead_of(tenant, contact)
    _score(tenant, newer, [lead])
    assert sync(tenant).params["written_back"] == 0  # only the newer (not chosen) offer has a score
    _score(tenant, offer, [lead])
    sync(tenant)
    (update,) = hubspot.requests_to(BATCH_UPDATE)
    expected = Score.objects.get(lead=lead, offer=offer, is_current=True)
    assert update.body["inputs"][0]["properties"]["leadscore_score"] == str(expected.score)


@pytest.mark.django_db
def test_a_contact_gone_from_hubspot_is_reported_and_the_others_written(connected: Tenant, hubspot: HubSpotServer,
                                                                        offer: Offer) -> None:
    ids = [hubspot.add_contact(_person(i)) for i in range(3)]
    sync(connected)
    _score(connected, offer, [_lead_of(connected, contact_id) for contact_id in ids])
    del hubspot.contacts[ids[1]]  # deleted in HubSpot after the pull
    job = sync(connected)
    assert job.params["written_back"] == 2
    assert job.errors == [{"contact": ids[1], "reason": "Write-back: Object not found"}]
    assert ExternalRecord.objects.get(external_id=ids[1]).written == {}
    assert ExternalRecord.objects.get(external_id=ids[0]).written["leadscore_intent"] in {"High", "Medium", "Low"}
