"""Leadscore's data: workspaces (tenants) own offers, leads, scores and jobs.

Every row that belongs to a tenant carries `workspace` directly (not through a join), so each
query can filter by it with an index and one workspace never reaches another's rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

NAME_MAX = 255
BIO_MAX = 10_000
EMAIL_MAX = 254


class Workspace(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="workspaces")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace}"


class Offer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=200)
    value_props = models.JSONField(default=list, blank=True)
    ideal_use_cases = models.JSONField(default=list, blank=True)
    adjacent_industries = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="offer_ws_created")]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="leads")
    name = models.CharField(max_length=NAME_MAX, blank=True)
    role = models.CharField(max_length=NAME_MAX, blank=True)
    company = models.CharField(max_length=NAME_MAX, blank=True)
    industry = models.CharField(max_length=NAME_MAX, blank=True)
    location = models.CharField(max_length=NAME_MAX, blank=True)
    linkedin_bio = models.TextField(max_length=BIO_MAX, blank=True)
    email = models.CharField(max_length=EMAIL_MAX, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # "e:<email>" or "n:<name>|<company>" normalised: how re-uploads find the lead they update.
    dedupe_key = models.CharField(max_length=2 * NAME_MAX + 8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "dedupe_key"], name="unique_lead_per_workspace"),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"], name="lead_ws_created")]

    def __str__(self) -> str:
        return f"{self.name or '?'} ({self.company or '?'})"


class Job(models.Model):
    class Kind(models.TextChoices):
        IMPORT = "import"
        SCORE = "score"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    errors_truncated = models.BooleanField(default=False)
    message = models.TextField(blank=True)
    ai_requests = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "kind", "status"], name="job_ws_kind_status")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class JobChunk(models.Model):
    """One slice of a scoring job. Its `done` flag is set in the transaction that writes its scores,
    so a chunk delivered twice (a killed worker) is written once."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    lead_ids = models.JSONField(default=list)
    done = models.BooleanField(default=False)
    scored = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="unique_job_chunk")]

    def __str__(self) -> str:
        return f"chunk {self.index} of job {self.job_id}"


class UploadPart(models.Model):
    """One piece of an upload kept in the database until its import has run (UPLOAD_STORAGE=database),
    so a worker on another machine than the web process that took the file can read it."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="upload_parts")
    index = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="unique_upload_part")]

    def __str__(self) -> str:
        return f"part {self.index} of job {self.job_id}"


class Score(models.Model):
    """A lead's score against an offer. One row per (lead, offer) is current; older ones are history."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="scores")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="scores")
    # No index of its own: the partial results indexes below lead with offer. A plain one would tempt
    # SQLite into counting a million results through it, checking is_current row by row (4x slower).
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="scores", db_index=False)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="scores")
    is_current = models.BooleanField(default=True)
    rule_score = models.PositiveSmallIntegerField()
    ai_score = models.PositiveSmallIntegerField()
    score = models.PositiveSmallIntegerField()
    intent = models.CharField(max_length=6)
    ai_intent = models.CharField(max_length=6)
    reasoning = models.TextField()
    score_breakdown = models.JSONField(default=dict)
    provider = models.CharField(max_length=20)
    model = models.CharField(max_length=100, blank=True)
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

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}: {self.intent}"
