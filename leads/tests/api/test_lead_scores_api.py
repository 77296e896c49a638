"""Lead scores over HTTP: calculate one now, rescore many, history, distribution, stages set by hand,
staleness after every kind of change, and the original clients' alias paths."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.api.qualification import LEAD_ID_REQUIRED
from leads.models import Job, Lead, Offer, Score
from leads.services.score_store import NO_SCORE_YET
from leads.services.scoring_models import _compiled
from leads.tests.conftest import Tenant, four_factor_offer
from leads.tests.factories import LeadFactory, OfferFactory

# Four-factor leads and their scores, added up from leads/scoring/templates.py:
TOP_LEAD = {"industry": "Software", "attributes": {"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"}}
TOP_SCORE = 30 + 30 + 20 + 20
MID_LEAD = {"industry": "Retail", "attributes": {"budget": "20k", "company_size": "150", "urgency": "diese Woche"}}
MID_SCORE = 20 + 20 + 5 + 15
BLANK_LEAD = {"industry": "", "attributes": {}}
LEAD_SCORE_KEYS = {"id", "lead", "lead_name", "offer", "score", "intent", "previous_score", "score_change",
                   "score_breakdown", "reasoning", "qualification_stage", "stage_set_by", "stage_set_at", "cause",
                   "scoring_model", "model_version", "is_current", "stale", "calculated_at",
                   "conversion_probability", "factors"}


@pytest.fixture(autouse=True)
def _no_compiled_model_from_another_test() -> Iterator[None]:
    """Test databases hand out the same ids again after each test's rollback, and the compiled-model
    cache is keyed by (model id, version): without this a test can score with another test's model."""
    _compiled.cache_clear()
    yield
    _compiled.cache_clear()


def _calculate(tenant: Tenant, lead: Lead, offer: Offer | None = None, prefix: str = "/api") -> dict[str, Any]:
    payload: dict[str, Any] = {"lead_id": lead.pk}
    if offer is not None:
        payload["offer"] = offer.pk
    response = tenant.client.post(f"{prefix}/lead-scores/calculate/", payload, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _score_all(tenant: Tenant, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    response = tenant.client.post("/api/leads/score/", payload or {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _history(tenant: Tenant, lead: Lead, prefix: str = "/api") -> list[dict[str, Any]]:
    response = tenant.client.get(f"{prefix}/lead-scores/history/?lead_id={lead.pk}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _results(tenant: Tenant, offer: Offer) -> dict[int, dict[str, Any]]:
    response = tenant.client.get(f"/api/leads/results/?offer={offer.pk}")
    assert response.status_code == 200, response.content
    return {r["id"]: r for r in response.json()["results"]}


def _stale(tenant: Tenant, offer: Offer) -> dict[int, bool]:
    return {lead_id: r["stale"] for lead_id, r in _results(tenant, offer).items()}


def _set_stage(tenant: Tenant, lead: Lead, stage: str | None) -> Any:
    return tenant.client.post("/api/lead-scores/set_stage/", {"lead_id": lead.pk, "stage": stage}, format="json")


# --- calculate ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_calculate_scores_one_lead_now(tenant: Tenant) -> None:
    model_id, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, name="Bo Li", **MID_LEAD)
    body = _calculate(tenant, lead, offer)
    assert set(body) == LEAD_SCORE_KEYS
    current = Score.objects.get(lead=lead, offer=offer, is_current=True)
    assert body == {
        "id": current.pk, "lead": lead.pk, "lead_name": "Bo Li", "offer": offer.pk, "score": MID_SCORE,
        "intent": "Medium", "previous_score": None, "score_change": None, "score_breakdown": current.score_breakdown,
        "reasoning": current.reasoning, "qualification_stage": "mql", "stage_set_by": None, "stage_set_at": None,
        "cause": "manual", "scoring_model": model_id, "model_version": 1, "is_current": True, "stale": False,
        "calculated_at": body["calculated_at"], "conversion_probability": None, "factors": None,
    }
    assert current.score_breakdown["rule_score"] == MID_SCORE
    assert body["calculated_at"] == current.created_at.isoformat().replace("+00:00", "Z")
    assert (current.job_id, current.provider) == (None, "rules")


@pytest.mark.django_db
def test_a_second_calculate_records_the_change(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    first = _calculate(tenant, lead, offer)
    patched = tenant.client.patch(f"/api/leads/{lead.pk}/", {"attributes": {**MID_LEAD["attributes"],
                                                                           "budget": "60k"}}, format="json")
    assert patched.status_code == 200
    second = _calculate(tenant, lead, offer)
    new_score = 30 + 20 + 5 + 15
    assert (second["score"], second["previous_score"], second["score_change"]) == (
        new_score, first["score"], new_score - first["score"])
    assert (second["cause"], second["intent"], second["qualification_stage"]) == ("manual", "High", "sql")
    assert second["id"] != first["id"]
    assert Score.objects.filter(lead=lead, offer=offer).count() == 2
    assert Score.objects.get(pk=first["id"]).is_current is False


@pytest.mark.django_db
def test_calculate_under_the_default_model_adds_rules_and_ai(tenant: Tenant) -> None:
    OfferFactory(workspace=tenant.workspace, name="Older")
    latest = OfferFactory(workspace=tenant.workspace, ideal_use_cases=["B2B SaaS mid-market"])
    lead = LeadFactory(workspace=tenant.workspace, role="CEO", industry="B2B SaaS",
                       linkedin_bio="Scaling our outbound team and hiring SDRs.")
    body = _calculate(tenant, lead)  # no offer: the latest
    assert body["offer"] == latest.pk
    breakdown = body["score_breakdown"]
    assert body["score"] == breakdown["rule_score"] + breakdown["ai_score"]
    assert breakdown["rules"] == [{"label": "Decision maker role", "points": 20},
                                  {"label": "Exact ICP match", "points": 20},
                                  {"label": "Complete profile", "points": 10}]
    assert breakdown["ai_score"] == {"High": 50, "Medium": 30, "Low": 10}[breakdown["ai_intent"]]
    assert breakdown["ai"]["provider"] == "local"
    assert body["reasoning"].startswith("[Rule: Decision maker role (+20), Exact ICP match (+20), Complete profile "
                                        "(+10)] [AI: ")
    assert body["scoring_model"] == breakdown["model"]["id"]
    assert breakdown["model"]["name"] == "Default"


@pytest.mark.django_db
@pytest.mark.parametrize(("payload", "status", "body"), [
    ({}, 400, {"error": "Invalid input — lead_id: This field is required.", "code": "invalid",
               "details": {"lead_id": ["This field is required."]}}),
    ({"lead_id": 0}, 400, {"error": "Invalid input — lead_id: Ensure this value is greater than or equal to 1.",
                           "code": "invalid",
                           "details": {"lead_id": ["Ensure this value is greater than or equal to 1."]}}),
    ({"lead_id": 987654}, 404, {"error": "Lead 987654 does not exist.", "code": "unknown_lead",
                                "details": {"lead_id": 987654}}),
])
def test_calculate_input_errors(tenant: Tenant, payload: dict, status: int, body: dict) -> None:
    OfferFactory(workspace=tenant.workspace)
    response = tenant.client.post("/api/lead-scores/calculate/", payload, format="json")
    assert (response.status_code, response.json()) == (status, body)


@pytest.mark.django_db
def test_calculate_needs_an_offer(tenant: Tenant) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    response = tenant.client.post("/api/lead-scores/calculate/", {"lead_id": lead.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "This workspace has no offer yet: create one with POST /api/offer/ first.",
                               "code": "no_offer", "details": {}}
    offer = OfferFactory(workspace=tenant.workspace)
    unknown = tenant.client.post("/api/lead-scores/calculate/", {"lead_id": lead.pk, "offer": offer.pk + 100},
                                 format="json")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": f"Offer {offer.pk + 100} does not exist.", "code": "unknown_offer",
                              "details": {"offer": offer.pk + 100}}
    assert not Score.objects.exists()


# --- bulk_calculate ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_calculate_rescores_the_given_leads(tenant: Tenant) -> None:
    model_id, offer = four_factor_offer(tenant)
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    mid = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    other = LeadFactory(workspace=tenant.workspace, **BLANK_LEAD)
    _score_all(tenant)
    response = tenant.client.post("/api/lead-scores/bulk_calculate/", {"lead_ids": [mid.pk, top.pk]},
                                  format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"results", "total_scored", "scoring_method", "job", "offer"}
    assert body["total_scored"] == 2
    assert body["scoring_method"] == "rules only: scoring model 'Four' v1 (no AI layer)"
    assert (body["job"]["kind"], body["job"]["status"], body["job"]["total"], body["job"]["offer"]) == (
        "score", "succeeded", 2, offer.pk)
    assert [(r["id"], r["score"], r["previous_score"], r["score_change"]) for r in body["results"]] == [
        (top.pk, TOP_SCORE, TOP_SCORE, 0), (mid.pk, MID_SCORE, MID_SCORE, 0)]
    assert [h["cause"] for h in _history(tenant, top)] == ["rescore", "upload"]
    assert [h["cause"] for h in _history(tenant, other)] == ["upload"]
    assert Score.objects.get(lead=top, is_current=True).job_id == body["job"]["id"]
    assert body["results"][0]["scoring_model"] == model_id


@pytest.mark.django_db
def test_bulk_calculate_everything(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    leads = [LeadFactory(workspace=tenant.workspace, **fields) for fields in (TOP_LEAD, MID_LEAD, BLANK_LEAD)]
    _calculate(tenant, leads[0], offer)
    response = tenant.client.post("/api/lead-scores/bulk_calculate/", {"recalculate_all": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total_scored"], body["job"]["total"]) == (3, 3)
    assert {r["id"]: (r["score"], r["previous_score"]) for r in body["results"]} == {
        leads[0].pk: (TOP_SCORE, TOP_SCORE), leads[1].pk: (MID_SCORE, None), leads[2].pk: (0, None)}
    assert [h["cause"] for h in _history(tenant, leads[0])] == ["rescore", "manual"]


@pytest.mark.django_db
@pytest.mark.parametrize(("payload", "message"), [
    ({}, 'Give "lead_ids", or "recalculate_all": true.'),
    ({"recalculate_all": False}, 'Give "lead_ids", or "recalculate_all": true.'),
    ({"lead_ids": [1], "recalculate_all": True}, 'Give either "lead_ids" or "recalculate_all", not both.'),
])
def test_bulk_calculate_needs_exactly_one_selection(tenant: Tenant, payload: dict, message: str) -> None:
    OfferFactory(workspace=tenant.workspace)
    response = tenant.client.post("/api/lead-scores/bulk_calculate/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": f"Invalid input — {message}", "code": "invalid",
                               "details": {"non_field_errors": [message]}}
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_bulk_calculate_with_unknown_lead_ids_is_400(tenant: Tenant) -> None:
    OfferFactory(workspace=tenant.workspace)
    lead = LeadFactory(workspace=tenant.workspace)
    response = tenant.client.post("/api/lead-scores/bulk_calculate/", {"lead_ids": [lead.pk, 987654]},
                                  format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["code"]) == ("1 lead id(s) do not exist.", "unknown_leads")
    # details names the request's own field, like every other 400.
    assert body["details"] == {"lead_ids": [987654]}
    assert not Job.objects.exists()


# --- history -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_history_is_newest_first_with_causes(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    _score_all(tenant)
    tenant.client.patch(f"/api/leads/{lead.pk}/", {"industry": "Software"}, format="json")
    manual = _calculate(tenant, lead, offer)
    response = tenant.client.get(f"/api/lead-scores/history/?lead_id={lead.pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    history = body["results"]
    assert [(h["cause"], h["score"], h["previous_score"], h["score_change"], h["is_current"]) for h in history] == [
        ("manual", MID_SCORE + 15, MID_SCORE, 15, True), ("upload", MID_SCORE, None, None, False)]
    assert history[0] == manual
    assert history[0]["calculated_at"] > history[1]["calculated_at"]
    assert all(set(h) == LEAD_SCORE_KEYS for h in history)
    # Only one offer's history when asked.
    other = OfferFactory(workspace=tenant.workspace)
    _calculate(tenant, lead, other)
    assert len(_history(tenant, lead)) == 3
    only = tenant.client.get(f"/api/lead-scores/history/?lead_id={lead.pk}&offer={offer.pk}").json()
    assert [h["offer"] for h in only["results"]] == [offer.pk, offer.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "status", "body"), [
    ("", 400, {"error": LEAD_ID_REQUIRED, "code": "invalid", "details": {"lead_id": [LEAD_ID_REQUIRED]}}),
    ("?lead_id=abc", 400, {"error": f"lead_id must be a whole number from 1 to {2**53 - 1}.", "code": "invalid",
                           "details": {"lead_id": ["Got 'abc'."]}}),
    ("?lead_id=987654", 404, {"error": "Lead 987654 does not exist.", "code": "unknown_lead",
                              "details": {"lead_id": 987654}}),
])
def test_history_input_errors(tenant: Tenant, query: str, status: int, body: dict) -> None:
    response = tenant.client.get(f"/api/lead-scores/history/{query}")
    assert (response.status_code, response.json()) == (status, body)


@pytest.mark.django_db
def test_history_of_a_lead_never_scored_is_empty(tenant: Tenant) -> None:
    lead = LeadFactory(workspace=tenant.workspace)
    assert _history(tenant, lead) == []


# --- distribution ------------------------------------------------------------------------------

# (lead fields, four-factor score): 20 and 40 sit on bucket edges and go to the bucket above.
DISTRIBUTION_LEADS = [
    (TOP_LEAD, 100),
    (MID_LEAD, 60),
    (BLANK_LEAD, 0),
    ({"industry": "Retail", "attributes": {"budget": "5000"}}, 10 + 5),
    ({"industry": "Banking", "attributes": {"budget": "12k", "company_size": "51-200", "urgency": "this month"}},
     20 + 10 + 15 + 10),
    ({"industry": "Software", "attributes": {}}, 5 + 15),
    ({"industry": "Software", "attributes": {"budget": "20k"}}, 20 + 20),
]


@pytest.mark.django_db
def test_distribution_counts_buckets_intents_and_stages(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    with CaptureQueriesContext(connection) as empty_queries:
        empty = tenant.client.get(f"/api/lead-scores/distribution/?offer={offer.pk}")
    assert empty.json() == {"offer": offer.pk, "total": 0, "average": None, "buckets": [
        {"range": "0-20", "min": 0, "max": 20, "count": 0}, {"range": "20-40", "min": 20, "max": 40, "count": 0},
        {"range": "40-60", "min": 40, "max": 60, "count": 0}, {"range": "60-80", "min": 60, "max": 80, "count": 0},
        {"range": "80-100", "min": 80, "max": 100, "count": 0}], "intents": {"High": 0, "Medium": 0, "Low": 0},
        "stages": {}}
    for fields, _ in DISTRIBUTION_LEADS:
        LeadFactory(workspace=tenant.workspace, **fields)
    scored = _score_all(tenant)
    assert sorted(r["score"] for r in scored["results"]) == sorted(score for _, score in DISTRIBUTION_LEADS)
    with CaptureQueriesContext(connection) as full_queries:
        response = tenant.client.get(f"/api/lead-scores/distribution/?offer={offer.pk}")
    assert response.status_code == 200
    body = response.json()
    scores = [score for _, score in DISTRIBUTION_LEADS]
    assert body == {
        "offer": offer.pk,
        "total": 7,
        "average": round(sum(scores) / len(scores), 2),
        "buckets": [{"range": "0-20", "min": 0, "max": 20, "count": 2},
                    {"range": "20-40", "min": 20, "max": 40, "count": 1},
                    {"range": "40-60", "min": 40, "max": 60, "count": 2},
                    {"range": "60-80", "min": 60, "max": 80, "count": 1},
                    {"range": "80-100", "min": 80, "max": 100, "count": 1}],
        "intents": {"High": 1, "Medium": 3, "Low": 3},
        "stages": {"sql": 1, "mql": 3, "none": 3},
    }
    assert body["average"] == 41.43
    assert sum(b["count"] for b in body["buckets"]) == sum(body["intents"].values()) == sum(
        body["stages"].values()) == body["total"]
    assert len(full_queries.captured_queries) == len(empty_queries.captured_queries)
    # Without ?offer= the latest offer; history rows never count.
    assert tenant.client.get("/api/lead-scores/distribution/").json() == body
    _calculate(tenant, Lead.objects.filter(workspace=tenant.workspace).first(), offer)
    assert tenant.client.get(f"/api/lead-scores/distribution/?offer={offer.pk}").json()["total"] == 7


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "status", "code"), [("?offer=abc", 400, "invalid"), ("?offer=987654", 404,
                                                                                       "unknown_offer")])
def test_distribution_input_errors(tenant: Tenant, query: str, status: int, code: str) -> None:
    OfferFactory(workspace=tenant.workspace)
    response = tenant.client.get(f"/api/lead-scores/distribution/{query}")
    assert (response.status_code, response.json()["code"]) == (status, code)


# --- set_stage ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_set_stage_by_hand_survives_a_rescore(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    first = _calculate(tenant, lead, offer)
    assert first["qualification_stage"] == "mql"
    response = _set_stage(tenant, lead, "sql")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["qualification_stage"], body["stage_set_by"], body["cause"]) == ("sql", "alice", "manual")
    assert (body["score"], body["previous_score"], body["score_change"]) == (MID_SCORE, MID_SCORE, 0)
    assert body["stage_set_at"] is not None
    assert body["id"] != first["id"]
    assert _results(tenant, offer)[lead.pk]["qualification_stage"] == "sql"
    # A rescore keeps what a person chose, and who chose it.
    again = _calculate(tenant, lead, offer)
    assert (again["qualification_stage"], again["stage_set_by"], again["stage_set_at"]) == (
        "sql", "alice", body["stage_set_at"])
    tenant.client.post("/api/lead-scores/bulk_calculate/", {"lead_ids": [lead.pk]}, format="json")
    assert _results(tenant, offer)[lead.pk]["qualification_stage"] == "sql"
    assert tenant.client.get(f"/api/lead-scores/distribution/?offer={offer.pk}").json()["stages"] == {"sql": 1}


@pytest.mark.django_db
def test_set_stage_null_hands_the_stage_back_to_the_criteria(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    _calculate(tenant, lead, offer)
    assert _set_stage(tenant, lead, "sql").status_code == 200
    response = _set_stage(tenant, lead, None)
    assert response.status_code == 200
    body = response.json()
    assert (body["stage_set_by"], body["stage_set_at"], body["stale"]) == (None, None, True)
    # The next run decides: a 60 is an MQL, whatever a person had chosen before.
    rescored = _score_all(tenant)
    assert rescored["job"]["total"] == 1
    assert _results(tenant, offer)[lead.pk]["qualification_stage"] == "mql"
    assert _calculate(tenant, lead, offer)["qualification_stage"] == "mql"


@pytest.mark.django_db
def test_set_stage_errors(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    unscored = _set_stage(tenant, lead, "sql")
    assert (unscored.status_code, unscored.json()) == (404, {"error": NO_SCORE_YET, "code": "no_score",
                                                             "details": {}})
    _calculate(tenant, lead, offer)
    unknown = _set_stage(tenant, lead, "hot")
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": "Unknown stage 'hot': use one of disqualified, mql, sql, or null to let the criteria decide again.",
        "code": "unknown_stage", "details": {"stage": ["Unknown stage 'hot'."]}}
    missing = tenant.client.post("/api/lead-scores/set_stage/", {"lead_id": lead.pk}, format="json")
    assert (missing.status_code, missing.json()["details"]) == (400, {"stage": ["This field is required."]})
    assert Score.objects.filter(lead=lead).count() == 1
    assert _set_stage(tenant, lead, "disqualified").json()["qualification_stage"] == "disqualified"


# --- staleness through the API ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_patched_lead_is_stale_and_the_next_run_redoes_only_it(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    mid = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    _score_all(tenant)
    assert _stale(tenant, offer) == {top.pk: False, mid.pk: False}
    # The same value again changes nothing.
    assert tenant.client.patch(f"/api/leads/{top.pk}/", {"industry": "Software"}, format="json").status_code == 200
    assert _stale(tenant, offer) == {top.pk: False, mid.pk: False}
    assert tenant.client.patch(f"/api/leads/{mid.pk}/", {"industry": "Software"}, format="json").status_code == 200
    assert _stale(tenant, offer) == {top.pk: False, mid.pk: True}
    run = _score_all(tenant)
    assert (run["job"]["total"], run["total_scored"]) == (1, 1)
    assert [(r["id"], r["score"], r["score_change"], r["stale"]) for r in run["results"]] == [
        (mid.pk, MID_SCORE + 15, 15, False)]
    assert [h["cause"] for h in _history(tenant, mid)] == ["manual", "upload"]
    assert _stale(tenant, offer) == {top.pk: False, mid.pk: False}
    # Nothing changed since: nothing to do.
    assert _score_all(tenant)["job"]["total"] == 0


@pytest.mark.django_db
def test_a_patched_offer_makes_all_its_scores_stale(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    other = OfferFactory(workspace=tenant.workspace, name="Other offer")
    leads = [LeadFactory(workspace=tenant.workspace, **fields) for fields in (TOP_LEAD, MID_LEAD)]
    _score_all(tenant, {"offer": offer.pk})
    _score_all(tenant, {"offer": other.pk})
    assert tenant.client.patch(f"/api/offer/{offer.pk}/", {"value_props": ["Faster quotes"]},
                               format="json").status_code == 200
    assert _stale(tenant, offer) == {lead.pk: True for lead in leads}
    assert _stale(tenant, other) == {lead.pk: False for lead in leads}
    assert set(Score.objects.filter(offer=offer, is_current=True).values_list("stale_cause", flat=True)) == {
        "model_change"}
    run = _score_all(tenant, {"offer": offer.pk})
    assert run["job"]["total"] == 2
    assert all(_history(tenant, lead)[0]["cause"] == "model_change" for lead in leads)


@pytest.mark.django_db
def test_a_rule_added_to_the_default_model_makes_its_scores_stale(tenant: Tenant) -> None:
    _, four_factor = four_factor_offer(tenant)
    by_default = OfferFactory(workspace=tenant.workspace, name="Default-scored")
    lead = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    _calculate(tenant, lead, four_factor)
    _calculate(tenant, lead, by_default)
    created = tenant.client.post("/api/scoring-rules/", {"name": "Berlin", "field_name": "location",
                                                         "operator": "contains", "value": "Berlin", "points": 5},
                                 format="json")
    assert created.status_code == 201
    assert _stale(tenant, by_default) == {lead.pk: True}
    assert _stale(tenant, four_factor) == {lead.pk: False}
    assert Score.objects.get(lead=lead, offer=by_default, is_current=True).stale_cause == "model_change"
    run = _score_all(tenant, {"offer": by_default.pk})
    assert run["job"]["total"] == 1
    assert run["results"][0]["model_version"] == 2


@pytest.mark.django_db
def test_a_reupload_makes_only_the_changed_lead_stale(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    header = "name,company,industry,budget,company_size,urgency\n"
    first = header + "Ava Chen,Loopline,Software,60.000 €,600,Sofort\nBo Li,Foo,Retail,20k,150,diese Woche\n"
    upload = tenant.client.post("/api/leads/upload/", {"file": io.BytesIO(first.encode())}, format="multipart")
    assert upload.status_code == 201, upload.content
    assert upload.json()["created"] == 2
    ava = Lead.objects.get(workspace=tenant.workspace, name="Ava Chen")
    bo = Lead.objects.get(workspace=tenant.workspace, name="Bo Li")
    assert bo.attributes == {"budget": "20k", "company_size": "150", "urgency": "diese Woche"}
    scored = _score_all(tenant)
    assert {r["id"]: r["score"] for r in scored["results"]} == {ava.pk: TOP_SCORE, bo.pk: MID_SCORE}
    changed = header + "Ava Chen,Loopline,Software,60.000 €,600,Sofort\nBo Li,Foo,Retail,80k,150,diese Woche\n"
    again = tenant.client.post("/api/leads/upload/", {"file": io.BytesIO(changed.encode())}, format="multipart")
    assert again.status_code == 201, again.content
    assert (again.json()["created"], again.json()["updated"], again.json()["skipped"]) == (0, 1, 1)
    assert _stale(tenant, offer) == {ava.pk: False, bo.pk: True}
    assert Score.objects.get(lead=bo, is_current=True).stale_cause == "upload"
    run = _score_all(tenant)
    assert run["job"]["total"] == 1
    assert [(r["id"], r["score"], r["previous_score"]) for r in run["results"]] == [
        (bo.pk, 30 + 20 + 5 + 15, MID_SCORE)]
    assert [h["cause"] for h in _history(tenant, bo)] == ["upload", "upload"]
    assert [h["cause"] for h in _history(tenant, ava)] == ["upload"]


# --- aliases -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lead_score_alias_paths_answer_like_the_canonical_ones(tenant: Tenant) -> None:
    _, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    canonical = _calculate(tenant, lead, offer)
    alias = _calculate(tenant, lead, offer, prefix="/api/lead-qualification")
    assert set(alias) == LEAD_SCORE_KEYS
    assert (alias["score"], alias["previous_score"], alias["score_change"], alias["cause"]) == (
        canonical["score"], canonical["score"], 0, "manual")
    assert _history(tenant, lead, prefix="/api/lead-qualification") == _history(tenant, lead)
    assert tenant.client.get(f"/api/lead-qualification/lead-scores/distribution/?offer={offer.pk}").json() == (
        tenant.client.get(f"/api/lead-scores/distribution/?offer={offer.pk}").json())
    missing = tenant.client.post("/api/lead-qualification/lead-scores/calculate/", {}, format="json")
    assert (missing.status_code, missing.json()["code"]) == (400, "invalid")
