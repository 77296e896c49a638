"""Workflow executions over HTTP: list and its filters, detail, the recent list and its limit, and a
retry of a failed execution (a succeeded or pending one can't be retried), on the canonical path and
the /api/lead-qualification/workflow-executions/ alias."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, WorkflowExecution
from leads.services.automations import OWNER_UNSET
from leads.services.workspaces import workspace_member_ensure
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory

NOT_FOUND = {"error": "Not found.", "code": "not_found", "details": {}}
NOT_FAILED = {"error": "Only a failed execution can be retried.", "code": "not_failed", "details": {}}
BASES = ["/api/workflow-executions/", "/api/lead-qualification/workflow-executions/"]
EMAIL_FAILED = OWNER_UNSET.format(what="email")


def _workflow(tenant: Tenant, name: str, action_type: str, action_config: dict[str, Any]) -> int:
    response = tenant.client.post("/api/workflows/", {"name": name, "trigger_type": "manual",
                                                      "action_type": action_type, "action_config": action_config},
                                  format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _run(tenant: Tenant, workflow_id: int, leads: list[Lead]) -> list[int]:
    response = tenant.client.post(f"/api/workflows/{workflow_id}/run/", {"lead_ids": [lead.pk for lead in leads]},
                                  format="json")
    assert response.status_code == 202, response.content
    return response.json()["executions"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Runs:
    """Executions of three outcomes: tags added (succeeded), emails to an owner the lead hasn't
    (failed, no retry), a webhook nobody answers (pending its retry)."""

    first: Lead
    second: Lead
    tagger: int
    emailer: int
    hook: int
    tagged: list[int]
    emailed: list[int]
    hooked: list[int]


@pytest.fixture
def runs(tenant: Tenant) -> Runs:
    first, second = LeadFactory(workspace=tenant.workspace), LeadFactory(workspace=tenant.workspace)
    tagger = _workflow(tenant, "Tagger", "add_tag", {"tag": "vip"})
    emailer = _workflow(tenant, "Emailer", "send_email", {"to": "owner", "subject": "Call {name}"})
    hook = _workflow(tenant, "Hook", "webhook", {"url": f"http://127.0.0.1:{_closed_port()}/hook"})
    tagged = _run(tenant, tagger, [first, second])
    emailed = _run(tenant, emailer, [first])
    hooked = _run(tenant, hook, [second])
    return Runs(first, second, tagger, emailer, hook, tagged, emailed, hooked)


def _tagged(runs: Runs, lead: Lead) -> int:
    """The tagging execution of this lead."""
    return WorkflowExecution.objects.get(pk__in=runs.tagged, lead=lead).pk


def _ids(tenant: Tenant, path: str) -> list[int]:
    response = tenant.client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    return [row["id"] for row in rows]


def _expected(execution: WorkflowExecution) -> dict[str, Any]:
    """An execution as the API shows it, from its row."""
    def iso(value: Any) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value is not None else None

    return {"id": execution.pk, "workflow": execution.workflow_id, "workflow_name": execution.workflow.name,
            "lead": execution.lead_id, "lead_name": execution.lead.name, "offer": execution.offer_id,
            "status": execution.status, "attempts": execution.attempts,
            "next_attempt_at": iso(execution.next_attempt_at), "message_id": str(execution.message_id),
            "response": execution.response, "error": execution.error, "payload": execution.payload,
            "created_at": iso(execution.created_at), "updated_at": iso(execution.updated_at),
            "finished_at": iso(execution.finished_at)}


# --- list and detail -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_list_newest_first_and_filters(tenant: Tenant, runs: Runs, base: str) -> None:
    every = [*runs.hooked, *runs.emailed, *sorted(runs.tagged, reverse=True)]
    assert _ids(tenant, base) == every
    assert tenant.client.get(base).json()["count"] == 4
    assert _ids(tenant, f"{base}?status=succeeded") == sorted(runs.tagged, reverse=True)
    assert _ids(tenant, f"{base}?status=failed") == runs.emailed
    assert _ids(tenant, f"{base}?status=pending") == runs.hooked
    assert _ids(tenant, f"{base}?status=running") == []
    assert _ids(tenant, f"{base}?workflow={runs.tagger}") == sorted(runs.tagged, reverse=True)
    assert _ids(tenant, f"{base}?lead={runs.first.pk}") == [*runs.emailed, _tagged(runs, runs.first)]
    assert _ids(tenant, f"{base}?lead={runs.second.pk}&status=succeeded") == [_tagged(runs, runs.second)]
    assert _ids(tenant, f"{base}?lead={runs.second.pk}&workflow={runs.emailer}") == []
    assert _ids(tenant, f"{base}?ordering=id") == sorted(every)
    bad = tenant.client.get(f"{base}?status=exploded")
    assert (bad.status_code, bad.json()) == (400, {
        "error": "Invalid input — status: Select a valid choice. exploded is not one of the available choices.",
        "code": "invalid",
        "details": {"status": ["Select a valid choice. exploded is not one of the available choices."]}})


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_detail_shows_the_outcome_and_what_was_sent(tenant: Tenant, runs: Runs, base: str) -> None:
    tagged = WorkflowExecution.objects.select_related("workflow", "lead").get(pk=_tagged(runs, runs.first))
    response = tenant.client.get(f"{base}{tagged.pk}/")
    assert (response.status_code, response.json()) == (200, _expected(tagged))
    body = response.json()
    assert (body["status"], body["attempts"], body["response"], body["error"]) == ("succeeded", 1, "tag vip added",
                                                                                   "")
    assert body["finished_at"] is not None and body["next_attempt_at"] is None
    assert (body["payload"]["type"], body["payload"]["workflow"], body["payload"]["lead"]["id"]) == (
        "manual", {"id": runs.tagger, "name": "Tagger"}, runs.first.pk)

    failed = tenant.client.get(f"{base}{runs.emailed[0]}/").json()
    assert (failed["status"], failed["attempts"], failed["error"], failed["finished_at"] is not None) == (
        "failed", 1, EMAIL_FAILED, True)
    pending = tenant.client.get(f"{base}{runs.hooked[0]}/").json()
    assert (pending["status"], pending["attempts"], pending["finished_at"]) == ("pending", 1, None)
    assert pending["error"].startswith("Could not deliver") and pending["next_attempt_at"] is not None

    missing = tenant.client.get(f"{base}{max(runs.hooked) + 1000}/")
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_executions_are_read_only(tenant: Tenant, runs: Runs, method: str) -> None:
    path = "/api/workflow-executions/" if method == "post" else f"/api/workflow-executions/{runs.tagged[0]}/"
    response = getattr(tenant.client, method)(path, {"status": "failed"}, format="json")
    assert (response.status_code, response.json()) == (405, {
        "error": f'Method "{method.upper()}" not allowed.', "code": "method_not_allowed", "details": {}})
    assert WorkflowExecution.objects.get(pk=runs.tagged[0]).status == "succeeded"


@pytest.mark.django_db
def test_list_queries_do_not_grow_with_rows(tenant: Tenant, runs: Runs) -> None:
    with CaptureQueriesContext(connection) as few:
        assert tenant.client.get("/api/workflow-executions/").status_code == 200
    _run(tenant, runs.tagger, [LeadFactory(workspace=tenant.workspace) for _ in range(6)])
    with CaptureQueriesContext(connection) as many:
        assert tenant.client.get("/api/workflow-executions/").json()["count"] == 10
    assert len(many) == len(few)


# --- recent ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_recent_is_newest_first_up_to_the_limit(tenant: Tenant, runs: Runs, base: str) -> None:
    every = [*runs.hooked, *runs.emailed, *sorted(runs.tagged, reverse=True)]
    recent = tenant.client.get(f"{base}recent/")
    assert recent.status_code == 200
    assert recent.json() == [_expected(e) for e in WorkflowExecution.objects.select_related("workflow", "lead")
                             .order_by("-created_at", "-id")]
    assert [e["id"] for e in recent.json()] == every
    assert _ids(tenant, f"{base}recent/?limit=2") == every[:2]
    assert _ids(tenant, f"{base}recent/?limit=1") == every[:1]
    assert _ids(tenant, f"{base}recent/?limit=200") == every
    # Unpaginated and unfiltered: its own query string is only the limit; a filter is refused, not ignored.
    refused = tenant.client.get(f"{base}recent/?status=succeeded&limit=3")
    assert refused.status_code == 400
    assert refused.json()["details"] == {"unknown": ["status"], "allowed": ["limit", "format"]}


@pytest.mark.django_db
def test_recent_defaults_to_twenty(tenant: Tenant) -> None:
    tagger = _workflow(tenant, "Tagger", "add_tag", {"tag": "vip"})
    ids = _run(tenant, tagger, [LeadFactory(workspace=tenant.workspace) for _ in range(25)])
    recent = _ids(tenant, "/api/workflow-executions/recent/")
    assert len(recent) == 20 and set(recent) <= set(ids)
    assert recent == list(WorkflowExecution.objects.order_by("-created_at", "-id").values_list("pk", flat=True)[:20])


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "2.5"])
@pytest.mark.parametrize("base", BASES)
def test_recent_with_a_bad_limit_is_400(tenant: Tenant, base: str, limit: str) -> None:
    response = tenant.client.get(f"{base}recent/?limit={limit}")
    assert (response.status_code, response.json()) == (400, {
        "error": "limit must be a whole number from 1 to 200.", "code": "invalid",
        "details": {"limit": [f"Got {limit!r}."]}})


# --- retry -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_retry_of_a_failed_execution_runs_it_again(tenant: Tenant, runs: Runs, base: str) -> None:
    failed_id = runs.emailed[0]
    # Still no owner: the one more attempt fails the same way.
    again = tenant.client.post(f"{base}{failed_id}/retry/")
    assert again.status_code == 200
    execution = WorkflowExecution.objects.select_related("workflow", "lead").get(pk=failed_id)
    assert again.json() == _expected(execution)
    assert (execution.status, execution.error, execution.attempts) == ("failed", EMAIL_FAILED,
                                                                       settings.WORKFLOW_MAX_ATTEMPTS)
    assert mail.outbox == []

    # The lead gets an owner with an email address: the retry delivers.
    carol = workspace_member_ensure(workspace_name=tenant.workspace.name, username="carol").user
    get_user_model().objects.filter(pk=carol.pk).update(email="carol@example.com")
    assert tenant.client.patch(f"/api/leads/{runs.first.pk}/", {"owner": carol.pk},
                               format="json").status_code == 200
    retried = tenant.client.post(f"{base}{failed_id}/retry/")
    assert retried.status_code == 200
    body = retried.json()
    assert (body["id"], body["status"], body["error"], body["response"]) == (
        failed_id, "succeeded", "", "sent to carol@example.com")
    assert body["finished_at"] is not None and body["next_attempt_at"] is None
    assert [(m.to, m.subject) for m in mail.outbox] == [(["carol@example.com"], f"Call {runs.first.name}")]
    assert tenant.client.get(f"{base}{failed_id}/").json()["status"] == "succeeded"
    # Succeeded now: no second retry, no second email.
    twice = tenant.client.post(f"{base}{failed_id}/retry/")
    assert (twice.status_code, twice.json()) == (409, NOT_FAILED)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("base", BASES)
def test_retry_of_a_succeeded_or_pending_execution_is_409(tenant: Tenant, runs: Runs, base: str) -> None:
    for execution_id in (runs.tagged[0], runs.hooked[0]):
        before = WorkflowExecution.objects.get(pk=execution_id)
        response = tenant.client.post(f"{base}{execution_id}/retry/")
        assert (response.status_code, response.json()) == (409, NOT_FAILED)
        after = WorkflowExecution.objects.get(pk=execution_id)
        assert (after.status, after.attempts, after.updated_at) == (before.status, before.attempts,
                                                                     before.updated_at)
    missing = tenant.client.post(f"{base}{max(runs.hooked) + 1000}/retry/")
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
