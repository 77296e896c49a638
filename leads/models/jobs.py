"""Background jobs a user can watch: imports and scoring runs, their chunks and uploads."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from leads.models.leads import Offer
from leads.models.tenancy import Workspace


class Job(models.Model):
    class Kind(models.TextChoices):
        IMPORT = "import"
        SCORE = "score"
        SYNC = "sync"
        TRAIN = "train"

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
    # Rows stored with a problem worth knowing (an email that is not one: kept as an attribute).
    warned = models.PositiveIntegerField(default=0)
    warnings = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    ai_requests = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    # The lease of the worker running an import: renewed while it works; once older than
    # JOB_LEASE_SECONDS, any live worker may take the job over (leads.services.leases).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
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
    # The lease of the worker scoring it (null: nobody has taken it yet), as on Job.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

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
