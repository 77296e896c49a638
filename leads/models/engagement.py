"""Engagement: what prospects did (events) and, per lead, the aggregates rules and decay read.

Events are kept as they came (the lead's timeline). Scoring never reads them: a lead's
`LeadEngagement` holds counts and last time per type, per-day counts for the recent window, first
and last activity, so a rule or the decay of a million leads reads one small row per lead. An
ingest only stores events; a fold moments later (leads.services.engagement) brings the aggregates
up to the workspace's `events_folded_through`, many requests' events at a time.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from leads.models.leads import Lead
from leads.models.tenancy import Workspace


class Event(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    # No index of its own: event_lead_time below leads with lead_id and serves every lookup by lead
    # (the timeline, cascades). A second one was a random write per event for nothing.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=50)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=50, default="api")
    #: The sender's id of the event: the same (source, external_id) is one event, however often sent.
    external_id = models.CharField(max_length=200, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "source", "external_id"], condition=~Q(external_id=""),
                                    name="one_event_per_external_id"),
        ]
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="event_lead_time")]

    def __str__(self) -> str:
        return f"{self.type} of lead {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class LeadEngagement(models.Model):
    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="engagement")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    #: {type: number of events}
    counts = models.JSONField(default=dict)
    #: {type: ISO time of the latest event of that type}
    last_at = models.JSONField(default=dict)
    #: {type: {day number (days since 1970-01-01, UTC): events that day}}, for the recent window only.
    daily = models.JSONField(default=dict)
    first_activity = models.DateTimeField(null=True, blank=True)
    last_activity = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"engagement of lead {self.lead_id}"
