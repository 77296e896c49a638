"""Automations keep workspaces apart: another workspace's workflows, executions and tasks answer
exactly like ids that never existed (404 with the envelope, never 403) on every route, no list or
count shows their rows, their leads, users and offers are unknown in my bodies, and each
workspace has its own alert settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from leads.models import AlertConfig, Lead, Offer, Task, Workflow, WorkflowExecution
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

NOT_FOUND = {"error": "Not found.", "code": "not_found", "details": {}}
SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/s3cr3tT0k3n"


@dataclass
class World:
    """One workspace's automation objects, made through its own API."""

    lead: Lead
    offer: Offer
    workflow: int  # manual, add_tag
    hook: int  # webhook, with its secret
    succeeded: int  # an execution of `workflow`
    failed: int  # an execution that failed (email to an owner the lead hasn't)
    task: int
    secret: str


def _world(tenant: Tenant, tag: str) -> World:
    client = tenant.client
    lead = LeadFactory(workspace=tenant.workspace)
    offer = OfferFactory(workspace=tenant.workspace)

    def create(**fields: Any) -> dict[str, Any]:
        response = client.post("/api/workflows/", {"name": tag, "trigger_type": "manual", **fields}, format="json")
        assert response.status_code == 201, response.content
        return response.json()

    workflow = create(action_type="add_tag", action_config={"tag": tag})["id"]
    hook = create(action_type="webhook", action_config={"url": "https://receiver.example.com/x"})
    emailer = create(action_type="send_email", action_config={"to": "owner"})["id"]
    succeeded = client.post(f"/api/workflows/{workflow}/run/", {"lead_ids": [lead.pk]}, format="json")
    failed = client.post(f"/api/workflows/{emailer}/run/", {"lead_ids": [lead.pk]}, format="json")
    assert (succeeded.status_code, failed.status_code) == (202, 202)
    task = client.post("/api/tasks/", {"lead": lead.pk, "title": f"Call {tag}"}, format="json")
    assert task.status_code == 201
    return World(lead, offer, workflow, hook["id"], succeeded.json()["executions"][0],
                 failed.json()["executions"][0], task.json()["id"], hook["signing_secret"])


@pytest.fixture
def mine(tenant: Tenant) -> World:
    return _world(tenant, "mine")


@pytest.fixture
def theirs(other_tenant: Tenant) -> World:
    return _world(other_tenant, "theirs")


def _never(*models: type) -> int:
    """An id no row of these tables has."""
    return max((m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) for m in models) + 1000


def _fill(template: Any, ids: dict[str, int]) -> Any:
    if isinstance(template, str):
        for key, value in ids.items():
            if template == f"{{{key}}}":
                return value
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: _fill(value, ids) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, ids) for value in template]
    return template


def _call(client: APIClient, method: str, path: str, body: Any = None) -> Any:
    return getattr(client, method)(path, body or {}, format="json")


# --- their objects by id ---------------------------------------------------------------------------

WORKFLOW_BASES = ["/api/workflows/", "/api/lead-qualification/workflows/"]
EXECUTION_BASES = ["/api/workflow-executions/", "/api/lead-qualification/workflow-executions/"]
DETAIL_CALLS = [
    *[call for base in WORKFLOW_BASES for call in (
        ("get", base + "{workflow}/", None),
        ("patch", base + "{workflow}/", {"name": "Hacked", "is_active": False}),
        ("put", base + "{workflow}/", {"name": "Hacked", "trigger_type": "manual", "action_type": "add_tag",
                                       "action_config": {"tag": "hacked"}}),
        ("delete", base + "{workflow}/", None),
        ("post", base + "{workflow}/run/", {"lead_ids": ["{my_lead}"]}),
        ("post", base + "{hook}/rotate_secret/", None),
    )],
    *[call for base in EXECUTION_BASES for call in (
        ("get", base + "{succeeded}/", None),
        ("post", base + "{failed}/retry/", None),
    )],
    ("get", "/api/tasks/{task}/", None),
    ("patch", "/api/tasks/{task}/", {"title": "Hacked", "done": True}),
    ("put", "/api/tasks/{task}/", {"lead": "{my_lead}", "title": "Hacked"}),
    ("delete", "/api/tasks/{task}/", None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body"), DETAIL_CALLS, ids=[f"{m} {p}" for m, p, _ in DETAIL_CALLS])
def test_their_objects_are_404_like_missing_ones(tenant: Tenant, mine: World, theirs: World, method: str,
                                                 path: str, body: Any) -> None:
    foreign = {"workflow": theirs.workflow, "hook": theirs.hook, "succeeded": theirs.succeeded,
               "failed": theirs.failed, "task": theirs.task, "my_lead": mine.lead.pk}
    never = {"workflow": _never(Workflow), "hook": _never(Workflow), "succeeded": _never(WorkflowExecution),
             "failed": _never(WorkflowExecution), "task": _never(Task), "my_lead": mine.lead.pk}
    executions_before = WorkflowExecution.objects.count()
    for ids in (foreign, never):
        response = _call(tenant.client, method, _fill(path, ids), _fill(body, ids))
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
    # Nothing of theirs changed, nothing of mine was started.
    workflow = Workflow.objects.get(pk=theirs.workflow)
    assert (workflow.name, workflow.is_active, workflow.action_config) == ("theirs", True, {"tag": "theirs"})
    assert Workflow.objects.get(pk=theirs.hook).secret == theirs.secret
    assert WorkflowExecution.objects.get(pk=theirs.failed).status == "failed"
    assert WorkflowExecution.objects.count() == executions_before
    task = Task.objects.get(pk=theirs.task)
    assert (task.title, task.done) == ("Call theirs", False)
    assert Lead.objects.get(pk=mine.lead.pk).tags == ["mine"]


# --- lists and counts ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_and_counts_show_only_own_rows(tenant: Tenant, other_tenant: Tenant, mine: World,
                                             theirs: World) -> None:
    own_workflows = list(Workflow.objects.filter(workspace=tenant.workspace).order_by("priority", "id")
                         .values_list("pk", flat=True))
    for base in WORKFLOW_BASES:
        listed = tenant.client.get(base).json()
        assert ([w["id"] for w in listed["results"]], listed["count"]) == (own_workflows, 3)
        assert theirs.workflow not in own_workflows
    own_executions = {mine.succeeded, mine.failed}
    for base in EXECUTION_BASES:
        listed = tenant.client.get(base).json()
        assert ({e["id"] for e in listed["results"]}, listed["count"]) == (own_executions, 2)
        assert {e["id"] for e in tenant.client.get(f"{base}recent/?limit=200").json()} == own_executions
    tasks = tenant.client.get("/api/tasks/").json()
    assert ([t["id"] for t in tasks["results"]], tasks["count"]) == ([mine.task], 1)
    stats = {"total": 3, "active": 3, "executions": 2, "succeeded": 1, "failed": 1, "pending": 0}
    assert tenant.client.get("/api/workflows/statistics/").json() == stats
    assert other_tenant.client.get("/api/workflows/statistics/").json() == stats


@pytest.mark.django_db
@pytest.mark.parametrize("path", [
    "/api/workflow-executions/?workflow={workflow}",
    "/api/workflow-executions/?lead={lead}",
    "/api/lead-qualification/workflow-executions/?workflow={workflow}",
    "/api/tasks/?lead={lead}",
    "/api/workflows/?offer={offer}",
])
def test_filtering_by_their_ids_finds_nothing_of_theirs(tenant: Tenant, mine: World, theirs: World,
                                                        path: str) -> None:
    response = tenant.client.get(path.format(workflow=theirs.workflow, lead=theirs.lead.pk, offer=theirs.offer.pk))
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert (response.json()["count"], response.json()["results"]) == (0, [])
    else:
        assert response.json()["code"] == "invalid"


# --- their ids inside my requests ------------------------------------------------------------------


@pytest.mark.django_db
def test_their_leads_in_a_run_are_unknown(tenant: Tenant, mine: World, theirs: World) -> None:
    for lead_id in (theirs.lead.pk, _never(Lead)):
        response = tenant.client.post(f"/api/workflows/{mine.workflow}/run/",
                                      {"lead_ids": [mine.lead.pk, lead_id]}, format="json")
        assert (response.status_code, response.json()) == (400, {
            "error": "1 lead id(s) do not exist.", "code": "unknown_leads", "details": {"lead_ids": [lead_id]}})
    assert Lead.objects.get(pk=theirs.lead.pk).tags == ["theirs"]


@pytest.mark.django_db
def test_their_offer_in_a_run_is_unknown(tenant: Tenant, mine: World, theirs: World) -> None:
    for offer_id in (theirs.offer.pk, _never(Offer)):
        response = tenant.client.post(f"/api/workflows/{mine.workflow}/run/",
                                      {"lead_ids": [mine.lead.pk], "offer": offer_id}, format="json")
        assert (response.status_code, response.json()) == (404, {
            "error": f"Offer {offer_id} does not exist.", "code": "unknown_offer", "details": {"offer": offer_id}})


@pytest.mark.django_db
def test_their_offer_lead_and_user_in_my_bodies_are_400(tenant: Tenant, mine: World, theirs: World) -> None:
    bob = get_user_model().objects.get(username="bob")
    for offer_id in (theirs.offer.pk, _never(Offer)):
        created = tenant.client.post("/api/workflows/", {"name": "X", "trigger_type": "manual",
                                                         "action_type": "add_tag", "action_config": {"tag": "x"},
                                                         "offer": offer_id}, format="json")
        moved = tenant.client.patch(f"/api/workflows/{mine.workflow}/", {"offer": offer_id}, format="json")
        for response in (created, moved):
            assert (response.status_code, response.json()["details"]) == (
                400, {"offer": [f'Invalid pk "{offer_id}" - object does not exist.']})
    for field, value in (("lead", theirs.lead.pk), ("assignee", bob.pk)):
        body = {"lead": mine.lead.pk, "title": "Call", field: value}
        response = tenant.client.post("/api/tasks/", body, format="json")
        assert (response.status_code, response.json()["details"]) == (
            400, {field: [f'Invalid pk "{value}" - object does not exist.']})
    reassigned = tenant.client.patch(f"/api/tasks/{mine.task}/", {"assignee": bob.pk}, format="json")
    assert reassigned.status_code == 400
    owner = tenant.client.patch(f"/api/leads/{mine.lead.pk}/", {"owner": bob.pk}, format="json")
    assert (owner.status_code, owner.json()["details"]) == (
        400, {"owner": [f'Invalid pk "{bob.pk}" - object does not exist.']})
    assert Workflow.objects.get(pk=mine.workflow).offer_id is None
    assert Task.objects.filter(workspace=tenant.workspace).count() == 1
    assert Task.objects.get(pk=mine.task).assignee_id is None


# --- alert settings --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_alert_settings_are_per_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = tenant.client.post("/api/alerts/config/", {"hot_threshold": 90, "warm_threshold": 70,
                                                      "enable_slack": True, "slack_webhook_url": SLACK_URL},
                              format="json")
    assert mine.status_code == 200
    theirs = other_tenant.client.get("/api/alerts/config/").json()
    assert {k: v for k, v in theirs.items() if k != "updated_at"} == {
        "hot_threshold": 80, "warm_threshold": 60, "enable_slack": False, "slack_webhook": ""}
    assert other_tenant.client.get("/api/workflows/").json()["count"] == 0
    assert other_tenant.client.get("/api/workflows/statistics/").json()["total"] == 0

    # Their own settings make their own two workflows and leave mine alone.
    other = other_tenant.client.post("/api/alerts/config/", {"enable_slack": True, "slack_webhook_url": SLACK_URL},
                                     format="json")
    assert other.status_code == 200
    their_managed = {w["managed_by_alerts"]: w for w in other_tenant.client.get("/api/workflows/").json()["results"]}
    my_managed = {w["managed_by_alerts"]: w for w in tenant.client.get("/api/workflows/").json()["results"]}
    assert set(their_managed) == set(my_managed) == {"hot", "warm"}
    assert {w["id"] for w in their_managed.values()}.isdisjoint({w["id"] for w in my_managed.values()})
    assert (their_managed["hot"]["trigger_config"], my_managed["hot"]["trigger_config"]) == (
        {"score": 80, "direction": "up"}, {"score": 90, "direction": "up"})
    assert other_tenant.client.post("/api/alerts/config/", {"enable_slack": False},
                                    format="json").status_code == 200
    assert all(w.is_active for w in Workflow.objects.filter(workspace=tenant.workspace))
    assert not any(w.is_active for w in Workflow.objects.filter(workspace=other_tenant.workspace))
    assert AlertConfig.objects.get(workspace=tenant.workspace).hot_threshold == 90
    # Their managed workflows are as unknown to me as any other of theirs.
    response = tenant.client.get(f"/api/workflows/{their_managed['hot']['id']}/")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
