"""HubSpot closed deals become outcomes: read through the real client (deals, pipelines, associations
v4) from the server on 127.0.0.1, won and lost by the pipeline's stage metadata, paged, retried after
a 429, incremental, one workspace at a time, and counted by training."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from leads.integrations.hubspot.sync import DealOutcome, contact_deal_outcome, deal_result, stage_result
from leads.models import ExternalRecord, Job, Lead, Outcome
from leads.services.connectors import DEALS_FORBIDDEN, OUTCOMES_NOTE
from leads.services.training_jobs import training_rows
from leads.tests.conftest import Tenant
from leads.tests.connectors.conftest import PAGE_SIZE, connect, sync
from leads.tests.connectors.hubspot_server import (
    ASSOCIATIONS,
    DEALS,
    DEALS_READ,
    DEALS_SEARCH,
    PIPELINES,
    HubSpotServer,
    Reply,
)

CLOSED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DEALS_TO_CONTACTS = ASSOCIATIONS.format(from_type="deals", to_type="contacts")
CONTACTS_TO_DEALS = ASSOCIATIONS.format(from_type="contacts", to_type="deals")


def _contact(hubspot: HubSpotServer, name: str, lifecycle: str = "opportunity") -> str:
    return hubspot.add_contact({"email": f"{name}@example.com", "firstname": name.title(), "company": "Acme",
                                "lifecyclestage": lifecycle})


def _deal(hubspot: HubSpotServer, contact: str, stage: str, *, closed: datetime | None = CLOSED,
          amount: str | None = "12500", **extra: Any) -> str:
    props = {"dealname": f"Deal for {contact}", "dealstage": stage, "amount": amount,
             "closedate": closed.strftime("%Y-%m-%dT%H:%M:%S.000Z") if closed else None, **extra}
    return hubspot.add_deal(props, contacts=[contact])


def _lead(tenant: Tenant, contact_id: str) -> Lead:
    return ExternalRecord.objects.select_related("lead").get(workspace=tenant.workspace, external_id=contact_id).lead


def _outcomes(tenant: Tenant) -> dict[int, tuple[str, str, datetime, Decimal | None]]:
    return {lead_id: (outcome, source, occurred, value) for lead_id, outcome, source, occurred, value in
            Outcome.objects.filter(workspace=tenant.workspace).values_list(
                "lead_id", "outcome", "source", "occurred_at", "value")}


# --- the pure reading of stages and deals -------------------------------------------------------


@pytest.mark.parametrize(("metadata", "expected"), [
    ({"isClosed": "true", "probability": "1.0"}, "won"),
    ({"isClosed": "true", "probability": "1"}, "won"),
    ({"isClosed": "true", "probability": "0.0"}, "lost"),
    ({"isClosed": "true", "probability": "0.5"}, "lost"),   # closed but not certain: not a win
    ({"isClosed": "true"}, "lost"),
    ({"isClosed": "false", "probability": "1.0"}, None),    # "commit" stages at 100 % are still open
    ({"probability": "0.9"}, None),
    ({}, None),
])
def test_stage_result_reads_hubspots_metadata(metadata: dict[str, str], expected: str | None) -> None:
    assert stage_result(metadata) == expected, metadata


@pytest.mark.parametrize(("properties", "expected"), [
    ({"pipeline": "p1", "dealstage": "s-won"}, "won"),
    ({"pipeline": "p1", "dealstage": "s-open"}, None),
    # A stage the pipelines did not list: the deal's own calculated properties, then the default names.
    ({"pipeline": "p9", "dealstage": "x", "hs_is_closed_won": "true", "hs_is_closed": "true"}, "won"),
    ({"pipeline": "p9", "dealstage": "x", "hs_is_closed_won": "false", "hs_is_closed": "true"}, "lost"),
    ({"pipeline": "p9", "dealstage": "closedwon", "hs_is_closed": "false"}, None),
    ({"pipeline": "p9", "dealstage": "closedwon"}, "won"),
    ({"pipeline": "p9", "dealstage": "closedlost"}, "lost"),
    ({"pipeline": "p9", "dealstage": "x"}, None),
])
def test_deal_result(properties: dict[str, str], expected: str | None) -> None:
    stages = {("p1", "s-won"): "won", ("p1", "s-open"): None}
    assert deal_result(properties, stages) == expected, properties


class _D:
    def __init__(self, deal_id: str, **properties: str) -> None:
        self.id, self.properties = deal_id, properties


def test_a_won_deal_decides_over_later_lost_ones_and_open_deals_decide_nothing() -> None:
    stages = {("default", "closedwon"): "won", ("default", "closedlost"): "lost", ("default", "open"): None}
    deals = [_D("1", pipeline="default", dealstage="closedwon", closedate="2026-01-05T00:00:00Z", amount="100"),
             _D("2", pipeline="default", dealstage="closedwon", closedate="2026-03-05T00:00:00Z", amount="250.5"),
             _D("3", pipeline="default", dealstage="closedlost", closedate="2026-06-01T00:00:00Z", amount="900"),
             _D("4", pipeline="default", dealstage="open", closedate="2026-07-01T00:00:00Z")]
    assert contact_deal_outcome(deals, stages, now=NOW) == DealOutcome("won", datetime(2026, 3, 5, tzinfo=UTC),
                                                              Decimal("250.50"), "2")
    assert contact_deal_outcome(deals[2:], stages, now=NOW) == DealOutcome("lost", datetime(2026, 6, 1, tzinfo=UTC),
                                                                  Decimal("900.00"), "3")
    assert contact_deal_outcome(deals[3:], stages, now=NOW) is None
    no_amount = [_D("5", pipeline="default", dealstage="closedlost", closedate="1764000000000", amount="n/a")]
    assert contact_deal_outcome(no_amount, stages, now=NOW) == DealOutcome(
        "lost", datetime.fromtimestamp(1764000000, tz=UTC), None, "5")
    # A forecast close date after now: the deal's last change dates it.
    forecast = [_D("6", pipeline="default", dealstage="closedwon", closedate="2027-01-31T00:00:00Z",
                   hs_lastmodifieddate="2026-11-29T08:00:00.000Z")]
    assert contact_deal_outcome(forecast, stages, now=NOW) == DealOutcome(
        "won", datetime(2026, 11, 29, 8, tzinfo=UTC), None, "6")


# --- the sync -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_won_and_lost_deals_become_outcomes(connected: Tenant, hubspot: HubSpotServer) -> None:
    """Won with the deal's close date and amount; lost likewise; open deals and contacts without
    deals record nothing; a won deal outweighs a lost one."""
    won, lost, open_, none, both = (_contact(hubspot, n) for n in ("wendy", "lucas", "olga", "nina", "bea"))
    _deal(hubspot, won, "closedwon", amount="12500.50")
    _deal(hubspot, lost, "closedlost", closed=CLOSED + timedelta(days=1), amount=None)
    _deal(hubspot, open_, "contractsent", closed=None)
    _deal(hubspot, both, "closedwon", closed=CLOSED - timedelta(days=30), amount="800")
    _deal(hubspot, both, "closedlost", closed=CLOSED)
    job = sync(connected)
    assert _outcomes(connected) == {
        _lead(connected, won).pk: ("won", "hubspot", CLOSED, Decimal("12500.50")),
        _lead(connected, lost).pk: ("lost", "hubspot", CLOSED + timedelta(days=1), None),
        _lead(connected, both).pk: ("won", "hubspot", CLOSED - timedelta(days=30), Decimal("800.00")),
    }
    assert (job.params["deals"], job.params["outcomes"]) == (5, 3)
    assert job.message.endswith(OUTCOMES_NOTE.format(outcomes=3) + " Nothing written back: the workspace has no "
                                "offer to score against yet.")
    assert len(hubspot.requests_to(PIPELINES, "GET")) == 1
    body = connected.client.get(f"/api/leads/{_lead(connected, won).pk}/").json()["outcome"]
    assert (body["outcome"], body["value"], body["source"]) == ("won", "12500.50", "hubspot")
    assert not Outcome.objects.filter(lead__in=[_lead(connected, open_), _lead(connected, none)]).exists()


@pytest.mark.django_db
def test_custom_pipeline_stages_are_read_from_their_metadata(connected: Tenant, hubspot: HubSpotServer) -> None:
    hubspot.add_pipeline("81234", "Enterprise", [("81235", "Negotiation", "false", "0.7"),
                                                 ("81236", "Signed", "true", "1.0"),
                                                 ("81237", "No budget", "true", "0.0")])
    signed, no_budget, talking = (_contact(hubspot, n) for n in ("sam", "nora", "tom"))
    _deal(hubspot, signed, "81236", pipeline="81234")
    _deal(hubspot, no_budget, "81237", pipeline="81234")
    _deal(hubspot, talking, "81235", pipeline="81234")
    sync(connected)
    assert {lead_id: row[0] for lead_id, row in _outcomes(connected).items()} == {
        _lead(connected, signed).pk: "won", _lead(connected, no_budget).pk: "lost"}


@pytest.mark.django_db
def test_deals_and_associations_are_paged(connected: Tenant, hubspot: HubSpotServer) -> None:
    """Deal pages of HUBSPOT_PAGE_SIZE with `after` cursors; a contact's many deals with its own
    association cursor."""
    contacts = [_contact(hubspot, f"p{i}") for i in range(25)]
    deals = [_deal(hubspot, contact, "closedlost") for contact in contacts]
    hubspot.association_page = 2
    many = _contact(hubspot, "many")
    for day in range(5):  # the won deal comes last: found only by following the cursor
        _deal(hubspot, many, "closedwon" if day == 4 else "closedlost", closed=CLOSED + timedelta(days=day))
    sync(connected)
    lists = hubspot.requests_to(DEALS, "GET")
    assert [(r.query["limit"], r.query.get("after")) for r in lists] == [
        ([str(PAGE_SIZE)], None), ([str(PAGE_SIZE)], [deals[10]]), ([str(PAGE_SIZE)], [deals[20]])]
    assert len(Outcome.objects.filter(workspace=connected.workspace, outcome="lost")) == 25
    assert _outcomes(connected)[_lead(connected, many).pk][:3] == ("won", "hubspot", CLOSED + timedelta(days=4))
    followed = [item for r in hubspot.requests_to(CONTACTS_TO_DEALS) for item in r.body["inputs"] if "after" in item]
    assert [item["id"] for item in followed] == [many, many]
    assert all(len(r.body["inputs"]) <= 100 for r in hubspot.requests_to(DEALS_READ))


@pytest.mark.django_db
def test_a_429_on_deals_waits_for_retry_after_then_succeeds(connected: Tenant, hubspot: HubSpotServer) -> None:
    contact = _contact(hubspot, "ray")
    _deal(hubspot, contact, "closedwon")
    hubspot.script(Reply(429, headers={"Retry-After": "1"}), when=DEALS)
    hubspot.script(Reply(429, headers={"Retry-After": "1"}), when="/crm/v4/associations/")
    sync(connected)
    statuses = [(r.path, r.status) for r in hubspot.requests if r.path in (DEALS, DEALS_TO_CONTACTS)]
    assert statuses == [(DEALS, 429), (DEALS, 200), (DEALS_TO_CONTACTS, 429), (DEALS_TO_CONTACTS, 200)]
    retries = [r for r in hubspot.requests if r.path == DEALS]
    assert retries[1].at - retries[0].at >= 0.95
    assert _outcomes(connected)[_lead(connected, contact).pk][0] == "won"


@pytest.mark.django_db
def test_the_second_sync_reads_only_deals_changed_since(connected: Tenant, hubspot: HubSpotServer) -> None:
    """A search on hs_lastmodifieddate; a deal closed since updates its lead, the others are not read."""
    moving, quiet = _contact(hubspot, "mo"), _contact(hubspot, "quinn")
    deal = _deal(hubspot, moving, "contractsent", closed=None)
    _deal(hubspot, quiet, "closedwon")
    sync(connected)
    assert list(_outcomes(connected)) == [_lead(connected, quiet).pk]
    before = len(hubspot.requests)

    later = (timezone.now() - timedelta(minutes=1)).replace(microsecond=0)
    hubspot.touch_deal(deal, dealstage="closedwon", closedate=later.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                       amount="4200")
    second = sync(connected)
    searches = hubspot.requests_to(DEALS_SEARCH)
    assert len(searches) == 1 and not [r for r in hubspot.requests[before:] if r.path == DEALS]
    [flt] = searches[0].body["filterGroups"][0]["filters"]
    assert (flt["propertyName"], flt["operator"]) == ("hs_lastmodifieddate", "GTE")
    assert [i["id"] for r in hubspot.requests[before:] if r.path == DEALS_TO_CONTACTS for i in r.body["inputs"]] \
        == [deal]
    assert (second.params["deals"], second.params["outcomes"]) == (1, 1)
    assert _outcomes(connected)[_lead(connected, moving).pk] == ("won", "hubspot", later, Decimal("4200.00"))

    # Reopened and lost later: the sync keeps its own outcome in step with HubSpot.
    hubspot.touch_deal(deal, dealstage="closedlost", closedate=(later + timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"))
    sync(connected)
    assert _outcomes(connected)[_lead(connected, moving).pk][:2] == ("lost", "hubspot")
    third = sync(connected)  # read again (the overlap of SYNC_OVERLAP) but unchanged: nothing recorded
    assert third.params.get("outcomes", 0) == 0


@pytest.mark.django_db
def test_an_outcome_recorded_by_hand_survives_a_full_sync(connected: Tenant, hubspot: HubSpotServer) -> None:
    """The API's outcome was recorded after the deal closed: it stays, full sync or not. A deal that
    closes after it is newer, and replaces it."""
    contact = _contact(hubspot, "hank")
    _deal(hubspot, contact, "closedwon")
    sync(connected)
    lead = _lead(connected, contact)
    response = connected.client.post("/api/outcomes/", {"lead": lead.pk, "outcome": "lost"}, format="json")
    assert response.status_code in (200, 201), response.content
    sync(connected, full=True)
    assert _outcomes(connected)[lead.pk][:2] == ("lost", "api")

    # Say it was recorded the day after the close; a second deal closes the day after that.
    Outcome.objects.filter(lead=lead).update(updated_at=CLOSED + timedelta(days=1))
    sync(connected, full=True)
    assert _outcomes(connected)[lead.pk][:2] == ("lost", "api")
    later = CLOSED + timedelta(days=2)
    second = hubspot.add_deal({"dealstage": "closedwon", "amount": "99", "closedate": later.isoformat()},
                              contacts=[contact], modified=timezone.now())
    job = sync(connected)
    assert job.params["deals"] == 1 and hubspot.deals[second]
    assert _outcomes(connected)[lead.pk] == ("won", "hubspot", later, Decimal("99.00"))


@pytest.mark.django_db
def test_a_customer_stays_won_whatever_its_lost_deals(connected: Tenant, hubspot: HubSpotServer) -> None:
    contact = _contact(hubspot, "cleo", lifecycle="customer")
    _deal(hubspot, contact, "closedlost")
    sync(connected)
    assert _outcomes(connected)[_lead(connected, contact).pk][:2] == ("won", "hubspot")


@pytest.mark.django_db
def test_a_token_without_the_deals_scope_still_syncs_contacts(connected: Tenant, hubspot: HubSpotServer) -> None:
    _contact(hubspot, "dora")
    hubspot.script(Reply(403, body={"status": "error", "message": "This app hasn't been granted all required "
                                    "scopes to make this call.", "category": "MISSING_SCOPES"}), when=PIPELINES)
    job = sync(connected)
    assert DEALS_FORBIDDEN in job.message
    assert Lead.objects.filter(workspace=connected.workspace).count() == 1


@pytest.mark.django_db
def test_deal_outcomes_stay_in_their_workspace(connected: Tenant, other_tenant: Tenant,
                                               hubspot: HubSpotServer) -> None:
    """Two workspaces connected to the same portal: a sync of one records outcomes for its own leads only."""
    connect(other_tenant)
    contact = _contact(hubspot, "iris")
    deal = _deal(hubspot, contact, "contractsent", closed=None)
    sync(connected)
    sync(other_tenant)
    hubspot.touch_deal(deal, dealstage="closedwon")
    sync(connected)
    mine, theirs = _lead(connected, contact), _lead(other_tenant, contact)
    assert mine.pk != theirs.pk
    assert list(Outcome.objects.values_list("lead_id", "workspace_id")) == [(mine.pk, connected.workspace.pk)]
    assert other_tenant.client.get(f"/api/leads/{mine.pk}/").status_code == 404
    sync(other_tenant)
    assert Outcome.objects.get(lead=theirs).workspace_id == other_tenant.workspace.pk


@pytest.mark.django_db
def test_deal_outcomes_feed_training(connected: Tenant, hubspot: HubSpotServer) -> None:
    won, lost, open_ = (_contact(hubspot, n) for n in ("walt", "lara", "otto"))
    _deal(hubspot, won, "closedwon")
    _deal(hubspot, lost, "closedlost")
    _deal(hubspot, open_, "qualifiedtobuy", closed=None)
    sync(connected)
    rows, labels = training_rows(workspace_id=connected.workspace.pk, offer=None)
    assert (len(rows), sorted(labels)) == (2, [False, True])
    assert not Job.objects.filter(workspace=connected.workspace, kind=Job.Kind.TRAIN).exists()
