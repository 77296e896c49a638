"""Workflows: validated on save, fired from the outbox, delivered in the background with retries.

    outbox (ScoreTransition) --transitions_dispatch--> WorkflowExecution --execution_deliver--> action

- Dispatch reads the outbox in order, creates one execution per (workflow, transition) it fires and
  deletes the rows, in one transaction: a transition is dispatched once, and if it is dispatched
  twice anyway (a redelivered task) the unique (workflow, trigger_key) makes one execution.
- Delivery claims an execution (pending, or running with an expired lease: its worker died), runs
  its action, and records the outcome. A failure worth retrying (timeout, 429, 5xx) waits with
  exponential backoff and full jitter, or as long as Retry-After asks when that is longer, up to
  WORKFLOW_MAX_ATTEMPTS; then the execution is failed with the last error. A webhook carries the
  execution's `message_id` on every attempt, so a receiver that saw an attempt whose answer got
  lost can drop the repeat.
- The sweep (Celery beat, every AUTOMATION_SWEEP_SECONDS, and at worker start) queues what is due:
  retries whose wait is over, executions whose worker died, transitions a lost message left behind,
  and scheduled workflows.
"""

from __future__ import annotations

import json
import logging
import random
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import BadHeaderError, send_mail
from django.core.validators import validate_email
from django.db import connections, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from leads.automation.triggers import (
    TRANSITION_TRIGGERS,
    WORKFLOW_CAUSE,
    TransitionFacts,
    TriggerConfigError,
    fires,
    validate_trigger,
)
from leads.exceptions import LeadsError
from leads.integrations import slack, webhooks
from leads.models import (
    AlertConfig,
    Lead,
    LeadStatus,
    Offer,
    QualificationStage,
    Score,
    ScoreTransition,
    Task,
    Workflow,
    WorkflowExecution,
    Workspace,
)
from leads.queue import DELIVER, DISPATCH, enqueue, enqueue_later
from leads.services.scoring_models import scoring_model_default

logger = logging.getLogger(__name__)

DISPATCH_BATCH = 5000
BACKOFF_BASE_SECONDS = 10
BACKOFF_MAX_SECONDS = 3600
RESPONSE_KEEP = 2000

ACTION_CONFIG_REQUIRED = "{action} needs {needs}."
NOT_A_MEMBER = "{user!r} is not a member of this workspace."
UNKNOWN_STAGE = "Unknown stage {stage!r}: use one of {stages}."
NOT_EDITABLE_FIELD = "update_field can set {fields} or attributes.<column>."
BAD_EMAIL = "{email!r} is not an email address."
BAD_STATUS = "status must be one of " + ", ".join(LeadStatus.values) + "."
MANUAL_ONLY = "Only manual workflows can be run by hand; this one fires on {trigger}."
OWNER_UNSET = "The lead has no owner to {what}."

UPDATABLE_FIELDS = ("role", "company", "industry", "location", "status")
TASK_PRIORITIES = ("low", "normal", "high", "urgent")


def _invalid(field: str, message: str) -> LeadsError:
    return LeadsError(message, code="invalid", details={field: [message]})


# --- validation -------------------------------------------------------------------------------------


def _member(workspace: Workspace, who: object) -> AbstractBaseUser:
    users = get_user_model().objects.filter(memberships__workspace=workspace)
    user = users.filter(pk=who).first() if isinstance(who, int) and not isinstance(who, bool) else \
        users.filter(username=str(who)).first()
    if user is None:
        raise _invalid("action_config", NOT_A_MEMBER.format(user=who))
    return user


def _text(config: dict[str, Any], key: str, *, limit: int, required: bool = False) -> str | None:
    value = config.get(key)
    if value is None:
        if required:
            raise _invalid("action_config", f"{key} is required.")
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _invalid("action_config", f"{key} must be a text of 1 to {limit} characters.")
    return value


def mask_url(url: str) -> str:
    """A secret URL as the API shows it back: enough to recognise, not enough to use."""
    if not url:
        return ""
    return url[: url.find("/", 8) + 1] + "…" + url[-4:] if "/" in url[8:] else "…" + url[-4:]


def _check_url(url: object, *, action: str, field: str = "action_config") -> str:
    if not isinstance(url, str) or not url.strip():
        raise _invalid(field, ACTION_CONFIG_REQUIRED.format(action=action, needs='{"url": "https://…"}'
                                                            if action == "webhook" else
                                                            '{"webhook_url": "https://hooks.slack.com/…"}'))
    try:
        webhooks.check_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE, resolve=False)
    except webhooks.TargetRefused as exc:
        raise _invalid(field, exc.message) from None
    return url.strip()


def validate_action(workspace: Workspace, action: str, config: dict[str, Any]) -> dict[str, Any]:
    """The action's config, checked, with defaults; LeadsError 400 naming what to fix."""
    if not isinstance(config, dict):
        raise _invalid("action_config", "action_config must be an object.")
    cleaned = dict(config)
    if action == "webhook":
        cleaned["url"] = _check_url(config.get("url"), action=action)
    elif action == "slack":
        cleaned["webhook_url"] = _check_url(config.get("webhook_url"), action=action)
        _text(config, "title", limit=100)
    elif action == "send_email":
        to = config.get("to")
        if to != "owner":
            if not isinstance(to, list) or not to or len(to) > 20:
                raise _invalid("action_config", ACTION_CONFIG_REQUIRED.format(
                    action=action, needs='{"to": ["name@example.com", …]} (up to 20) or {"to": "owner"}'))
            for address in to:
                try:
                    validate_email(address)
                except Exception:
                    raise _invalid("action_config", BAD_EMAIL.format(email=address)) from None
        _text(config, "subject", limit=200)
        _text(config, "body", limit=5000)
    elif action == "assign_owner":
        users = config.get("users") if "users" in config else [config.get("user")]
        if not isinstance(users, list) or not users or users == [None] or len(users) > 50:
            raise _invalid("action_config", ACTION_CONFIG_REQUIRED.format(
                action=action, needs='{"user": <username or id>} or {"users": [...]} (round robin)'))
        cleaned.pop("user", None)
        cleaned["users"] = [_member(workspace, who).pk for who in users]
    elif action == "change_status":
        if config.get("status") not in LeadStatus.values:
            raise _invalid("action_config", BAD_STATUS)
    elif action == "create_task":
        _text(config, "title", limit=200, required=True)
        _text(config, "description", limit=5000)
        days = config.get("due_in_days", 1)
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
            raise _invalid("action_config", "due_in_days must be a whole number from 0 to 365.")
        if config.get("priority", "normal") not in TASK_PRIORITIES:
            raise _invalid("action_config", "priority must be one of " + ", ".join(TASK_PRIORITIES) + ".")
        assignee = config.get("assignee")
        if assignee not in (None, "owner"):
            cleaned["assignee"] = _member(workspace, assignee).pk
    elif action == "add_tag":
        tag = config.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 50:
            raise _invalid("action_config", ACTION_CONFIG_REQUIRED.format(
                action=action, needs='{"tag": a text of up to 50 characters}'))
        cleaned["tag"] = tag.strip()
    elif action == "move_to_stage":
        scoring_model_default(workspace=workspace)  # makes the default stages, as a first look at them does
        stages = set(QualificationStage.objects.filter(workspace=workspace).values_list("stage", flat=True))
        if config.get("stage") not in stages:
            raise _invalid("action_config", UNKNOWN_STAGE.format(stage=config.get("stage"),
                                                                  stages=", ".join(sorted(stages)) or "none yet"))
    elif action == "update_field":
        field = config.get("field")
        if not isinstance(field, str) or not (field in UPDATABLE_FIELDS or
                                              (field.startswith("attributes.") and len(field) > len("attributes."))):
            raise _invalid("action_config", NOT_EDITABLE_FIELD.format(fields=", ".join(UPDATABLE_FIELDS)))
        if field == "status" and config.get("value") not in LeadStatus.values:
            raise _invalid("action_config", BAD_STATUS)
        value = config.get("value")
        if not isinstance(value, str) or len(value) > 1000:
            raise _invalid("action_config", "value must be a text of up to 1,000 characters.")
    if len(json.dumps(cleaned)) > 10_000:
        raise _invalid("action_config", "action_config is too large (10,000 characters of JSON at most).")
    return cleaned


def _validated(workspace: Workspace, data: dict[str, Any], workflow: Workflow | None = None) -> dict[str, Any]:
    trigger = data.get("trigger_type", workflow.trigger_type if workflow else None)
    action = data.get("action_type", workflow.action_type if workflow else None)
    cleaned = dict(data)
    try:
        cleaned["trigger_config"] = validate_trigger(
            trigger, data.get("trigger_config", workflow.trigger_config if workflow else {}) or {})
    except TriggerConfigError as exc:
        raise _invalid("trigger_config", exc.message) from None
    if "action_config" in data or "action_type" in data or workflow is None:
        config = data.get("action_config")
        if config is None:
            config = workflow.action_config if workflow else {}
        stored = (workflow.action_config or {}).get("webhook_url", "") if workflow else ""
        if stored and isinstance(config, dict) and config.get("webhook_url") == mask_url(stored):
            config = {**config, "webhook_url": stored}  # the masked URL the API showed: unchanged
        cleaned["action_config"] = validate_action(workspace, action, config)
    offer = cleaned.get("offer")
    if offer is not None and offer.workspace_id != workspace.pk:
        raise _invalid("offer", "Unknown offer.")
    return cleaned


WORKFLOW_FIELDS = ("name", "trigger_type", "trigger_config", "offer", "action_type", "action_config", "is_active",
                   "priority")


@transaction.atomic
def workflow_create(*, workspace: Workspace, user: AbstractBaseUser | None, data: dict[str, Any]) -> Workflow:
    cleaned = _validated(workspace, data)
    workflow = Workflow(workspace=workspace, created_by=user if user is not None and user.is_authenticated else None,
                        **{k: cleaned[k] for k in WORKFLOW_FIELDS if k in cleaned})
    if workflow.action_type == Workflow.Action.WEBHOOK:
        workflow.secret = webhooks.new_secret()
    workflow.full_clean(exclude=["workspace"])
    workflow.save()
    return workflow


@transaction.atomic
def workflow_update(*, workflow: Workflow, data: dict[str, Any]) -> Workflow:
    cleaned = _validated(workflow.workspace, data, workflow)
    changed = [k for k in WORKFLOW_FIELDS if k in cleaned and getattr(workflow, k) != cleaned[k]]
    for key in changed:
        setattr(workflow, key, cleaned[key])
    if workflow.action_type == Workflow.Action.WEBHOOK and not workflow.secret:
        workflow.secret = webhooks.new_secret()
        changed.append("secret")
    if changed:
        workflow.full_clean(exclude=["workspace"])
        workflow.save(update_fields=[*changed, "updated_at"])
    return workflow


ROTATE_NOT_WEBHOOK = "Only webhook workflows sign their requests, so only they have a secret to rotate."


def workflow_rotate_secret(*, workflow: Workflow) -> Workflow:
    if workflow.action_type != Workflow.Action.WEBHOOK:
        raise LeadsError(ROTATE_NOT_WEBHOOK, code="not_webhook", status_code=409)
    workflow.secret = webhooks.new_secret()
    workflow.save(update_fields=["secret", "updated_at"])
    return workflow


# --- dispatch ---------------------------------------------------------------------------------------


def _transition_facts(row: ScoreTransition) -> TransitionFacts:
    return TransitionFacts(kind=row.kind, cause=row.cause, previous_score=row.previous_score, score=row.score,
                           previous_intent=row.previous_intent, intent=row.intent, previous_stage=row.previous_stage,
                           stage=row.stage, field_name=row.field_name, new_value=row.new_value)


def lead_url(lead_id: int) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/admin/leads/lead/{lead_id}/change/"


def _lead_payload(lead: Lead) -> dict[str, Any]:
    return {"id": lead.pk, "name": lead.name, "role": lead.role, "company": lead.company, "industry": lead.industry,
            "location": lead.location, "email": lead.email, "status": lead.status,
            "owner": lead.owner.username if lead.owner_id else None, "tags": lead.tags, "url": lead_url(lead.pk)}


def _top_reasons(score: Score | None) -> list[str]:
    if score is None:
        return []
    rules = sorted(score.score_breakdown.get("rules") or [], key=lambda r: -abs(r.get("points", 0)))
    reasons = [f"{r['label']} ({r['points']:+d})" for r in rules[:3]]
    ai = score.score_breakdown.get("ai") or {}
    if ai.get("reasoning"):
        reasons.append(f"AI: {ai['reasoning'][:200]}")
    return reasons


def _payload(workflow: Workflow, row: ScoreTransition | None, lead: Lead, offer: Offer | None,
             score: Score | None, at: datetime) -> dict[str, Any]:
    """What the workflow acts on. A score transition's own numbers win over the current score's:
    the message says what crossed, even when the score moved again before the dispatch."""
    moved = row is not None and row.kind == "score"
    payload: dict[str, Any] = {
        "type": workflow.trigger_type,
        "workflow": {"id": workflow.pk, "name": workflow.name},
        "lead": _lead_payload(lead),
        "offer": {"id": offer.pk, "name": offer.name} if offer is not None else None,
        "score": row.score if moved else (score.score if score is not None else None),
        "previous_score": row.previous_score if row is not None else None,
        "intent": row.intent if moved else (score.intent if score is not None else None),
        "stage": row.stage if moved else (score.stage if score is not None else None),
        "previous_stage": row.previous_stage if moved else None,
        "reasons": _top_reasons(score),
        "at": at.isoformat(),
    }
    if row is not None and row.kind == "field":
        payload["change"] = {"field": row.field_name, "from": row.old_value, "to": row.new_value}
    return payload


def _active_workflows(workspace_ids: Iterable[int], triggers: Iterable[str]) -> dict[int, list[Workflow]]:
    by_workspace: dict[int, list[Workflow]] = defaultdict(list)
    for workflow in Workflow.objects.filter(workspace_id__in=set(workspace_ids), is_active=True,
                                            trigger_type__in=list(triggers)).order_by("priority", "id"):
        by_workspace[workflow.workspace_id].append(workflow)
    return by_workspace


def _executions_for(pairs: list[tuple[Workflow, ScoreTransition]], now: datetime) -> list[WorkflowExecution]:
    lead_ids = {row.lead_id for _, row in pairs}
    leads = Lead.objects.select_related("owner").in_bulk(lead_ids)
    offers = Offer.objects.in_bulk({row.offer_id for _, row in pairs if row.offer_id})
    keys = {(row.lead_id, row.offer_id) for _, row in pairs if row.offer_id}
    # Unordered: Score's default order (best first) makes SQLite walk every score of the offer.
    scores = {(s.lead_id, s.offer_id): s for s in Score.objects.filter(
        lead_id__in=lead_ids, offer_id__in={o for _, o in keys}, is_current=True).order_by()}
    executions = []
    for workflow, row in pairs:
        lead = leads.get(row.lead_id)
        if lead is None:
            continue
        offer = offers.get(row.offer_id) if row.offer_id else None
        score = scores.get((row.lead_id, row.offer_id))
        executions.append(WorkflowExecution(
            workspace_id=row.workspace_id, workflow=workflow, lead=lead, offer=offer, trigger_key=f"t:{row.pk}",
            payload=_payload(workflow, row, lead, offer, score, row.created_at or now)))
    return executions


DELIVERY_BATCH = 50
DELIVERY_THREADS = 8


def _insert_new(executions: list[WorkflowExecution]) -> list[int]:
    """Store the executions that don't exist yet (one per workflow and trigger key) and return the
    ids of those still waiting for their first attempt, in the workflows' priority order."""
    WorkflowExecution.objects.bulk_create(executions, ignore_conflicts=True, batch_size=500)
    return list(WorkflowExecution.objects.filter(
        workflow_id__in={e.workflow_id for e in executions}, trigger_key__in=[e.trigger_key for e in executions],
        status=WorkflowExecution.Status.PENDING, attempts=0)
        .order_by("workflow__priority", "workflow_id", "id").values_list("pk", flat=True))


def _queue_deliveries(execution_ids: list[int]) -> None:
    # Batches: a task per execution spent more on the queue than on the request (51 deliveries a
    # second on the embedded default); a batch sends its requests side by side.
    for start in range(0, len(execution_ids), DELIVERY_BATCH):
        enqueue(DELIVER, execution_ids[start:start + DELIVERY_BATCH])


def transitions_dispatch(*, limit: int = DISPATCH_BATCH) -> int:
    """Turn the oldest `limit` outbox rows into executions of the workflows they fire, delete them,
    and queue the deliveries. Returns how many rows were handled (call again while it is `limit`)."""
    with transaction.atomic():
        rows = list(ScoreTransition.objects.select_for_update(skip_locked=True).order_by("id")[:limit])
        if not rows:
            return 0
        workflows = _active_workflows((row.workspace_id for row in rows), TRANSITION_TRIGGERS)
        pairs: list[tuple[Workflow, ScoreTransition]] = []
        for row in rows:
            candidates = workflows.get(row.workspace_id)
            if not candidates:
                continue
            facts = _transition_facts(row)
            for workflow in candidates:
                if (workflow.offer_id is None or workflow.offer_id == row.offer_id) and \
                        fires(workflow.trigger_type, workflow.trigger_config, facts):
                    pairs.append((workflow, row))
        created: list[int] = []
        if pairs:
            now = timezone.now()
            created = _insert_new(_executions_for(pairs, now))
        ScoreTransition.objects.filter(pk__in=[row.pk for row in rows]).delete()
    _queue_deliveries(created)  # after the commit, so a worker finds the executions
    return len(rows)


def _start(workflow: Workflow, leads: list[Lead], *, key: str, user_offer: Offer | None) -> list[int]:
    now = timezone.now()
    offer = user_offer or workflow.offer
    scores = ({s.lead_id: s for s in Score.objects.filter(lead__in=leads, offer=offer, is_current=True).order_by()}
              if offer else {})
    executions = [WorkflowExecution(workspace_id=workflow.workspace_id, workflow=workflow, lead=lead, offer=offer,
                                    trigger_key=f"{key}:{lead.pk}",
                                    payload=_payload(workflow, None, lead, offer, scores.get(lead.pk), now))
                  for lead in leads]
    return _insert_new(executions)


def workflow_run_manual(*, workflow: Workflow, lead_ids: list[int], offer: Offer | None) -> list[int]:
    """Run a manual workflow now for these leads (ids already checked to be the workspace's)."""
    if workflow.trigger_type != Workflow.Trigger.MANUAL:
        raise LeadsError(MANUAL_ONLY.format(trigger=workflow.trigger_type), code="not_manual", status_code=409)
    leads = list(Lead.objects.filter(workspace_id=workflow.workspace_id, pk__in=lead_ids).select_related("owner"))
    with transaction.atomic():
        ids = _start(workflow, leads, key=f"m:{uuid.uuid4().hex}", user_offer=offer)
    _queue_deliveries(ids)
    return ids


SCHEDULED_MAX_LEADS = 10_000


def workflows_run_scheduled(*, now: datetime | None = None) -> int:
    """Start every scheduled workflow whose time has come, for the leads its config selects (current
    score of its offer at least `min_score`, in `stage`), once per period: the period's start is in
    each execution's key, so a second sweep in the same period starts nothing."""
    now = now or timezone.now()
    started = 0
    for workflow in Workflow.objects.filter(is_active=True, trigger_type=Workflow.Trigger.SCHEDULED):
        every = timedelta(hours=workflow.trigger_config["every_hours"])
        if workflow.last_run_at is not None and workflow.last_run_at + every > now:
            continue
        slot = int(now.timestamp() // every.total_seconds())
        scores = Score.objects.filter(workspace_id=workflow.workspace_id, is_current=True)
        if workflow.offer_id:
            scores = scores.filter(offer_id=workflow.offer_id)
        if "min_score" in workflow.trigger_config:
            scores = scores.filter(score__gte=workflow.trigger_config["min_score"])
        if "stage" in workflow.trigger_config:
            scores = scores.filter(stage=workflow.trigger_config["stage"])
        lead_ids = list(scores.order_by("-score", "lead_id").values_list("lead_id", flat=True)[:SCHEDULED_MAX_LEADS])
        leads = list(Lead.objects.filter(pk__in=lead_ids).select_related("owner"))
        with transaction.atomic():
            ids = _start(workflow, leads, key=f"s:{slot}", user_offer=None)
            Workflow.objects.filter(pk=workflow.pk).update(last_run_at=now)
        _queue_deliveries(ids)
        started += len(ids)
    return started


# --- delivery ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    response: str = ""
    error: str = ""
    retry: bool = False
    retry_after: float | None = None


def _fill(template: str, payload: dict[str, Any]) -> str:
    lead = payload.get("lead") or {}
    values = defaultdict(str, {**{k: v for k, v in lead.items() if isinstance(v, str | int)},
                               "score": payload.get("score"), "stage": payload.get("stage") or "",
                               "intent": payload.get("intent") or "", "url": lead.get("url", "")})
    try:
        return template.format_map(values)
    except (ValueError, IndexError, AttributeError):
        return template  # a stray brace: send the text as written rather than fail the action


def _deliver_webhook(execution: WorkflowExecution) -> Outcome:
    workflow = execution.workflow
    url = workflow.action_config["url"]
    try:
        webhooks.check_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except webhooks.TargetRefused as exc:
        return Outcome(ok=False, error=exc.message)
    body = json.dumps(execution.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = webhooks.signed_headers(workflow.secret, str(execution.message_id), body)
    result = webhooks.post_json(url, body, headers)
    response = f"{result.status}: {result.body}" if result.status else result.body
    return Outcome(ok=result.ok, response=response[:RESPONSE_KEEP], error=result.error, retry=result.retry,
                   retry_after=result.retry_after)


def _deliver_slack(execution: WorkflowExecution) -> Outcome:
    config = execution.workflow.action_config
    url = config["webhook_url"]
    try:
        webhooks.check_target(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
    except webhooks.TargetRefused as exc:
        return Outcome(ok=False, error=exc.message)
    message = slack.lead_alert(execution.payload, title=config.get("title") or execution.workflow.name)
    # Well inside the lease, timeouts included, so no other worker takes the execution over meanwhile.
    result = slack.send(url, message, max_inline_wait=min(5.0, settings.AUTOMATION_LEASE_SECONDS / 4))
    return Outcome(ok=result.ok, response=f"{result.status}: {result.body}"[:RESPONSE_KEEP], error=result.error,
                   retry=result.retry, retry_after=result.retry_after)


def _deliver_email(execution: WorkflowExecution) -> Outcome:
    config = execution.workflow.action_config
    lead = execution.lead
    if config["to"] == "owner":
        if lead.owner_id is None or not lead.owner.email:
            return Outcome(ok=False, error=OWNER_UNSET.format(what="email"))
        to = [lead.owner.email]
    else:
        to = list(config["to"])
    subject = _fill(config.get("subject") or "Lead to act on: {name} ({company}) scored {score}", execution.payload)
    subject = " ".join(subject.split())[:250]  # a header is one line: an uploaded name may hold line breaks
    body = _fill(config.get("body") or "{name}, {role} at {company}, scored {score} (stage {stage}).\n{url}",
                 execution.payload)
    try:
        sent = send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
    except BadHeaderError as exc:  # the message itself is wrong: sending it again changes nothing
        return Outcome(ok=False, error=f"Email not sent: {exc}")
    except (OSError, smtplib.SMTPException) as exc:  # a mail server that is down now may be up later
        return Outcome(ok=False, error=f"Email not sent: {exc}", retry=True)
    return Outcome(ok=sent == 1, response=f"sent to {', '.join(to)}", error="" if sent else "Nothing was sent.")


def _deliver_lead_change(execution: WorkflowExecution) -> Outcome:
    from leads.services.leads import lead_update  # lead writes belong to the leads service

    workflow = execution.workflow
    config = workflow.action_config
    lead = Lead.objects.select_for_update().get(pk=execution.lead_id)
    action = workflow.action_type
    if action == Workflow.Action.ASSIGN_OWNER:
        users = config["users"]
        # Round robin by how many leads this workflow already assigned.
        done = WorkflowExecution.objects.filter(workflow=workflow, status=WorkflowExecution.Status.SUCCEEDED).count()
        owner = get_user_model().objects.get(pk=users[done % len(users)])
        lead_update(lead=lead, data={"owner": owner}, cause=WORKFLOW_CAUSE)
        return Outcome(ok=True, response=f"owner set to {owner.username}")
    if action == Workflow.Action.CHANGE_STATUS:
        lead_update(lead=lead, data={"status": config["status"]}, cause=WORKFLOW_CAUSE)
        return Outcome(ok=True, response=f"status set to {config['status']}")
    if action == Workflow.Action.ADD_TAG:
        if config["tag"] in lead.tags:
            return Outcome(ok=True, response="tag already there")
        lead_update(lead=lead, data={"tags": [*lead.tags, config["tag"]]}, cause=WORKFLOW_CAUSE)
        return Outcome(ok=True, response=f"tag {config['tag']} added")
    if action == Workflow.Action.UPDATE_FIELD:
        field, value = config["field"], config["value"]
        if field.startswith("attributes."):
            data: dict[str, Any] = {"attributes": {**lead.attributes, field[len("attributes."):]: value}}
        else:
            data = {field: value}
        lead_update(lead=lead, data=data, cause=WORKFLOW_CAUSE)
        return Outcome(ok=True, response=f"{field} set")
    if action == Workflow.Action.CREATE_TASK:
        assignee_id = config.get("assignee")
        if assignee_id == "owner":
            assignee_id = lead.owner_id
        task = Task.objects.create(
            workspace_id=lead.workspace_id, lead=lead, workflow=workflow, assignee_id=assignee_id,
            title=_fill(config["title"], execution.payload)[:200],
            description=_fill(config.get("description") or "", execution.payload)[:5000],
            due=timezone.now() + timedelta(days=config.get("due_in_days", 1)),
            priority=config.get("priority", "normal"))
        return Outcome(ok=True, response=f"task {task.pk} created")
    if action == Workflow.Action.MOVE_TO_STAGE:
        from leads.services.score_store import score_stage_set

        score = Score.objects.filter(lead=lead, offer_id=execution.offer_id, is_current=True).first()
        if score is None:
            return Outcome(ok=False, error="The lead has no score for this offer, so it has no stage to move.")
        score_stage_set(score=score, stage=config["stage"], user=workflow.created_by, cause=WORKFLOW_CAUSE)
        return Outcome(ok=True, response=f"stage set to {config['stage']}")
    return Outcome(ok=False, error=f"Unknown action {action!r}.")


_SENDERS = {
    Workflow.Action.WEBHOOK: _deliver_webhook,
    Workflow.Action.SLACK: _deliver_slack,
    Workflow.Action.SEND_EMAIL: _deliver_email,
}


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter (base × 2^(attempt−1), a random share of it), never less
    than a Retry-After the receiver sent, at most an hour."""
    ceiling = min(BACKOFF_BASE_SECONDS * 2 ** max(attempt - 1, 0), BACKOFF_MAX_SECONDS)
    wait = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return min(wait, BACKOFF_MAX_SECONDS)


def _claim(execution_ids: list[int], now: datetime) -> list[int]:
    """Take the due (or abandoned) executions among `execution_ids`; returns those taken.

    One UPDATE stamps them with this claim's own `updated_at`, which then tells them apart from
    rows another worker claimed at another instant."""
    lease_over = now - timedelta(seconds=settings.AUTOMATION_LEASE_SECONDS)
    due = Q(status=WorkflowExecution.Status.PENDING) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    stale = Q(status=WorkflowExecution.Status.RUNNING, updated_at__lt=lease_over)
    with transaction.atomic():
        taken = WorkflowExecution.objects.filter(due | stale, pk__in=execution_ids).update(
            status=WorkflowExecution.Status.RUNNING, updated_at=now, attempts=F("attempts") + 1)
        if not taken:
            return []
        return list(WorkflowExecution.objects.filter(pk__in=execution_ids, status=WorkflowExecution.Status.RUNNING,
                                                     updated_at=now).order_by("id").values_list("pk", flat=True))


def _outcome_of(execution: WorkflowExecution) -> Outcome:
    sender = _SENDERS.get(execution.workflow.action_type)
    try:
        if sender is not None:
            return sender(execution)
        with transaction.atomic():
            return _deliver_lead_change(execution)
    except LeadsError as exc:
        return Outcome(ok=False, error=exc.message)
    except Exception as exc:
        logger.exception("Workflow %s failed on lead %s", execution.workflow_id, execution.lead_id)
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}", retry=True)


def _send_outside(execution: WorkflowExecution) -> Outcome:
    # A worker thread of its own: the senders do only HTTP and SMTP, and the thread's database
    # connection (if anything opened one) is closed before it goes back to the pool.
    try:
        return _outcome_of(execution)
    finally:
        connections.close_all()


def _heartbeat(execution_ids: set[int]) -> None:
    """Renew the lease of claimed executions still waiting for their turn or their answer."""
    if execution_ids:
        WorkflowExecution.objects.filter(pk__in=list(execution_ids), status=WorkflowExecution.Status.RUNNING).update(
            updated_at=timezone.now())


def executions_deliver(execution_ids: list[int]) -> None:
    """Run the due executions among `execution_ids` once each, in their workflows' priority order:
    webhook, Slack and email requests of one priority side by side (DELIVERY_THREADS at a time),
    changes to leads one after the other.

    The whole batch is claimed at once, so the lease of what still waits (queued behind a slow
    receiver, or in a later priority) is renewed every quarter of AUTOMATION_LEASE_SECONDS until
    its outcome is recorded: a slow batch is never mistaken for a dead worker's. The database is
    touched only from this thread; the pool's threads only send."""
    claimed = _claim(list(execution_ids), timezone.now())
    if not claimed:
        return
    executions = list(WorkflowExecution.objects.filter(pk__in=claimed)
                      .select_related("workflow", "lead", "lead__owner").order_by("workflow__priority", "id"))
    unrecorded = {execution.pk for execution in executions}
    tick = max(settings.AUTOMATION_LEASE_SECONDS / 4, 0.2)

    def record(execution: WorkflowExecution, outcome: Outcome) -> None:
        _record(execution, outcome)
        unrecorded.discard(execution.pk)

    by_priority: dict[int, list[WorkflowExecution]] = defaultdict(list)
    for execution in executions:
        by_priority[execution.workflow.priority].append(execution)
    for priority in sorted(by_priority):  # lower priorities first
        group = by_priority[priority]
        outside = [e for e in group if e.workflow.action_type in _SENDERS]
        if outside:  # even one: its request can take longer than the lease, which the loop renews
            with ThreadPoolExecutor(max_workers=min(DELIVERY_THREADS, len(outside))) as pool:
                futures = {pool.submit(_send_outside, execution): execution for execution in outside}
                waiting = set(futures)
                while waiting:
                    done, waiting = wait(waiting, timeout=tick, return_when=FIRST_COMPLETED)
                    for future in done:
                        record(futures[future], future.result())
                    _heartbeat(unrecorded)
        for execution in group:
            if execution.pk in unrecorded and execution.workflow.action_type not in _SENDERS:
                record(execution, _outcome_of(execution))
                _heartbeat(unrecorded)


def execution_deliver(execution_id: int) -> None:
    """Run one execution's action once, if it is due and nobody else is running it."""
    executions_deliver([execution_id])


def _record(execution: WorkflowExecution, outcome: Outcome) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"response": outcome.response[:RESPONSE_KEEP], "updated_at": now}
    if outcome.ok:
        fields.update(status=WorkflowExecution.Status.SUCCEEDED, error="", finished_at=now, next_attempt_at=None)
    elif outcome.retry and execution.attempts < settings.WORKFLOW_MAX_ATTEMPTS:
        wait = backoff_seconds(execution.attempts, outcome.retry_after)
        fields.update(status=WorkflowExecution.Status.PENDING, error=outcome.error[:RESPONSE_KEEP],
                      next_attempt_at=now + timedelta(seconds=wait))
    else:
        fields.update(status=WorkflowExecution.Status.FAILED, error=outcome.error[:RESPONSE_KEEP], finished_at=now,
                      next_attempt_at=None)
    WorkflowExecution.objects.filter(pk=execution.pk, status=WorkflowExecution.Status.RUNNING).update(**fields)
    if fields["status"] == WorkflowExecution.Status.PENDING:
        enqueue_later(DELIVER, [execution.pk], countdown=(fields["next_attempt_at"] - now).total_seconds())


def execution_retry(*, execution: WorkflowExecution) -> WorkflowExecution:
    """A person asks for a failed execution to run again (one more attempt, now)."""
    if execution.status != WorkflowExecution.Status.FAILED:
        raise LeadsError("Only a failed execution can be retried.", code="not_failed", status_code=409)
    WorkflowExecution.objects.filter(pk=execution.pk, status=WorkflowExecution.Status.FAILED).update(
        status=WorkflowExecution.Status.PENDING, next_attempt_at=None, finished_at=None,
        attempts=max(settings.WORKFLOW_MAX_ATTEMPTS - 1, 0))
    enqueue(DELIVER, [execution.pk])
    execution.refresh_from_db()
    return execution


def automations_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Queue what is due: retries whose wait is over, executions whose worker died, an outbox left
    behind by a lost message, and scheduled workflows. Safe to run as often as liked."""
    now = now or timezone.now()
    lease_over = now - timedelta(seconds=settings.AUTOMATION_LEASE_SECONDS)
    due = list(WorkflowExecution.objects.filter(
        Q(status=WorkflowExecution.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=WorkflowExecution.Status.PENDING, next_attempt_at__isnull=True, created_at__lt=lease_over)
        | Q(status=WorkflowExecution.Status.RUNNING, updated_at__lt=lease_over))
        .order_by("id").values_list("pk", flat=True)[:10_000])
    _queue_deliveries(due)
    dispatched = 0
    if ScoreTransition.objects.exists():
        enqueue(DISPATCH)
        dispatched = 1
    return {"deliveries": len(due), "dispatch": dispatched, "scheduled": workflows_run_scheduled(now=now)}


def workflow_statistics(*, workspace: Workspace) -> dict[str, int]:
    workflows = Workflow.objects.filter(workspace=workspace).aggregate(
        total=Count("id"), active=Count("id", filter=Q(is_active=True)))
    counts = dict(WorkflowExecution.objects.filter(workspace=workspace).order_by().values_list("status")
                  .annotate(n=Count("id")))
    return {
        "total": workflows["total"], "active": workflows["active"], "executions": sum(counts.values()),
        "succeeded": counts.get("succeeded", 0), "failed": counts.get("failed", 0),
        "pending": counts.get("pending", 0) + counts.get("running", 0),
    }




# --- tasks ------------------------------------------------------------------------------------------

TASK_FIELDS = ("title", "description", "due", "priority", "assignee", "done")


def _check_assignee(workspace: Workspace, assignee: AbstractBaseUser | None) -> None:
    if assignee is not None and not assignee.memberships.filter(workspace=workspace).exists():
        raise _invalid("assignee", NOT_A_MEMBER.format(user=assignee.get_username()))


@transaction.atomic
def task_create(*, workspace: Workspace, user: AbstractBaseUser | None, lead: Lead, data: dict[str, Any]) -> Task:
    _check_assignee(workspace, data.get("assignee"))
    task = Task(workspace=workspace, lead=lead, created_by=user if user is not None and user.is_authenticated else None,
                **{k: data[k] for k in TASK_FIELDS if k in data})
    if task.done:
        task.done_at = timezone.now()
    task.full_clean(exclude=["workspace", "lead"])
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, data: dict[str, Any]) -> Task:
    if "assignee" in data:
        _check_assignee(task.workspace, data["assignee"])
    changed = [k for k in TASK_FIELDS if k in data and getattr(task, k) != data[k]]
    for key in changed:
        setattr(task, key, data[key])
    if "done" in changed:
        task.done_at = timezone.now() if task.done else None
        changed.append("done_at")
    if changed:
        task.full_clean(exclude=["workspace", "lead"])
        task.save(update_fields=[*changed, "updated_at"])
    return task


# --- hot-lead alerts ----------------------------------------------------------------------------------

ALERT_FIELDS = ("hot_threshold", "warm_threshold", "enable_slack", "slack_webhook_url")
ALERT_ORDER = "warm_threshold must be below hot_threshold."
ALERT_NEEDS_URL = "enable_slack needs a slack_webhook_url."


def alert_config_get(*, workspace: Workspace) -> AlertConfig:
    config, _ = AlertConfig.objects.get_or_create(workspace=workspace)
    return config


@transaction.atomic
def alert_config_set(*, workspace: Workspace, user: AbstractBaseUser | None, data: dict[str, Any]) -> AlertConfig:
    """Save the settings and keep the two workflows they stand for in step: "Hot lead alert" and
    "Warm lead alert", Slack messages when a score crosses each threshold, active while Slack is on."""
    config = AlertConfig.objects.select_for_update().get_or_create(workspace=workspace)[0]
    for key in ALERT_FIELDS:
        if key in data:
            setattr(config, key, data[key])
    if config.warm_threshold >= config.hot_threshold:
        raise _invalid("warm_threshold", ALERT_ORDER)
    if config.enable_slack and not config.slack_webhook_url:
        raise _invalid("slack_webhook_url", ALERT_NEEDS_URL)
    if config.slack_webhook_url:
        config.slack_webhook_url = _check_url(config.slack_webhook_url, action="slack", field="slack_webhook_url")
    config.save()
    for kind, threshold, title in (("hot", config.hot_threshold, "Hot lead"),
                                   ("warm", config.warm_threshold, "Warm lead")):
        workflow = Workflow.objects.filter(workspace=workspace, managed_by_alerts=kind).first()
        values = {"name": f"{title} alert (alert settings)", "trigger_type": Workflow.Trigger.SCORE_THRESHOLD,
                  "trigger_config": {"score": threshold, "direction": "up"}, "action_type": Workflow.Action.SLACK,
                  "action_config": {"webhook_url": config.slack_webhook_url, "title": title},
                  "is_active": bool(config.enable_slack and config.slack_webhook_url)}
        if workflow is None:
            if not values["is_active"]:
                continue
            Workflow.objects.create(workspace=workspace, managed_by_alerts=kind, priority=10,
                                    created_by=user if user is not None and user.is_authenticated else None, **values)
        else:
            for key, value in values.items():
                setattr(workflow, key, value)
            workflow.save()
    return config
