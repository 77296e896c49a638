"""A broker that can't be reached gives a 503 in the envelope and a failed job, never a job that waits for ever."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import Job
from leads.tasks import QUEUE_UNAVAILABLE
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory
from main.celery import app as celery_app


@pytest.fixture
def unreachable_broker(settings: Any) -> Iterator[None]:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"  # discard port: nothing listens there
    _drop_connection_pools()
    yield
    celery_app.conf.broker_url = saved
    _drop_connection_pools()


def _drop_connection_pools() -> None:
    # What Celery itself does after a fork, so the next send connects to the broker URL set now.
    celery_app._after_fork()


# transaction=True: outside a test transaction the view sends the task at once, as in production.
@pytest.mark.django_db(transaction=True)
def test_score_with_the_broker_down_is_503_and_the_job_failed(tenant: Tenant, unreachable_broker: None) -> None:
    OfferFactory(workspace=tenant.workspace)
    LeadFactory(workspace=tenant.workspace)
    response = tenant.client.post("/api/leads/score/", {}, format="json")
    assert response.status_code == 503
    assert response.json() == {"error": QUEUE_UNAVAILABLE, "code": "queue_unavailable", "details": {}}
    job = Job.objects.get()
    assert job.status == "failed"
    assert QUEUE_UNAVAILABLE in job.message
    # The failed job does not block the next run once the broker is back.
    assert not Job.objects.filter(status__in=["queued", "running"]).exists()


@pytest.mark.django_db(transaction=True)
def test_upload_with_the_broker_down_is_503_and_the_job_failed(tenant: Tenant, unreachable_broker: None,
                                                               settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    csv = b"name,role,company,industry,location,linkedin_bio\nAva Chen,CEO,Acme,Software,Austin,Bio\n"
    response = tenant.client.post("/api/leads/upload/", {"file": SimpleUploadedFile("leads.csv", csv)},
                                  format="multipart")
    assert response.status_code == 503
    assert response.json()["code"] == "queue_unavailable"
    job = Job.objects.get()
    assert (job.kind, job.status) == ("import", "failed")
    assert QUEUE_UNAVAILABLE in job.message and "upload the file again" in job.message
    assert list(tmp_path.rglob("*.csv")) == []  # nothing will import it: the file is not kept
