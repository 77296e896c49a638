"""A lead's status, owner and tags over HTTP: saved and shown (with owner_name), checked (the owner a
member, a known status, at most 50 tags of up to 50 characters), each change recorded for
field_update workflows, which then fire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from leads.models import Lead, ScoreTransition, WorkflowExecution
from leads.services.workspaces import workspace_member_ensure
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory


def _field_invalid(field: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": f"Invalid input — {field}: {message}", "code": "invalid",
            "details": {field: details if details is not None else [message]}}


@dataclass
class World:
    lead: Lead
    carol: Any
    dave: Any  # in no workspace
    bob: Any  # the other workspace's member


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant) -> World:
    carol = workspace_member_ensure(workspace_name=tenant.workspace.name, username="carol").user
    users = get_user_model().objects
    return World(lead=LeadFactory(workspace=tenant.workspace), carol=carol, dave=users.create(username="dave"),
                 bob=users.get(username="bob"))


def _path(lead: Lead) -> str:
    return f"/api/leads/{lead.pk}/"


@pytest.mark.django_db
def test_a_new_lead_is_new_unowned_and_untagged(tenant: Tenant, world: World) -> None:
    body = tenant.client.get(_path(world.lead)).json()
    assert (body["status"], body["owner"], body["owner_name"], body["tags"]) == ("new", None, None, [])


@pytest.mark.django_db
def test_patch_status_owner_and_tags(tenant: Tenant, world: World) -> None:
    before = tenant.client.get(_path(world.lead)).json()
    response = tenant.client.patch(_path(world.lead), {"status": "working", "owner": world.carol.pk,
                                                       "tags": ["hot", "q3"]}, format="json")
    assert response.status_code == 200, response.content
    expected = {**before, "status": "working", "owner": world.carol.pk, "owner_name": "carol",
                "tags": ["hot", "q3"]}
    assert {**response.json(), "updated_at": None} == {**expected, "updated_at": None}
    assert {**tenant.client.get(_path(world.lead)).json(), "updated_at": None} == {**expected, "updated_at": None}
    lead = Lead.objects.get(pk=world.lead.pk)
    assert (lead.status, lead.owner_id, lead.tags) == ("working", world.carol.pk, ["hot", "q3"])
    # Each changed field is recorded, the owner by name, for the field_update workflows.
    rows = ScoreTransition.objects.filter(lead=lead, kind="field").order_by("field_name")
    assert [(r.field_name, r.old_value, r.new_value, r.cause) for r in rows] == [
        ("owner", None, "carol", "manual"), ("status", "new", "working", "manual"), ("tags", [], ["hot", "q3"],
                                                                                     "manual")]


@pytest.mark.django_db
def test_patch_of_the_same_values_records_nothing(tenant: Tenant, world: World) -> None:
    body = {"status": "qualified", "owner": world.carol.pk, "tags": ["a"]}
    assert tenant.client.patch(_path(world.lead), body, format="json").status_code == 200
    assert ScoreTransition.objects.filter(lead=world.lead).count() == 3
    assert tenant.client.patch(_path(world.lead), body, format="json").status_code == 200
    assert ScoreTransition.objects.filter(lead=world.lead).count() == 3


@pytest.mark.django_db
def test_clearing_the_owner_and_tags(tenant: Tenant, world: World) -> None:
    assert tenant.client.patch(_path(world.lead), {"owner": world.carol.pk, "tags": ["x"]},
                               format="json").status_code == 200
    response = tenant.client.patch(_path(world.lead), {"owner": None, "tags": []}, format="json")
    assert response.status_code == 200
    lead = Lead.objects.get(pk=world.lead.pk)
    assert (lead.owner_id, lead.tags) == (None, [])
    # The answer keeps its shape: owner_name is null, not left out.
    body = response.json()
    assert (body["owner"], body["tags"], body.get("owner_name", "missing")) == (None, [], None)


@pytest.mark.django_db
def test_every_status_is_accepted(tenant: Tenant, world: World) -> None:
    for status in ("new", "working", "nurturing", "qualified", "disqualified", "customer"):
        response = tenant.client.patch(_path(world.lead), {"status": status}, format="json")
        assert (response.status_code, response.json()["status"]) == (200, status)


INVALID = [
    ("owner-outsider", lambda w: {"owner": w.dave.pk},
     lambda w: _field_invalid("owner", f'Invalid pk "{w.dave.pk}" - object does not exist.')),
    ("owner-their-member", lambda w: {"owner": w.bob.pk},
     lambda w: _field_invalid("owner", f'Invalid pk "{w.bob.pk}" - object does not exist.')),
    ("owner-missing", lambda w: {"owner": w.bob.pk + 1000},
     lambda w: _field_invalid("owner", f'Invalid pk "{w.bob.pk + 1000}" - object does not exist.')),
    ("owner-by-name", lambda w: {"owner": "carol"},
     lambda w: _field_invalid("owner", "Incorrect type. Expected pk value, received str.")),
    ("bad-status", lambda w: {"status": "won"}, lambda w: _field_invalid("status", '"won" is not a valid choice.')),
    ("blank-status", lambda w: {"status": ""}, lambda w: _field_invalid("status", '"" is not a valid choice.')),
    ("too-many-tags", lambda w: {"tags": [f"t{i}" for i in range(51)]},
     lambda w: _field_invalid("tags", "Ensure this field has no more than 50 elements.")),
    ("too-long-tag", lambda w: {"tags": ["ok", "x" * 51]},
     lambda w: _field_invalid("tags", "1: Ensure this field has no more than 50 characters.",
                              {"1": ["Ensure this field has no more than 50 characters."]})),
    ("blank-tag", lambda w: {"tags": [""]},
     lambda w: _field_invalid("tags", "0: This field may not be blank.", {"0": ["This field may not be blank."]})),
    ("tags-not-a-list", lambda w: {"tags": "hot"},
     lambda w: _field_invalid("tags", 'Expected a list of items but got type "str".')),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_values_are_400_and_change_nothing(tenant: Tenant, world: World, body: Any, expected: Any) -> None:
    response = tenant.client.patch(_path(world.lead), {"name": "Changed", **body(world)}, format="json")
    assert (response.status_code, response.json()) == (400, expected(world))
    lead = Lead.objects.get(pk=world.lead.pk)
    assert (lead.name, lead.status, lead.owner_id, lead.tags) == (world.lead.name, "new", None, [])
    assert not ScoreTransition.objects.filter(lead=lead).exists()


@pytest.mark.django_db
def test_fifty_tags_of_fifty_characters_are_fine(tenant: Tenant, world: World) -> None:
    tags = [f"{i:02d}" + "x" * 48 for i in range(50)]
    response = tenant.client.patch(_path(world.lead), {"tags": tags}, format="json")
    assert (response.status_code, response.json()["tags"]) == (200, tags)


@pytest.mark.django_db
def test_a_status_change_fires_a_field_update_workflow(tenant: Tenant, world: World,
                                                       django_capture_on_commit_callbacks: Any) -> None:
    """A person's change fires it; the workflow's own change (the tag) fires nothing more."""
    created = tenant.client.post("/api/workflows/", {
        "name": "Qualified", "trigger_type": "field_update", "trigger_config": {"field": "status",
                                                                                "value": "qualified"},
        "action_type": "add_tag", "action_config": {"tag": "sales-ready"}}, format="json")
    assert created.status_code == 201
    on_tags = tenant.client.post("/api/workflows/", {
        "name": "Any tag", "trigger_type": "field_update", "trigger_config": {"field": "tags"},
        "action_type": "change_status", "action_config": {"status": "customer"}}, format="json")
    assert on_tags.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        assert tenant.client.patch(_path(world.lead), {"status": "working"}, format="json").status_code == 200
    assert not WorkflowExecution.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert tenant.client.patch(_path(world.lead), {"status": "qualified"}, format="json").status_code == 200
    executions = list(WorkflowExecution.objects.values_list("workflow_id", "lead_id", "status"))
    assert executions == [(created.json()["id"], world.lead.pk, "succeeded")]
    body = tenant.client.get(_path(world.lead)).json()
    assert (body["status"], body["tags"]) == ("qualified", ["sales-ready"])
