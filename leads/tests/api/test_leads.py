"""Leads: list with filters and search, retrieve, update (dedupe-aware), delete."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from leads.models import BIO_MAX, Lead
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory


@pytest.mark.django_db
def test_list_is_paginated_in_the_original_shape(tenant: Tenant) -> None:
    LeadFactory.create_batch(3, workspace=tenant.workspace)
    body = tenant.client.get("/api/leads/?page_size=2").json()
    # The original shape, and whether the count is every row (only a costly search's is not).
    assert set(body) == {"count", "count_exact", "next", "previous", "results"}
    assert body["count"] == 3 and body["count_exact"] is True
    assert len(body["results"]) == 2
    assert body["next"] == "http://testserver/api/leads/?page=2&page_size=2"
    assert set(body["results"][0]) == {"id", "name", "role", "company", "industry", "location", "linkedin_bio",
                                       "email", "attributes", "created_at", "updated_at",
                                       # what automations add (DESIGN "Automations")
                                       "status", "owner", "owner_name", "tags",
                                       "engagement_summary",  # what engagement adds
                                       "outcome"}  # and what outcomes add


@pytest.mark.django_db
def test_list_makes_a_fixed_number_of_queries(tenant: Tenant) -> None:
    LeadFactory.create_batch(30, workspace=tenant.workspace)
    with CaptureQueriesContext(connection) as queries:
        assert tenant.client.get("/api/leads/").status_code == 200
    # token + user, workspace, count, page: no per-lead queries
    assert len(queries) <= 5, [q["sql"] for q in queries]


@pytest.mark.django_db
def test_filters_and_search(tenant: Tenant) -> None:
    LeadFactory(workspace=tenant.workspace, name="Ada Lovelace", company="Engines Ltd", industry="Fintech")
    LeadFactory(workspace=tenant.workspace, name="Alan Turing", company="Bletchley", industry="B2B SaaS")
    client = tenant.client
    assert [r["name"] for r in client.get("/api/leads/?industry=fintech").json()["results"]] == ["Ada Lovelace"]
    assert [r["name"] for r in client.get("/api/leads/?search=bletchley").json()["results"]] == ["Alan Turing"]
    assert [r["name"] for r in client.get("/api/leads/?ordering=name").json()["results"]] == [
        "Ada Lovelace", "Alan Turing"]
    assert client.get("/api/leads/?company=engines").json()["count"] == 1


@pytest.mark.django_db
def test_update_changes_fields_and_dedupe_key(tenant: Tenant) -> None:
    lead = LeadFactory(workspace=tenant.workspace, name="Ada", company="Engines", email="")
    response = tenant.client.patch(f"/api/leads/{lead.pk}/", {"email": "Ada@Engines.io", "role": "CTO"},
                                   format="json")
    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert (lead.email, lead.role, lead.dedupe_key) == ("Ada@Engines.io", "CTO", "e:ada@engines.io")


@pytest.mark.django_db
def test_update_into_a_twin_is_409(tenant: Tenant) -> None:
    LeadFactory(workspace=tenant.workspace, name="Ada", company="Engines", email="ada@engines.io")
    other = LeadFactory(workspace=tenant.workspace, name="Bob", company="Engines", email="")
    response = tenant.client.patch(f"/api/leads/{other.pk}/", {"email": "ADA@engines.io"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_lead"
    other.refresh_from_db()
    assert other.email == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [({"name": "", "company": ""}, "non_field_errors"), ({"email": "not-an-email"}, "email"),
     ({"role": "x" * 256}, "role"), ({"linkedin_bio": "x" * (BIO_MAX + 1)}, "linkedin_bio")],
    ids=["no-name-no-company", "bad-email", "long-role", "long-bio"],
)
def test_update_validation(tenant: Tenant, payload: dict, field: str) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    response = tenant.client.patch(f"/api/leads/{lead.pk}/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["details"]


@pytest.mark.django_db
def test_delete(tenant: Tenant, api_client: APIClient) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    assert api_client.delete(f"/api/leads/{lead.pk}/").status_code == 204
    assert not Lead.objects.filter(pk=lead.pk).exists()
