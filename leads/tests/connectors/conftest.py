"""The HubSpot-compatible server on 127.0.0.1, with HUBSPOT_API_BASE pointing the real client at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leads.models import Job
from leads.tests.conftest import Tenant
from leads.tests.connectors.hubspot_server import HubSpotServer

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
PAGE_SIZE = 10


@pytest.fixture
def hubspot(settings: Any) -> Iterator[HubSpotServer]:
    with HubSpotServer(token=TOKEN) as server:
        settings.HUBSPOT_API_BASE = server.base_url
        settings.HUBSPOT_PAGE_SIZE = PAGE_SIZE
        yield server
        assert not server.overflowed, "the sync made more requests than any test needs"


def connect(tenant: Tenant, **options: Any) -> None:
    response = tenant.client.post("/api/connectors/hubspot/", {"access_token": TOKEN, **options}, format="json")
    assert response.status_code == 200, response.content


@pytest.fixture
def connected(tenant: Tenant, hubspot: HubSpotServer) -> Tenant:
    connect(tenant)
    return tenant


def sync(tenant: Tenant, **body: Any) -> Job:
    """Run a sync through the API (eager Celery: it finishes within the request) and return its job."""
    response = tenant.client.post("/api/connectors/hubspot/sync/", body, format="json")
    assert response.status_code == 200, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.SUCCEEDED, job.message
    return job
