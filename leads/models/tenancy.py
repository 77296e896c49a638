"""Tenancy: a workspace owns every other row; users are its members."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: The last SCORE_REFRESH_INTERVAL slot whose scheduled rescore ran (one run per slot).
    score_refreshed_slot = models.BigIntegerField(null=True, blank=True, editable=False)
    #: The id up to which the workspace's events are folded into their leads' aggregates (the
    #: events after it arrived since the last fold: leads.services.engagement).
    events_folded_through = models.BigIntegerField(default=0, editable=False)
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
