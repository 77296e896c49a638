"""CRM connectors: a workspace's HubSpot connection, and the link from each lead to the CRM records
it came from.

`HubSpotConnector.access_token` is write-only: the API takes it and answers `has_token`, the admin
never shows it, and no job, error or log line carries it.

`ExternalRecord` is the memory that keeps a sync incremental and quiet: the fingerprint of what
was last pulled (a contact whose only change is our own write-back matches it and is skipped),
how many of each engagement counter already became events (a re-sync adds only the difference),
and what was last written back (unchanged scores are not written again).
"""

from __future__ import annotations

from django.db import models

from leads.models.jobs import Job
from leads.models.leads import Lead, Offer
from leads.models.tenancy import Workspace


class HubSpotConnector(models.Model):
    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="hubspot_connector")
    #: A private-app token. Write-only: never serialised, never shown in the admin.
    access_token = models.CharField(max_length=500, blank=True)
    write_back = models.BooleanField(default=True)
    #: Whose scores are written back; None: the workspace's latest offer.
    offer = models.ForeignKey(Offer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    #: Contact properties pulled into `attributes` on top of the built-in list.
    extra_properties = models.JSONField(default=list, blank=True)
    #: When the last successful sync started: the next one asks for contacts modified since.
    last_synced_at = models.DateTimeField(null=True, blank=True)
    #: The leadscore_* contact properties exist in the portal (checked once per token).
    properties_ready = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"HubSpot connector of {self.workspace_id}"

    @property
    def has_token(self) -> bool:
        return bool(self.access_token)


class ExternalRecord(models.Model):
    """One CRM record (a HubSpot contact) linked to the lead it feeds."""

    class System(models.TextChoices):
        HUBSPOT = "hubspot", "HubSpot"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="external_records")
    system = models.CharField(max_length=20, choices=System.choices)
    external_id = models.CharField(max_length=100)
    #: sha256 of the pulled properties, leaving out our own leadscore_* ones and the modification times.
    fingerprint = models.CharField(max_length=64, blank=True)
    #: {counter property: count already turned into events}
    counters = models.JSONField(default=dict, blank=True)
    #: {leadscore_* property: value last written}
    written = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    #: The sync job that last changed this link (for support: which run touched a contact).
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "system", "external_id"], name="unique_external_record"),
        ]

    def __str__(self) -> str:
        return f"{self.system} {self.external_id} -> lead {self.lead_id}"
