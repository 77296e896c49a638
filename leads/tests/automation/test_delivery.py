"""Delivering executions to receivers on 127.0.0.1: signed webhooks, retries with backoff and
Retry-After, permanent failures, refused targets, Slack through slack_sdk, email, and exactly-once
dispatch and delivery (leads/services/automations.py, leads/integrations/)."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.integrations.webhooks import BAD_URL, PRIVATE_TARGET, post_json
from leads.models import Lead, Offer, ScoreTransition, Workflow, WorkflowExecution, Workspace
from leads.services.automations import (
    BAD_EMAIL,
    OWNER_UNSET,
    automations_sweep,
    execution_deliver,
    transitions_dispatch,
    workflow_run_manual,
    workflow_update,
)
from leads.tests.automation.support import between, dispatch, executions, make_due, make_workflow, score_lead
from leads.tests.factories import LeadFactory, OfferFactory
from leads.tests.receivers import Receiver, Response, SlackReceiver, expected_signature, verify_signature

BASE_URL = "https://leadscore.example.com"
NO_SWEEP = {"deliveries": 0, "dispatch": 0, "scheduled": 0}
ONE_DELIVERY = {"deliveries": 1, "dispatch": 0, "scheduled": 0}


@pytest.fixture(autouse=True)
def _public_base_url(settings: Any) -> None:
    settings.PUBLIC_BASE_URL = BASE_URL + "/"


def lead_link(lead: Lead) -> str:
    return f"{BASE_URL}/admin/leads/lead/{lead.pk}/change/"


def lead_payload(lead: Lead, *, owner: str | None = None) -> dict[str, Any]:
    return {"id": lead.pk, "name": lead.name, "role": lead.role, "company": lead.company, "industry": lead.industry,
            "location": lead.location, "email": lead.email, "status": lead.status, "owner": owner,
            "tags": lead.tags, "url": lead_link(lead)}


def webhook(workspace: Workspace, url: str, *, threshold: int = 70, **extra: Any) -> Workflow:
    return make_workflow(workspace, trigger="score_threshold", trigger_config={"score": threshold},
                         action="webhook", action_config={"url": url}, name="Hot lead hook", **extra)


def only(workflow: Workflow) -> WorkflowExecution:
    found = executions(workflow)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
def lead(workspace: Workspace) -> Lead:
    return LeadFactory(workspace=workspace, name="Maya Chen", role="VP Sales", company="Northwind",
                       email="maya@northwind.test", tags=["vip"])


# --- webhooks -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_webhook_posts_the_signed_payload(workspace: Workspace, offer: Offer, lead: Lead, receiver: Receiver) -> None:
    """Body: the payload as JSON; headers: webhook-id (the execution's message id), timestamp, signature."""
    workflow = webhook(workspace, receiver.url())
    assert workflow.secret.startswith("whsec_")
    score_lead(lead, offer, rules=[("Decision maker", 50), ("ICP match", 30)])
    row = ScoreTransition.objects.get(lead=lead)
    before = time.time()
    assert transitions_dispatch() == 1
    after = time.time()

    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.response, execution.error) == (
        "succeeded", 1, "200: ok", "")
    assert execution.next_attempt_at is None and execution.finished_at is not None
    assert (execution.lead_id, execution.offer_id, execution.trigger_key) == (lead.pk, offer.pk, f"t:{row.pk}")
    [request] = receiver.requests
    assert (request.method, request.path) == ("POST", "/hook")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == str(execution.message_id)
    assert before - 1 <= int(request.headers["webhook-timestamp"]) <= after + 1
    assert request.headers["webhook-signature"] == expected_signature(
        workflow.secret, str(execution.message_id), request.headers["webhook-timestamp"], request.body)
    assert verify_signature(workflow.secret, request.headers, request.body)
    assert not verify_signature("whsec_" + "QUJD" * 8, request.headers, request.body)  # another key
    assert not verify_signature(workflow.secret, request.headers, request.body + b" ")  # a changed body
    assert not verify_signature(workflow.secret, request.headers, request.body, now=after + 301)  # a replay
    assert request.json() == {
        "type": "score_threshold",
        "workflow": {"id": workflow.pk, "name": "Hot lead hook"},
        "lead": lead_payload(lead),
        "offer": {"id": offer.pk, "name": offer.name},
        "score": 80, "previous_score": None, "intent": "High", "stage": "sql", "previous_stage": "",
        "reasons": ["Decision maker (+50)", "ICP match (+30)"],
        "at": row.created_at.isoformat(),
    }
    assert request.json() == execution.payload


@pytest.mark.django_db
def test_webhook_payload_of_a_rescore(workspace: Workspace, offer: Offer, lead: Lead, receiver: Receiver,
                                      alice: AbstractBaseUser) -> None:
    """A second crossing carries the previous score and stage, and the owner by username."""
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 45)
    dispatch()
    assert receiver.requests == []
    Lead.objects.filter(pk=lead.pk).update(owner=alice)
    score_lead(lead, offer, 72)
    dispatch()
    lead.refresh_from_db()
    body = only(workflow).payload
    assert receiver.requests[0].json() == body
    assert (body["score"], body["previous_score"], body["intent"], body["stage"], body["previous_stage"]) == (
        72, 45, "High", "sql", "mql")
    assert body["lead"] == lead_payload(lead, owner="alice")


@pytest.mark.django_db
def test_payload_is_the_crossing_not_a_later_score(workspace: Workspace, offer: Offer, lead: Lead,
                                                   receiver: Receiver) -> None:
    """Scores 50, 80, 30 written before the dispatcher runs: the execution of the 50 -> 80 crossing
    sends 80 (High), "as they were when the workflow fired", not the later 30."""
    workflow = webhook(workspace, receiver.url())
    for points in (50, 80, 30):
        score_lead(lead, offer, points)
    assert dispatch() == 3
    body = only(workflow).payload
    assert (body["score"], body["previous_score"], body["intent"], body["stage"]) == (80, 50, "High", "sql")


@pytest.mark.django_db
def test_429_with_retry_after_then_success(workspace: Workspace, offer: Offer, lead: Lead,
                                           receiver: Receiver) -> None:
    """The wait is at least Retry-After (120 s, above the first backoff's 10 s ceiling); the retry is
    the same message (same webhook-id and body) and succeeds on attempt 2."""
    receiver.script(Response(429, {"Retry-After": "120"}, b"slow down"))
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    start = timezone.now()
    dispatch()
    end = timezone.now()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.error, execution.response) == (
        "pending", 1, "HTTP 429 from the receiver", "429: slow down")
    assert execution.finished_at is None
    assert between(execution.next_attempt_at, start + timedelta(seconds=120), end + timedelta(seconds=120))

    execution_deliver(execution.pk)  # not due yet: nothing happens
    assert automations_sweep() == NO_SWEEP
    assert len(receiver.requests) == 1
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("pending", 1)

    make_due(execution)
    assert automations_sweep() == ONE_DELIVERY
    execution.refresh_from_db()
    assert (execution.status, execution.attempts, execution.error, execution.response) == (
        "succeeded", 2, "", "200: ok")
    assert execution.next_attempt_at is None
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(execution.message_id)
    assert first.body == second.body
    assert verify_signature(workflow.secret, second.headers, second.body)
    assert automations_sweep() == NO_SWEEP


@pytest.mark.django_db
def test_retry_after_as_an_http_date(workspace: Workspace, offer: Offer, lead: Lead, receiver: Receiver) -> None:
    asked = timezone.now().replace(microsecond=0) + timedelta(seconds=600)
    receiver.script(Response(503, {"Retry-After": format_datetime(asked, usegmt=True)}, b"maintenance"))
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.error) == ("pending", "HTTP 503 from the receiver")
    assert between(execution.next_attempt_at, asked - timedelta(seconds=2), asked + timedelta(seconds=2))


@pytest.mark.django_db
def test_500_until_failed(settings: Any, workspace: Workspace, offer: Offer, lead: Lead, receiver: Receiver) -> None:
    """Backoff grows (attempt 1 waits 5-10 s, attempt 2 10-20 s); after WORKFLOW_MAX_ATTEMPTS the
    execution fails with the last error and is never tried again."""
    settings.WORKFLOW_MAX_ATTEMPTS = 3
    receiver.default = Response(500, {}, b"boom")
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    start = timezone.now()
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.error) == ("pending", 1, "HTTP 500 from the receiver")
    assert between(execution.next_attempt_at, start + timedelta(seconds=5), timezone.now() + timedelta(seconds=10))

    make_due(execution)
    start = timezone.now()
    execution_deliver(execution.pk)
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("pending", 2)
    assert between(execution.next_attempt_at, start + timedelta(seconds=10), timezone.now() + timedelta(seconds=20))

    make_due(execution)
    assert automations_sweep() == ONE_DELIVERY
    execution.refresh_from_db()
    assert (execution.status, execution.attempts, execution.error, execution.response) == (
        "failed", 3, "HTTP 500 from the receiver", "500: boom")
    assert execution.next_attempt_at is None and execution.finished_at is not None

    execution_deliver(execution.pk)
    assert automations_sweep() == NO_SWEEP
    assert len(receiver.requests) == 3
    assert {r.headers["webhook-id"] for r in receiver.requests} == {str(execution.message_id)}


@pytest.mark.django_db
def test_connection_refused_is_retried(workspace: Workspace, offer: Offer, lead: Lead) -> None:
    """Nobody listening: a retry, not a failure."""
    with Receiver() as gone:
        url = gone.url()
    workflow = webhook(workspace, url)
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.response) == ("pending", 1, "")
    assert execution.error.startswith("Could not deliver: ")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [400, 404, 410])
def test_a_client_error_fails_at_once(status: int, workspace: Workspace, offer: Offer, lead: Lead,
                                      receiver: Receiver) -> None:
    receiver.script(Response(status, {}, b"not here"))
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.error, execution.response) == (
        "failed", 1, f"HTTP {status} from the receiver", f"{status}: not here")
    assert execution.next_attempt_at is None
    assert automations_sweep() == NO_SWEEP
    assert len(receiver.requests) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed(status: int, workspace: Workspace, offer: Offer, lead: Lead,
                                    receiver: Receiver) -> None:
    receiver.script(Response(status, {"Location": receiver.url("/elsewhere")}, b""))
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.error) == (
        "failed", 1, f"HTTP {status} from the receiver")
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_slow_receiver_times_out_and_is_retried(receiver: Receiver) -> None:
    """post_json's timeout (10 s in production) makes a stalled receiver a retry, not a hung worker."""
    receiver.script(Response(200, {}, b"late", delay=3.0))
    start = time.monotonic()
    result = post_json(receiver.url(), b"{}", {"webhook-id": "m1"}, timeout=0.3)
    assert time.monotonic() - start < 2.0
    assert (result.ok, result.status, result.retry, result.body) == (False, None, True, "")
    assert result.error.startswith("Could not deliver: ")
    assert receiver.requests[0].headers["webhook-id"] == "m1"


# --- targets ------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "host"), [
    ("http://127.0.0.1:9/hook", "127.0.0.1"),
    ("http://localhost:8080/hook", "localhost"),
    ("https://api.localhost/hook", "api.localhost"),
    ("http://[::1]/hook", "::1"),
    ("http://10.1.2.3/hook", "10.1.2.3"),
    ("http://192.168.0.10/hook", "192.168.0.10"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),
    ("http://0.0.0.0/hook", "0.0.0.0"),
])
def test_private_targets_are_refused_on_save(settings: Any, workspace: Workspace, url: str, host: str) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    message = PRIVATE_TARGET.format(host=host)
    for action, config in (("webhook", {"url": url}), ("slack", {"webhook_url": url})):
        with pytest.raises(LeadsError) as caught:
            make_workflow(workspace, trigger="manual", action=action, action_config=config)
        assert (caught.value.status_code, caught.value.message) == (400, message)
        assert caught.value.details == {"action_config": [message]}
    assert not Workflow.objects.exists()


@pytest.mark.django_db
def test_urls_checked_on_save(settings: Any, workspace: Workspace) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in ("ftp://example.com/hook", "example.com/hook", "http:///nohost"):
        with pytest.raises(LeadsError) as caught:
            make_workflow(workspace, trigger="manual", action="webhook", action_config={"url": url})
        assert caught.value.message == BAD_URL, url
    with pytest.raises(LeadsError) as caught:
        make_workflow(workspace, trigger="manual", action="webhook", action_config={})
    assert caught.value.message == 'webhook needs {"url": "https://…"}.'
    with pytest.raises(LeadsError) as caught:
        make_workflow(workspace, trigger="manual", action="slack", action_config={"webhook_url": " "})
    assert caught.value.message == 'slack needs {"webhook_url": "https://hooks.slack.com/…"}.'
    # A public name only has to parse on save (it is resolved before each send).
    workflow = make_workflow(workspace, trigger="manual", action="webhook",
                             action_config={"url": " https://hooks.example.com/in "})
    assert workflow.action_config == {"url": "https://hooks.example.com/in"}


@pytest.mark.django_db
def test_private_targets_are_refused_at_send(settings: Any, workspace: Workspace, offer: Offer, lead: Lead,
                                             receiver: Receiver, slack_receiver: SlackReceiver) -> None:
    """Saved while private targets were allowed, sent after they no longer are: refused, not sent, not retried."""
    hook = webhook(workspace, receiver.url())
    alert = make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70}, action="slack",
                          action_config={"webhook_url": slack_receiver.url("/services/T/B/X")})
    settings.WEBHOOK_ALLOW_PRIVATE = False
    score_lead(lead, offer, 90)
    dispatch()
    for workflow in (hook, alert):
        execution = only(workflow)
        assert (execution.status, execution.attempts, execution.error) == (
            "failed", 1, PRIVATE_TARGET.format(host="127.0.0.1"))
    assert receiver.requests == [] and slack_receiver.requests == []


@pytest.mark.django_db
def test_workflow_update_checks_the_new_url(settings: Any, workspace: Workspace, receiver: Receiver) -> None:
    workflow = make_workflow(workspace, trigger="manual", action="slack",
                             action_config={"webhook_url": receiver.url("/slack")})
    assert workflow.secret == ""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(LeadsError) as caught:
        workflow_update(workflow=workflow, data={"action_type": "webhook", "action_config": {"url": receiver.url()}})
    assert caught.value.message == PRIVATE_TARGET.format(host="127.0.0.1")
    workflow.refresh_from_db()
    assert (workflow.action_type, workflow.secret) == ("slack", "")
    settings.WEBHOOK_ALLOW_PRIVATE = True
    workflow = workflow_update(workflow=workflow, data={"action_type": "webhook",
                                                        "action_config": {"url": receiver.url()}})
    workflow.refresh_from_db()
    assert (workflow.action_type, workflow.action_config) == ("webhook", {"url": receiver.url()})
    assert workflow.secret.startswith("whsec_")
    with pytest.raises(LeadsError) as caught:
        workflow_update(workflow=workflow, data={"trigger_type": "score_threshold", "trigger_config": {}})
    assert caught.value.details == {
        "trigger_config": ['score_threshold needs {"score": a whole number from 0 to 100}.']}


# --- Slack --------------------------------------------------------------------------------------------


def slack_workflow(workspace: Workspace, receiver: SlackReceiver, **config: Any) -> Workflow:
    return make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70}, action="slack",
                         action_config={"webhook_url": receiver.url("/services/T000/B000/XXXX"), **config},
                         name="Alert the team")


@pytest.mark.django_db
def test_slack_message(workspace: Workspace, offer: Offer, lead: Lead, slack_receiver: SlackReceiver) -> None:
    """Through the real slack_sdk: text plus blocks with who, company, score, stage, top reasons and a button."""
    workflow = slack_workflow(workspace, slack_receiver, title="Hot lead")
    score_lead(lead, offer, 60)
    score_lead(lead, offer, rules=[("Decision maker", 50), ("ICP match", 25), ("Visited pricing", -5),
                                   ("Complete profile", 10), ("Opened mail", 5)])
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.response) == ("succeeded", 1, "200: ok")
    [request] = slack_receiver.requests
    assert (request.method, request.path) == ("POST", "/services/T000/B000/XXXX")
    assert request.headers["content-type"].startswith("application/json")
    assert request.json() == {
        "text": "Hot lead: Maya Chen at Northwind scored 85 (was 60), stage sql.",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Hot lead: Maya Chen at Northwind*\nVP Sales"}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": "*Score*\n85 (was 60)"},
                {"type": "mrkdwn", "text": "*Stage*\nsql"},
                {"type": "mrkdwn", "text": "*Intent*\nHigh"},
                {"type": "mrkdwn", "text": f"*Offer*\n{offer.name}"},
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": (
                "*Top reasons*\n• Decision maker (+50)\n• ICP match (+25)\n• Complete profile (+10)")}},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open the lead"},
                                              "url": lead_link(lead)}]},
        ],
    }


@pytest.mark.django_db
def test_slack_title_defaults_to_the_workflow_name(workspace: Workspace, offer: Offer, lead: Lead,
                                                   slack_receiver: SlackReceiver) -> None:
    slack_workflow(workspace, slack_receiver)
    score_lead(lead, offer, 90)
    dispatch()
    assert slack_receiver.messages[0]["text"] == "Alert the team: Maya Chen at Northwind scored 90, stage sql."


@pytest.mark.django_db
def test_slack_escapes_markup(workspace: Workspace, offer: Offer, slack_receiver: SlackReceiver) -> None:
    """A lead named "<!channel>" must not ping a channel: <, > and & are escaped everywhere."""
    lead = LeadFactory(workspace=workspace, name="<!channel>", company="R&D <@U123>", role="<https://evil.test|CEO>")
    slack_workflow(workspace, slack_receiver, title="Hot")
    score_lead(lead, offer, rules=[("Budget > 50k", 80)])
    dispatch()
    [message] = slack_receiver.messages
    assert message["text"] == "Hot: &lt;!channel&gt; at R&amp;D &lt;@U123&gt; scored 80, stage sql."
    assert message["blocks"][0]["text"]["text"] == (
        "*Hot: &lt;!channel&gt; at R&amp;D &lt;@U123&gt;*\n&lt;https://evil.test|CEO&gt;")
    assert message["blocks"][2]["text"]["text"] == "*Top reasons*\n• Budget &gt; 50k (+80)"
    everything = json.dumps(message, ensure_ascii=False)
    assert "<!" not in everything and "<@" not in everything and "<http" not in everything


@pytest.mark.django_db
def test_slack_429_then_ok_is_retried_by_slack_sdk(workspace: Workspace, offer: Offer, lead: Lead,
                                                   slack_receiver: SlackReceiver) -> None:
    """slack_sdk's own 429 handler waits Retry-After (0 here) and tries once more: one attempt, two requests."""
    slack_receiver.script(SlackReceiver.rate_limited(0))
    workflow = slack_workflow(workspace, slack_receiver)
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.response) == ("succeeded", 1, "200: ok")
    first, second = slack_receiver.messages
    assert first == second


@pytest.mark.django_db
def test_slack_429_twice_waits_for_retry_after(workspace: Workspace, offer: Offer, lead: Lead,
                                               slack_receiver: SlackReceiver) -> None:
    """Still limited after slack_sdk's retry: the execution waits the last Retry-After, then succeeds."""
    slack_receiver.script(SlackReceiver.rate_limited(0), SlackReceiver.rate_limited(90))
    workflow = slack_workflow(workspace, slack_receiver)
    score_lead(lead, offer, 90)
    start = timezone.now()
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.error, execution.response) == (
        "pending", 1, "Slack answered 429: rate_limited", "429: rate_limited")
    assert between(execution.next_attempt_at, start + timedelta(seconds=90), timezone.now() + timedelta(seconds=90))
    make_due(execution)
    assert automations_sweep() == ONE_DELIVERY
    execution.refresh_from_db()
    assert (execution.status, execution.attempts, execution.error) == ("succeeded", 2, "")
    assert len(slack_receiver.requests) == 3


@pytest.mark.django_db
def test_slack_500_fails_after_the_last_attempt(settings: Any, workspace: Workspace, offer: Offer, lead: Lead,
                                                slack_receiver: SlackReceiver) -> None:
    settings.WORKFLOW_MAX_ATTEMPTS = 1
    slack_receiver.default = SlackReceiver.server_error()
    workflow = slack_workflow(workspace, slack_receiver)
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.error, execution.response) == (
        "failed", 1, "Slack answered 500: internal_error", "500: internal_error")
    assert len(slack_receiver.requests) == 2  # slack_sdk's one retry of a 500


# --- email --------------------------------------------------------------------------------------------


def email_workflow(workspace: Workspace, **config: Any) -> Workflow:
    return make_workflow(workspace, trigger="score_threshold", trigger_config={"score": 70}, action="send_email",
                         action_config=config)


@pytest.mark.django_db
def test_email_to_the_owner_with_placeholders(settings: Any, workspace: Workspace, offer: Offer, lead: Lead,
                                              alice: AbstractBaseUser, mailoutbox: list[Any]) -> None:
    Lead.objects.filter(pk=lead.pk).update(owner=alice)
    workflow = email_workflow(workspace, to="owner", subject="Hot: {name} at {company} ({score})",
                              body="{name} ({role}) scored {score}, stage {stage}, intent {intent}.\n{url} {nope}")
    score_lead(lead, offer, 88)
    dispatch()
    execution = only(workflow)
    assert (execution.status, execution.attempts, execution.response) == (
        "succeeded", 1, "sent to alice@example.com")
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert mail.from_email == settings.DEFAULT_FROM_EMAIL
    assert mail.subject == "Hot: Maya Chen at Northwind (88)"
    assert mail.body == f"Maya Chen (VP Sales) scored 88, stage sql, intent High.\n{lead_link(lead)} "


@pytest.mark.django_db
def test_email_to_a_list_with_the_default_texts(workspace: Workspace, offer: Offer, lead: Lead,
                                                mailoutbox: list[Any]) -> None:
    workflow = email_workflow(workspace, to=["sales@example.com", "ops@example.com"])
    score_lead(lead, offer, 75)
    dispatch()
    assert only(workflow).response == "sent to sales@example.com, ops@example.com"
    [mail] = mailoutbox
    assert mail.to == ["sales@example.com", "ops@example.com"]
    assert mail.subject == "Lead to act on: Maya Chen (Northwind) scored 75"
    assert mail.body == f"Maya Chen, VP Sales at Northwind, scored 75 (stage sql).\n{lead_link(lead)}"


@pytest.mark.django_db
def test_email_subject_from_a_multiline_name(workspace: Workspace, offer: Offer, mailoutbox: list[Any]) -> None:
    """A name or company with a line break (a quoted multi-line CSV cell) still makes a one-line subject;
    a header that can never be sent must not be retried for an hour either."""
    lead = LeadFactory(workspace=workspace, name="Maya\nChen", company="North\r\nwind", role="VP")
    workflow = email_workflow(workspace, to=["sales@example.com"])
    score_lead(lead, offer, 90)
    dispatch()
    [execution] = executions(workflow)
    assert (execution.status, execution.attempts, execution.error) == ("succeeded", 1, "")
    [mail] = mailoutbox
    assert mail.subject == "Lead to act on: Maya Chen (North wind) scored 90"


@pytest.mark.django_db
def test_email_to_an_owner_without_an_address_fails(workspace: Workspace, offer: Offer, lead: Lead,
                                                    carol: AbstractBaseUser, mailoutbox: list[Any]) -> None:
    carol.email = ""
    carol.save(update_fields=["email"])
    workflow = email_workflow(workspace, to="owner")
    other = LeadFactory(workspace=workspace)
    Lead.objects.filter(pk=lead.pk).update(owner=carol)
    score_lead(lead, offer, 90)
    score_lead(other, offer, 90)  # no owner at all
    dispatch()
    for execution in executions(workflow):
        assert (execution.status, execution.attempts, execution.error) == (
            "failed", 1, OWNER_UNSET.format(what="email"))
    assert OWNER_UNSET.format(what="email") == "The lead has no owner to email."
    assert len(executions(workflow)) == 2
    assert mailoutbox == []


@pytest.mark.django_db
@pytest.mark.parametrize(("config", "message"), [
    ({}, 'send_email needs {"to": ["name@example.com", …]} (up to 20) or {"to": "owner"}.'),
    ({"to": []}, 'send_email needs {"to": ["name@example.com", …]} (up to 20) or {"to": "owner"}.'),
    ({"to": "sales@example.com"}, 'send_email needs {"to": ["name@example.com", …]} (up to 20) or {"to": "owner"}.'),
    ({"to": [f"a{i}@example.com" for i in range(21)]},
     'send_email needs {"to": ["name@example.com", …]} (up to 20) or {"to": "owner"}.'),
    ({"to": ["sales@example.com", "not-an-email"]}, BAD_EMAIL.format(email="not-an-email")),
    ({"to": "owner", "subject": ""}, "subject must be a text of 1 to 200 characters."),
    ({"to": "owner", "body": "x" * 5001}, "body must be a text of 1 to 5000 characters."),
])
def test_email_config_is_checked(workspace: Workspace, config: dict[str, Any], message: str) -> None:
    with pytest.raises(LeadsError) as caught:
        make_workflow(workspace, trigger="manual", action="send_email", action_config=config)
    assert (caught.value.message, caught.value.details) == (message, {"action_config": [message]})


# --- exactly once -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_transition_dispatched_twice_makes_one_execution(workspace: Workspace, offer: Offer, lead: Lead,
                                                           receiver: Receiver) -> None:
    """The outbox row is gone after dispatch; re-inserted (a redelivered message), it fires nothing new."""
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    row = ScoreTransition.objects.get(lead=lead)
    assert transitions_dispatch() == 1
    assert transitions_dispatch() == 0
    assert not ScoreTransition.objects.exists()
    row.save(force_insert=True)  # the same row (same id) again
    assert transitions_dispatch() == 1
    assert not ScoreTransition.objects.exists()
    assert only(workflow).attempts == 1
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_an_execution_delivered_twice_sends_once(workspace: Workspace, offer: Offer, lead: Lead,
                                                 receiver: Receiver) -> None:
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    execution_deliver(execution.pk)
    execution_deliver(execution.pk)
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("succeeded", 1)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_running_execution_is_reclaimed_when_its_lease_expires(settings: Any, workspace: Workspace, offer: Offer,
                                                                 lead: Lead, receiver: Receiver) -> None:
    """A worker died mid-delivery: while its lease lasts nobody takes the execution; then one does,
    with the same message id."""
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)
    dispatch()
    execution = only(workflow)
    lease = settings.AUTOMATION_LEASE_SECONDS
    now = timezone.now()
    WorkflowExecution.objects.filter(pk=execution.pk).update(
        status="running", finished_at=None, updated_at=now - timedelta(seconds=lease - 5))
    execution_deliver(execution.pk)
    assert automations_sweep() == NO_SWEEP
    assert len(receiver.requests) == 1
    WorkflowExecution.objects.filter(pk=execution.pk).update(updated_at=now - timedelta(seconds=lease + 1))
    assert automations_sweep() == ONE_DELIVERY
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("succeeded", 2)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(execution.message_id)


@pytest.mark.django_db
def test_a_lost_delivery_message_is_found_by_the_sweep(settings: Any, workspace: Workspace, offer: Offer,
                                                       lead: Lead, receiver: Receiver) -> None:
    """A pending execution whose first message never arrived: the sweep sends it once its lease has passed."""
    workflow = make_workflow(workspace, trigger="manual", action="webhook", action_config={"url": receiver.url()})
    execution = WorkflowExecution.objects.create(workspace=workspace, workflow=workflow, lead=lead, trigger_key="x:1",
                                                 payload={"type": "manual"})
    assert automations_sweep() == NO_SWEEP
    WorkflowExecution.objects.filter(pk=execution.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.AUTOMATION_LEASE_SECONDS + 1))
    assert automations_sweep() == ONE_DELIVERY
    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("succeeded", 1)
    assert receiver.requests[0].json() == {"type": "manual"}


@pytest.mark.django_db
def test_the_sweep_dispatches_a_left_behind_outbox(workspace: Workspace, offer: Offer, lead: Lead,
                                                   receiver: Receiver) -> None:
    workflow = webhook(workspace, receiver.url())
    score_lead(lead, offer, 90)  # its after-commit nudge never runs inside the test's transaction
    assert automations_sweep() == {"deliveries": 0, "dispatch": 1, "scheduled": 0}
    assert not ScoreTransition.objects.exists()
    assert only(workflow).status == "succeeded"
    assert automations_sweep() == NO_SWEEP


@pytest.mark.django_db
def test_offer_and_workspace_scope(workspace: Workspace, offer: Offer, other_tenant: Any, receiver: Receiver) -> None:
    """A workflow of one offer ignores another offer's scores; another workspace's scores fire nothing here."""
    other_offer = OfferFactory(workspace=workspace)
    scoped = webhook(workspace, receiver.url(), offer=other_offer)
    anyone = webhook(workspace, receiver.url("/any"))
    inside = LeadFactory(workspace=workspace)
    score_lead(inside, offer, 90)
    outside_offer = OfferFactory(workspace=other_tenant.workspace)
    score_lead(LeadFactory(workspace=other_tenant.workspace), outside_offer, 90)
    assert dispatch() == 2
    assert executions(scoped) == []
    assert [(e.lead_id, e.offer_id) for e in executions(anyone)] == [(inside.pk, offer.pk)]
    score_lead(inside, other_offer, 95)
    dispatch()
    assert [(e.lead_id, e.offer_id) for e in executions(scoped)] == [(inside.pk, other_offer.pk)]
    assert len(executions(anyone)) == 2
    assert sorted(r.path for r in receiver.requests) == ["/any", "/any", "/hook"]


@pytest.mark.django_db
def test_workflows_run_in_priority_order(workspace: Workspace, offer: Offer, lead: Lead, receiver: Receiver) -> None:
    """ "Lower runs first": the executions one transition makes are delivered by priority."""
    webhook(workspace, receiver.url("/third"), priority=30)
    webhook(workspace, receiver.url("/first"), priority=10)
    webhook(workspace, receiver.url("/second"), priority=20)
    score_lead(lead, offer, 90)
    dispatch()
    assert [r.path for r in receiver.requests] == ["/first", "/second", "/third"]


@pytest.mark.django_db(transaction=True)
def test_a_slack_rate_limit_wait_does_not_outlive_the_lease(settings: Any, workspace: Workspace, lead: Lead,
                                                            slack_receiver: SlackReceiver) -> None:
    """slack_sdk sleeps for Retry-After inside the delivery. When that is longer than the lease
    (AUTOMATION_LEASE_SECONDS; the integration suite uses 8 s), the sweep takes the execution over
    while the first worker still holds it, and the team gets the alert twice. Lease 1 s, Retry-After 2 s."""
    settings.AUTOMATION_LEASE_SECONDS = 1
    slack_receiver.script(SlackReceiver.rate_limited(2))
    workflow = make_workflow(workspace, trigger="manual", action="slack",
                             action_config={"webhook_url": slack_receiver.url("/services/T/B/X")})
    swept: list[dict[str, int]] = []

    def another_worker() -> None:
        try:
            for _ in range(100):  # until the first request arrived (at most 5 s)
                if slack_receiver.requests:
                    break
                time.sleep(0.05)
            time.sleep(1.3)  # the first worker's lease has run out; it is still in slack_sdk's sleep
            swept.append(automations_sweep())
        finally:
            connections.close_all()

    worker = threading.Thread(target=another_worker, daemon=True)
    worker.start()
    workflow_run_manual(workflow=workflow, lead_ids=[lead.pk], offer=None)
    worker.join(timeout=15)
    assert not worker.is_alive()
    execution = only(workflow)
    if execution.status == "pending":  # handed the wait back to the scheduler: its time comes
        make_due(execution)
        execution_deliver(execution.pk)
        execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert len(slack_receiver.requests) == 2  # the 429 and one message, not two
    assert swept == [NO_SWEEP]  # nothing to take over: the first worker was within its lease


@pytest.mark.django_db
def test_inactive_workflows_do_not_fire(workspace: Workspace, offer: Offer, lead: Lead, receiver: Receiver) -> None:
    workflow = webhook(workspace, receiver.url(), is_active=False)
    score_lead(lead, offer, 90)
    assert dispatch() == 1
    assert executions(workflow) == []
    assert receiver.requests == []
