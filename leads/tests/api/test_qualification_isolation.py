"""The qualification engine keeps workspaces apart: another workspace's scoring models, rules,
stages, leads and offers answer exactly like ids that never existed (404, or 400 for an id in a
validated body field), never 403, and no list shows another workspace's rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from leads.models import Lead, Offer, QualificationStage, Score, ScoringModel, ScoringRule
from leads.services.scoring_models import _compiled
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

NOT_FOUND = {"error": "Not found.", "code": "not_found", "details": {}}
TOP_LEAD = {"industry": "Software", "attributes": {"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"}}


@pytest.fixture(autouse=True)
def _no_compiled_model_from_another_test() -> Iterator[None]:
    """Test databases hand out the same ids again after each test's rollback, and the compiled-model
    cache is keyed by (model id, version): without this a test can score with another test's model."""
    _compiled.cache_clear()
    yield
    _compiled.cache_clear()


@dataclass
class World:
    """One workspace's objects, made through its own API."""

    model: int
    rule: int
    stage: int
    offer: Offer
    lead: Lead
    score: int


def _world(tenant: Tenant, stage_key: str) -> World:
    client = tenant.client
    offer = OfferFactory(workspace=tenant.workspace)
    model = client.post("/api/scoring-models/", {"name": "Four", "template": "budget_size_industry_urgency"},
                        format="json")
    assert model.status_code == 201
    model_id = model.json()["id"]
    assert client.patch(f"/api/offer/{offer.pk}/", {"scoring_model": model_id}, format="json").status_code == 200
    rule = client.post("/api/scoring-rules/", {"model": model_id, "name": "Berlin", "field_name": "location",
                                               "operator": "contains", "value": "Berlin", "points": 5},
                       format="json")
    assert rule.status_code == 201
    stage = client.post("/api/qualification-criteria/", {"name": stage_key.upper(), "stage": stage_key,
                                                          "order": 30, "minimum_score": 95}, format="json")
    assert stage.status_code == 201
    lead = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    score = client.post("/api/lead-scores/calculate/", {"lead_id": lead.pk, "offer": offer.pk}, format="json")
    assert score.status_code == 200
    return World(model_id, rule.json()["id"], stage.json()["id"], offer, lead, score.json()["id"])


@pytest.fixture
def mine(tenant: Tenant) -> World:
    return _world(tenant, "vip")


@pytest.fixture
def theirs(other_tenant: Tenant) -> World:
    return _world(other_tenant, "hot")


def _never(*models: type) -> int:
    """An id no row of these tables has."""
    return max((m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) for m in models) + 1000


def _call(client: APIClient, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    return getattr(client, method)(path, body or {}, format="json")


# --- lists ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lists_show_only_own_rows(tenant: Tenant, mine: World, theirs: World) -> None:
    models = tenant.client.get("/api/scoring-models/").json()
    assert [m["id"] for m in models["results"]] == list(
        ScoringModel.objects.filter(workspace=tenant.workspace).order_by("-is_default", "name")
        .values_list("pk", flat=True))
    assert theirs.model not in [m["id"] for m in models["results"]]
    own_rules = set(ScoringRule.objects.filter(workspace=tenant.workspace).values_list("pk", flat=True))
    for path in ("/api/scoring-rules/?page_size=1000", "/api/lead-qualification/scoring-rules/?page_size=1000"):
        rules = tenant.client.get(path).json()
        assert {r["id"] for r in rules["results"]} == own_rules
        assert rules["count"] == len(own_rules)
        assert theirs.rule not in own_rules
    for path in ("/api/qualification-criteria/", "/api/lead-qualification/qualification-criteria/"):
        assert [s["stage"] for s in tenant.client.get(path).json()["results"]] == ["mql", "sql", "vip"]
    assert tenant.client.get("/api/scoring-rules/?search=Berlin").json()["count"] == 1
    # Filtering by their model finds nothing of theirs.
    filtered = tenant.client.get(f"/api/scoring-rules/?model={theirs.model}")
    assert filtered.status_code in (200, 400)
    if filtered.status_code == 200:
        assert filtered.json()["count"] == 0
    # Their scores never reach my distribution or history.
    distribution = tenant.client.get(f"/api/lead-scores/distribution/?offer={mine.offer.pk}").json()
    assert (distribution["total"], distribution["stages"]) == (1, {"vip": 1})
    history = tenant.client.get(f"/api/lead-scores/history/?lead_id={mine.lead.pk}").json()
    assert [h["id"] for h in history["results"]] == [mine.score]


# --- their objects by id ------------------------------------------------------------------------

DETAIL_CALLS = [
    ("get", "/api/scoring-models/{model}/", None),
    ("patch", "/api/scoring-models/{model}/", {"rule_max": 10}),
    ("put", "/api/scoring-models/{model}/", {"name": "Hacked"}),
    ("delete", "/api/scoring-models/{model}/", None),
    ("post", "/api/scoring-models/{model}/preview/", {}),
    ("get", "/api/scoring-rules/{rule}/", None),
    ("patch", "/api/scoring-rules/{rule}/", {"points": 100}),
    ("delete", "/api/scoring-rules/{rule}/", None),
    ("post", "/api/scoring-rules/{rule}/test_rule/", {"lead_id": "{my_lead}"}),
    ("get", "/api/lead-qualification/scoring-rules/{rule}/", None),
    ("post", "/api/lead-qualification/scoring-rules/{rule}/test_rule/", {"lead_id": "{my_lead}"}),
    ("get", "/api/qualification-criteria/{stage}/", None),
    ("patch", "/api/qualification-criteria/{stage}/", {"minimum_score": 0}),
    ("delete", "/api/qualification-criteria/{stage}/", None),
    ("get", "/api/lead-qualification/qualification-criteria/{stage}/", None),
]


def _fill(template: Any, ids: dict[str, int]) -> Any:
    if isinstance(template, str):
        for key, value in ids.items():
            if template == f"{{{key}}}":
                return value
        return template.format(**ids)
    if isinstance(template, dict):
        return {key: _fill(value, ids) for key, value in template.items()}
    return template


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path", "body"), DETAIL_CALLS, ids=[f"{m} {p}" for m, p, _ in DETAIL_CALLS])
def test_their_objects_are_404_like_missing_ones(tenant: Tenant, mine: World, theirs: World, method: str,
                                                 path: str, body: dict | None) -> None:
    foreign = {"model": theirs.model, "rule": theirs.rule, "stage": theirs.stage, "my_lead": mine.lead.pk}
    missing = {"model": _never(ScoringModel), "rule": _never(ScoringRule), "stage": _never(QualificationStage),
               "my_lead": mine.lead.pk}
    response = _call(tenant.client, method, _fill(path, foreign), _fill(body, foreign))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    never = _call(tenant.client, method, _fill(path, missing), _fill(body, missing))
    assert (never.status_code, never.json()) == (404, NOT_FOUND)
    # Nothing of theirs changed.
    model = ScoringModel.objects.get(pk=theirs.model)
    assert (model.name, model.version, model.rule_max) == ("Four", 2, 100)
    assert ScoringRule.objects.get(pk=theirs.rule).points == 5
    assert QualificationStage.objects.get(pk=theirs.stage).minimum_score == 95


# --- their ids inside my requests -----------------------------------------------------------------


def _lead_404(lead_id: int) -> dict[str, Any]:
    return {"error": f"Lead {lead_id} does not exist.", "code": "unknown_lead", "details": {"lead_id": lead_id}}


def _offer_404(offer_id: int) -> dict[str, Any]:
    return {"error": f"Offer {offer_id} does not exist.", "code": "unknown_offer", "details": {"offer": offer_id}}


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["lead", "offer"])
@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/lead-scores/calculate/", {"lead_id": "{lead}", "offer": "{offer}"}),
    ("post", "/api/lead-qualification/lead-scores/calculate/", {"lead_id": "{lead}", "offer": "{offer}"}),
    ("post", "/api/lead-scores/set_stage/", {"lead_id": "{lead}", "offer": "{offer}", "stage": "sql"}),
    ("get", "/api/lead-scores/history/?lead_id={lead}&offer={offer}", None),
    ("post", "/api/scoring-rules/{my_rule}/test_rule/", {"lead_id": "{lead}", "offer": "{offer}"}),
])
def test_their_leads_and_offers_in_my_requests_do_not_exist(tenant: Tenant, mine: World, theirs: World, kind: str,
                                                            method: str, path: str, body: dict | None) -> None:
    never = {"lead": _never(Lead), "offer": _never(Offer)}
    for other_id in (getattr(theirs, kind).pk, never[kind]):
        ids = {"lead": mine.lead.pk, "offer": mine.offer.pk, "my_rule": mine.rule, kind: other_id}
        response = _call(tenant.client, method, _fill(path, ids), _fill(body, ids))
        expected = _lead_404(other_id) if kind == "lead" else _offer_404(other_id)
        assert (response.status_code, response.json()) == (404, expected)
    theirs_score = Score.objects.get(pk=theirs.score)
    assert (theirs_score.is_current, theirs_score.stage, theirs_score.stage_set_by_id) == (True, "hot", None)
    assert Score.objects.filter(lead=theirs.lead).count() == 1


@pytest.mark.django_db
def test_their_offer_in_distribution_preview_and_bulk_is_404(tenant: Tenant, mine: World, theirs: World) -> None:
    for offer_id in (theirs.offer.pk, _never(Offer)):
        distribution = tenant.client.get(f"/api/lead-scores/distribution/?offer={offer_id}")
        assert (distribution.status_code, distribution.json()) == (404, _offer_404(offer_id))
        preview = tenant.client.post(f"/api/scoring-models/{mine.model}/preview/", {"offer": offer_id},
                                     format="json")
        assert (preview.status_code, preview.json()) == (404, _offer_404(offer_id))
        bulk = tenant.client.post("/api/lead-scores/bulk_calculate/", {"recalculate_all": True, "offer": offer_id},
                                  format="json")
        assert (bulk.status_code, bulk.json()) == (404, _offer_404(offer_id))
    assert Score.objects.filter(offer=theirs.offer).count() == 1


@pytest.mark.django_db
def test_their_leads_in_bulk_calculate_are_unknown(tenant: Tenant, mine: World, theirs: World) -> None:
    for lead_id in (theirs.lead.pk, _never(Lead)):
        response = tenant.client.post("/api/lead-scores/bulk_calculate/", {"lead_ids": [mine.lead.pk, lead_id]},
                                      format="json")
        assert response.status_code == 400
        body = response.json()
        assert (body["error"], body["code"]) == ("1 lead id(s) do not exist.", "unknown_leads")
        assert list(body["details"].values()) == [[lead_id]]
    assert Score.objects.filter(lead=theirs.lead).count() == 1


@pytest.mark.django_db
def test_their_model_in_a_body_field_is_400_like_a_missing_one(tenant: Tenant, mine: World, theirs: World) -> None:
    rule = {"name": "Sneaky", "field_name": "industry", "operator": "equals", "value": "x", "points": 1}
    for model_id in (theirs.model, _never(ScoringModel)):
        invalid = [f'Invalid pk "{model_id}" - object does not exist.']
        created = tenant.client.post("/api/scoring-rules/", {**rule, "model": model_id}, format="json")
        assert created.status_code == 400
        assert (created.json()["code"], created.json()["details"]) == ("invalid", {"model": invalid})
        moved = tenant.client.patch(f"/api/scoring-rules/{mine.rule}/", {"model": model_id}, format="json")
        assert (moved.status_code, moved.json()["details"]) == (400, {"model": invalid})
        offer = tenant.client.patch(f"/api/offer/{mine.offer.pk}/", {"scoring_model": model_id}, format="json")
        assert (offer.status_code, offer.json()["details"]) == (400, {"scoring_model": invalid})
    assert ScoringRule.objects.filter(model_id=theirs.model).count() == 15
    assert ScoringRule.objects.get(pk=mine.rule).model_id == mine.model
    assert ScoringModel.objects.get(pk=theirs.model).version == 2


@pytest.mark.django_db
def test_their_stage_key_is_not_a_stage_of_mine(tenant: Tenant, mine: World, theirs: World) -> None:
    response = tenant.client.post("/api/lead-scores/set_stage/", {"lead_id": mine.lead.pk, "stage": "hot"},
                                  format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": "Unknown stage 'hot': use one of disqualified, mql, sql, vip, or null to let the criteria decide "
                 "again.", "code": "unknown_stage", "details": {"stage": ["Unknown stage 'hot'."]}}
    # The same key is free for my own stage.
    created = tenant.client.post("/api/qualification-criteria/", {"name": "Hot", "stage": "hot", "order": 40},
                                 format="json")
    assert created.status_code == 201


@pytest.mark.django_db
def test_a_model_change_in_their_workspace_leaves_my_scores_fresh(tenant: Tenant, other_tenant: Tenant, mine: World,
                                                                  theirs: World) -> None:
    assert other_tenant.client.patch(f"/api/scoring-models/{theirs.model}/", {"rule_max": 90},
                                     format="json").status_code == 200
    assert other_tenant.client.post("/api/qualification-criteria/", {"name": "X", "stage": "x", "order": 50},
                                    format="json").status_code == 201
    assert Score.objects.get(pk=mine.score).stale_cause == ""
    assert Score.objects.get(pk=theirs.score).stale_cause == "model_change"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/scoring-models/"), ("get", "/api/scoring-models/templates/"), ("get", "/api/scoring-rules/"),
    ("get", "/api/qualification-criteria/"), ("post", "/api/lead-scores/calculate/"),
    ("get", "/api/lead-scores/distribution/"), ("get", "/api/lead-qualification/scoring-rules/"),
])
def test_anonymous_requests_are_401(anon_client: APIClient, method: str, path: str) -> None:
    response = _call(anon_client, method, path)
    assert response.status_code == 401
    assert set(response.json()) == {"error", "code", "details"}
    assert response.json()["code"] == "not_authenticated"
