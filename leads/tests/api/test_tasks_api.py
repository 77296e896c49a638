"""Follow-up tasks over HTTP: create, read, update, delete; the done, assignee and lead filters; the
assignee must be a member and the lead the workspace's; done sets done_at and undone clears it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leads.models import Lead, Task
from leads.services.workspaces import workspace_member_ensure
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory

NOT_FOUND = {"error": "Not found.", "code": "not_found", "details": {}}
VOLATILE = ("id", "created_at", "updated_at")
DUE = "2030-03-01T09:30:00Z"


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in keys}


def _field_invalid(field: str, message: str) -> dict[str, Any]:
    return {"error": f"Invalid input — {field}: {message}", "code": "invalid", "details": {field: [message]}}


def _no_such(field: str, pk: int) -> dict[str, Any]:
    return _field_invalid(field, f'Invalid pk "{pk}" - object does not exist.')


@dataclass
class People:
    alice: Any
    carol: Any
    dave: Any  # in no workspace
    bob: Any  # the other workspace's member
    lead: Lead
    other_lead: Lead
    their_lead: Lead


@pytest.fixture
def people(tenant: Tenant, other_tenant: Tenant) -> People:
    users = get_user_model().objects
    carol = workspace_member_ensure(workspace_name=tenant.workspace.name, username="carol").user
    return People(alice=users.get(username="alice"), carol=carol, dave=users.create(username="dave"),
                  bob=users.get(username="bob"), lead=LeadFactory(workspace=tenant.workspace),
                  other_lead=LeadFactory(workspace=tenant.workspace),
                  their_lead=LeadFactory(workspace=other_tenant.workspace))


def _task(tenant: Tenant, lead: Lead, **fields: Any) -> dict[str, Any]:
    response = tenant.client.post("/api/tasks/", {"lead": lead.pk, "title": "Call back", **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _ids(tenant: Tenant, query: str = "") -> list[int]:
    response = tenant.client.get(f"/api/tasks/{query}")
    assert response.status_code == 200, response.content
    return [task["id"] for task in response.json()["results"]]


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- create and read -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_with_every_field(tenant: Tenant, people: People) -> None:
    response = tenant.client.post("/api/tasks/", {
        "lead": people.lead.pk, "title": "Send the proposal", "description": "Pricing for 50 seats",
        "due": DUE, "priority": "high", "assignee": people.carol.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    expected = {"lead": people.lead.pk, "lead_name": people.lead.name, "title": "Send the proposal",
                "description": "Pricing for 50 seats", "due": DUE, "priority": "high", "assignee": people.carol.pk,
                "assignee_name": "carol", "done": False, "done_at": None, "workflow": None}
    assert _without(body, *VOLATILE) == expected
    detail = tenant.client.get(f"/api/tasks/{body['id']}/")
    assert (detail.status_code, detail.json()) == (200, body)
    task = Task.objects.get(pk=body["id"])
    assert (task.workspace_id, task.created_by_id, task.assignee_id) == (tenant.workspace.pk, people.alice.pk,
                                                                          people.carol.pk)


@pytest.mark.django_db
def test_create_with_defaults(tenant: Tenant, people: People) -> None:
    body = _task(tenant, people.lead)
    assert _without(body, *VOLATILE) == {
        "lead": people.lead.pk, "lead_name": people.lead.name, "title": "Call back", "description": "",
        "due": None, "priority": "normal", "assignee": None, "assignee_name": None, "done": False,
        "done_at": None, "workflow": None}


@pytest.mark.django_db
def test_create_done_sets_done_at(tenant: Tenant, people: People) -> None:
    before = timezone.now()
    body = _task(tenant, people.lead, done=True)
    assert body["done"] is True and before <= _parse(body["done_at"]) <= timezone.now()


INVALID = [
    ("no-title", lambda p: {"lead": p.lead.pk}, lambda p: _field_invalid("title", "This field is required.")),
    ("blank-title", lambda p: {"lead": p.lead.pk, "title": ""},
     lambda p: _field_invalid("title", "This field may not be blank.")),
    ("long-title", lambda p: {"lead": p.lead.pk, "title": "x" * 201},
     lambda p: _field_invalid("title", "Ensure this field has no more than 200 characters.")),
    ("no-lead", lambda p: {"title": "Call"}, lambda p: _field_invalid("lead", "This field is required.")),
    ("their-lead", lambda p: {"lead": p.their_lead.pk, "title": "Call"}, lambda p: _no_such("lead", p.their_lead.pk)),
    ("missing-lead", lambda p: {"lead": p.their_lead.pk + 1000, "title": "Call"},
     lambda p: _no_such("lead", p.their_lead.pk + 1000)),
    ("assignee-outsider", lambda p: {"lead": p.lead.pk, "title": "Call", "assignee": p.dave.pk},
     lambda p: _no_such("assignee", p.dave.pk)),
    ("assignee-their-member", lambda p: {"lead": p.lead.pk, "title": "Call", "assignee": p.bob.pk},
     lambda p: _no_such("assignee", p.bob.pk)),
    ("bad-priority", lambda p: {"lead": p.lead.pk, "title": "Call", "priority": "whenever"},
     lambda p: _field_invalid("priority", '"whenever" is not a valid choice.')),
    ("bad-due", lambda p: {"lead": p.lead.pk, "title": "Call", "due": "tomorrow"},
     lambda p: _field_invalid("due", "Datetime has wrong format. Use one of these formats instead: "
                                     "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_tasks_are_400_naming_the_field(tenant: Tenant, people: People, body: Any, expected: Any) -> None:
    response = tenant.client.post("/api/tasks/", body(people), format="json")
    assert (response.status_code, response.json()) == (400, expected(people))
    assert not Task.objects.exists()


# --- update and delete -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_and_put_update(tenant: Tenant, people: People) -> None:
    created = _task(tenant, people.lead, assignee=people.carol.pk)
    path = f"/api/tasks/{created['id']}/"
    patched = tenant.client.patch(path, {"title": "Call on Monday", "priority": "urgent", "due": DUE,
                                         "assignee": people.alice.pk}, format="json")
    assert patched.status_code == 200
    assert _without(patched.json(), "updated_at") == {**_without(created, "updated_at"), "title": "Call on Monday",
                                                      "priority": "urgent", "due": DUE,
                                                      "assignee": people.alice.pk, "assignee_name": "alice"}
    assert tenant.client.get(path).json() == patched.json()
    assert tenant.client.patch(path, {"assignee": None}, format="json").status_code == 200
    put = tenant.client.put(path, {"lead": people.lead.pk, "title": "Replaced", "description": "All new"},
                            format="json")
    assert put.status_code == 200, put.content
    assert (put.json()["title"], put.json()["description"], put.json()["priority"]) == ("Replaced", "All new",
                                                                                       "urgent")
    task = Task.objects.get(pk=created["id"])
    assert (task.title, task.priority, task.assignee_id) == ("Replaced", "urgent", None)


@pytest.mark.django_db
def test_patch_answers_in_the_same_shape_without_an_assignee(tenant: Tenant, people: People) -> None:
    """assignee_name is null, not left out, in a PATCH answer as in every other one."""
    created = _task(tenant, people.lead, assignee=people.carol.pk)
    path = f"/api/tasks/{created['id']}/"
    unassigned = tenant.client.patch(path, {"assignee": None}, format="json")
    assert unassigned.status_code == 200
    expected = {**_without(created, "updated_at"), "assignee": None, "assignee_name": None}
    assert _without(tenant.client.get(path).json(), "updated_at") == expected
    assert _without(unassigned.json(), "updated_at") == expected
    unassigned_title = tenant.client.patch(path, {"title": "Still nobody"}, format="json")
    assert _without(unassigned_title.json(), "updated_at") == {**expected, "title": "Still nobody"}


@pytest.mark.django_db
def test_patch_cannot_move_the_task_or_set_read_only_fields(tenant: Tenant, people: People) -> None:
    created = _task(tenant, people.lead)
    path = f"/api/tasks/{created['id']}/"
    response = tenant.client.patch(path, {"lead": people.other_lead.pk, "done_at": "2020-01-01T00:00:00Z",
                                          "workflow": 1}, format="json")
    assert response.status_code == 200
    assert (response.json()["lead"], response.json()["done_at"], response.json()["workflow"]) == (
        people.lead.pk, None, None)
    assert Task.objects.get(pk=created["id"]).lead_id == people.lead.pk


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["dave", "bob"])
def test_patch_to_an_assignee_who_is_not_a_member_is_400(tenant: Tenant, people: People, who: str) -> None:
    created = _task(tenant, people.lead, assignee=people.carol.pk)
    user = getattr(people, who)
    response = tenant.client.patch(f"/api/tasks/{created['id']}/", {"assignee": user.pk}, format="json")
    assert (response.status_code, response.json()) == (400, _no_such("assignee", user.pk))
    assert Task.objects.get(pk=created["id"]).assignee_id == people.carol.pk


@pytest.mark.django_db
def test_a_member_who_leaves_can_no_longer_be_assigned(tenant: Tenant, people: People) -> None:
    people.carol.memberships.all().delete()
    response = tenant.client.post("/api/tasks/", {"lead": people.lead.pk, "title": "Call",
                                                  "assignee": people.carol.pk}, format="json")
    assert (response.status_code, response.json()) == (400, _no_such("assignee", people.carol.pk))


@pytest.mark.django_db
def test_done_sets_done_at_and_undone_clears_it(tenant: Tenant, people: People) -> None:
    created = _task(tenant, people.lead)
    path = f"/api/tasks/{created['id']}/"
    before = timezone.now()
    done = tenant.client.patch(path, {"done": True}, format="json").json()
    assert done["done"] is True and before <= _parse(done["done_at"]) <= timezone.now()
    assert Task.objects.get(pk=created["id"]).done_at == _parse(done["done_at"])
    # Saying it again keeps the first time; other edits keep it too.
    assert tenant.client.patch(path, {"done": True}, format="json").json()["done_at"] == done["done_at"]
    assert tenant.client.patch(path, {"title": "Called"}, format="json").json()["done_at"] == done["done_at"]
    undone = tenant.client.patch(path, {"done": False}, format="json").json()
    assert (undone["done"], undone["done_at"]) == (False, None)
    assert Task.objects.get(pk=created["id"]).done_at is None


@pytest.mark.django_db
def test_delete(tenant: Tenant, people: People) -> None:
    gone, kept = _task(tenant, people.lead), _task(tenant, people.lead, title="Keep")
    response = tenant.client.delete(f"/api/tasks/{gone['id']}/")
    assert (response.status_code, response.content) == (204, b"")
    for method in ("get", "patch", "delete"):
        again = getattr(tenant.client, method)(f"/api/tasks/{gone['id']}/", {}, format="json")
        assert (again.status_code, again.json()) == (404, NOT_FOUND)
    assert list(Task.objects.values_list("pk", flat=True)) == [kept["id"]]
    assert Lead.objects.filter(pk=people.lead.pk).exists()


# --- list and filters ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_open_first_by_due_and_filters(tenant: Tenant, people: People) -> None:
    late = _task(tenant, people.lead, title="Late", due="2030-05-01T00:00:00Z", assignee=people.carol.pk)
    soon = _task(tenant, people.other_lead, title="Soon", due="2030-01-01T00:00:00Z", priority="high")
    finished = _task(tenant, people.lead, title="Finished", due="2029-01-01T00:00:00Z", done=True,
                     assignee=people.carol.pk)
    listed = tenant.client.get("/api/tasks/").json()
    assert (listed["count"], [t["id"] for t in listed["results"]]) == (3, [soon["id"], late["id"], finished["id"]])
    assert _ids(tenant, "?done=true") == [finished["id"]]
    assert _ids(tenant, "?done=false") == [soon["id"], late["id"]]
    assert _ids(tenant, f"?assignee={people.carol.pk}") == [late["id"], finished["id"]]
    assert _ids(tenant, f"?assignee={people.carol.pk}&done=false") == [late["id"]]
    assert _ids(tenant, f"?lead={people.lead.pk}") == [late["id"], finished["id"]]
    assert _ids(tenant, f"?lead={people.other_lead.pk}") == [soon["id"]]
    assert _ids(tenant, "?priority=high") == [soon["id"]]
    assert _ids(tenant, "?search=finish") == [finished["id"]]
    assert _ids(tenant, "?ordering=-due") == [late["id"], soon["id"], finished["id"]]
    bad = tenant.client.get("/api/tasks/?priority=whenever")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and list(bad.json()["details"]) == ["priority"]


@pytest.mark.django_db
def test_list_queries_do_not_grow_with_rows(tenant: Tenant, people: People) -> None:
    _task(tenant, people.lead, assignee=people.carol.pk)
    with CaptureQueriesContext(connection) as few:
        assert tenant.client.get("/api/tasks/").status_code == 200
    for _ in range(5):
        _task(tenant, LeadFactory(workspace=tenant.workspace), assignee=people.alice.pk)
    with CaptureQueriesContext(connection) as many:
        assert tenant.client.get("/api/tasks/").json()["count"] == 6
    assert len(many) == len(few)
