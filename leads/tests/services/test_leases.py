"""Job leases: a live worker's import or chunk is left alone, a dead one's is taken over by the jobs
sweep, and nothing an import leaves on disk outlives it."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import override_settings
from django.utils import timezone

from leads.models import Job, JobChunk, Lead, Offer, Score, Workspace
from leads.services.imports import import_job_create, import_job_run
from leads.services.job_sweep import jobs_sweep
from leads.services.jobs import job_cancel
from leads.services.leases import lease_kept
from leads.services.scoring import score_chunk_run, score_job_start
from leads.services.upload_store import ORPHAN_SECONDS
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def uploads(media_root: Path) -> list[str]:
    folder = media_root / "imports"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def queued_import(workspace: Workspace, rows: int = 3) -> Job:
    data = "name\n" + "".join(f"Lead {i}\n" for i in range(rows))
    return import_job_create(workspace=workspace, user=None, upload=ContentFile(data.encode(), name="l.csv"),
                             filename="l.csv")


def held_by_a_worker(job: Job, *, seconds_ago: float) -> None:
    """The job as a worker that claimed it `seconds_ago` and then was killed leaves it."""
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, started_at=timezone.now(),
                                         heartbeat_at=timezone.now() - timedelta(seconds=seconds_ago))


class TestImports:
    def test_a_live_lease_keeps_other_deliveries_out(self, workspace: Workspace) -> None:
        job = queued_import(workspace)
        held_by_a_worker(job, seconds_ago=1)
        import_job_run(job.pk)  # a duplicate delivery, or a worker restarted at once
        assert jobs_sweep() == {"imports": 0, "chunks": 0, "uploads_removed": 0}
        job.refresh_from_db()
        assert (job.status, job.processed, Lead.objects.count()) == ("running", 0, 0)

    def test_the_sweep_takes_over_an_import_whose_lease_ran_out(self, workspace: Workspace, settings: Any,
                                                                media_root: Path) -> None:
        job = queued_import(workspace)
        held_by_a_worker(job, seconds_ago=settings.JOB_LEASE_SECONDS + 1)
        assert jobs_sweep()["imports"] == 1  # eager: the re-queued import runs here
        job.refresh_from_db()
        assert (job.status, job.created) == ("succeeded", 3)
        assert uploads(media_root) == []

    def test_a_queued_import_is_sent_again_once_a_lease(self, workspace: Workspace, settings: Any) -> None:
        """Its message may be lost (a killed worker had fetched it): re-sent after a lease, not every sweep."""
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="memory://"):
            job = queued_import(workspace)
            assert jobs_sweep()["imports"] == 0
            Job.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(
                seconds=settings.JOB_LEASE_SECONDS + 1))
            assert jobs_sweep()["imports"] == 1
            assert jobs_sweep()["imports"] == 0
            assert jobs_sweep(at_start=True)["imports"] == 1  # a starting worker queues every waiting one


class TestChunks:
    @pytest.fixture
    def job(self, workspace: Workspace, offer: Offer) -> Job:
        LeadFactory.create_batch(4, workspace=workspace)
        with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="memory://", SCORE_CHUNK_SIZE=2):
            return score_job_start(workspace=workspace, user=None, offer=offer).job

    def test_a_chunk_held_by_a_live_worker_is_not_scored_twice(self, job: Job) -> None:
        first, second = JobChunk.objects.filter(job=job).order_by("index")
        JobChunk.objects.filter(pk=first.pk).update(heartbeat_at=timezone.now())
        score_chunk_run(first.pk)
        score_chunk_run(second.pk)
        assert jobs_sweep()["chunks"] == 0
        job.refresh_from_db()
        assert (job.status, job.processed, Score.objects.filter(job=job).count()) == ("running", 2, 2)

    def test_the_sweep_takes_over_a_chunk_whose_lease_ran_out(self, job: Job, settings: Any) -> None:
        first, second = JobChunk.objects.filter(job=job).order_by("index")
        score_chunk_run(second.pk)
        JobChunk.objects.filter(pk=first.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS + 1))
        assert jobs_sweep()["chunks"] == 1
        job.refresh_from_db()
        assert (job.status, job.processed, Score.objects.filter(job=job).count()) == ("succeeded", 4, 4)


@pytest.mark.django_db(transaction=True)
@override_settings(CELERY_TASK_ALWAYS_EAGER=False, JOB_LEASE_SECONDS=1)
def test_the_heartbeat_renews_the_lease_until_the_work_ends(workspace: Workspace) -> None:
    stamp = timezone.now()
    job = Job.objects.create(workspace=workspace, kind=Job.Kind.IMPORT, status=Job.Status.RUNNING, heartbeat_at=stamp)
    with lease_kept(Job.objects.filter(pk=job.pk), stamp) as lease:
        time.sleep(0.8)
        job.refresh_from_db()
        assert job.heartbeat_at > stamp and not lease.lost
    ended = job.heartbeat_at
    time.sleep(0.5)
    job.refresh_from_db()
    assert job.heartbeat_at == ended

    # Another worker took the job over (this one was frozen past its lease): this one learns it lost it.
    with lease_kept(Job.objects.filter(pk=job.pk), ended) as lease:
        Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() + timedelta(seconds=5))
        time.sleep(0.6)
        assert lease.lost


class TestUploadsLeftBehind:
    def test_a_cancelled_import_removes_its_upload(self, workspace: Workspace, media_root: Path) -> None:
        job = queued_import(workspace)
        assert len(uploads(media_root)) == 1
        job_cancel(job=job)
        assert uploads(media_root) == []
        import_job_run(job.pk)
        job.refresh_from_db()
        assert (job.status, Lead.objects.count()) == ("cancelled", 0)

    def test_an_import_cancelled_while_its_worker_runs_stays_cancelled(
            self, workspace: Workspace, settings: Any, media_root: Path) -> None:
        """Strict mode reads the file twice: the second read finds it gone, and the job says cancelled."""
        settings.IMPORT_BATCH_SIZE = 2
        data = "name\nA\nB\nC\nD\n"
        job = import_job_create(workspace=workspace, user=None, upload=ContentFile(data.encode(), name="l.csv"),
                                filename="l.csv", strict=True)
        original = job.params["path"]

        def cancel_during_the_first_pass(current: Job) -> None:
            if Path(original).exists() and not current.processed:
                job_cancel(job=current)

        import_job_run(job.pk, progress=cancel_during_the_first_pass)
        job.refresh_from_db()
        assert job.status == "cancelled", job.message
        assert job.message.startswith("Cancelled after")
        assert uploads(media_root) == []

    def test_the_sweep_removes_upload_files_no_import_will_read(self, workspace: Workspace,
                                                                media_root: Path) -> None:
        waiting = queued_import(workspace)
        folder = media_root / "imports"
        old = time.time() - ORPHAN_SECONDS - 1
        for name in ("orphan.csv", "orphan.csv.part", "fresh.csv"):
            (folder / name).write_bytes(b"name\nA\n")
            if name != "fresh.csv":
                os.utime(folder / name, (old, old))
        os.utime(waiting.params["path"], (old, old))
        assert jobs_sweep()["uploads_removed"] == 2
        assert uploads(media_root) == sorted(["fresh.csv", Path(waiting.params["path"]).name])
