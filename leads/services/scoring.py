"""Scoring runs: a job split into chunks that Celery workers score and write, idempotently.

Why chunks: a million leads must not live in one task or one transaction. Each chunk is scored
outside any transaction (AI calls can take seconds) and written in one short transaction that
first re-checks the chunk's `done` flag under a row lock, so a chunk delivered twice — a worker
killed after writing but before acknowledging — is written once. The job finishes when its last
chunk is written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from leads import selectors
from leads.exceptions import IntentProviderError
from leads.gc_pause import gc_paused
from leads.metrics import AI_CALLS, AI_ERRORS, AI_TOKENS, LEADS_SCORED
from leads.models import Job, JobChunk, Lead, Offer, Score, ScoreCause, ScoringModel, Workspace
from leads.queue import SCORE_CHUNK, enqueue
from leads.scoring.engine import LearnedPart, evaluate
from leads.scoring.facts import NO_ENGAGEMENT, EngagementFacts, LeadFacts, reads_attributes
from leads.scoring.model import CompiledModel
from leads.scoring.stages import CompiledStage
from leads.scoring.types import IntentResult, LeadData, OfferData, Usage
from leads.services.engagement import engagement_facts, engagement_fold
from leads.services.intent import classify_with_cache, intent_provider_from_settings, scoring_method
from leads.services.jobs import errors_append, job_finish, job_mark_running, job_tasks_queue
from leads.services.learned_models import learned_part_for
from leads.services.leases import lease_free, lease_kept, lease_over
from leads.services.score_store import ScoreDraft, ScoreTarget, scores_write
from leads.services.scoring_models import compiled_model, scoring_model_for_offer, stages_compiled

logger = logging.getLogger(__name__)

LEAD_FIELDS = ("name", "role", "company", "industry", "location", "linkedin_bio")
# Read only when a rule or a stage needs them; `owner` by username, as people write it in rules.
FACT_COLUMNS = {"email": "email", "status": "status", "owner": "owner__username", "tags": "tags",
                "created_at": "created_at", "days_since_creation": "created_at"}
RULES_ONLY_PROVIDER = "rules"
NOTHING_TO_SCORE = "Nothing to score: every selected lead already has a current score (use rescore)."


def offer_data(offer: Offer) -> OfferData:
    return OfferData(
        name=offer.name,
        value_props=tuple(offer.value_props or ()),
        ideal_use_cases=tuple(offer.ideal_use_cases or ()),
        adjacent_industries=tuple(offer.adjacent_industries or ()),
    )


@dataclass(frozen=True)
class ScoreJobStart:
    job: Job
    #: False when a run for the same offer was already going and is returned instead of a twin.
    started: bool


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def run_leads(*, workspace: Workspace, offer: Offer, lead_ids: list[int] | None, rescore: bool,
              stale_only: bool) -> QuerySet[Lead]:
    """The leads a scoring run takes, in lead order: all of them (`rescore`), only those whose
    current score went stale (`stale_only`), or those plus the ones never scored (neither)."""
    leads = Lead.objects.filter(workspace=workspace)
    if lead_ids is not None:
        leads = leads.filter(pk__in=lead_ids)
    # Asked lead by lead (EXISTS), in lead order: each lead's current score is one probe of the
    # (lead, offer) index and a row near the last one read. As `IN (subquery)`, SQLite collected the
    # offer's scores in score order first, a row at a random place each: 10 s at a million leads.
    current = Score.objects.filter(lead_id=OuterRef("pk"), offer=offer, is_current=True)
    if stale_only:
        leads = leads.filter(Exists(current.exclude(stale_cause="")))
    elif not rescore:
        leads = leads.exclude(Exists(current.filter(stale_cause="")))
    return leads.order_by("pk")


def fresh_scores(*, offer: Offer, lead_ids: list[int]) -> QuerySet[Score, int]:
    """Which of these leads have a current score for the offer that is not stale (their ids).

    Unordered on purpose: with Score's default order (best first), SQLite answered it by walking
    every current score of the offer in that order, 225 ms a chunk of 2,000 at a million leads,
    instead of one probe of the (lead, offer) index per lead (3-10 ms)."""
    return (Score.objects.filter(offer=offer, is_current=True, stale_cause="", lead_id__in=lead_ids)
            .order_by().values_list("lead_id", flat=True))


def score_job_start(
    *, workspace: Workspace, user: AbstractBaseUser | None, offer: Offer, lead_ids: list[int] | None = None,
    rescore: bool = False, cause: str | None = None, stale_only: bool = False,
) -> ScoreJobStart:
    """Create a scoring job (or return the one already running for this offer) and queue its chunks.
    `stale_only`: only leads whose current score went stale, none that was never scored."""
    with transaction.atomic():
        # The offer's row lock serialises concurrent starts for one offer (SQLite: the IMMEDIATE
        # transaction already does), so two requests can't both decide "none is running".
        Offer.objects.select_for_update().filter(pk=offer.pk).first()
        running = (
            Job.objects.filter(workspace=workspace, kind=Job.Kind.SCORE, offer=offer,
                               status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
            .order_by("created_at").first()
        )
        if running is not None:
            return ScoreJobStart(job=running, started=False)

        ids = list(run_leads(workspace=workspace, offer=offer, lead_ids=lead_ids, rescore=rescore,
                             stale_only=stale_only).values_list("pk", flat=True))

        model = scoring_model_for_offer(offer)
        provider = intent_provider_from_settings()
        params: dict[str, Any] = {
            "rescore": rescore, "lead_ids_given": lead_ids is not None, "provider": provider.name,
            "model": provider.model, "scoring_method": scoring_method(provider, model),
            "scoring_model": {"id": model.pk, "name": model.name, "version": model.version},
        }
        if cause is not None:
            params["cause"] = cause
        elif rescore:
            params["cause"] = ScoreCause.RESCORE
        job = Job.objects.create(
            workspace=workspace, created_by=user if user and user.is_authenticated else None, kind=Job.Kind.SCORE,
            offer=offer, total=len(ids), params=params,
        )
        chunks = JobChunk.objects.bulk_create(
            [JobChunk(job=job, index=i, lead_ids=chunk)
             for i, chunk in enumerate(_chunks(ids, settings.SCORE_CHUNK_SIZE))],
            batch_size=100,
        )
        if not chunks:
            job_finish(job=job, status=Job.Status.SUCCEEDED, message=NOTHING_TO_SCORE)
    chunk_ids = list(JobChunk.objects.filter(job=job).order_by("index").values_list("pk", flat=True))
    job_tasks_queue(job_id=job.pk, task_name=SCORE_CHUNK, task_ids=chunk_ids)
    job.refresh_from_db()
    return ScoreJobStart(job=job, started=True)


ALL_FACT_COLUMNS = (*LEAD_FIELDS, *sorted(set(FACT_COLUMNS.values())), "attributes")


def _facts_row_fields(model: CompiledModel, stages: tuple[CompiledStage, ...],
                      learned: LearnedPart | None = None) -> tuple[str, ...]:
    """The lead columns a run reads: the six profile fields always, the rest only when a rule, a
    stage or the learned model reads them (a million JSON attribute blobs are not decoded for a
    model that ignores them)."""
    names = {rule.spec.field_name.strip().lower() for rule in (*model.rules, *model.knockouts)}
    names |= {name.strip().lower() for stage in stages for name in stage.spec.required_fields}
    learned_reads = learned.model.lead_columns_read if learned is not None else frozenset()
    extra = sorted({column for name, column in FACT_COLUMNS.items() if name in names or name in learned_reads})
    if model.needs_attributes or "attributes" in learned_reads or any(reads_attributes(name) for name in names):
        extra.append("attributes")
    return (*LEAD_FIELDS, *extra)


_ENGAGEMENT_FIELDS = frozenset({"last_activity_days_ago", "email_opens_count", "email_clicks_count",
                                "website_visits", "activities_count"})


def needs_engagement(model: CompiledModel, stages: tuple[CompiledStage, ...]) -> bool:
    """Whether a run must read the leads' event aggregates: the model decays engagement, or a rule
    or a stage reads an event count or action."""
    if model.spec.engagement or any(stage.spec.required_actions for stage in stages):
        return True
    names = {rule.spec.field_name.strip().lower() for rule in (*model.rules, *model.knockouts)}
    names |= {name.strip().lower() for stage in stages for name in stage.spec.required_fields}
    return any(name in _ENGAGEMENT_FIELDS or name.startswith("events.") for name in names)


def facts_from_row(row: tuple, columns: tuple[str, ...], now: datetime,
                   engagement: EngagementFacts = NO_ENGAGEMENT) -> LeadFacts:
    lead = LeadData(*row[1:7])
    if len(columns) == len(LEAD_FIELDS):
        return LeadFacts(lead=lead, now=now, engagement=engagement)
    values = dict(zip(columns[6:], row[7:], strict=True))
    return LeadFacts(
        lead=lead, now=now, email=values.get("email", ""), status=values.get("status", ""),
        owner=values.get("owner__username") or "", tags=tuple(values.get("tags") or ()),
        created_at=values.get("created_at"), attributes=values.get("attributes") or {}, engagement=engagement,
    )


@dataclass(frozen=True)
class _Scored:
    drafts: list[ScoreDraft]
    errors: list[dict[str, Any]]
    usage: Usage


def _score_leads(*, rows: list[tuple], columns: tuple[str, ...], offer: Offer, model: CompiledModel,
                 workspace_id: int, with_engagement: bool, learned: LearnedPart | None = None) -> _Scored:
    """Facts, knockouts, AI verdicts (only where the model asks for them) and the engine, for a batch."""
    now = timezone.now()
    the_offer = offer_data(offer)
    engagement = engagement_facts([row[0] for row in rows]) if with_engagement and rows else {}
    facts = [facts_from_row(row, columns, now, engagement.get(row[0], NO_ENGAGEMENT)) for row in rows]
    ask = [i for i, fact in enumerate(facts) if model.spec.ai_enabled and model.knockout_for(fact, the_offer) is None]
    verdicts: dict[int, IntentResult | IntentProviderError] = {}
    if ask:
        provider = intent_provider_from_settings()
        answers = classify_with_cache(provider, [facts[i].lead for i in ask], the_offer, workspace_id=workspace_id)
        verdicts = dict(zip(ask, answers, strict=True))
    drafts: list[ScoreDraft] = []
    errors: list[dict[str, Any]] = []
    usage = Usage()
    for i, (row, fact) in enumerate(zip(rows, facts, strict=True)):
        verdict = verdicts.get(i)
        if isinstance(verdict, IntentProviderError):
            errors.append({"lead": row[0], "reason": verdict.message})
            usage = usage + Usage(**verdict.details.get("usage", {}))  # failed calls still cost tokens
            continue
        if verdict is not None:
            usage = usage + verdict.usage
        result = evaluate(model, fact, the_offer, verdict, learned)
        drafts.append(ScoreDraft(lead_id=row[0], facts=fact, result=result,
                                 provider=verdict.provider if verdict else RULES_ONLY_PROVIDER,
                                 ai_model=verdict.model if verdict else ""))
    return _Scored(drafts, errors, usage)


def _target(job_or_offer: Offer, model: ScoringModel, *, job_id: int | None, pinned_version: int) -> ScoreTarget:
    # A model changed while this ran: what we write already needs another run.
    current_version = ScoringModel.objects.filter(pk=model.pk).values_list("version", flat=True).first()
    return ScoreTarget(
        workspace_id=job_or_offer.workspace_id, offer_id=job_or_offer.pk, scoring_model_id=model.pk,
        model_version=pinned_version, stages=stages_compiled(workspace_id=job_or_offer.workspace_id), job_id=job_id,
        stale_cause=ScoreCause.MODEL_CHANGE if current_version != pinned_version else "",
        record_transitions=selectors.outbox_has_readers(workspace_id=job_or_offer.workspace_id),
    )


def _model_of_job(job: Job) -> tuple[ScoringModel, CompiledModel]:
    pinned = job.params.get("scoring_model") or {}
    model = ScoringModel.objects.filter(pk=pinned.get("id"), workspace_id=job.workspace_id).first()
    if model is None:  # deleted since the job started: the offer's model now
        model = scoring_model_for_offer(job.offer)
    else:
        model.version = pinned.get("version", model.version)
    return model, compiled_model(model)


def score_chunk_run(chunk_id: int) -> None:
    """Score one chunk and write it, once. Safe to call again for the same chunk: a delivery finds it
    written, or held by a live worker (its lease), and does nothing."""
    chunk = JobChunk.objects.select_related("job", "job__offer", "job__offer__workspace").filter(pk=chunk_id).first()
    if chunk is None or chunk.done:
        return
    job = chunk.job
    if job.is_finished:
        return
    now = timezone.now()
    if not JobChunk.objects.filter(lease_free(now=now), pk=chunk_id, done=False).update(heartbeat_at=now):
        logger.info("Chunk %s is being scored by another worker; leaving it", chunk_id)
        return
    job_mark_running(job=job)
    with lease_kept(JobChunk.objects.filter(pk=chunk_id, done=False), now), gc_paused():
        _chunk_score_and_write(chunk_id, job)


def _chunk_score_and_write(chunk_id: int, job: Job) -> None:
    chunk = JobChunk.objects.get(pk=chunk_id)

    offer = job.offer
    model, compiled = _model_of_job(job)
    target = _target(offer, model, job_id=job.pk, pinned_version=model.version)
    learned = learned_part_for(workspace_id=job.workspace_id, offer_id=offer.pk, weight=compiled.spec.learned_weight)
    columns = _facts_row_fields(compiled, target.stages, learned)
    rows = list(Lead.objects.filter(workspace_id=job.workspace_id, pk__in=chunk.lead_ids)
                .order_by("pk").values_list("pk", *columns))
    if not job.params.get("rescore"):
        fresh = set(fresh_scores(offer=offer, lead_ids=[r[0] for r in rows]))
        rows = [r for r in rows if r[0] not in fresh]
    missing = len(chunk.lead_ids) - len(rows)  # deleted since the job started, or scored by another run
    scored = _score_leads(rows=rows, columns=columns, offer=offer, model=compiled, workspace_id=job.workspace_id,
                          with_engagement=(learned is not None and learned.model.reads_engagement)
                          or needs_engagement(compiled, target.stages),
                          learned=learned)
    usage, errors = scored.usage, scored.errors

    with transaction.atomic():
        chunk = JobChunk.objects.select_for_update().get(pk=chunk_id)
        job = Job.objects.select_for_update().get(pk=job.pk)
        if chunk.done or job.is_finished:
            return  # written by an earlier delivery, or the job was cancelled meanwhile
        scores_write(target, scored.drafts, cause=job.params.get("cause"))
        chunk.done, chunk.scored, chunk.failed = True, len(scored.drafts), len(errors)
        chunk.finished_at = timezone.now()
        chunk.save(update_fields=["done", "scored", "failed", "finished_at"])

        job.processed = F("processed") + len(rows) + missing
        job.failed = F("failed") + len(errors)
        job.skipped = F("skipped") + missing
        job.ai_requests = F("ai_requests") + usage.requests
        job.prompt_tokens = F("prompt_tokens") + usage.prompt_tokens
        job.completion_tokens = F("completion_tokens") + usage.completion_tokens
        fields = ["processed", "failed", "skipped", "ai_requests", "prompt_tokens", "completion_tokens", "updated_at"]
        fields += errors_append(job, errors)
        job.save(update_fields=fields)
        if not JobChunk.objects.filter(job_id=job.pk, done=False).exists():
            job.refresh_from_db(fields=["processed", "failed", "skipped", "total", "started_at"])
            job_finish(job=job, status=Job.Status.SUCCEEDED, message=_finish_message(job))

    provider_name = job.params.get("provider", "local")
    LEADS_SCORED.labels(provider=provider_name).inc(len(scored.drafts))
    if usage.requests:
        AI_CALLS.labels(provider=provider_name).inc(usage.requests)
        AI_TOKENS.labels(provider=provider_name, kind="prompt").inc(usage.prompt_tokens)
        AI_TOKENS.labels(provider=provider_name, kind="completion").inc(usage.completion_tokens)
    if errors:
        AI_ERRORS.labels(provider=provider_name).inc(len(errors))


AI_FAILED = "The AI layer could not classify this lead; it keeps its previous score. Try again shortly."


def lead_score_now(*, lead: Lead, offer: Offer) -> Score:
    """Score one lead for one offer at once (cause `manual`) and return its new current score.

    Raises IntentProviderError (502) when the AI layer can't give a verdict: nothing is written.
    """
    model = scoring_model_for_offer(offer)
    compiled = compiled_model(model)
    target = _target(offer, model, job_id=None, pinned_version=model.version)
    learned = learned_part_for(workspace_id=lead.workspace_id, offer_id=offer.pk, weight=compiled.spec.learned_weight)
    columns = _facts_row_fields(compiled, target.stages, learned)
    row = Lead.objects.filter(pk=lead.pk).values_list("pk", *columns).get()
    scored = _score_leads(rows=[row], columns=columns, offer=offer, model=compiled, workspace_id=lead.workspace_id,
                          with_engagement=(learned is not None and learned.model.reads_engagement)
                          or needs_engagement(compiled, target.stages),
                          learned=learned)
    if scored.errors:
        raise IntentProviderError(AI_FAILED, details={"lead": lead.pk, "reason": scored.errors[0]["reason"]})
    with transaction.atomic():
        Lead.objects.select_for_update().filter(pk=lead.pk).first()  # one writer of this lead's score at a time
        scores_write(target, scored.drafts, cause=ScoreCause.MANUAL)
    return Score.objects.select_related("lead").get(lead=lead, offer=offer, is_current=True)


def _finish_message(job: Job) -> str:
    scored = job.processed - job.failed - job.skipped
    message = f"Scored {scored} of {job.total} leads."
    if job.failed:
        message += f" {job.failed} could not be classified by the AI layer and stay unscored; run again to retry them."
    if job.skipped:
        message += f" {job.skipped} were skipped (deleted or already scored meanwhile)."
    return message


def score_jobs_resume(*, at_start: bool = False) -> int:
    """Queue again the unwritten chunks of unfinished scoring jobs that a dead worker held (their
    lease ran out) and, when a worker starts, also those nobody took yet (the embedded broker
    forgets the messages a killed worker had fetched).

    A delivery claims its chunk first, so queueing one that is also still in the broker, or held by
    a live worker, costs one query, never a double score. Returns how many chunks were queued.
    """
    now = timezone.now()
    abandoned = lease_free(now=now) if at_start else Q(heartbeat_at__lt=lease_over(now))
    chunk_ids = list(JobChunk.objects.filter(abandoned, done=False, job__kind=Job.Kind.SCORE,
                                             job__status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
                     .order_by("job_id", "index").values_list("pk", flat=True)[:10_000])
    for chunk_id in chunk_ids:
        enqueue(SCORE_CHUNK, chunk_id)
    return len(chunk_ids)


# --- rescoring that follows the data ------------------------------------------------------------


def workspace_rescore_stale(*, workspace: Workspace, user: AbstractBaseUser | None = None) -> list[Job]:
    """One run per offer for the leads whose score is stale or missing (each new score's cause is
    why it went stale). An offer with a run already going keeps that run. Events not folded yet are
    folded first: their leads are stale too (and no debounced rescore is queued for them: these runs
    are it)."""
    engagement_fold(workspace_id=workspace.pk, queue_rescore=False)
    return _stale_runs_start(workspace, user)


def _stale_runs_start(workspace: Workspace, user: AbstractBaseUser | None) -> list[Job]:
    return [score_job_start(workspace=workspace, user=user, offer=offer).job
            for offer in Offer.objects.filter(workspace=workspace).order_by("pk")]


def engagement_rescore(*, workspace_id: int) -> int:
    """The debounced rescore after events: every stale score of the workspace. Returns the runs started."""
    cache.delete(f"leadscore:rescore-queued:{workspace_id}")
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    return len(workspace_rescore_stale(workspace=workspace)) if workspace is not None else 0


def scores_refresh(*, now: datetime | None = None) -> int:
    """Beat's rescore: engagement decays, so every score an engagement-scoring model made for a lead
    with events is redone once per SCORE_REFRESH_INTERVAL slot (cause "schedule"). A workspace is
    claimed for a slot with one compare-and-swap, so a second beat or a retried task does nothing."""
    interval = settings.SCORE_REFRESH_INTERVAL
    if interval <= 0:
        return 0
    now = now or timezone.now()
    slot = int(now.timestamp() // interval)
    started = 0
    due = Q(score_refreshed_slot__isnull=True) | Q(score_refreshed_slot__lt=slot)
    claimed: list[Workspace] = []
    for workspace in Workspace.objects.filter(due).order_by("pk"):
        if not Workspace.objects.filter(due, pk=workspace.pk).update(score_refreshed_slot=slot):
            continue
        claimed.append(workspace)
        # Models whose scores move as days pass: an engagement part, or rules over event counts
        # and recency (count_30d, last_activity_days_ago).
        decaying = [model.pk for model in ScoringModel.objects.filter(workspace=workspace)
                    if model.engagement or needs_engagement(compiled_model(model), ())]
        if not decaying:
            continue
        default = ScoringModel.objects.filter(workspace=workspace, is_default=True, pk__in=decaying).exists()
        offers = Q(offer__scoring_model_id__in=decaying) | (Q(offer__scoring_model__isnull=True) if default else Q(
            pk__in=[]))
        Score.objects.filter(offers, workspace=workspace, is_current=True, stale_cause="",
                             lead__engagement__isnull=False).update(stale_cause=ScoreCause.SCHEDULE)
    for workspace in claimed:
        # Every stale score, not only those just marked: a rescore whose message was lost (a broker
        # restart) is made up for here, once per slot at the latest, and so is a lost fold.
        engagement_fold(workspace_id=workspace.pk, queue_rescore=False)
        if Score.objects.filter(workspace=workspace, is_current=True).exclude(stale_cause="").exists():
            started += len(_stale_runs_start(workspace, None))  # folded just above
    return started
