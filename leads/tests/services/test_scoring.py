"""Scoring runs: chunks written once, history kept, twins refused, cancel honoured."""

from __future__ import annotations

import pytest
from django.test import override_settings

from leads.models import Job, JobChunk, Offer, Score, Workspace
from leads.services.jobs import job_cancel
from leads.services.scoring import score_chunk_run, score_job_start, score_jobs_resume
from leads.tests.factories import LeadFactory, OfferFactory


@pytest.fixture
def offer(workspace: Workspace) -> Offer:
    return OfferFactory(workspace=workspace, ideal_use_cases=["B2B SaaS"])


@pytest.mark.django_db
@override_settings(SCORE_CHUNK_SIZE=3)
def test_run_scores_every_lead_once_in_chunks(workspace: Workspace, offer: Offer) -> None:
    leads = LeadFactory.create_batch(7, workspace=workspace)
    start = score_job_start(workspace=workspace, user=None, offer=offer)
    job = start.job
    assert start.started
    assert (job.status, job.total, job.processed, job.failed) == ("succeeded", 7, 7, 0)
    assert JobChunk.objects.filter(job=job).count() == 3
    assert Score.objects.filter(offer=offer, is_current=True).count() == 7
    assert set(Score.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in leads}
    assert job.message == "Scored 7 of 7 leads."


@pytest.mark.django_db
def test_a_second_run_scores_only_new_leads(workspace: Workspace, offer: Offer) -> None:
    LeadFactory.create_batch(2, workspace=workspace)
    score_job_start(workspace=workspace, user=None, offer=offer)
    LeadFactory(workspace=workspace)
    job = score_job_start(workspace=workspace, user=None, offer=offer).job
    assert job.total == 1
    assert Score.objects.filter(offer=offer).count() == 3


@pytest.mark.django_db
def test_rescore_keeps_history(workspace: Workspace, offer: Offer) -> None:
    lead = LeadFactory(workspace=workspace)
    score_job_start(workspace=workspace, user=None, offer=offer)
    score_job_start(workspace=workspace, user=None, offer=offer, rescore=True)
    scores = Score.objects.filter(lead=lead, offer=offer).order_by("pk")
    assert [s.is_current for s in scores] == [False, True]


@pytest.mark.django_db
def test_redelivered_chunk_is_written_once(workspace: Workspace, offer: Offer) -> None:
    LeadFactory.create_batch(4, workspace=workspace)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        # Not eager: chunks are queued on commit, which never happens inside the test transaction,
        # so we deliver the chunk by hand — twice, like a broker after a worker died.
        job = score_job_start(workspace=workspace, user=None, offer=offer).job
    chunk = JobChunk.objects.get(job=job)
    score_chunk_run(chunk.pk)
    score_chunk_run(chunk.pk)
    job.refresh_from_db()
    assert (job.status, job.processed) == ("succeeded", 4)
    assert Score.objects.filter(job=job).count() == 4


@pytest.mark.django_db
def test_second_start_for_same_offer_returns_the_running_job(workspace: Workspace, offer: Offer) -> None:
    LeadFactory.create_batch(2, workspace=workspace)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        first = score_job_start(workspace=workspace, user=None, offer=offer)
        second = score_job_start(workspace=workspace, user=None, offer=offer)
    assert first.started and not second.started
    assert second.job.pk == first.job.pk
    assert Job.objects.filter(kind="score").count() == 1


@pytest.mark.django_db
def test_cancel_skips_the_chunks_not_yet_run(workspace: Workspace, offer: Offer) -> None:
    LeadFactory.create_batch(4, workspace=workspace)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, SCORE_CHUNK_SIZE=2):
        job = score_job_start(workspace=workspace, user=None, offer=offer).job
    first, second = JobChunk.objects.filter(job=job).order_by("index")
    score_chunk_run(first.pk)
    job_cancel(job=job)
    score_chunk_run(second.pk)
    job.refresh_from_db()
    assert (job.status, job.processed) == ("cancelled", 2)
    assert Score.objects.filter(job=job).count() == 2


@pytest.mark.django_db
def test_resume_requeues_unwritten_chunks(workspace: Workspace, offer: Offer) -> None:
    LeadFactory.create_batch(4, workspace=workspace)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, SCORE_CHUNK_SIZE=2):
        job = score_job_start(workspace=workspace, user=None, offer=offer).job
    score_chunk_run(JobChunk.objects.get(job=job, index=0).pk)
    assert score_jobs_resume() == 0  # nobody took it: only a starting worker queues it again
    assert score_jobs_resume(at_start=True) == 1  # eager again: the resumed chunk runs now
    job.refresh_from_db()
    assert (job.status, job.processed) == ("succeeded", 4)
    assert Score.objects.filter(job=job).count() == 4


@pytest.mark.django_db
def test_deleted_lead_is_skipped_not_failed(workspace: Workspace, offer: Offer) -> None:
    leads = LeadFactory.create_batch(3, workspace=workspace)
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        job = score_job_start(workspace=workspace, user=None, offer=offer).job
    leads[0].delete()
    score_chunk_run(JobChunk.objects.get(job=job).pk)
    job.refresh_from_db()
    assert (job.status, job.processed, job.skipped, job.failed) == ("succeeded", 3, 1, 0)
