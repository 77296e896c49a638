"""What a workspace sells (offers) and whom it sells to (leads)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction

from leads.models.tenancy import Workspace

NAME_MAX = 255
BIO_MAX = 200_000  # characters; csv_parsing mirrors it
EMAIL_MAX = 254


class LeadStatus(models.TextChoices):
    NEW = "new"
    WORKING = "working"
    NURTURING = "nurturing"
    QUALIFIED = "qualified"
    DISQUALIFIED = "disqualified"
    CUSTOMER = "customer"


class Offer(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=200)
    value_props = models.JSONField(default=list, blank=True)
    ideal_use_cases = models.JSONField(default=list, blank=True)
    adjacent_industries = models.JSONField(default=list, blank=True)
    # None: the workspace's default model scores this offer.
    scoring_model = models.ForeignKey("leads.ScoringModel", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="offers")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="offer_ws_created")]

    def __str__(self) -> str:
        return self.name


class LeadQuerySet(models.QuerySet):
    def delete(self) -> tuple[int, dict[str, int]]:
        from leads.models.engagement import lead_events_delete  # engagement's models build on Lead

        with transaction.atomic(using=self.db):
            # The leads chosen once: on PostgreSQL a second evaluation of the filter could match a
            # lead the first did not, and that lead would go without its events.
            pks = list(self.values_list("pk", flat=True))
            lead_events_delete(pks)
            return models.QuerySet(self.model, using=self.db).filter(pk__in=pks).delete()

    delete.alters_data = True
    delete.queryset_only = True


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
    # db_default too: the import writes leads with raw SQL that names only the columns it fills.
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW,
                              db_default=LeadStatus.NEW)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_leads")
    tags = models.JSONField(default=list, db_default=[], blank=True)
    # "e:<email>" or "n:<name>|<company>" normalised: how re-uploads find the lead they update.
    dedupe_key = models.CharField(max_length=2 * NAME_MAX + 8, editable=False)
    # "n:<name>|<company>" normalised, whatever the email: how a row without an email finds the lead
    # that has one (a re-upload of a file that lacks the email column must not make a twin).
    name_key = models.CharField(max_length=2 * NAME_MAX + 8, editable=False, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "dedupe_key"], name="unique_lead_per_workspace"),
        ]
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"], name="lead_ws_created"),
                   models.Index(fields=["workspace", "name_key"], name="lead_ws_name_key")]

    def __str__(self) -> str:
        return f"{self.name or '?'} ({self.company or '?'})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        from leads.services.leads import lead_name_key  # the services own the key; models can't import them early

        self.name_key = lead_name_key(name=self.name, company=self.company)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name_key" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "name_key"]
        super().save(*args, **kwargs)

    def delete(self, using: str | None = None, keep_parents: bool = False) -> tuple[int, dict[str, int]]:
        # Events have no database relation to their lead (see Event.lead): they go first, here.
        from leads.models.engagement import lead_events_delete

        with transaction.atomic(using=using):
            lead_events_delete([self.pk])
            return super().delete(using=using, keep_parents=keep_parents)

    delete.alters_data = True
