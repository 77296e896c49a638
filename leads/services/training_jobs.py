"""Training jobs: the outcomes a model learns from, the run, and the model version it stores.

    training_start(workspace=..., user=..., offer=None) -> Job   # 400 when outcomes are too few
    training_run(job_id)                                        # the job's task

Training reads every lead with an outcome (for an offer: the outcomes naming it and those naming
none), builds each lead's facts the way scoring does, adds the rules of the offer's scoring model
that fire, and fits (services/training.py). The stored model is plain JSON; scoring needs no
scikit-learn. A new model makes the scores of every scoring model with a learned part stale
(cause `outcome`) and rescores them.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.models import Job, Lead, Offer, Outcome, TrainedModel, Workspace
from leads.queue import TRAIN
from leads.scoring.facts import NO_ENGAGEMENT
from leads.scoring.learned import featurize
from leads.scoring.types import OfferData
from leads.services.engagement import engagement_facts
from leads.services.jobs import job_finish, job_mark_running, job_tasks_queue
from leads.services.learned_models import MIN_EACH, learned_scores_stale
from leads.services.scoring import ALL_FACT_COLUMNS, facts_from_row, offer_data, score_job_start
from leads.services.scoring_models import compiled_model, scoring_model_default, scoring_model_for_offer
from leads.services.training import NotEnoughOutcomes, fit_learned_model

logger = logging.getLogger(__name__)

TRAINING_ROWS_MAX = 200_000
#: A training job not finished this long after its last change lost its worker (training 100,000
#: outcomes takes well under a minute): a new request fails it and starts another.
TRAINING_STALE = timedelta(minutes=10)
STALE_TRAINING = "The worker running this training stopped; a new training replaced it."
#: Features that echo the outcome rather than predict it: a person sets the status to "customer"
#: once a deal is won, and the CRM's lifecycle stage says the same.
OUTCOME_ECHOES = frozenset({"status", "attributes.lifecyclestage", "attributes.hs_lead_status"})
_READ_BATCH = 5000


def _outcomes(workspace_id: int, offer_id: int | None):
    outcomes = Outcome.objects.filter(workspace_id=workspace_id)
    if offer_id is not None:
        outcomes = outcomes.filter(Q(offer_id=offer_id) | Q(offer__isnull=True))
    return outcomes


def _refuse_if_too_few(won: int, lost: int) -> None:
    if won < MIN_EACH or lost < MIN_EACH:
        exc = NotEnoughOutcomes(won=won, lost=lost, needed_won=MIN_EACH, needed_lost=MIN_EACH)
        raise LeadsError(str(exc), code="not_enough_outcomes", details={
            "won": won, "lost": lost, "needed_won": max(MIN_EACH - won, 0), "needed_lost": max(MIN_EACH - lost, 0),
            "minimum_each": MIN_EACH})


def training_start(*, workspace: Workspace, user: AbstractBaseUser | None, offer: Offer | None = None) -> Job:
    """Check there are enough outcomes (400 otherwise) and queue a training job; a training already
    queued or running for the same scope is returned instead of a second."""
    outcomes = _outcomes(workspace.pk, offer.pk if offer else None)
    won = outcomes.filter(outcome=Outcome.Result.WON).count()
    lost = outcomes.filter(outcome=Outcome.Result.LOST).count()
    _refuse_if_too_few(won, lost)
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        going = Job.objects.filter(workspace=workspace, kind=Job.Kind.TRAIN, offer=offer,
                                   status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).first()
        if going is not None:
            if going.updated_at >= timezone.now() - TRAINING_STALE:
                return going
            job_finish(job=going, status=Job.Status.FAILED, message=STALE_TRAINING)
        job = Job.objects.create(workspace=workspace, created_by=user if user and user.is_authenticated else None,
                                 kind=Job.Kind.TRAIN, offer=offer, total=won + lost,
                                 params={"offer": offer.pk if offer else None, "won": won, "lost": lost})
    job_tasks_queue(job_id=job.pk, task_name=TRAIN, task_ids=[job.pk])
    job.refresh_from_db()
    return job


def _scope_offer(workspace_id: int, offer: Offer | None) -> tuple[Offer | None, OfferData]:
    if offer is None:
        offer = Offer.objects.filter(workspace_id=workspace_id).order_by("-created_at", "-id").first()
    return offer, (offer_data(offer) if offer is not None else OfferData(name=""))


def training_rows(*, workspace_id: int, offer: Offer | None) -> tuple[list[dict[str, object]], list[bool]]:
    """Each lead with an outcome as learned features, with whether it was won. Reads in batches."""
    scope_offer, the_offer = _scope_offer(workspace_id, offer)
    model = scoring_model_for_offer(scope_offer) if scope_offer is not None else \
        scoring_model_default(workspace=Workspace.objects.get(pk=workspace_id))
    compiled = compiled_model(model)
    labels = dict(_outcomes(workspace_id, offer.pk if offer else None).order_by("lead_id")
                  .values_list("lead_id", "outcome")[:TRAINING_ROWS_MAX])
    lead_ids = sorted(labels)
    rows: list[dict[str, object]] = []
    won: list[bool] = []
    now = timezone.now()
    for start in range(0, len(lead_ids), _READ_BATCH):
        batch = lead_ids[start:start + _READ_BATCH]
        engagement = engagement_facts(batch)
        for row in Lead.objects.filter(workspace_id=workspace_id, pk__in=batch).order_by("pk") \
                .values_list("pk", *ALL_FACT_COLUMNS):
            facts = facts_from_row(row, ALL_FACT_COLUMNS, now, engagement.get(row[0], NO_ENGAGEMENT))
            fired = [rule.spec.name for rule in compiled.rules if rule.fires(facts, the_offer)]
            features = featurize(facts, fired)
            rows.append({key: value for key, value in features.items() if key not in OUTCOME_ECHOES})
            won.append(labels[row[0]] == Outcome.Result.WON)
    return rows, won


def training_run(job_id: int) -> None:
    """Train, store the model as a new version, and rescore what it changes."""
    job = Job.objects.select_related("offer").filter(pk=job_id, kind=Job.Kind.TRAIN).first()
    if job is None or job.is_finished:
        return
    job_mark_running(job=job)
    rows, won = training_rows(workspace_id=job.workspace_id, offer=job.offer)
    try:
        result = fit_learned_model(rows, won, min_each=MIN_EACH)
    except NotEnoughOutcomes as exc:  # outcomes deleted since the job started
        job.refresh_from_db()
        job_finish(job=job, status=Job.Status.FAILED, message=str(exc))
        return
    now = timezone.now()
    with transaction.atomic():
        latest = TrainedModel.objects.filter(workspace_id=job.workspace_id, offer=job.offer) \
            .aggregate(v=Max("version"))["v"] or 0
        trained = TrainedModel.objects.create(
            workspace_id=job.workspace_id, offer=job.offer, version=latest + 1, job=job,
            created_by_id=job.created_by_id, model=result.model.to_json(), n_won=result.n_won,
            n_lost=result.n_lost, holdout_auc=result.holdout_auc, cv_auc=result.cv_auc,
            cv_folds=list(result.cv_fold_aucs), top_factors=[_factor_json(f) for f in result.top_factors],
            trained_at=now)
        job.refresh_from_db()
        job.processed = job.total = result.n_won + result.n_lost
        job.params = {**job.params, "trained_model": trained.pk, "version": trained.version,
                      "cv_auc": result.cv_auc, "holdout_auc": result.holdout_auc}
        job_finish(job=job, status=Job.Status.SUCCEEDED, fields=["processed", "total", "params"], message=(
            f"Trained learned model v{trained.version} on {result.n_won} won and {result.n_lost} lost outcomes: "
            f"cross-validated AUC {_auc(result.cv_auc)}, held-out AUC {_auc(result.holdout_auc)}."))
        offers = learned_scores_stale(workspace_id=job.workspace_id)
    # Only what the new model changes: offers never scored stay unscored until someone asks.
    for offer in Offer.objects.filter(pk__in=offers).order_by("pk"):
        score_job_start(workspace=offer.workspace, user=None, offer=offer, stale_only=True)


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _factor_json(factor: Any) -> dict[str, Any]:
    if isinstance(factor, dict):
        return factor
    return {"feature": factor.feature, "value": factor.value, "effect": round(float(factor.effect), 4)}
