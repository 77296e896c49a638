"""The ledger of scores (current and history) and the AI verdict cache."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models.jobs import Job
from leads.models.leads import Lead, Offer
from leads.models.tenancy import Workspace


class ScoreCause(models.TextChoices):
    UPLOAD = "upload"
    RESCORE = "rescore"
    EVENTS = "events"
    SCHEDULE = "schedule"
    MODEL_CHANGE = "model_change"
    OUTCOME = "outcome"
    MANUAL = "manual"


class Score(models.Model):
    """A lead's score against an offer. One row per (lead, offer) is current; older ones are history."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="scores")
    # Indexed by `score_lead` below, which starts with the lead.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="scores", db_index=False)
    # No index of its own: the partial results indexes below lead with offer. A plain one would tempt
    # SQLite into counting a million results through it, checking is_current row by row (4x slower).
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="scores", db_index=False)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="scores")
    is_current = models.BooleanField(default=True)
    # Signed: a model's rules may take points away (the total is still clamped to 0–100).
    rule_score = models.SmallIntegerField()
    ai_score = models.SmallIntegerField()
    score = models.SmallIntegerField()
    intent = models.CharField(max_length=6)
    #: Blank when the model has no AI part or a knockout rule made asking pointless.
    ai_intent = models.CharField(max_length=6, blank=True)
    reasoning = models.TextField()
    score_breakdown = models.JSONField(default=dict)
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=100, blank=True)
    # No index: scores are read by offer, and a million-row FK index would cost every write.
    scoring_model = models.ForeignKey("leads.ScoringModel", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", db_index=False)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    #: The learned model's probability of winning, when the scoring model has a learned part (its
    #: factors are in the breakdown's "learned" component).
    conversion_probability = models.FloatField(null=True, blank=True)
    stage = models.CharField(max_length=50, blank=True)
    #: Set (stage_set_at) when a person or a workflow chose the stage: it then stays until a person
    #: changes it again. stage_set_by is the person (a workflow's creator, or nobody).
    stage_set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+", db_index=False)
    stage_set_at = models.DateTimeField(null=True, blank=True)
    previous_score = models.SmallIntegerField(null=True, blank=True)
    score_change = models.SmallIntegerField(null=True, blank=True)
    cause = models.CharField(max_length=20, choices=ScoreCause.choices, default=ScoreCause.RESCORE)
    #: Why a current score no longer reflects its inputs (a ScoreCause), blank while it does. The
    #: next run without `rescore` picks these up and records this as the new score's cause.
    stale_cause = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "lead_id"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "offer"], condition=Q(is_current=True),
                                    name="one_current_score_per_lead_offer"),
        ]
        indexes = [
            # Results: best first for one offer; lead_id breaks ties so pages are stable. Partial on
            # is_current because Django writes `WHERE is_current` (not `= 1`), which a plain index column
            # can't serve: SQLite would sort every score of the offer for each page.
            models.Index(fields=["offer", "-score", "lead"], condition=Q(is_current=True), name="score_current"),
            models.Index(fields=["offer", "intent", "-score", "lead"], condition=Q(is_current=True),
                         name="score_current_intent"),
            # Distribution and the stage filter: every column they read, so neither touches the table.
            models.Index(fields=["offer", "stage", "intent", "score"], condition=Q(is_current=True),
                         name="score_distribution"),
            # A lead's scores (its history, the cascade), and a search's matches sorted by score:
            # with every column a results filter or the sort reads, a match costs one index entry.
            models.Index(fields=["lead", "offer", "is_current", "score", "intent", "stage"], name="score_lead"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} × {self.offer_id}: {self.score}"


class IntentCacheEntry(models.Model):
    """An AI verdict kept so an unchanged (lead, offer, provider, model, prompt version) is never paid
    for twice in a workspace. The key is a hash of those inputs and the workspace id, so one
    workspace never gets (or learns of) another's verdict."""

    key = models.CharField(max_length=64, primary_key=True)
    intent = models.CharField(max_length=6)
    reasoning = models.TextField()
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "intent cache entry"
        verbose_name_plural = "intent cache entries"

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}: {self.intent}"


class ScoreTransition(models.Model):
    """Outbox: a score write that changed the score, intent or stage (kind "score"), or a person's
    change to a lead field (kind "field"), recorded in the transaction that made it.

    The automations dispatcher reads these rows in order, creates the executions of the workflows
    they fire and deletes them in one transaction: no transition is lost between "score written"
    and "workflow fired", and a transition dispatched twice still fires each workflow once (an
    execution is unique per workflow and transition).
    """

    class Kind(models.TextChoices):
        SCORE = "score"
        FIELD = "field"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SCORE, db_default=Kind.SCORE)
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              db_index=False)
    previous_score = models.SmallIntegerField(null=True, blank=True)
    score = models.SmallIntegerField(null=True, blank=True)
    previous_intent = models.CharField(max_length=6, blank=True)
    intent = models.CharField(max_length=6)
    previous_stage = models.CharField(max_length=50, blank=True)
    stage = models.CharField(max_length=50, blank=True)
    #: A ScoreCause, or "workflow" for a change an automation made (which never fires field
    #: workflows again, so two workflows can't feed each other for ever).
    cause = models.CharField(max_length=20)
    field_name = models.CharField(max_length=200, blank=True, db_default="")
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.previous_score} -> {self.score}"
