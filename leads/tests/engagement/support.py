"""Shared setup of the engagement DB suites: scored leads under a model that decays engagement."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from leads.models import Lead, LeadEngagement, Offer, Score, ScoringModel, Workspace
from leads.services.scoring import score_job_start
from leads.services.scoring_models import scoring_model_create
from leads.tests.factories import LeadFactory, OfferFactory


def iso(moment: datetime) -> str:
    """How a client writes a time: ISO 8601 in UTC with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


def days_ago(days: float) -> str:
    """An ISO time that many days before now, to the second."""
    return iso((timezone.now() - timedelta(days=days)).replace(microsecond=0))


def decay_model(workspace: Workspace, name: str = "Decay") -> ScoringModel:
    """A copy of the engagement_decay template (AI off, so no provider is asked)."""
    return scoring_model_create(workspace=workspace, user=None, data={"name": name, "template": "engagement_decay"})


def decay_offer(workspace: Workspace, name: str = "Decay offer") -> Offer:
    return OfferFactory(workspace=workspace, name=name, scoring_model=decay_model(workspace, f"{name} model"))


def scored_leads(workspace: Workspace, offer: Offer, *emails: str) -> list[Lead]:
    """Leads with these emails, each with a current (fresh) score for `offer`."""
    leads = [LeadFactory(workspace=workspace, email=email) for email in emails]
    job = score_job_start(workspace=workspace, user=None, offer=offer).job
    assert job.status == "succeeded", job.message
    return leads


def current(lead: Lead, offer: Offer) -> Score:
    return Score.objects.get(lead=lead, offer=offer, is_current=True)


def aggregates(lead: Lead) -> dict[str, Any]:
    row = LeadEngagement.objects.get(lead=lead)
    return {"counts": row.counts, "daily": row.daily, "first_activity": row.first_activity,
            "last_activity": row.last_activity}
