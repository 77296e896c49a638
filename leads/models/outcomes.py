"""What happened to leads (won or lost) and the models learned from it.

One outcome per lead: a later one (a lost deal reopened and won) replaces it, since training and
backtests ask "did this lead convert", not for a deal history. A `TrainedModel` is plain data (the
coefficients, vocabularies and bins as JSON, never a pickle) with the metrics it was judged by;
scoring reads the newest one of the workspace (or of the offer, when one was trained for it).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from leads.models.jobs import Job
from leads.models.leads import Lead, Offer
from leads.models.tenancy import Workspace


class Outcome(models.Model):
    class Result(models.TextChoices):
        WON = "won"
        LOST = "lost"

    class Source(models.TextChoices):
        API = "api"
        UPLOAD = "upload"
        HUBSPOT = "hubspot"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="outcomes")
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, related_name="outcome")
    #: The offer the deal was about, when the sender said so (training for an offer reads these
    #: and the outcomes that name no offer).
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              db_index=False)
    outcome = models.CharField(max_length=4, choices=Result.choices)
    occurred_at = models.DateTimeField()
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.API)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["workspace", "outcome"], name="outcome_ws_result")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} {self.outcome}"


class TrainedModel(models.Model):
    """One training run's model and how well it predicted outcomes it had not seen."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="trained_models")
    #: Trained on one offer's outcomes (and those that name none), or on the whole workspace's.
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    #: leads.scoring.learned.LearnedModel.to_json()
    model = models.JSONField()
    n_won = models.PositiveIntegerField()
    n_lost = models.PositiveIntegerField()
    holdout_auc = models.FloatField(null=True)
    cv_auc = models.FloatField(null=True)
    cv_folds = models.JSONField(default=list)
    top_factors = models.JSONField(default=list)
    trained_at = models.DateTimeField()

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "offer", "version"],
                                               name="unique_trained_model_version")]

    def __str__(self) -> str:
        return f"learned model v{self.version}" + (f" for offer {self.offer_id}" if self.offer_id else "")

    @property
    def n_outcomes(self) -> int:
        return self.n_won + self.n_lost
