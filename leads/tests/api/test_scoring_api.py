"""Score, results and export over HTTP, in the shapes the original clients read."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import override_settings

from leads.models import Job, Lead, Offer, Score
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

RESULT_KEYS = {"id", "name", "role", "company", "industry", "location", "linkedin_bio", "email", "intent", "score",
               "rule_score", "ai_score", "reasoning", "score_breakdown", "offer", "scored_at", "created_at"}
# What scoring models add beside the first stage's fields (DESIGN "API of the second stage").
SECOND_STAGE_KEYS = {"attributes", "qualification_stage", "scoring_model", "model_version", "previous_score",
                     "score_change", "stale", "engagement_summary",
                     "conversion_probability", "factors"}


@pytest.fixture
def offer(tenant: Tenant) -> Offer:
    return OfferFactory(workspace=tenant.workspace, ideal_use_cases=["B2B SaaS mid-market"])


def _ceo(tenant: Tenant, **fields: str) -> Lead:
    defaults = {"name": "Ava Chen", "role": "CEO", "company": "Loopline", "industry": "B2B SaaS",
                "location": "Berlin", "linkedin_bio": "Scaling our outbound team and hiring SDRs."}
    return LeadFactory(workspace=tenant.workspace, **{**defaults, **fields})


@pytest.mark.django_db
def test_score_answers_results_in_the_original_shape(tenant: Tenant, offer: Offer) -> None:
    lead = _ceo(tenant)
    LeadFactory(workspace=tenant.workspace, role="Student", industry="Retail", linkedin_bio="")
    response = tenant.client.post("/api/leads/score/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"results", "total_scored", "scoring_method", "job", "offer"}
    assert body["total_scored"] == 2
    assert body["scoring_method"].startswith("hybrid: rules + local AI")
    assert body["job"]["status"] == "succeeded"
    first = body["results"][0]
    assert set(first) == RESULT_KEYS | SECOND_STAGE_KEYS
    assert first["id"] == lead.pk
    assert body["results"][0]["score"] >= body["results"][1]["score"]
    breakdown = first["score_breakdown"]
    assert breakdown["rules"][:2] == [{"label": "Decision maker role", "points": 20},
                                      {"label": "Exact ICP match", "points": 20}]
    assert breakdown["ai"]["provider"] == "local"
    assert breakdown["rule_score"] + breakdown["ai_score"] == first["score"]
    assert first["reasoning"].startswith("[Rule: Decision maker role (+20), Exact ICP match (+20)")
    assert "[AI: " in first["reasoning"]


@pytest.mark.django_db
def test_score_alias_and_default_offer_is_the_latest(tenant: Tenant, offer: Offer) -> None:
    newer = OfferFactory(workspace=tenant.workspace)
    _ceo(tenant)
    response = tenant.client.post("/score/", {}, format="json")
    assert response.status_code == 200
    assert response.json()["job"]["offer"] == newer.pk


@pytest.mark.django_db
def test_score_without_offer_is_a_clear_400(tenant: Tenant) -> None:
    response = tenant.client.post("/api/leads/score/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "This workspace has no offer yet: create one with POST /api/offer/ first.",
                               "code": "no_offer", "details": {}}


@pytest.mark.django_db
@pytest.mark.parametrize("payload", [{"leads": "x"}, {"leads": []}, {"offer": "abc"}, {"rescore": "maybe"},
                                     {"leads": [2**70]}, {"offer": 2**64}])
def test_score_input_validation(tenant: Tenant, offer: Offer, payload: dict) -> None:
    response = tenant.client.post("/api/leads/score/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
@override_settings(JOB_WAIT_SECONDS=0.05, CELERY_TASK_ALWAYS_EAGER=False)
def test_running_job_answers_202_and_a_twin_returns_it(tenant: Tenant, offer: Offer) -> None:
    _ceo(tenant)
    first = tenant.client.post("/api/leads/score/", {}, format="json")
    assert first.status_code == 202
    job_url = first["Location"]
    assert job_url == first.json()["url"]
    assert job_url.startswith("http://testserver/api/jobs/")
    second = tenant.client.post("/api/leads/score/", {}, format="json")
    assert second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert tenant.client.get(job_url).json()["status"] == "queued"
    cancelled = tenant.client.post(f"{job_url}cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    again = tenant.client.post(f"{job_url}cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "job_finished"


@pytest.mark.django_db
def test_results_are_best_first_paginated_and_filtered(tenant: Tenant, offer: Offer) -> None:
    strong = _ceo(tenant)
    weak = LeadFactory(workspace=tenant.workspace, name="Sam Student", role="Student", industry="Retail",
                       linkedin_bio="Looking for an internship")
    tenant.client.post("/api/leads/score/", {}, format="json")
    body = tenant.client.get("/api/leads/results/").json()
    assert body["count"] == 2
    assert [r["id"] for r in body["results"]] == [strong.pk, weak.pk]
    strong_score = Score.objects.get(lead=strong).score
    high = tenant.client.get(f"/api/leads/results/?min_score={strong_score}").json()
    assert [r["id"] for r in high["results"]] == [strong.pk]
    assert tenant.client.get("/api/leads/results/?search=student").json()["count"] == 1
    assert [r["id"] for r in tenant.client.get("/api/leads/results/?ordering=score").json()["results"]] == [
        weak.pk, strong.pk]
    intent = Score.objects.get(lead=weak).intent
    assert weak.pk in [r["id"] for r in tenant.client.get(f"/api/leads/results/?intent={intent}").json()["results"]]
    assert tenant.client.get("/results/?page_size=1").json()["next"].endswith("page=2&page_size=1")


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["min_score=abc", "min_score=101", "intent=Hot", "ordering=password", "offer=x"])
def test_results_bad_parameters_are_400(tenant: Tenant, offer: Offer, query: str) -> None:
    response = tenant.client.get(f"/api/leads/results/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_export_streams_the_results_with_formulas_neutralised(tenant: Tenant, offer: Offer) -> None:
    lead = _ceo(tenant, name="=HYPERLINK(\"http://evil\")", company="+Acme, Inc.")
    tenant.client.post("/api/leads/score/", {}, format="json")
    response = tenant.client.get("/api/leads/export_csv/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="leadscore-results-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == "'=HYPERLINK(\"http://evil\")"
    assert row["company"] == "'+Acme, Inc."
    assert row["id"] == str(lead.pk)
    assert row["rules"].startswith("Decision maker role (+20); Exact ICP match (+20)")
    lead.refresh_from_db()
    assert lead.name == "=HYPERLINK(\"http://evil\")"  # the stored lead is never altered
    assert tenant.client.get("/results/export/").status_code == 200


@pytest.mark.django_db
def test_foreign_job_cannot_be_seen(tenant: Tenant, other_tenant: Tenant) -> None:
    job = Job.objects.create(workspace=other_tenant.workspace, kind="score")
    assert tenant.client.get("/api/jobs/").json()["count"] == 0
    assert tenant.client.get(f"/api/jobs/{job.pk}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["text/csv", "*/*", "application/json"])
def test_export_answers_csv_whatever_the_client_accepts(tenant: Tenant, offer: Offer, accept: str) -> None:
    response = tenant.client.get("/api/leads/export_csv/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"


@pytest.mark.django_db
def test_search_counts_matches_in_any_field_of_this_workspace_only(tenant: Tenant, other_tenant: Tenant,
                                                                   offer: Offer) -> None:
    _ceo(tenant, name="Nimbus Person", company="Acme")
    _ceo(tenant, name="Other", company="NIMBUS Labs")
    _ceo(tenant, name="Third", company="Else", location="Nimbusville")
    _ceo(tenant, name="Fourth", company="Nope")
    LeadFactory(workspace=other_tenant.workspace, name="Nimbus Elsewhere")
    tenant.client.post("/api/leads/score/", {}, format="json")
    body = tenant.client.get("/api/leads/results/?search=nimbus&page_size=2").json()
    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None
    assert all("nimbus" in (r["name"] + r["company"] + r["location"]).lower() for r in body["results"])


@pytest.mark.django_db
def test_export_keeps_the_uploaded_extra_columns(tenant: Tenant, offer: Offer) -> None:
    """What a sales team uploaded beside the six fields (a phone number...) comes back with the scores."""
    upload = ("name,role,company,industry,location,linkedin_bio,Phone,=Evil Header,score\n"
              "Ava Chen,CEO,Loopline,B2B SaaS,Berlin,Hiring SDRs,+1 555 0100,=1+1,99\n"
              "Bo Li,Intern,Foo,Retail,Paris,,,,\n")
    response = tenant.client.post("/api/leads/upload/", {"file": io.BytesIO(upload.encode())}, format="multipart")
    assert response.status_code == 201, response.json()
    tenant.client.post("/api/leads/score/", {}, format="json")
    text = b"".join(tenant.client.get("/api/leads/export_csv/").streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[-3:] == ["Phone", "'=Evil Header", "score (attribute)"]
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert (by_name["Ava Chen"]["Phone"], by_name["Ava Chen"]["'=Evil Header"]) == ("'+1 555 0100", "'=1+1")
    assert by_name["Ava Chen"]["score (attribute)"] == "99" and by_name["Ava Chen"]["score"] != "99"
    assert (by_name["Bo Li"]["Phone"], by_name["Bo Li"]["score (attribute)"]) == ("", "")
