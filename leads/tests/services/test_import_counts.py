"""Counting a re-upload: a file that repeats a lead with different values changes nothing the second time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from leads.models import Lead, Score, Workspace
from leads.services.imports import import_job_create, import_job_run

pytestmark = pytest.mark.django_db

REPEATS = (
    "name,company,role,phone\n"
    "Ann,Acme,CEO,1\n"
    "Bob,Acme,CTO,2\n"
    "Ann,Acme,Founder,3\n"
    "Ann,Acme,,4\n"
)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def run(workspace: Workspace, text: str) -> tuple[int, int, int]:
    job = import_job_create(workspace=workspace, user=None, upload=ContentFile(text.encode(), name="l.csv"),
                            filename="l.csv")
    import_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.message
    return job.created, job.updated, job.skipped


def test_identical_file_again_is_all_unchanged(workspace: Workspace) -> None:
    assert run(workspace, REPEATS) == (2, 2, 0)
    stamps = dict(Lead.objects.values_list("name", "updated_at"))
    assert run(workspace, REPEATS) == (0, 0, 4)
    assert dict(Lead.objects.values_list("name", "updated_at")) == stamps  # nothing was written
    ann = Lead.objects.get(name="Ann")
    assert (ann.role, ann.attributes) == ("Founder", {"phone": "4"})


def test_unchanged_repeats_leave_scores_fresh(workspace: Workspace, offer: Any) -> None:
    run(workspace, REPEATS)
    ann = Lead.objects.get(name="Ann")
    Score.objects.create(lead=ann, offer=offer, workspace=workspace, rule_score=40, ai_score=30, score=70,
                         intent="High", reasoning="r", score_breakdown={}, is_current=True)
    run(workspace, REPEATS)
    assert Score.objects.get(lead=ann).stale_cause == ""


def test_a_real_change_in_a_repeating_file_still_counts_updated(workspace: Workspace) -> None:
    run(workspace, REPEATS)
    assert run(workspace, REPEATS.replace("Founder", "Chair")) == (0, 3, 1)  # rows apply one by one
    assert Lead.objects.get(name="Ann").role == "Chair"
