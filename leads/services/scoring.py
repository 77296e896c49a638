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

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from leads.exceptions import IntentProviderError
from leads.metrics import AI_CALLS, AI_ERRORS, AI_TOKENS, JOBS, LEADS_SCORED
from leads.models import Job, JobChunk, Lead, Offer, Score, Workspace
from leads.scoring.engine import score_lead
from leads.scoring.types import IntentResult, LeadData, OfferData, Usage
from leads.services.bulk_insert import rows_insert
from leads.services.intent import classify_with_cache, intent_provider_from_settings, scoring_method
from leads.services.jobs import errors_append, job_tasks_queue

logger = logging.getLogger(__name__)

LEAD_FIELDS = ("name", "role", "company", "industry", "location", "linkedin_bio")


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


def score_job_start(
    *, workspace: Workspace, user: AbstractBaseUser | None, offer: Offer, lead_ids: list[int] | None = None,
    rescore: bool = False,
) -> ScoreJobStart:
    """Create a scoring job (or return the one already running for this offer) and queue its chunks."""
    from leads.tasks import score_chunk_task

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

        leads = Lead.objects.filter(workspace=workspace)
        if lead_ids is not None:
            leads = leads.filter(pk__in=lead_ids)
        if not rescore:
            leads = leads.exclude(pk__in=Score.objects.filter(offer=offer, is_current=True).values("lead_id"))
        ids = list(leads.order_by("pk").values_list("pk", flat=True))

        provider = intent_provider_from_settings()
        now = timezone.now()
        job = Job.objects.create(
            workspace=workspace, created_by=user if user and user.is_authenticated else None, kind=Job.Kind.SCORE,
            offer=offer, total=len(ids),
            params={"rescore": rescore, "lead_ids_given": lead_ids is not None, "provider": provider.name,
                    "model": provider.model, "scoring_method": scoring_method(provider)},
        )
        chunks = JobChunk.objects.bulk_create(
            [JobChunk(job=job, index=i, lead_ids=chunk)
             for i, chunk in enumerate(_chunks(ids, settings.SCORE_CHUNK_SIZE))],
            batch_size=100,
        )
        if not chunks:
            job.status, job.started_at, job.finished_at = Job.Status.SUCCEEDED, now, now
            job.message = "Nothing to score: every selected lead already has a current score (use rescore)."
            job.save(update_fields=["status", "started_at", "finished_at", "message", "updated_at"])
            JOBS.labels(kind=job.kind, status=job.status).inc()
    chunk_ids = list(JobChunk.objects.filter(job=job).order_by("index").values_list("pk", flat=True))
    job_tasks_queue(job_id=job.pk, task=score_chunk_task, task_ids=chunk_ids)
    job.refresh_from_db()
    return ScoreJobStart(job=job, started=True)


# The columns of each score tuple score_chunk_run writes, in order.
_SCORE_COLUMNS = ("workspace_id", "lead_id", "offer_id", "job_id", "is_current", "rule_score", "ai_score", "score",
                  "intent", "ai_intent", "reasoning", "score_breakdown", "provider", "model", "created_at")


def score_chunk_run(chunk_id: int) -> None:
    """Score one chunk and write it, once. Safe to call again for the same chunk."""
    chunk = JobChunk.objects.select_related("job", "job__offer").filter(pk=chunk_id).first()
    if chunk is None or chunk.done:
        return
    job = chunk.job
    if job.is_finished:
        return
    if job.status == Job.Status.QUEUED:
        Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING, started_at=timezone.now())

    offer = job.offer
    rows = list(Lead.objects.filter(workspace_id=job.workspace_id, pk__in=chunk.lead_ids)
                .order_by("pk").values_list("pk", *LEAD_FIELDS))
    if not job.params.get("rescore"):
        already = set(Score.objects.filter(offer=offer, is_current=True, lead_id__in=[r[0] for r in rows])
                      .values_list("lead_id", flat=True))
        rows = [r for r in rows if r[0] not in already]
    missing = len(chunk.lead_ids) - len(rows)  # deleted since the job started, or scored by another run

    provider = intent_provider_from_settings()
    the_offer = offer_data(offer)
    leads = [LeadData(*row[1:]) for row in rows]
    verdicts = classify_with_cache(provider, leads, the_offer, workspace_id=job.workspace_id) if rows else []

    breakdown_field = Score._meta.get_field("score_breakdown")
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    scores: list[tuple] = []
    errors: list[dict] = []
    usage = Usage()
    for row, lead, verdict in zip(rows, leads, verdicts, strict=True):
        if isinstance(verdict, IntentProviderError):
            errors.append({"lead": row[0], "reason": verdict.message})
            usage = usage + Usage(**verdict.details.get("usage", {}))  # failed calls still cost tokens
            continue
        assert isinstance(verdict, IntentResult)
        usage = usage + verdict.usage
        result = score_lead(lead, the_offer, verdict)
        scores.append((
            job.workspace_id, row[0], offer.pk, job.pk, True, result.rule_score, result.ai_score, result.score,
            result.intent, result.ai_intent, result.reasoning,
            breakdown_field.get_db_prep_save(result.breakdown, connection), verdict.provider, verdict.model,
            created_at,
        ))

    with transaction.atomic():
        chunk = JobChunk.objects.select_for_update().get(pk=chunk_id)
        job = Job.objects.select_for_update().get(pk=job.pk)
        if chunk.done or job.is_finished:
            return  # written by an earlier delivery, or the job was cancelled meanwhile
        lead_ids = [score[1] for score in scores]
        Score.objects.filter(offer_id=offer.pk, lead_id__in=lead_ids, is_current=True).update(is_current=False)
        if scores:
            rows_insert(Score._meta.db_table, _SCORE_COLUMNS, scores)
        chunk.done, chunk.scored, chunk.failed, chunk.finished_at = True, len(scores), len(errors), timezone.now()
        chunk.save(update_fields=["done", "scored", "failed", "finished_at"])

        job.processed = F("processed") + len(rows) + missing
        job.failed = F("failed") + len(errors)
        job.skipped = F("skipped") + missing
        job.ai_requests = F("ai_requests") + usage.requests
        job.prompt_tokens = F("prompt_tokens") + usage.prompt_tokens
        job.completion_tokens = F("completion_tokens") + usage.completion_tokens
        fields = ["processed", "failed", "skipped", "ai_requests", "prompt_tokens", "completion_tokens", "updated_at"]
        fields += errors_append(job, errors)
        if not JobChunk.objects.filter(job_id=job.pk, done=False).exists():
            job.status = Job.Status.SUCCEEDED
            job.finished_at = timezone.now()
            fields += ["status", "finished_at"]
        job.save(update_fields=fields)

    LEADS_SCORED.labels(provider=provider.name).inc(len(scores))
    if usage.requests:
        AI_CALLS.labels(provider=provider.name).inc(usage.requests)
        AI_TOKENS.labels(provider=provider.name, kind="prompt").inc(usage.prompt_tokens)
        AI_TOKENS.labels(provider=provider.name, kind="completion").inc(usage.completion_tokens)
    if errors:
        AI_ERRORS.labels(provider=provider.name).inc(len(errors))
    job.refresh_from_db(fields=["status", "processed", "failed", "skipped", "total"])
    if job.status == Job.Status.SUCCEEDED:
        _finish_message(job)


def _finish_message(job: Job) -> None:
    scored = job.processed - job.failed - job.skipped
    message = f"Scored {scored} of {job.total} leads."
    if job.failed:
        message += f" {job.failed} could not be classified by the AI layer and stay unscored; run again to retry them."
    if job.skipped:
        message += f" {job.skipped} were skipped (deleted or already scored meanwhile)."
    Job.objects.filter(pk=job.pk).update(message=message)
    JOBS.labels(kind=job.kind, status=job.status).inc()


def score_jobs_resume() -> int:
    """Queue again every unwritten chunk of unfinished scoring jobs (a worker died holding them).

    Chunks are idempotent, so queueing one that is also still in the broker costs a little work,
    never a double score. Returns how many chunks were queued.
    """
    from leads.tasks import enqueue, score_chunk_task

    chunk_ids = list(JobChunk.objects.filter(done=False, job__kind=Job.Kind.SCORE,
                                             job__status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
                     .order_by("job_id", "index").values_list("pk", flat=True))
    for chunk_id in chunk_ids:
        enqueue(score_chunk_task, chunk_id)
    return len(chunk_ids)
