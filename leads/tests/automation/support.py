"""Helpers the automation tests share: scores written through the one writer, outbox draining,
and workflows made through the service (so every workflow a test uses passed validation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from leads.models import Lead, Offer, Score, ScoreTransition, Workflow, WorkflowExecution, Workspace
from leads.scoring.engine import evaluate
from leads.scoring.facts import LeadFacts
from leads.scoring.model import ModelSpec, RuleSpec, compile_model
from leads.scoring.stages import StageSpec, compile_stages
from leads.scoring.types import LeadData, OfferData
from leads.services.automations import transitions_dispatch, workflow_create
from leads.services.score_store import ScoreDraft, ScoreTarget, scores_write

#: The same stages as the `stages` fixture's rows: mql from 40, sql from 70.
STAGES = compile_stages([StageSpec(key="mql", name="MQL", order=10, minimum_score=40),
                         StageSpec(key="sql", name="SQL", order=20, minimum_score=70)])
KNOCKOUT = "Competitor"


def score_lead(lead: Lead, offer: Offer, points: int | None = None, *,
               rules: Sequence[tuple[str, int]] | None = None, knockout: bool = False) -> Score:
    """Write the lead's next score for the offer through scores_write: one rule per (label, points),
    AI off, so the score is the sum (clamped 0–100) and intent follows 70 / 40."""
    if rules is None:
        assert points is not None
        rules = [("Fit", points)]
    specs = [RuleSpec(name=label, operator="is_not_empty", points=value, field_name="name", group="fit",
                      priority=10 + index) for index, (label, value) in enumerate(rules)]
    if knockout:
        specs.append(RuleSpec(name=KNOCKOUT, operator="is_not_empty", points=0, field_name="name", group="fit",
                              priority=1, knockout=True))
    model = compile_model(ModelSpec(name="Fixed", ai_enabled=False, rule_max=100, rules=tuple(specs)))
    facts = LeadFacts(lead=LeadData(name=lead.name or "someone"), now=timezone.now())
    result = evaluate(model, facts, OfferData(name=offer.name), None)
    target = ScoreTarget(workspace_id=offer.workspace_id, offer_id=offer.pk, scoring_model_id=None,
                         model_version=None, stages=STAGES)
    with transaction.atomic():
        scores_write(target, [ScoreDraft(lead_id=lead.pk, facts=facts, result=result, provider="rules",
                                         ai_model="")])
    return Score.objects.get(lead=lead, offer=offer, is_current=True)


def dispatch() -> int:
    """Drain the outbox as the dispatch task does (bounded); deliveries run inline (eager Celery)."""
    handled = 0
    for _ in range(10):
        count = transitions_dispatch()
        handled += count
        if count == 0:
            return handled
    raise AssertionError("the outbox did not drain in 10 rounds")


def outbox() -> list[tuple[Any, ...]]:
    return list(ScoreTransition.objects.order_by("id").values_list(
        "kind", "lead_id", "previous_score", "score", "stage", "field_name", "new_value", "cause"))


def make_workflow(workspace: Workspace, *, trigger: str, action: str, trigger_config: dict[str, Any] | None = None,
                  action_config: dict[str, Any] | None = None, user: AbstractBaseUser | None = None,
                  **extra: Any) -> Workflow:
    data = {"name": extra.pop("name", f"{trigger} -> {action}"), "trigger_type": trigger,
            "trigger_config": trigger_config or {}, "action_type": action, "action_config": action_config or {},
            **extra}
    return workflow_create(workspace=workspace, user=user, data=data)


def executions(workflow: Workflow) -> list[WorkflowExecution]:
    return list(WorkflowExecution.objects.filter(workflow=workflow).order_by("id"))


def make_due(execution: WorkflowExecution, *, seconds_ago: float = 1.0) -> None:
    """Move a waiting retry's time into the past (instead of sleeping until it comes)."""
    WorkflowExecution.objects.filter(pk=execution.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=seconds_ago))


def between(value: datetime | None, low: datetime, high: datetime) -> bool:
    return value is not None and low <= value <= high
