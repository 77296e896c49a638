"""Scoring models as data: a workspace's rules, caps, AI points and thresholds, and its stages.

A model's settings and rules are edited in place, but every change bumps `version` and stores a
`ScoringModelVersion` snapshot (the whole model as JSON), so a score always says which model and
version made it and an old score can be explained after the model changed. The engine compiles a
snapshot, never these rows (leads/scoring/model.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models.tenancy import Workspace


def default_ai_points() -> dict[str, int]:
    return {"High": 50, "Medium": 30, "Low": 10}


class ScoringModel(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="scoring_models")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="Scores every offer that names no model of its own.")
    #: Bumped by every change to the model or its rules (services/scoring_models.py).
    version = models.PositiveIntegerField(default=1, editable=False)
    #: The template it was copied from, if any ("default", "budget_size_industry_urgency"...).
    template = models.CharField(max_length=50, blank=True, editable=False)
    rule_max = models.SmallIntegerField(default=50, help_text="The rule layer's cap, 0–100.")
    group_caps = models.JSONField(default=dict, blank=True,
                                  help_text='Per group: {"firmographic": {"max_points": 30, "min_points": -10}}.')
    ai_enabled = models.BooleanField(default=True)
    ai_points = models.JSONField(default=default_ai_points, blank=True,
                                 help_text='Points per AI verdict: {"High": 50, "Medium": 30, "Low": 10}.')
    engagement = models.JSONField(default=dict, blank=True,
                                  help_text="Points per event type with a half-life (the engagement part).")
    learned_weight = models.SmallIntegerField(default=0, help_text="Points of the learned model (0 = off).")
    high_from = models.SmallIntegerField(default=70)
    medium_from = models.SmallIntegerField(default=40)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_scoring_model_name"),
            models.UniqueConstraint(fields=["workspace"], condition=Q(is_default=True),
                                    name="one_default_scoring_model"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ScoringModelVersion(models.Model):
    """What a model was at one version: the spec the engine compiled for the scores of that version."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    spec = models.JSONField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["model", "version"], name="unique_scoring_model_version")]

    def __str__(self) -> str:
        return f"model {self.model_id} v{self.version}"


class ScoringRule(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="scoring_rules")
    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=100, help_text="The label a person reads in the breakdown.")
    rule_type = models.CharField(max_length=50, default="demographic",
                                 help_text="The group: demographic, firmographic, behavioral, engagement or your own.")
    field_name = models.CharField(max_length=200, blank=True,
                                  help_text="A lead field, attributes.<column>, or a computed field.")
    operator = models.CharField(max_length=30)
    value = models.JSONField(null=True, blank=True)
    points = models.SmallIntegerField(default=0)
    priority = models.SmallIntegerField(default=100, help_text="Lower runs and is listed first.")
    is_active = models.BooleanField(default=True)
    knockout = models.BooleanField(default=False, help_text="A match disqualifies the lead: score 0, intent Low.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model_id", "priority", "id"]
        indexes = [models.Index(fields=["workspace", "model"], name="rule_ws_model")]

    def __str__(self) -> str:
        return self.name


class QualificationStage(models.Model):
    """A stage a lead reaches when its criteria hold (MQL, SQL or a workspace's own)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    stage = models.SlugField(max_length=50, help_text='A key such as "mql" or "sql".')
    order = models.SmallIntegerField(default=0, help_text="Higher is further along the funnel.")
    minimum_score = models.SmallIntegerField(default=0)
    required_fields = models.JSONField(default=list, blank=True)
    required_actions = models.JSONField(default=list, blank=True, help_text="Event types the lead must have.")
    time_constraint_days = models.PositiveIntegerField(null=True, blank=True,
                                                       help_text="The required actions within this many days.")
    forward_only = models.BooleanField(default=True,
                                       help_text="Once reached, a lead keeps this stage when its score drops.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace_id", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "stage"], name="unique_stage_key")]

    def __str__(self) -> str:
        return self.name
