"""Runs that transitions don't start: scheduled and manual workflows, a person's retry of a failed
execution; plus the hot-lead alert settings, follow-up tasks and the statistics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.integrations.webhooks import PRIVATE_TARGET
from leads.models import AlertConfig, Lead, Offer, Task, Workflow, WorkflowExecution, Workspace
from leads.services.automations import (
    ALERT_NEEDS_URL,
    ALERT_ORDER,
    MANUAL_ONLY,
    NOT_A_MEMBER,
    alert_config_get,
    alert_config_set,
    automations_sweep,
    execution_retry,
    task_create,
    task_update,
    workflow_run_manual,
    workflow_statistics,
    workflows_run_scheduled,
)
from leads.tests.automation.support import dispatch, executions, make_workflow, score_lead
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory
from leads.tests.receivers import Receiver, Response, SlackReceiver

# --- scheduled ------------------------------------------------------------------------------------------


@pytest.fixture
def scored(workspace: Workspace, offer: Offer) -> dict[str, Lead]:
    """hot: 90 (sql); dropped: 80 then 30 (keeps sql, forward-only); warm: 65 (mql); cold: 20 (no stage)."""
    leads = {key: LeadFactory(workspace=workspace, name=key.title()) for key in ("hot", "dropped", "warm", "cold")}
    score_lead(leads["hot"], offer, 90)
    score_lead(leads["dropped"], offer, 80)
    score_lead(leads["dropped"], offer, 30)
    score_lead(leads["warm"], offer, 65)
    score_lead(leads["cold"], offer, 20)
    dispatch()
    return leads


def scheduled(workspace: Workspace, url: str, offer: Offer | None = None, *, is_active: bool = True,
              **config: Any) -> Workflow:
    return make_workflow(workspace, trigger="scheduled", trigger_config={"every_hours": 24, **config},
                         action="webhook", action_config={"url": url}, offer=offer, name="Daily digest",
                         is_active=is_active)


def leads_of(workflow: Workflow) -> list[int]:
    return [e.lead_id for e in executions(workflow)]


@pytest.mark.django_db
def test_scheduled_runs_once_per_period(workspace: Workspace, offer: Offer, scored: dict[str, Lead],
                                        receiver: Receiver) -> None:
    workflow = scheduled(workspace, receiver.url(), offer, min_score=60, stage="sql")
    now = timezone.now()
    slot = int(now.timestamp() // (24 * 3600))
    assert workflows_run_scheduled(now=now) == 1
    assert leads_of(workflow) == [scored["hot"].pk]
    [execution] = executions(workflow)
    assert (execution.status, execution.trigger_key, execution.offer_id) == (
        "succeeded", f"s:{slot}:{scored['hot'].pk}", offer.pk)
    body = receiver.requests[0].json()
    assert (body["type"], body["score"], body["previous_score"], body["stage"], body["intent"]) == (
        "scheduled", 90, None, "sql", "High")
    workflow.refresh_from_db()
    assert workflow.last_run_at == now

    assert workflows_run_scheduled(now=now) == 0
    assert workflows_run_scheduled(now=now + timedelta(hours=23, minutes=59)) == 0
    assert automations_sweep(now=now + timedelta(hours=12))["scheduled"] == 0
    assert len(executions(workflow)) == 1
    assert workflows_run_scheduled(now=now + timedelta(hours=24)) == 1
    assert workflows_run_scheduled(now=now + timedelta(hours=25)) == 0
    assert leads_of(workflow) == [scored["hot"].pk, scored["hot"].pk]
    assert [e.status for e in executions(workflow)] == ["succeeded", "succeeded"]
    assert executions(workflow)[1].trigger_key == f"s:{slot + 1}:{scored['hot'].pk}"
    assert len(receiver.requests) == 2


@pytest.mark.django_db
def test_scheduled_selection(workspace: Workspace, offer: Offer, scored: dict[str, Lead], receiver: Receiver) -> None:
    """min_score and stage each narrow the leads; neither: every lead with a current score."""
    by_score = scheduled(workspace, receiver.url(), offer, min_score=60)
    by_stage = make_workflow(workspace, trigger="scheduled", trigger_config={"every_hours": 24, "stage": "sql"},
                             action="add_tag", action_config={"tag": "digest"}, offer=offer)
    everyone = make_workflow(workspace, trigger="scheduled", trigger_config={"every_hours": 1}, action="add_tag",
                             action_config={"tag": "all"})
    other_offer = OfferFactory(workspace=workspace)
    other_lead = LeadFactory(workspace=workspace)
    score_lead(other_lead, other_offer, 99)
    dispatch()
    assert workflows_run_scheduled(now=timezone.now()) == 2 + 2 + 5
    assert sorted(leads_of(by_score)) == sorted([scored["hot"].pk, scored["warm"].pk])
    assert sorted(leads_of(by_stage)) == sorted([scored["hot"].pk, scored["dropped"].pk])
    assert sorted(leads_of(everyone)) == sorted([*(lead.pk for lead in scored.values()), other_lead.pk])
    assert Lead.objects.get(pk=scored["dropped"].pk).tags == ["digest", "all"]


@pytest.mark.django_db
def test_inactive_scheduled_workflows_do_not_run(workspace: Workspace, offer: Offer, scored: dict[str, Lead],
                                                 receiver: Receiver) -> None:
    workflow = scheduled(workspace, receiver.url(), offer, is_active=False)
    assert workflows_run_scheduled(now=timezone.now()) == 0
    assert executions(workflow) == []


# --- manual ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_manual_run(workspace: Workspace, offer: Offer, other_tenant: Tenant, receiver: Receiver) -> None:
    workflow = make_workflow(workspace, trigger="manual", action="webhook", action_config={"url": receiver.url()})
    first, second = LeadFactory.create_batch(2, workspace=workspace)
    stranger = LeadFactory(workspace=other_tenant.workspace)
    score_lead(first, offer, 77)
    dispatch()
    ids = workflow_run_manual(workflow=workflow, lead_ids=[first.pk, second.pk, stranger.pk], offer=offer)
    assert sorted(ids) == sorted(e.pk for e in executions(workflow))
    assert sorted(leads_of(workflow)) == sorted([first.pk, second.pk])
    assert [e.status for e in executions(workflow)] == ["succeeded", "succeeded"]
    payloads = {e.lead_id: e.payload for e in executions(workflow)}
    assert (payloads[first.pk]["type"], payloads[first.pk]["score"], payloads[first.pk]["offer"]) == (
        "manual", 77, {"id": offer.pk, "name": offer.name})
    assert (payloads[second.pk]["score"], payloads[second.pk]["stage"]) == (None, None)
    assert sorted(r.json()["lead"]["id"] for r in receiver.requests) == sorted([first.pk, second.pk])
    # Every run is new.
    again = workflow_run_manual(workflow=workflow, lead_ids=[first.pk], offer=None)
    assert len(again) == 1 and again[0] not in ids
    assert len(receiver.requests) == 3


@pytest.mark.django_db
def test_only_manual_workflows_run_by_hand(workspace: Workspace) -> None:
    workflow = make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70}, action="add_tag",
                             action_config={"tag": "x"})
    lead = LeadFactory(workspace=workspace)
    with pytest.raises(LeadsError) as caught:
        workflow_run_manual(workflow=workflow, lead_ids=[lead.pk], offer=None)
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (
        409, "not_manual", MANUAL_ONLY.format(trigger="score_threshold"))
    assert caught.value.message == "Only manual workflows can be run by hand; this one fires on score_threshold."
    assert executions(workflow) == []


# --- a person's retry -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_retry_a_failed_execution(settings: Any, workspace: Workspace, receiver: Receiver) -> None:
    settings.WORKFLOW_MAX_ATTEMPTS = 4
    receiver.script(Response(404, {}, b"gone"))
    workflow = make_workflow(workspace, trigger="manual", action="webhook", action_config={"url": receiver.url()})
    workflow_run_manual(workflow=workflow, lead_ids=[LeadFactory(workspace=workspace).pk], offer=None)
    [execution] = executions(workflow)
    assert (execution.status, execution.attempts, execution.error) == ("failed", 1, "HTTP 404 from the receiver")
    retried = execution_retry(execution=execution)
    assert (retried.status, retried.attempts, retried.error, retried.response) == ("succeeded", 4, "", "200: ok")
    assert retried.finished_at is not None
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(execution.message_id)


@pytest.mark.django_db
def test_a_retry_that_fails_again_is_failed_at_once(settings: Any, workspace: Workspace, receiver: Receiver) -> None:
    """One more attempt, not a new round of them: a 500 on the retry fails it."""
    settings.WORKFLOW_MAX_ATTEMPTS = 3
    receiver.default = Response(500, {}, b"down")
    workflow = make_workflow(workspace, trigger="manual", action="webhook", action_config={"url": receiver.url()})
    workflow_run_manual(workflow=workflow, lead_ids=[LeadFactory(workspace=workspace).pk], offer=None)
    [execution] = executions(workflow)
    WorkflowExecution.objects.filter(pk=execution.pk).update(status="failed", next_attempt_at=None)
    execution.refresh_from_db()
    retried = execution_retry(execution=execution)
    assert (retried.status, retried.attempts, retried.error) == ("failed", 3, "HTTP 500 from the receiver")
    assert len(receiver.requests) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["pending", "running", "succeeded"])
def test_only_a_failed_execution_can_be_retried(status: str, workspace: Workspace, receiver: Receiver) -> None:
    workflow = make_workflow(workspace, trigger="manual", action="webhook", action_config={"url": receiver.url()})
    workflow_run_manual(workflow=workflow, lead_ids=[LeadFactory(workspace=workspace).pk], offer=None)
    [execution] = executions(workflow)
    WorkflowExecution.objects.filter(pk=execution.pk).update(status=status)
    execution.refresh_from_db()
    with pytest.raises(LeadsError) as caught:
        execution_retry(execution=execution)
    assert (caught.value.status_code, caught.value.code, caught.value.message) == (
        409, "not_failed", "Only a failed execution can be retried.")
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == (status, 1)
    assert len(receiver.requests) == 1


# --- hot-lead alerts ------------------------------------------------------------------------------------


def managed(workspace: Workspace) -> list[tuple[Any, ...]]:
    return list(Workflow.objects.filter(workspace=workspace).exclude(managed_by_alerts="").order_by(
        "managed_by_alerts").values_list("managed_by_alerts", "name", "trigger_type", "trigger_config", "action_type",
                                         "action_config", "is_active", "priority"))


@pytest.mark.django_db
def test_alert_settings_keep_two_workflows(workspace: Workspace, alice: AbstractBaseUser,
                                           slack_receiver: SlackReceiver) -> None:
    url = slack_receiver.url("/services/T/B/alerts")
    assert (alert_config_get(workspace=workspace).hot_threshold, alert_config_get(workspace=workspace).warm_threshold,
            alert_config_get(workspace=workspace).enable_slack) == (80, 60, False)
    alert_config_set(workspace=workspace, user=alice, data={"hot_threshold": 85})
    assert managed(workspace) == []  # off, and none made yet

    config = alert_config_set(workspace=workspace, user=alice, data={"enable_slack": True, "slack_webhook_url": url})
    assert (config.hot_threshold, config.warm_threshold, config.enable_slack, config.slack_webhook_url) == (
        85, 60, True, url)
    assert managed(workspace) == [
        ("hot", "Hot lead alert (alert settings)", "score_threshold", {"score": 85, "direction": "up"}, "slack",
         {"webhook_url": url, "title": "Hot lead"}, True, 10),
        ("warm", "Warm lead alert (alert settings)", "score_threshold", {"score": 60, "direction": "up"}, "slack",
         {"webhook_url": url, "title": "Warm lead"}, True, 10),
    ]
    ids = sorted(Workflow.objects.values_list("pk", flat=True))
    assert set(Workflow.objects.values_list("created_by", flat=True)) == {alice.pk}

    alert_config_set(workspace=workspace, user=alice, data={"hot_threshold": 90, "warm_threshold": 70})
    assert [row[3] for row in managed(workspace)] == [{"score": 90, "direction": "up"},
                                                      {"score": 70, "direction": "up"}]
    alert_config_set(workspace=workspace, user=alice, data={"enable_slack": False})
    assert [(row[0], row[6]) for row in managed(workspace)] == [("hot", False), ("warm", False)]
    alert_config_set(workspace=workspace, user=alice, data={"enable_slack": True})
    assert [(row[0], row[6]) for row in managed(workspace)] == [("hot", True), ("warm", True)]
    assert sorted(Workflow.objects.values_list("pk", flat=True)) == ids


@pytest.mark.django_db
def test_alerts_fire_on_crossings(workspace: Workspace, offer: Offer, slack_receiver: SlackReceiver) -> None:
    alert_config_set(workspace=workspace, user=None, data={
        "enable_slack": True, "slack_webhook_url": slack_receiver.url("/services/T/B/alerts")})
    lead = LeadFactory(workspace=workspace, name="Maya Chen", company="Northwind")
    score_lead(lead, offer, 65)
    dispatch()
    assert [m["text"] for m in slack_receiver.messages] == [
        "Warm lead: Maya Chen at Northwind scored 65, stage mql."]
    score_lead(lead, offer, 85)
    dispatch()
    assert [m["text"] for m in slack_receiver.messages][1:] == [
        "Hot lead: Maya Chen at Northwind scored 85 (was 65), stage sql."]
    score_lead(lead, offer, 85)  # unchanged: nothing
    dispatch()
    assert len(slack_receiver.messages) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "field", "message"), [
    ({"warm_threshold": 85}, "warm_threshold", ALERT_ORDER),
    ({"hot_threshold": 65}, "warm_threshold", ALERT_ORDER),
    ({"hot_threshold": 70, "warm_threshold": 75}, "warm_threshold", ALERT_ORDER),
    ({"enable_slack": True}, "slack_webhook_url", ALERT_NEEDS_URL),
    ({"enable_slack": True, "slack_webhook_url": ""}, "slack_webhook_url", ALERT_NEEDS_URL),
])
def test_alert_settings_are_checked(workspace: Workspace, data: dict[str, Any], field: str, message: str) -> None:
    """A refused change leaves the saved settings as they were."""
    alert_config_set(workspace=workspace, user=None, data={"hot_threshold": 85, "warm_threshold": 65})
    with pytest.raises(LeadsError) as caught:
        alert_config_set(workspace=workspace, user=None, data=data)
    assert (caught.value.status_code, caught.value.message, caught.value.details) == (400, message, {field: [message]})
    config = AlertConfig.objects.get(workspace=workspace)
    assert (config.hot_threshold, config.warm_threshold, config.enable_slack, config.slack_webhook_url) == (
        85, 65, False, "")
    assert not Workflow.objects.exists()


def test_alert_error_texts() -> None:
    assert ALERT_ORDER == "warm_threshold must be below hot_threshold."
    assert ALERT_NEEDS_URL == "enable_slack needs a slack_webhook_url."


@pytest.mark.django_db
def test_alert_settings_refuse_a_private_slack_url(settings: Any, workspace: Workspace) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    message = PRIVATE_TARGET.format(host="127.0.0.1")
    with pytest.raises(LeadsError) as caught:
        alert_config_set(workspace=workspace, user=None, data={
            "enable_slack": True, "slack_webhook_url": "http://127.0.0.1:9/services/T/B/X"})
    assert caught.value.message == message
    assert caught.value.details == {"slack_webhook_url": [message]}
    assert not Workflow.objects.exists()


# --- tasks and statistics -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_tasks(workspace: Workspace, alice: AbstractBaseUser, carol: AbstractBaseUser,
               outsider: AbstractBaseUser) -> None:
    lead = LeadFactory(workspace=workspace)
    due = timezone.now() + timedelta(days=3)
    task = task_create(workspace=workspace, user=alice, lead=lead,
                       data={"title": "Call back", "due": due, "priority": "urgent", "assignee": carol})
    assert (task.title, task.due, task.priority, task.assignee_id, task.created_by_id, task.done, task.done_at) == (
        "Call back", due, "urgent", carol.pk, alice.pk, False, None)
    task = task_update(task=task, data={"done": True})
    assert task.done and task.done_at is not None
    task = task_update(task=task, data={"done": False, "title": "Call again"})
    task.refresh_from_db()
    assert (task.done, task.done_at, task.title) == (False, None, "Call again")
    for call in (lambda: task_create(workspace=workspace, user=alice, lead=lead,
                                     data={"title": "x", "assignee": outsider}),
                 lambda: task_update(task=task, data={"assignee": outsider})):
        with pytest.raises(LeadsError) as caught:
            call()
        assert caught.value.details == {"assignee": [NOT_A_MEMBER.format(user="bob")]}
    assert Task.objects.count() == 1
    assert Task.objects.get().assignee_id == carol.pk
    done = task_create(workspace=workspace, user=None, lead=lead, data={"title": "Done already", "done": True})
    assert done.done_at is not None and done.created_by_id is None


@pytest.mark.django_db
def test_statistics(workspace: Workspace, receiver: Receiver, other_tenant: Tenant) -> None:
    receiver.script(Response(404))
    workflow = make_workflow(workspace, trigger="manual", action="webhook", action_config={"url": receiver.url()})
    make_workflow(workspace, trigger="manual", action="add_tag", action_config={"tag": "x"}, is_active=False)
    make_workflow(other_tenant.workspace, trigger="manual", action="add_tag", action_config={"tag": "x"})
    leads = LeadFactory.create_batch(3, workspace=workspace)
    workflow_run_manual(workflow=workflow, lead_ids=[lead.pk for lead in leads], offer=None)
    assert sorted(e.status for e in executions(workflow)) == ["failed", "succeeded", "succeeded"]
    WorkflowExecution.objects.filter(pk=next(e.pk for e in executions(workflow) if e.status == "succeeded")).update(
        status="running")
    assert workflow_statistics(workspace=workspace) == {
        "total": 2, "active": 1, "executions": 3, "succeeded": 1, "failed": 1, "pending": 1}
