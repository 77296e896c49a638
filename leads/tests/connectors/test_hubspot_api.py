"""The HubSpot connector over HTTP: settings with the token write-only (taken, never shown, never in a
job or a log line), the checks, a sync with a bad token, and one workspace never seeing another's
connector, jobs or leads."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from leads.integrations.hubspot.client import UNAUTHORIZED
from leads.models import ExternalRecord, HubSpotConnector, Job, Lead, Offer
from leads.services.connectors import (
    BAD_PROPERTIES,
    BAD_TOKEN,
    NOT_CONNECTED,
    NOT_IDENTIFIABLE,
    STALE_SYNC,
    SYNC_STALE,
    UNKNOWN_OFFER,
)
from leads.tests.conftest import Tenant
from leads.tests.connectors.conftest import TOKEN, connect, sync
from leads.tests.connectors.hubspot_server import BATCH_UPDATE, HubSpotServer
from leads.tests.factories import LeadFactory

PATH = "/api/connectors/hubspot/"
SYNC_PATH = "/api/connectors/hubspot/sync/"
DEFAULTS = {"has_token": False, "write_back": True, "offer": None, "properties": [], "last_synced_at": None,
            "last_sync_job": None}


def _invalid(field: str, message: str) -> dict[str, Any]:
    return {"error": message, "code": "invalid", "details": {field: [message]}}


def _settings(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == set(DEFAULTS)
    return body


@pytest.mark.django_db
def test_defaults_before_connecting(tenant: Tenant) -> None:
    assert _settings(tenant.client.get(PATH)) == DEFAULTS
    assert not HubSpotConnector.objects.exists()


@pytest.mark.django_db
def test_the_token_is_write_only(tenant: Tenant) -> None:
    response = tenant.client.post(PATH, {"access_token": TOKEN, "write_back": True}, format="json")
    assert _settings(response) == {**DEFAULTS, "has_token": True}
    assert _settings(tenant.client.get(PATH)) == {**DEFAULTS, "has_token": True}
    assert TOKEN not in response.content.decode() and TOKEN not in tenant.client.get(PATH).content.decode()
    assert HubSpotConnector.objects.get(workspace=tenant.workspace).access_token == TOKEN
    # Other settings leave the token alone; "" disconnects.
    assert _settings(tenant.client.post(PATH, {"write_back": False}, format="json")) == {
        **DEFAULTS, "has_token": True, "write_back": False}
    assert HubSpotConnector.objects.get(workspace=tenant.workspace).access_token == TOKEN
    assert _settings(tenant.client.post(PATH, {"access_token": ""}, format="json")) == {
        **DEFAULTS, "write_back": False}


@pytest.mark.django_db
def test_settings_are_checked(tenant: Tenant, other_tenant: Tenant) -> None:
    response = tenant.client.post(PATH, {"access_token": "pat na1 with spaces"}, format="json")
    assert (response.status_code, response.json()) == (400, _invalid("access_token", BAD_TOKEN))
    foreign = Offer.objects.create(workspace=other_tenant.workspace, name="Theirs")
    response = tenant.client.post(PATH, {"offer": foreign.pk}, format="json")
    assert (response.status_code, response.json()) == (400, _invalid("offer", UNKNOWN_OFFER.format(id=foreign.pk)))
    response = tenant.client.post(PATH, {"properties": ["Budget Range"]}, format="json")
    assert (response.status_code, response.json()) == (400, _invalid("properties", BAD_PROPERTIES))
    assert not HubSpotConnector.objects.filter(workspace=tenant.workspace).exclude(
        access_token="", offer=None, extra_properties=[]).exists()
    mine = Offer.objects.create(workspace=tenant.workspace, name="Mine")
    assert _settings(tenant.client.post(PATH, {"offer": mine.pk, "properties": ["budget"]}, format="json")) == {
        **DEFAULTS, "offer": mine.pk, "properties": ["budget"]}


@pytest.mark.django_db
def test_sync_needs_a_token(tenant: Tenant) -> None:
    response = tenant.client.post(SYNC_PATH, {}, format="json")
    assert (response.status_code, response.json()) == (
        400, {"error": NOT_CONNECTED, "code": "hubspot_not_connected", "details": {}})
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_sync_answers_the_job_and_the_connector_shows_it(connected: Tenant, hubspot: HubSpotServer) -> None:
    hubspot.add_contact({"email": "ada@example.com", "firstname": "Ada"})
    response = connected.client.post(SYNC_PATH, {}, format="json")
    assert response.status_code == 200, response.content
    job = response.json()
    assert (job["kind"], job["status"], job["processed"], job["created"]) == ("sync", "succeeded", 1, 1)
    assert response["Location"] == job["url"] == f"http://testserver/api/jobs/{job['id']}/"
    assert connected.client.get(f"/api/jobs/{job['id']}/").json()["status"] == "succeeded"
    body = _settings(connected.client.get(PATH))
    assert body["last_sync_job"]["id"] == job["id"]
    assert body["last_synced_at"] is not None


@pytest.mark.django_db
def test_a_bad_token_fails_the_job_with_a_clear_message(tenant: Tenant, hubspot: HubSpotServer,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    wrong = "pat-na1-00000000-dead-beef-0000-000000000000"
    tenant.client.post(PATH, {"access_token": wrong}, format="json")
    with caplog.at_level(logging.DEBUG):
        response = tenant.client.post(SYNC_PATH, {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["code"]) == (UNAUTHORIZED, "hubspot_unauthorized")
    job = Job.objects.get(pk=body["details"]["job"]["id"])
    assert (job.status, job.message, job.processed) == ("failed", UNAUTHORIZED, 0)
    assert len(hubspot.requests) == 1  # a 401 is not retried
    assert HubSpotConnector.objects.get(workspace=tenant.workspace).last_synced_at is None
    assert "HubSpot answered 401" in caplog.text
    for text in (caplog.text, json.dumps(job.params), json.dumps(job.errors), job.message, response.content.decode()):
        assert wrong not in text


@pytest.mark.django_db
def test_the_token_never_reaches_jobs_errors_or_logs(connected: Tenant, hubspot: HubSpotServer, offer: Offer,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    for i in range(3):
        hubspot.add_contact({"email": f"p{i}@example.com", "firstname": "P", "company": "C"})
    nobody = hubspot.add_contact({"phone": "1"})
    with caplog.at_level(logging.DEBUG):
        first = sync(connected)
        response = connected.client.post("/api/leads/score/", {"offer": offer.pk}, format="json")
        assert response.status_code == 200
        job = sync(connected)
    assert first.errors == [{"contact": nobody, "reason": NOT_IDENTIFIABLE}]  # errors were written, and are clean
    assert hubspot.requests_to(BATCH_UPDATE)  # the write-back ran too
    answers = [connected.client.get(path).content.decode()
               for path in (PATH, "/api/jobs/", f"/api/jobs/{job.pk}/", f"/api/jobs/{first.pk}/")]
    jobs = list(Job.objects.values_list("params", "errors", "message"))
    for text in (caplog.text, json.dumps(jobs), *answers):
        assert TOKEN not in text
    assert f"HubSpot sync job {job.pk} of workspace" in caplog.text  # the sync's own lines were captured


@pytest.mark.django_db
def test_another_workspace_sees_nothing(connected: Tenant, other_tenant: Tenant, hubspot: HubSpotServer) -> None:
    theirs = LeadFactory(workspace=other_tenant.workspace, email="ada@example.com", name="Ada (theirs)",
                         role="Teacher")
    hubspot.add_contact({"email": "ada@example.com", "firstname": "Ada", "jobtitle": "CTO"})
    job = sync(connected)
    # Their view: no connector, no job, no lead of ours, their lead untouched and unlinked.
    assert _settings(other_tenant.client.get(PATH)) == DEFAULTS
    assert other_tenant.client.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert other_tenant.client.get("/api/jobs/").json()["results"] == []
    response = other_tenant.client.post(SYNC_PATH, {}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "hubspot_not_connected")
    theirs.refresh_from_db()
    assert (theirs.name, theirs.role) == ("Ada (theirs)", "Teacher")
    assert not ExternalRecord.objects.filter(lead=theirs).exists()
    ours = Lead.objects.get(workspace=connected.workspace)
    assert (ours.name, ours.role) == ("Ada", "CTO")
    assert other_tenant.client.get(f"/api/leads/{ours.pk}/").status_code == 404
    # Their own connector, with its own token, syncs into their workspace only.
    connect(other_tenant)
    sync(other_tenant)
    theirs.refresh_from_db()
    assert theirs.role == "CTO"
    assert ExternalRecord.objects.filter(workspace=other_tenant.workspace, lead=theirs).count() == 1
    assert Lead.objects.filter(workspace=connected.workspace).count() == 1


@pytest.mark.django_db
def test_a_sync_already_going_is_answered_instead_of_a_second(connected: Tenant, hubspot: HubSpotServer,
                                                              settings: Any) -> None:
    settings.JOB_WAIT_SECONDS = 0.1
    going = Job.objects.create(workspace=connected.workspace, kind=Job.Kind.SYNC, status=Job.Status.RUNNING)
    response = connected.client.post(SYNC_PATH, {}, format="json")
    assert response.status_code == 202
    assert response.json()["id"] == going.pk and response["Location"] == response.json()["url"]
    assert Job.objects.filter(kind=Job.Kind.SYNC).count() == 1
    assert not hubspot.requests


@pytest.mark.django_db
def test_a_sync_whose_worker_went_silent_is_replaced(connected: Tenant, hubspot: HubSpotServer) -> None:
    going = Job.objects.create(workspace=connected.workspace, kind=Job.Kind.SYNC, status=Job.Status.RUNNING)
    Job.objects.filter(pk=going.pk).update(updated_at=timezone.now() - SYNC_STALE - timedelta(seconds=1))
    job = sync(connected)
    assert job.pk != going.pk
    going.refresh_from_db()
    assert (going.status, going.message) == ("failed", STALE_SYNC)
