"""Workflows over HTTP: every trigger and action saved with its config checked, the webhook signing
secret shown once, the Slack URL never shown whole, updates and deletes, statistics, manual runs,
and the /api/lead-qualification/workflows/ alias answering like the canonical path."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from leads.automation.triggers import (
    BAD_DIRECTION,
    BAD_EVERY,
    BAD_FIELD,
    BAD_INTENT,
    BAD_MIN_SCORE,
    BAD_STAGE,
    THRESHOLD_REQUIRED,
    UNKNOWN_KEYS,
)
from leads.integrations.webhooks import BAD_URL, PRIVATE_TARGET
from leads.models import Lead, Score, Workflow, WorkflowExecution
from leads.services.automations import (
    ACTION_CONFIG_REQUIRED,
    BAD_EMAIL,
    BAD_STATUS,
    MANUAL_ONLY,
    NOT_A_MEMBER,
    NOT_EDITABLE_FIELD,
    UNKNOWN_STAGE,
    UPDATABLE_FIELDS,
)
from leads.services.workspaces import workspace_member_ensure
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

VOLATILE = ("id", "created_at", "updated_at")
NOT_FOUND = {"error": "Not found.", "code": "not_found", "details": {}}
SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/s3cr3tT0k3n"
SLACK_MASKED = "https://hooks.slack.com/…0k3n"
HOOK_URL = "https://receiver.example.com/leadscore"
BASES = ["/api/workflows/", "/api/lead-qualification/workflows/"]


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in keys}


def _invalid(field: str, message: str) -> dict[str, Any]:
    """The envelope of a service's LeadsError naming one field."""
    return {"error": message, "code": "invalid", "details": {field: [message]}}


def _field_invalid(field: str, message: str) -> dict[str, Any]:
    """The envelope of a serializer field's error."""
    return {"error": f"Invalid input — {field}: {message}", "code": "invalid", "details": {field: [message]}}


def _shown(name: str, trigger_type: str, trigger_config: dict[str, Any], action_type: str,
           action_config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A workflow as the API shows it, without its id and timestamps."""
    return {"name": name, "trigger_type": trigger_type, "trigger_config": trigger_config, "offer": None,
            "action_type": action_type, "action_config": action_config, "is_active": True, "priority": 100,
            "has_signing_secret": False, "managed_by_alerts": "", "last_run_at": None, **extra}


def _create(tenant: Tenant, base: str = "/api/workflows/", **fields: Any) -> dict[str, Any]:
    body = {"name": "Tagger", "trigger_type": "manual", "action_type": "add_tag", "action_config": {"tag": "vip"},
            **fields}
    response = tenant.client.post(base, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _run(tenant: Tenant, workflow_id: int, lead_ids: list[int]) -> list[int]:
    response = tenant.client.post(f"/api/workflows/{workflow_id}/run/", {"lead_ids": lead_ids}, format="json")
    assert response.status_code == 202, response.content
    return response.json()["executions"]


def _closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on: a webhook there fails at once and is retried later."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Ctx:
    """The people and ids a case needs."""

    alice: int
    carol: int
    bob: int
    their_offer: int


@pytest.fixture
def ctx(tenant: Tenant, other_tenant: Tenant) -> Ctx:
    users = get_user_model().objects
    carol = workspace_member_ensure(workspace_name=tenant.workspace.name, username="carol").user
    users.create(username="dave")  # a user of no workspace
    # The default stages (mql, sql) come with the first look at them.
    assert tenant.client.get("/api/qualification-criteria/").status_code == 200
    return Ctx(alice=users.get(username="alice").pk, carol=carol.pk, bob=users.get(username="bob").pk,
               their_offer=OfferFactory(workspace=other_tenant.workspace).pk)


# --- create: every trigger and action -------------------------------------------------------------

TRIGGERS = [
    ("score_threshold", {"score": 75}, {"score": 75, "direction": "up"}),
    ("score_threshold", {"score": 40, "direction": "down"}, {"score": 40, "direction": "down"}),
    ("stage_change", {"stage": "sql"}, {"stage": "sql"}),
    ("stage_change", {}, {}),
    ("intent_change", {"intent": "High"}, {"intent": "High"}),
    ("field_update", {"field": "status", "value": "qualified"}, {"field": "status", "value": "qualified"}),
    ("scheduled", {"every_hours": 24, "min_score": 70, "stage": "sql"}, {"every_hours": 24, "min_score": 70,
                                                                         "stage": "sql"}),
    ("manual", {}, {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("trigger_type", "config", "saved"), TRIGGERS,
                         ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(TRIGGERS)])
def test_create_every_trigger(tenant: Tenant, trigger_type: str, config: dict[str, Any],
                              saved: dict[str, Any]) -> None:
    """Each trigger type is saved with its config and defaults, answered 201 with its Location."""
    response = tenant.client.post("/api/workflows/", {"name": "W", "trigger_type": trigger_type,
                                                      "trigger_config": config, "action_type": "add_tag",
                                                      "action_config": {"tag": "vip"}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"http://testserver/api/workflows/{body['id']}/"
    expected = _shown("W", trigger_type, saved, "add_tag", {"tag": "vip"})
    assert _without(body, *VOLATILE) == {**expected, "signing_secret": None}
    workflow = Workflow.objects.get(pk=body["id"])
    assert (workflow.workspace_id, workflow.trigger_config, workflow.created_by.username) == (
        tenant.workspace.pk, saved, "alice")
    detail = tenant.client.get(response["Location"])
    assert (detail.status_code, _without(detail.json(), *VOLATILE)) == (200, expected)


ACTIONS: list[tuple[str, str, Callable[[Ctx], dict[str, Any]], Callable[[Ctx], dict[str, Any]]]] = [
    ("webhook", "webhook", lambda c: {"url": HOOK_URL}, lambda c: {"url": HOOK_URL}),
    ("slack", "slack", lambda c: {"webhook_url": SLACK_URL, "title": "Hot lead"},
     lambda c: {"webhook_url": SLACK_MASKED, "title": "Hot lead"}),
    ("email-list", "send_email", lambda c: {"to": ["sales@example.com", "boss@example.com"], "subject": "{name}"},
     lambda c: {"to": ["sales@example.com", "boss@example.com"], "subject": "{name}"}),
    ("email-owner", "send_email", lambda c: {"to": "owner"}, lambda c: {"to": "owner"}),
    ("owner-by-name", "assign_owner", lambda c: {"user": "carol"}, lambda c: {"users": [c.carol]}),
    ("owner-round-robin", "assign_owner", lambda c: {"users": [c.alice, "carol"]},
     lambda c: {"users": [c.alice, c.carol]}),
    ("status", "change_status", lambda c: {"status": "working"}, lambda c: {"status": "working"}),
    ("task", "create_task", lambda c: {"title": "Call {name}", "due_in_days": 2, "priority": "high",
                                       "assignee": "carol"},
     lambda c: {"title": "Call {name}", "due_in_days": 2, "priority": "high", "assignee": c.carol}),
    ("task-owner", "create_task", lambda c: {"title": "Call", "assignee": "owner"},
     lambda c: {"title": "Call", "assignee": "owner"}),
    ("tag", "add_tag", lambda c: {"tag": "  hot  "}, lambda c: {"tag": "hot"}),
    ("stage", "move_to_stage", lambda c: {"stage": "sql"}, lambda c: {"stage": "sql"}),
    ("field", "update_field", lambda c: {"field": "industry", "value": "Fintech"},
     lambda c: {"field": "industry", "value": "Fintech"}),
    ("attribute", "update_field", lambda c: {"field": "attributes.budget", "value": "50k"},
     lambda c: {"field": "attributes.budget", "value": "50k"}),
    ("field-status", "update_field", lambda c: {"field": "status", "value": "qualified"},
     lambda c: {"field": "status", "value": "qualified"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action_type", "config", "shown"), [a[1:] for a in ACTIONS], ids=[a[0] for a in ACTIONS])
def test_create_every_action(tenant: Tenant, ctx: Ctx, action_type: str, config: Callable[[Ctx], dict[str, Any]],
                             shown: Callable[[Ctx], dict[str, Any]]) -> None:
    """Each action type is saved with its config cleaned (members by id), answered 201 with its Location."""
    response = tenant.client.post("/api/workflows/", {
        "name": "Act", "trigger_type": "score_threshold", "trigger_config": {"score": 80},
        "action_type": action_type, "action_config": config(ctx), "priority": 5}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"http://testserver/api/workflows/{body['id']}/"
    webhook = action_type == "webhook"
    expected = _shown("Act", "score_threshold", {"score": 80, "direction": "up"}, action_type, shown(ctx),
                      priority=5, has_signing_secret=webhook)
    assert _without(body, *VOLATILE, "signing_secret") == expected
    assert body["signing_secret"].startswith("whsec_") if webhook else body["signing_secret"] is None
    detail = tenant.client.get(response["Location"])
    assert (detail.status_code, _without(detail.json(), *VOLATILE)) == (200, expected)


@pytest.mark.django_db
def test_create_with_own_offer_and_inactive(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    body = _create(tenant, offer=offer.pk, is_active=False, priority=-3)
    assert _without(body, *VOLATILE, "signing_secret") == _shown(
        "Tagger", "manual", {}, "add_tag", {"tag": "vip"}, offer=offer.pk, is_active=False, priority=-3)


@pytest.mark.django_db
def test_move_to_stage_accepts_the_default_stages_of_a_new_workspace(tenant: Tenant) -> None:
    """A workspace starts with the stages mql and sql, even before anyone has listed them."""
    response = tenant.client.post("/api/workflows/", {"name": "To SQL", "trigger_type": "manual",
                                                      "action_type": "move_to_stage",
                                                      "action_config": {"stage": "sql"}}, format="json")
    assert response.status_code == 201, response.content
    stages = tenant.client.get("/api/qualification-criteria/").json()["results"]
    assert [s["stage"] for s in stages] == ["mql", "sql"]


# --- the signing secret and the Slack URL ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_webhook_secret_is_shown_once_and_rotates(tenant: Tenant, base: str) -> None:
    created = _create(tenant, base, name="Hook", action_type="webhook", action_config={"url": HOOK_URL})
    secret = created["signing_secret"]
    assert secret.startswith("whsec_") and len(secret) > len("whsec_") + 20
    assert Workflow.objects.get(pk=created["id"]).secret == secret
    detail = tenant.client.get(f"{base}{created['id']}/").json()
    listed = tenant.client.get(base).json()["results"]
    patched = tenant.client.patch(f"{base}{created['id']}/", {"name": "Hook 2"}, format="json").json()
    for shown in (detail, *listed, patched):
        assert "signing_secret" not in shown
        assert shown["has_signing_secret"] is True
        assert secret not in str(shown)

    rotated = tenant.client.post(f"{base}{created['id']}/rotate_secret/")
    assert rotated.status_code == 200
    new_secret = rotated.json()["signing_secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret
    assert _without(rotated.json(), "updated_at", "signing_secret") == _without(patched, "updated_at")
    assert Workflow.objects.get(pk=created["id"]).secret == new_secret
    again = tenant.client.get(f"{base}{created['id']}/").json()
    assert "signing_secret" not in again and new_secret not in str(again)


@pytest.mark.django_db
def test_slack_url_is_masked_in_every_answer(tenant: Tenant) -> None:
    created = tenant.client.post("/api/workflows/", {
        "name": "Ping", "trigger_type": "manual", "action_type": "slack",
        "action_config": {"webhook_url": SLACK_URL}}, format="json")
    assert created.status_code == 201
    workflow_id = created.json()["id"]
    answers = [created,
               tenant.client.get(f"/api/workflows/{workflow_id}/"),
               tenant.client.get("/api/workflows/"),
               tenant.client.get("/api/lead-qualification/workflows/"),
               tenant.client.get(f"/api/lead-qualification/workflows/{workflow_id}/"),
               tenant.client.patch(f"/api/workflows/{workflow_id}/", {"priority": 1}, format="json")]
    for answer in answers:
        assert answer.status_code in (200, 201)
        assert SLACK_URL.encode() not in answer.content and b"s3cr3t" not in answer.content
    assert created.json()["action_config"] == {"webhook_url": SLACK_MASKED}
    assert answers[2].json()["results"][0]["action_config"] == {"webhook_url": SLACK_MASKED}
    # Stored whole: the delivery needs it.
    assert Workflow.objects.get(pk=workflow_id).action_config == {"webhook_url": SLACK_URL}
    # A Slack workflow signs nothing: there is no secret to rotate.
    rotate = tenant.client.post(f"/api/workflows/{workflow_id}/rotate_secret/")
    assert (rotate.status_code, rotate.json()["code"]) == (409, "not_webhook")
    assert SLACK_URL.encode() not in rotate.content


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["patch", "put"])
def test_sending_back_the_masked_slack_url_never_replaces_the_real_one(tenant: Tenant, method: str) -> None:
    """A client that saves what it was shown (the masked URL) must not break the delivery: the
    stored URL stays the real one (or the masked value is refused), never becomes the mask."""
    created = tenant.client.post("/api/workflows/", {
        "name": "Ping", "trigger_type": "manual", "action_type": "slack",
        "action_config": {"webhook_url": SLACK_URL, "title": "Hot"}}, format="json")
    assert created.status_code == 201
    shown = tenant.client.get(f"/api/workflows/{created.json()['id']}/").json()
    edited = {key: shown[key] for key in ("name", "trigger_type", "trigger_config", "action_type", "action_config")}
    response = getattr(tenant.client, method)(f"/api/workflows/{shown['id']}/",
                                              {**edited, "name": "Ping renamed"}, format="json")
    assert response.status_code in (200, 400), response.content
    assert Workflow.objects.get(pk=shown["id"]).action_config["webhook_url"] == SLACK_URL


# --- validation ------------------------------------------------------------------------------------

Case = Callable[[Ctx], tuple[dict[str, Any], dict[str, Any]]]


def _threshold(config: dict[str, Any]) -> dict[str, Any]:
    return {"trigger_type": "score_threshold", "trigger_config": config}


def _action(action_type: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"action_type": action_type, "action_config": config}


INVALID: list[tuple[str, Case]] = [
    ("threshold-above-100", lambda c: (_threshold({"score": 101}), _invalid("trigger_config", THRESHOLD_REQUIRED))),
    ("threshold-below-0", lambda c: (_threshold({"score": -1}), _invalid("trigger_config", THRESHOLD_REQUIRED))),
    ("threshold-missing", lambda c: (_threshold({}), _invalid("trigger_config", THRESHOLD_REQUIRED))),
    ("threshold-no-config", lambda c: ({"trigger_type": "score_threshold"},
                                       _invalid("trigger_config", THRESHOLD_REQUIRED))),
    ("threshold-text", lambda c: (_threshold({"score": "75"}), _invalid("trigger_config", THRESHOLD_REQUIRED))),
    ("threshold-bool", lambda c: (_threshold({"score": True}), _invalid("trigger_config", THRESHOLD_REQUIRED))),
    ("threshold-fraction", lambda c: (_threshold({"score": 75.5}), _invalid("trigger_config", THRESHOLD_REQUIRED))),
    ("bad-direction", lambda c: (_threshold({"score": 75, "direction": "sideways"}),
                                 _invalid("trigger_config", BAD_DIRECTION))),
    ("unknown-threshold-key", lambda c: (_threshold({"score": 75, "colour": "red"}), _invalid(
        "trigger_config", UNKNOWN_KEYS.format(trigger="score_threshold", keys="colour")))),
    ("unknown-manual-keys", lambda c: ({"trigger_type": "manual", "trigger_config": {"when": 1, "at": 2}}, _invalid(
        "trigger_config", UNKNOWN_KEYS.format(trigger="manual", keys="at, when")))),
    ("bad-stage-trigger", lambda c: ({"trigger_type": "stage_change", "trigger_config": {"stage": " "}},
                                     _invalid("trigger_config", BAD_STAGE))),
    ("bad-intent", lambda c: ({"trigger_type": "intent_change", "trigger_config": {"intent": "Hot"}},
                              _invalid("trigger_config", BAD_INTENT))),
    ("bad-field-trigger", lambda c: ({"trigger_type": "field_update", "trigger_config": {"field": "password"}},
                                     _invalid("trigger_config", BAD_FIELD))),
    ("scheduled-without-period", lambda c: ({"trigger_type": "scheduled", "trigger_config": {}},
                                            _invalid("trigger_config", BAD_EVERY))),
    ("scheduled-bad-min", lambda c: ({"trigger_type": "scheduled", "trigger_config": {"every_hours": 1,
                                                                                      "min_score": 200}},
                                     _invalid("trigger_config", BAD_MIN_SCORE))),
    ("unknown-trigger-type", lambda c: ({"trigger_type": "moon_phase"}, _field_invalid(
        "trigger_type", '"moon_phase" is not a valid choice.'))),
    ("unknown-action-type", lambda c: (_action("fax", {}), _field_invalid("action_type",
                                                                          '"fax" is not a valid choice.'))),
    ("slack-without-url", lambda c: (_action("slack", {"title": "Hot"}), _invalid(
        "action_config", ACTION_CONFIG_REQUIRED.format(action="slack",
                                                       needs='{"webhook_url": "https://hooks.slack.com/…"}')))),
    ("webhook-without-url", lambda c: (_action("webhook", {}), _invalid(
        "action_config", ACTION_CONFIG_REQUIRED.format(action="webhook", needs='{"url": "https://…"}')))),
    ("webhook-not-http", lambda c: (_action("webhook", {"url": "ftp://example.com/x"}),
                                    _invalid("action_config", BAD_URL))),
    ("email-bad-address", lambda c: (_action("send_email", {"to": ["sales@example.com", "not-an-email"]}),
                                     _invalid("action_config", BAD_EMAIL.format(email="not-an-email")))),
    ("email-no-recipient", lambda c: (_action("send_email", {"to": []}), _invalid(
        "action_config", ACTION_CONFIG_REQUIRED.format(
            action="send_email", needs='{"to": ["name@example.com", …]} (up to 20) or {"to": "owner"}')))),
    ("owner-no-workspace", lambda c: (_action("assign_owner", {"user": "dave"}),
                                      _invalid("action_config", NOT_A_MEMBER.format(user="dave")))),
    ("owner-other-workspace-id", lambda c: (_action("assign_owner", {"user": c.bob}),
                                            _invalid("action_config", NOT_A_MEMBER.format(user=c.bob)))),
    ("owner-other-workspace-name", lambda c: (_action("assign_owner", {"users": ["carol", "bob"]}),
                                              _invalid("action_config", NOT_A_MEMBER.format(user="bob")))),
    ("owner-nobody", lambda c: (_action("assign_owner", {}), _invalid(
        "action_config", ACTION_CONFIG_REQUIRED.format(
            action="assign_owner", needs='{"user": <username or id>} or {"users": [...]} (round robin)')))),
    ("unknown-status", lambda c: (_action("change_status", {"status": "won"}),
                                  _invalid("action_config", BAD_STATUS))),
    ("task-without-title", lambda c: (_action("create_task", {"description": "x"}),
                                      _invalid("action_config", "title is required."))),
    ("task-assignee-outsider", lambda c: (_action("create_task", {"title": "Call", "assignee": c.bob}),
                                          _invalid("action_config", NOT_A_MEMBER.format(user=c.bob)))),
    ("tag-blank", lambda c: (_action("add_tag", {"tag": " "}), _invalid(
        "action_config", ACTION_CONFIG_REQUIRED.format(action="add_tag",
                                                       needs='{"tag": a text of up to 50 characters}')))),
    ("unknown-stage", lambda c: (_action("move_to_stage", {"stage": "vip"}),
                                 _invalid("action_config", UNKNOWN_STAGE.format(stage="vip", stages="mql, sql")))),
    ("field-not-editable", lambda c: (_action("update_field", {"field": "email", "value": "x@example.com"}), _invalid(
        "action_config", NOT_EDITABLE_FIELD.format(fields=", ".join(UPDATABLE_FIELDS))))),
    ("field-bad-status", lambda c: (_action("update_field", {"field": "status", "value": "won"}),
                                    _invalid("action_config", BAD_STATUS))),
    ("their-offer", lambda c: ({"offer": c.their_offer}, _field_invalid(
        "offer", f'Invalid pk "{c.their_offer}" - object does not exist.'))),
    ("no-name", lambda c: ({"name": ""}, _field_invalid("name", "This field may not be blank."))),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", [c for _, c in INVALID], ids=[i for i, _ in INVALID])
def test_invalid_workflows_are_400_naming_the_field(tenant: Tenant, ctx: Ctx, case: Case) -> None:
    overrides, expected = case(ctx)
    body = {"name": "Bad", "trigger_type": "manual", "action_type": "add_tag", "action_config": {"tag": "x"},
            **overrides}
    response = tenant.client.post("/api/workflows/", body, format="json")
    assert (response.status_code, response.json()) == (400, expected)
    assert not Workflow.objects.exists()


PRIVATE = [
    ("webhook", {"url": "http://10.0.0.5/hook"}, "10.0.0.5"),
    ("webhook", {"url": "http://localhost/hook"}, "localhost"),
    ("webhook", {"url": "http://127.0.0.1:8080/hook"}, "127.0.0.1"),
    ("webhook", {"url": "http://[::1]/hook"}, "::1"),
    ("slack", {"webhook_url": "http://192.168.1.20/services/x"}, "192.168.1.20"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("action_type", "config", "host"), PRIVATE, ids=[p[2] for p in PRIVATE])
def test_private_targets_are_refused_unless_allowed(tenant: Tenant, settings: Any, action_type: str,
                                                    config: dict[str, Any], host: str) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    body = {"name": "Inside", "trigger_type": "manual", "action_type": action_type, "action_config": config}
    response = tenant.client.post("/api/workflows/", body, format="json")
    assert (response.status_code, response.json()) == (400, _invalid("action_config",
                                                                     PRIVATE_TARGET.format(host=host)))
    # Nor can an existing workflow be pointed there.
    public = _create(tenant, name="Out", action_type="webhook", action_config={"url": HOOK_URL})
    moved = tenant.client.patch(f"/api/workflows/{public['id']}/", {"action_type": action_type,
                                                                    "action_config": config}, format="json")
    assert (moved.status_code, moved.json()) == (400, _invalid("action_config", PRIVATE_TARGET.format(host=host)))
    assert Workflow.objects.get(pk=public["id"]).action_config == {"url": HOOK_URL}
    # The test suites' own receivers on 127.0.0.1 are fine once the setting allows them.
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert tenant.client.post("/api/workflows/", body, format="json").status_code == 201


# --- update and delete -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_updates_and_validates_against_what_is_saved(tenant: Tenant) -> None:
    created = _create(tenant, trigger_type="score_threshold", trigger_config={"score": 70})
    path = f"/api/workflows/{created['id']}/"
    patched = tenant.client.patch(path, {"name": "Renamed", "trigger_config": {"score": 90, "direction": "down"},
                                         "is_active": False, "priority": 7}, format="json")
    assert patched.status_code == 200
    expected = _shown("Renamed", "score_threshold", {"score": 90, "direction": "down"}, "add_tag", {"tag": "vip"},
                      is_active=False, priority=7)
    assert _without(patched.json(), *VOLATILE) == expected
    assert patched.json()["id"] == created["id"]
    assert _without(tenant.client.get(path).json(), *VOLATILE) == expected
    workflow = Workflow.objects.get(pk=created["id"])
    assert (workflow.name, workflow.trigger_config, workflow.is_active) == ("Renamed", {"score": 90,
                                                                                       "direction": "down"}, False)

    # A manual trigger keeps no threshold: switching to it with the old config is refused...
    switched = tenant.client.patch(path, {"trigger_type": "manual"}, format="json")
    assert (switched.status_code, switched.json()) == (400, _invalid("trigger_config", UNKNOWN_KEYS.format(
        trigger="manual", keys="direction, score")))
    # ...and an action change is checked like a new one.
    bad_action = tenant.client.patch(path, {"action_type": "change_status"}, format="json")
    assert (bad_action.status_code, bad_action.json()) == (400, _invalid("action_config", BAD_STATUS))
    out_of_range = tenant.client.patch(path, {"trigger_config": {"score": 150}}, format="json")
    assert (out_of_range.status_code, out_of_range.json()) == (400, _invalid("trigger_config", THRESHOLD_REQUIRED))
    workflow.refresh_from_db()
    assert (workflow.trigger_type, workflow.trigger_config, workflow.action_type) == (
        "score_threshold", {"score": 90, "direction": "down"}, "add_tag")

    # PUT replaces the whole definition; a webhook gets its secret.
    put = tenant.client.put(path, {"name": "Hook", "trigger_type": "manual", "trigger_config": {},
                                   "action_type": "webhook", "action_config": {"url": HOOK_URL}}, format="json")
    assert put.status_code == 200, put.content
    assert _without(put.json(), *VOLATILE) == _shown("Hook", "manual", {}, "webhook", {"url": HOOK_URL},
                                                     is_active=False, priority=7, has_signing_secret=True)
    assert Workflow.objects.get(pk=created["id"]).secret.startswith("whsec_")


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_delete_removes_the_workflow_and_its_executions(tenant: Tenant, base: str) -> None:
    created = _create(tenant, base)
    lead = LeadFactory(workspace=tenant.workspace)
    _run(tenant, created["id"], [lead.pk])
    keep = _create(tenant, base, name="Keep")
    deleted = tenant.client.delete(f"{base}{created['id']}/")
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = tenant.client.get(f"{base}{created['id']}/")
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    again = tenant.client.delete(f"{base}{created['id']}/")
    assert (again.status_code, again.json()) == (404, NOT_FOUND)
    assert list(Workflow.objects.values_list("pk", flat=True)) == [keep["id"]]
    assert not WorkflowExecution.objects.exists()
    assert Lead.objects.filter(pk=lead.pk).exists()


# --- list ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_orders_filters_and_its_queries_do_not_grow(tenant: Tenant) -> None:
    late = _create(tenant, name="Late", priority=50)
    early = _create(tenant, name="Early hook", priority=1, action_type="webhook", action_config={"url": HOOK_URL})
    off = _create(tenant, name="Off", priority=50, is_active=False, trigger_type="score_threshold",
                  trigger_config={"score": 10})
    listed = tenant.client.get("/api/workflows/").json()
    assert (listed["count"], [w["id"] for w in listed["results"]]) == (3, [early["id"], late["id"], off["id"]])
    assert [w["id"] for w in tenant.client.get("/api/workflows/?is_active=false").json()["results"]] == [off["id"]]
    assert [w["id"] for w in tenant.client.get("/api/workflows/?action_type=webhook").json()["results"]] == [
        early["id"]]
    assert [w["id"] for w in tenant.client.get("/api/workflows/?trigger_type=score_threshold").json()[
        "results"]] == [off["id"]]
    assert [w["id"] for w in tenant.client.get("/api/workflows/?search=early").json()["results"]] == [early["id"]]
    bad = tenant.client.get("/api/workflows/?trigger_type=moon")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "trigger_type" in bad.json()["details"]

    with CaptureQueriesContext(connection) as few:
        assert tenant.client.get("/api/workflows/").status_code == 200
    for i in range(5):
        _create(tenant, name=f"More {i}", offer=OfferFactory(workspace=tenant.workspace).pk)
    with CaptureQueriesContext(connection) as many:
        assert tenant.client.get("/api/workflows/").json()["count"] == 8
    assert len(many) == len(few)


# --- statistics ------------------------------------------------------------------------------------

ZERO_STATS = {"total": 0, "active": 0, "executions": 0, "succeeded": 0, "failed": 0, "pending": 0}


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_statistics_count_workflows_and_executions_by_outcome(tenant: Tenant, other_tenant: Tenant,
                                                              base: str) -> None:
    assert tenant.client.get(f"{base}statistics/").json() == ZERO_STATS
    leads = [LeadFactory(workspace=tenant.workspace).pk for _ in range(3)]
    tagger = _create(tenant)
    assert tenant.client.get("/api/qualification-criteria/").status_code == 200
    # No lead has a score, so there is no stage to move: fails without a retry.
    mover = _create(tenant, name="Mover", action_type="move_to_stage", action_config={"stage": "sql"})
    # Nobody listens there: the first attempt fails and waits for its retry (pending).
    hook = _create(tenant, name="Hook", action_type="webhook",
                   action_config={"url": f"http://127.0.0.1:{_closed_port()}/hook"})
    _create(tenant, name="Off", is_active=False)
    _run(tenant, tagger["id"], leads)
    _run(tenant, mover["id"], leads[:2])
    _run(tenant, hook["id"], leads[:1])
    # Another workspace's rows never count.
    theirs = _create(other_tenant)
    _run(other_tenant, theirs["id"], [LeadFactory(workspace=other_tenant.workspace).pk])

    response = tenant.client.get(f"{base}statistics/")
    assert response.status_code == 200
    assert response.json() == {"total": 4, "active": 3, "executions": 6, "succeeded": 3, "failed": 2, "pending": 1}
    by_status = dict(WorkflowExecution.objects.filter(workspace=tenant.workspace).values_list("workflow", "status"))
    assert by_status == {tagger["id"]: "succeeded", mover["id"]: "failed", hook["id"]: "pending"}
    assert other_tenant.client.get(f"{base}statistics/").json() == {**ZERO_STATS, "total": 1, "active": 1,
                                                                    "executions": 1, "succeeded": 1}
    # Deactivating one and deleting another moves the counts.
    assert tenant.client.patch(f"{base}{hook['id']}/", {"is_active": False}, format="json").status_code == 200
    assert tenant.client.delete(f"{base}{mover['id']}/").status_code == 204
    assert tenant.client.get(f"{base}statistics/").json() == {"total": 3, "active": 1, "executions": 4,
                                                              "succeeded": 3, "failed": 0, "pending": 1}


# --- manual runs -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_run_a_manual_workflow_acts_on_each_lead(tenant: Tenant, base: str) -> None:
    workflow = _create(tenant, base, action_config={"tag": "vip"})
    first, second = (LeadFactory(workspace=tenant.workspace, tags=["old"]), LeadFactory(workspace=tenant.workspace))
    response = tenant.client.post(f"{base}{workflow['id']}/run/", {"lead_ids": [first.pk, second.pk]},
                                  format="json")
    assert response.status_code == 202
    ids = response.json()["executions"]
    assert response.json() == {"executions": ids} and len(ids) == 2
    executions = WorkflowExecution.objects.filter(pk__in=ids)
    assert sorted(executions.values_list("lead_id", "status", "attempts", "response")) == sorted([
        (first.pk, "succeeded", 1, "tag vip added"), (second.pk, "succeeded", 1, "tag vip added")])
    assert tenant.client.get(f"/api/leads/{first.pk}/").json()["tags"] == ["old", "vip"]
    assert tenant.client.get(f"/api/leads/{second.pk}/").json()["tags"] == ["vip"]
    # A second run is a new run (new executions); the tag is not added twice.
    again = tenant.client.post(f"{base}{workflow['id']}/run/", {"lead_ids": [first.pk]}, format="json")
    assert again.status_code == 202 and set(again.json()["executions"]).isdisjoint(ids)
    assert WorkflowExecution.objects.get(pk=again.json()["executions"][0]).response == "tag already there"
    assert Lead.objects.get(pk=first.pk).tags == ["old", "vip"]


@pytest.mark.django_db
def test_run_changes_status_and_creates_tasks(tenant: Tenant, ctx: Ctx) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    status = _create(tenant, name="Work it", action_type="change_status", action_config={"status": "working"})
    task = _create(tenant, name="Call", action_type="create_task",
                   action_config={"title": "Call {name}", "assignee": "carol", "priority": "urgent"})
    _run(tenant, status["id"], [lead.pk])
    _run(tenant, task["id"], [lead.pk])
    assert tenant.client.get(f"/api/leads/{lead.pk}/").json()["status"] == "working"
    tasks = tenant.client.get(f"/api/tasks/?lead={lead.pk}").json()["results"]
    assert [(t["title"], t["assignee"], t["priority"], t["workflow"]) for t in tasks] == [
        (f"Call {lead.name}", ctx.carol, "urgent", task["id"])]


@pytest.mark.django_db
def test_run_updates_fields_sends_email_and_assigns_round_robin(tenant: Tenant, ctx: Ctx) -> None:
    first, second = LeadFactory(workspace=tenant.workspace), LeadFactory(workspace=tenant.workspace)
    industry = _create(tenant, name="Fintech", action_type="update_field",
                       action_config={"field": "industry", "value": "Fintech"})
    budget = _create(tenant, name="Budget", action_type="update_field",
                     action_config={"field": "attributes.budget", "value": "50k"})
    email = _create(tenant, name="Mail", action_type="send_email",
                    action_config={"to": ["sales@example.com"], "subject": "Look at {name}"})
    owners = _create(tenant, name="Owners", action_type="assign_owner", action_config={"users": ["alice", "carol"]})
    for workflow in (industry, budget, email, owners):
        _run(tenant, workflow["id"], [first.pk, second.pk])
    assert dict(WorkflowExecution.objects.values_list("status").annotate(n=Count("id"))) == {"succeeded": 8}
    shown = [tenant.client.get(f"/api/leads/{lead.pk}/").json() for lead in (first, second)]
    assert [(s["industry"], s["attributes"].get("budget")) for s in shown] == [("Fintech", "50k")] * 2
    assert sorted(s["owner_name"] for s in shown) == ["alice", "carol"]
    assert sorted(m.subject for m in mail.outbox) == sorted([f"Look at {first.name}", f"Look at {second.name}"])
    assert {tuple(m.to) for m in mail.outbox} == {("sales@example.com",)}


@pytest.mark.django_db
def test_run_moves_a_scored_lead_to_a_stage(tenant: Tenant, ctx: Ctx) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    lead = LeadFactory(workspace=tenant.workspace, role="Marketing Intern", industry="Retail", linkedin_bio="")
    scored = tenant.client.post("/api/lead-scores/calculate/", {"lead_id": lead.pk, "offer": offer.pk},
                                format="json")
    assert scored.status_code == 200, scored.content
    assert scored.json()["qualification_stage"] != "sql"
    mover = _create(tenant, name="To SQL", action_type="move_to_stage", action_config={"stage": "sql"})
    response = tenant.client.post(f"/api/workflows/{mover['id']}/run/", {"lead_ids": [lead.pk], "offer": offer.pk},
                                  format="json")
    assert response.status_code == 202
    execution = WorkflowExecution.objects.get(pk=response.json()["executions"][0])
    assert (execution.status, execution.offer_id, execution.response) == ("succeeded", offer.pk, "stage set to sql")
    assert Score.objects.get(lead=lead, offer=offer, is_current=True).stage == "sql"


@pytest.mark.django_db
def test_run_with_unknown_leads_is_400_naming_them(tenant: Tenant, other_tenant: Tenant) -> None:
    workflow = _create(tenant)
    mine = LeadFactory(workspace=tenant.workspace)
    theirs = LeadFactory(workspace=other_tenant.workspace)
    missing = theirs.pk + 1000
    response = tenant.client.post(f"/api/workflows/{workflow['id']}/run/",
                                  {"lead_ids": [mine.pk, missing, theirs.pk]}, format="json")
    assert (response.status_code, response.json()) == (400, {
        "error": "2 lead id(s) do not exist.", "code": "unknown_leads", "details": {"lead_ids": [theirs.pk,
                                                                                                missing]}})
    for body, details in (({"lead_ids": []}, {"lead_ids": ["This list may not be empty."]}),
                          ({}, {"lead_ids": ["This field is required."]}),
                          ({"lead_ids": ["x"]}, {"lead_ids": {"0": ["A valid integer is required."]}})):
        bad = tenant.client.post(f"/api/workflows/{workflow['id']}/run/", body, format="json")
        assert (bad.status_code, bad.json()["code"], bad.json()["details"]) == (400, "invalid", details)
    assert not WorkflowExecution.objects.exists()
    assert Lead.objects.get(pk=theirs.pk).tags == []


@pytest.mark.django_db
@pytest.mark.parametrize(("trigger_type", "config"), [t[:2] for t in TRIGGERS if t[0] != "manual"],
                         ids=[f"{t[0]}-{i}" for i, t in enumerate(TRIGGERS) if t[0] != "manual"])
def test_run_of_a_workflow_that_is_not_manual_is_409(tenant: Tenant, trigger_type: str,
                                                     config: dict[str, Any]) -> None:
    workflow = _create(tenant, trigger_type=trigger_type, trigger_config=config)
    lead = LeadFactory(workspace=tenant.workspace)
    response = tenant.client.post(f"/api/workflows/{workflow['id']}/run/", {"lead_ids": [lead.pk]}, format="json")
    assert (response.status_code, response.json()) == (409, {
        "error": MANUAL_ONLY.format(trigger=trigger_type), "code": "not_manual", "details": {}})
    assert not WorkflowExecution.objects.exists()
    assert Lead.objects.get(pk=lead.pk).tags == []


@pytest.mark.django_db
def test_run_of_a_missing_workflow_is_404(tenant: Tenant) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    for base in BASES:
        response = tenant.client.post(f"{base}987654/run/", {"lead_ids": [lead.pk]}, format="json")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)
        rotate = tenant.client.post(f"{base}987654/rotate_secret/")
        assert (rotate.status_code, rotate.json()) == (404, NOT_FOUND)
