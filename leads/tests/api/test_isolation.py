"""One workspace never sees, changes or deletes another's data: foreign ids answer 404."""

from __future__ import annotations

import pytest

from leads.models import Job, Lead, Offer
from leads.services.leads import lead_dedupe_key
from leads.tests.conftest import Tenant


def _lead(tenant: Tenant, name: str) -> Lead:
    return Lead.objects.create(workspace=tenant.workspace, name=name, company="Co", role="CEO",
                               dedupe_key=lead_dedupe_key(name=name, company="Co", email=""))


@pytest.mark.django_db
def test_lists_show_only_own_workspace(tenant: Tenant, other_tenant: Tenant) -> None:
    mine = _lead(tenant, "Mine")
    _lead(other_tenant, "Theirs")
    Offer.objects.create(workspace=other_tenant.workspace, name="Their offer")
    leads = tenant.client.get("/api/leads/").json()
    assert [item["id"] for item in leads["results"]] == [mine.pk]
    assert tenant.client.get("/api/offer/").json()["count"] == 0
    assert tenant.client.get("/api/leads/?search=Theirs").json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_foreign_lead_is_404(tenant: Tenant, other_tenant: Tenant, method: str) -> None:
    theirs = _lead(other_tenant, "Theirs")
    response = getattr(tenant.client, method)(f"/api/leads/{theirs.pk}/", {"name": "Hacked"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_foreign_offer_is_404(tenant: Tenant, other_tenant: Tenant, method: str) -> None:
    theirs = Offer.objects.create(workspace=other_tenant.workspace, name="Theirs")
    response = getattr(tenant.client, method)(f"/api/offer/{theirs.pk}/", {"name": "Hacked"}, format="json")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Theirs"


@pytest.mark.django_db
def test_foreign_job_is_404(tenant: Tenant, other_tenant: Tenant) -> None:
    job = Job.objects.create(workspace=other_tenant.workspace, kind=Job.Kind.IMPORT)
    assert tenant.client.get(f"/api/jobs/{job.pk}/").status_code == 404
    assert tenant.client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 404
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


@pytest.mark.django_db
def test_foreign_offer_in_score_request_does_not_exist(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = Offer.objects.create(workspace=other_tenant.workspace, name="Theirs")
    response = tenant.client.post("/api/leads/score/", {"offer": theirs.pk}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_offer"
    results = tenant.client.get(f"/api/leads/results/?offer={theirs.pk}")
    assert results.status_code == 404


@pytest.mark.django_db
def test_foreign_lead_ids_in_score_request_do_not_exist(tenant: Tenant, other_tenant: Tenant) -> None:
    Offer.objects.create(workspace=tenant.workspace, name="Mine")
    theirs = _lead(other_tenant, "Theirs")
    response = tenant.client.post("/api/leads/score/", {"leads": [theirs.pk]}, format="json")
    assert response.status_code == 400
    assert response.json()["details"] == {"leads": [theirs.pk]}


@pytest.mark.django_db
def test_workspace_header_selects_only_own_memberships(tenant: Tenant, other_tenant: Tenant) -> None:
    response = tenant.client.get("/api/leads/", HTTP_X_WORKSPACE=other_tenant.workspace.name)
    assert response.status_code == 403
    assert response.json()["code"] == "unknown_workspace"
    assert tenant.client.get("/api/leads/", HTTP_X_WORKSPACE=tenant.workspace.name).status_code == 200
