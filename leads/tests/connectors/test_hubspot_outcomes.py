"""HubSpot customers become won outcomes: recorded once, dated by the contact's change, and never a
second time when the next sync sees the same customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leads.models import ExternalRecord, Outcome
from leads.tests.conftest import Tenant
from leads.tests.connectors.conftest import sync
from leads.tests.connectors.hubspot_server import HubSpotServer

CHANGED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _contact(email: str, lifecycle: str) -> dict[str, str]:
    return {"email": email, "firstname": email.split("@")[0], "company": "Acme", "lifecyclestage": lifecycle}


@pytest.mark.django_db
def test_customers_are_won_outcomes_once(connected: Tenant, hubspot: HubSpotServer) -> None:
    won = hubspot.add_contact(_contact("won@example.com", "customer"), modified=CHANGED)
    hubspot.add_contact(_contact("open@example.com", "lead"), modified=CHANGED)
    job = sync(connected)
    lead = ExternalRecord.objects.get(workspace=connected.workspace, external_id=won).lead
    outcomes = list(Outcome.objects.filter(workspace=connected.workspace).values_list(
        "lead_id", "outcome", "source", "occurred_at"))
    assert outcomes == [(lead.pk, "won", "hubspot", CHANGED)]
    assert job.params["outcomes"] == 1
    assert connected.client.get(f"/api/leads/{lead.pk}/").json()["outcome"]["outcome"] == "won"

    # The contact changes again (a new phone): still one outcome, with its first date.
    hubspot.touch(won, phone="+1 415 555 0101")
    again = sync(connected)
    assert again.params.get("outcomes", 0) == 0
    assert list(Outcome.objects.values_list("occurred_at", flat=True)) == [CHANGED]


@pytest.mark.django_db
def test_an_outcome_recorded_by_hand_after_the_contact_changed_is_kept(connected: Tenant,
                                                                        hubspot: HubSpotServer) -> None:
    """The same rule as for deals: HubSpot's word replaces a Leadscore outcome only when it is newer."""
    contact = hubspot.add_contact(_contact("kept@example.com", "lead"), modified=CHANGED)
    sync(connected)
    lead = ExternalRecord.objects.get(workspace=connected.workspace, external_id=contact).lead
    response = connected.client.post("/api/outcomes/", {"lead": lead.pk, "outcome": "lost"}, format="json")
    assert response.status_code in (200, 201), response.content
    Outcome.objects.filter(lead=lead).update(updated_at=CHANGED + timedelta(days=1))
    hubspot.contacts[contact]["properties"]["lifecyclestage"] = "customer"  # changed, but dated before
    sync(connected, full=True)
    assert list(Outcome.objects.values_list("outcome", "source")) == [("lost", "api")]
    hubspot.touch(contact, phone="+1 415 555 0199")  # a change in HubSpot after the hand outcome
    sync(connected)
    assert list(Outcome.objects.values_list("outcome", "source")) == [("won", "hubspot")]
