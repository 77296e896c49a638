"""Leadscore's data: workspaces (tenants) own offers, leads, scoring models, scores and jobs.

Every row that belongs to a tenant carries `workspace` directly (not through a join), so each
query can filter by it with an index and one workspace never reaches another's rows.
"""

from leads.models.automations import AlertConfig, Task, Workflow, WorkflowExecution
from leads.models.connectors import ExternalRecord, HubSpotConnector
from leads.models.engagement import Event, LeadEngagement, TimelineEntry
from leads.models.jobs import Job, JobChunk, UploadPart
from leads.models.leads import BIO_MAX, EMAIL_MAX, NAME_MAX, Lead, LeadStatus, Offer
from leads.models.outcomes import Outcome, TrainedModel
from leads.models.scores import IntentCacheEntry, Score, ScoreCause, ScoreTransition
from leads.models.scoring_models import QualificationStage, ScoringModel, ScoringModelVersion, ScoringRule
from leads.models.tenancy import Membership, Workspace

__all__ = [
    "Event",
    "LeadEngagement",
    "TimelineEntry",
    "AlertConfig",
    "Task",
    "Workflow",
    "WorkflowExecution",
    "BIO_MAX",
    "EMAIL_MAX",
    "ExternalRecord",
    "HubSpotConnector",
    "IntentCacheEntry",
    "Job",
    "JobChunk",
    "Lead",
    "LeadStatus",
    "Membership",
    "NAME_MAX",
    "Offer",
    "Outcome",
    "QualificationStage",
    "Score",
    "ScoreCause",
    "ScoreTransition",
    "ScoringModel",
    "ScoringModelVersion",
    "ScoringRule",
    "TrainedModel",
    "UploadPart",
    "Workspace",
]
