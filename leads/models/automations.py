"""Automations: workflows that act when a lead's score, intent, stage or fields change, every run
of one (an execution), follow-up tasks, and the hot-lead alert settings.

An execution is unique per (workflow, transition): the outbox row that made it fire. So a
transition dispatched twice (a redelivered task) makes one execution, and an execution delivered
twice is one message with one `message_id` the receiver can use to drop the repeat.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models.leads import Lead, Offer
from leads.models.tenancy import Workspace


class Workflow(models.Model):
    class Trigger(models.TextChoices):
        SCORE_THRESHOLD = "score_threshold"
        STAGE_CHANGE = "stage_change"
        INTENT_CHANGE = "intent_change"
        FIELD_UPDATE = "field_update"
        SCHEDULED = "scheduled"
        MANUAL = "manual"

    class Action(models.TextChoices):
        WEBHOOK = "webhook"
        SLACK = "slack"
        SEND_EMAIL = "send_email"
        ASSIGN_OWNER = "assign_owner"
        CHANGE_STATUS = "change_status"
        CREATE_TASK = "create_task"
        ADD_TAG = "add_tag"
        MOVE_TO_STAGE = "move_to_stage"
        UPDATE_FIELD = "update_field"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=100)
    trigger_type = models.CharField(max_length=20, choices=Trigger.choices)
    trigger_config = models.JSONField(default=dict, blank=True)
    #: Only this offer's scores trigger it; None: any offer's.
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.CASCADE, related_name="workflows")
    action_type = models.CharField(max_length=20, choices=Action.choices)
    #: Settings of the action; secrets in it (a Slack URL) are never shown back by the API.
    action_config = models.JSONField(default=dict, blank=True)
    #: HMAC key of the webhook signature (Standard Webhooks `whsec_` form), made by the server.
    secret = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    priority = models.SmallIntegerField(default=100, help_text="Lower runs first.")
    #: Set for the workflows the hot-lead alert settings manage ("hot", "warm").
    managed_by_alerts = models.CharField(max_length=10, blank=True, editable=False)
    #: When a scheduled workflow last ran (it runs again `every_hours` later).
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        indexes = [models.Index(fields=["workspace", "is_active", "trigger_type"], name="workflow_ws_active")]

    def __str__(self) -> str:
        return self.name


class WorkflowExecution(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="executions")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="workflow_executions")
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              db_index=False)
    #: The outbox row that fired it (score and stage moves), or a key for manual and scheduled runs.
    trigger_key = models.CharField(max_length=100)
    #: What the action sends: the lead, score, stage... as they were when the workflow fired.
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    #: Sent as `webhook-id`: the same on every retry, so a receiver can drop a repeat.
    message_id = models.UUIDField(default=uuid.uuid4, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workflow", "trigger_key"], name="one_execution_per_trigger")]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="execution_ws_created"),
            models.Index(fields=["status", "next_attempt_at"], condition=Q(status__in=["pending", "running"]),
                         name="execution_unfinished"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} for lead {self.lead_id}: {self.status}"


class Task(models.Model):
    class Priority(models.TextChoices):
        LOW = "low"
        NORMAL = "normal"
        HIGH = "high"
        URGENT = "urgent"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tasks")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    due = models.DateTimeField(null=True, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="lead_tasks")
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["done", "due", "id"]
        indexes = [models.Index(fields=["workspace", "done", "due"], name="task_ws_due")]

    def __str__(self) -> str:
        return self.title


class AlertConfig(models.Model):
    """Hot-lead alerts: a shorthand that keeps two managed workflows (hot and warm crossings)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="alert_config")
    hot_threshold = models.SmallIntegerField(default=80)
    warm_threshold = models.SmallIntegerField(default=60)
    enable_slack = models.BooleanField(default=False)
    slack_webhook_url = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"alerts of {self.workspace}"
