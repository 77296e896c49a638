"""Hot-lead alert settings over HTTP: the defaults, the two Slack workflows they manage (hot and warm
crossings, visible in /api/workflows/), the Slack URL write-only and shown masked, the checks
(warm below hot, Slack needs a URL, the URL a public http(s) address), and switching off."""

from __future__ import annotations

from typing import Any

import pytest

from leads.integrations.webhooks import BAD_URL, PRIVATE_TARGET
from leads.models import AlertConfig, Workflow
from leads.services.automations import ALERT_NEEDS_URL, ALERT_ORDER
from leads.tests.conftest import Tenant

PATH = "/api/alerts/config/"
SLACK_URL = "https://hooks.slack.com/services/T0001/B0001/s3cr3tT0k3n"
SLACK_MASKED = "https://hooks.slack.com/…0k3n"
OTHER_URL = "https://hooks.slack.com/services/T0002/B0002/an0therOne"
DEFAULTS = {"hot_threshold": 80, "warm_threshold": 60, "enable_slack": False, "slack_webhook": ""}


def _invalid(field: str, message: str) -> dict[str, Any]:
    return {"error": message, "code": "invalid", "details": {field: [message]}}


def _field_invalid(field: str, message: str) -> dict[str, Any]:
    return {"error": f"Invalid input — {field}: {message}", "code": "invalid", "details": {field: [message]}}


def _settings(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {*DEFAULTS, "updated_at"}
    return {key: value for key, value in body.items() if key != "updated_at"}


def _post(tenant: Tenant, body: dict[str, Any]) -> Any:
    return tenant.client.post(PATH, body, format="json")


def _managed(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """The alert workflows as /api/workflows/ lists them, by kind."""
    response = tenant.client.get("/api/workflows/")
    assert response.status_code == 200
    return {w["managed_by_alerts"]: w for w in response.json()["results"] if w["managed_by_alerts"]}


def _workflow(kind: str, threshold: int, *, active: bool, title: str) -> dict[str, Any]:
    return {"name": f"{title} alert (alert settings)", "trigger_type": "score_threshold",
            "trigger_config": {"score": threshold, "direction": "up"}, "offer": None, "action_type": "slack",
            "action_config": {"webhook_url": SLACK_MASKED, "title": title}, "is_active": active, "priority": 10,
            "has_signing_secret": False, "managed_by_alerts": kind, "last_run_at": None}


def _shape(workflow: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in workflow.items() if key not in ("id", "created_at", "updated_at")}


@pytest.mark.django_db
def test_defaults(tenant: Tenant) -> None:
    assert _settings(tenant.client.get(PATH)) == DEFAULTS
    assert _managed(tenant) == {}


@pytest.mark.django_db
def test_enabling_slack_creates_the_two_managed_workflows(tenant: Tenant) -> None:
    response = _post(tenant, {"enable_slack": True, "slack_webhook_url": SLACK_URL})
    assert _settings(response) == {**DEFAULTS, "enable_slack": True, "slack_webhook": SLACK_MASKED}
    assert _settings(tenant.client.get(PATH)) == {**DEFAULTS, "enable_slack": True, "slack_webhook": SLACK_MASKED}
    managed = _managed(tenant)
    assert {kind: _shape(w) for kind, w in managed.items()} == {
        "hot": _workflow("hot", 80, active=True, title="Hot lead"),
        "warm": _workflow("warm", 60, active=True, title="Warm lead")}
    # The URL is stored whole for the delivery, and never answered whole.
    config = AlertConfig.objects.get(workspace=tenant.workspace)
    assert config.slack_webhook_url == SLACK_URL
    assert Workflow.objects.get(pk=managed["hot"]["id"]).action_config["webhook_url"] == SLACK_URL
    for answer in (response, tenant.client.get(PATH), tenant.client.get("/api/workflows/"),
                   tenant.client.get(f"/api/workflows/{managed['warm']['id']}/"),
                   tenant.client.get("/api/lead-qualification/workflows/")):
        assert b"s3cr3t" not in answer.content
    assert "slack_webhook_url" not in response.json()
    assert tenant.client.get("/api/workflows/statistics/").json()["active"] == 2


@pytest.mark.django_db
def test_changing_thresholds_and_url_updates_the_same_workflows(tenant: Tenant) -> None:
    assert _post(tenant, {"enable_slack": True, "slack_webhook_url": SLACK_URL}).status_code == 200
    ids = {kind: w["id"] for kind, w in _managed(tenant).items()}
    response = _post(tenant, {"hot_threshold": 90, "warm_threshold": 75})
    assert _settings(response) == {"hot_threshold": 90, "warm_threshold": 75, "enable_slack": True,
                                   "slack_webhook": SLACK_MASKED}
    managed = _managed(tenant)
    assert {kind: w["id"] for kind, w in managed.items()} == ids
    assert (managed["hot"]["trigger_config"], managed["warm"]["trigger_config"]) == (
        {"score": 90, "direction": "up"}, {"score": 75, "direction": "up"})
    assert _settings(_post(tenant, {"slack_webhook_url": OTHER_URL}))["slack_webhook"] == \
        "https://hooks.slack.com/…rOne"
    assert {w.action_config["webhook_url"] for w in Workflow.objects.filter(pk__in=ids.values())} == {OTHER_URL}
    assert Workflow.objects.count() == 2


@pytest.mark.django_db
def test_disabling_deactivates_them_and_enabling_again_reuses_them(tenant: Tenant) -> None:
    assert _post(tenant, {"enable_slack": True, "slack_webhook_url": SLACK_URL}).status_code == 200
    ids = {kind: w["id"] for kind, w in _managed(tenant).items()}
    off = _post(tenant, {"enable_slack": False})
    assert _settings(off) == {**DEFAULTS, "slack_webhook": SLACK_MASKED}
    managed = _managed(tenant)
    assert {kind: (w["id"], w["is_active"]) for kind, w in managed.items()} == {"hot": (ids["hot"], False),
                                                                                 "warm": (ids["warm"], False)}
    assert tenant.client.get("/api/workflows/statistics/").json()["active"] == 0
    on = _post(tenant, {"enable_slack": True})
    assert _settings(on)["enable_slack"] is True
    assert {kind: (w["id"], w["is_active"]) for kind, w in _managed(tenant).items()} == {
        "hot": (ids["hot"], True), "warm": (ids["warm"], True)}
    assert Workflow.objects.count() == 2


@pytest.mark.django_db
def test_thresholds_without_slack_make_no_workflows(tenant: Tenant) -> None:
    response = _post(tenant, {"hot_threshold": 85, "warm_threshold": 50, "slack_webhook_url": SLACK_URL})
    assert _settings(response) == {"hot_threshold": 85, "warm_threshold": 50, "enable_slack": False,
                                   "slack_webhook": SLACK_MASKED}
    assert _managed(tenant) == {}
    assert not Workflow.objects.exists()


INVALID = [
    ("warm-above-hot", {"hot_threshold": 50, "warm_threshold": 70}, _invalid("warm_threshold", ALERT_ORDER)),
    ("warm-equals-hot", {"hot_threshold": 70, "warm_threshold": 70}, _invalid("warm_threshold", ALERT_ORDER)),
    ("warm-above-saved-hot", {"warm_threshold": 85}, _invalid("warm_threshold", ALERT_ORDER)),
    ("hot-below-saved-warm", {"hot_threshold": 55}, _invalid("warm_threshold", ALERT_ORDER)),
    ("hot-above-100", {"hot_threshold": 101},
     _field_invalid("hot_threshold", "Ensure this value is less than or equal to 100.")),
    ("warm-below-0", {"warm_threshold": -1},
     _field_invalid("warm_threshold", "Ensure this value is greater than or equal to 0.")),
    ("slack-without-url", {"enable_slack": True}, _invalid("slack_webhook_url", ALERT_NEEDS_URL)),
    ("slack-with-blank-url", {"enable_slack": True, "slack_webhook_url": ""},
     _invalid("slack_webhook_url", ALERT_NEEDS_URL)),
    ("url-not-http", {"enable_slack": True, "slack_webhook_url": "ftp://hooks.slack.com/x"},
     _invalid("slack_webhook_url", BAD_URL)),
    ("url-not-a-url", {"slack_webhook_url": "hooks.slack.com/services/x"}, _invalid("slack_webhook_url", BAD_URL)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_settings_are_400_and_change_nothing(tenant: Tenant, body: dict[str, Any],
                                                     expected: dict[str, Any]) -> None:
    response = _post(tenant, body)
    assert (response.status_code, response.json()) == (400, expected)
    assert _settings(tenant.client.get(PATH)) == DEFAULTS
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_a_private_slack_url_is_refused_unless_allowed(tenant: Tenant, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = _post(tenant, {"enable_slack": True, "slack_webhook_url": "http://10.0.0.5/services/x"})
    assert (response.status_code, response.json()) == (400, _invalid("slack_webhook_url",
                                                                     PRIVATE_TARGET.format(host="10.0.0.5")))
    assert not Workflow.objects.exists()
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert _post(tenant, {"enable_slack": True, "slack_webhook_url": "http://10.0.0.5/services/x"}
                 ).status_code == 200


@pytest.mark.django_db
def test_a_refused_change_leaves_the_workflows_as_they_were(tenant: Tenant) -> None:
    assert _post(tenant, {"enable_slack": True, "slack_webhook_url": SLACK_URL}).status_code == 200
    before = {kind: _shape(w) for kind, w in _managed(tenant).items()}
    assert _post(tenant, {"hot_threshold": 40}).status_code == 400
    assert _post(tenant, {"slack_webhook_url": ""}).status_code == 400
    assert {kind: _shape(w) for kind, w in _managed(tenant).items()} == before
    assert _settings(tenant.client.get(PATH)) == {**DEFAULTS, "enable_slack": True, "slack_webhook": SLACK_MASKED}


@pytest.mark.django_db
def test_other_methods_are_405(tenant: Tenant) -> None:
    for method in ("put", "patch", "delete"):
        response = getattr(tenant.client, method)(PATH, {}, format="json")
        assert (response.status_code, response.json()) == (405, {
            "error": f'Method "{method.upper()}" not allowed.', "code": "method_not_allowed", "details": {}})


@pytest.mark.django_db
def test_anonymous_is_401(anon_client: Any) -> None:
    for response in (anon_client.get(PATH), anon_client.post(PATH, {"enable_slack": False}, format="json")):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    assert not AlertConfig.objects.exists()
