"""Scoring models over HTTP: the default model, templates, versions, validation, delete, preview,
and the four-factor template scoring leads to the points a person adds up by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, Offer, Score, ScoringModel, ScoringModelVersion, ScoringRule
from leads.scoring.engagement import BAD_ENGAGEMENT
from leads.scoring.model import BAD_AI_POINTS, BAD_GROUP_CAPS, BAD_THRESHOLDS
from leads.scoring.templates import TEMPLATES
from leads.services.scoring_models import DEFAULT_NOT_DELETABLE, DUPLICATE_MODEL_NAME, _compiled
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory, OfferFactory

VOLATILE = ("id", "created_at", "updated_at")
DEFAULT_RULES = [
    {"name": "Decision maker role", "rule_type": "demographic", "field_name": "role", "operator": "role_level",
     "value": "decision_maker", "points": 20, "priority": 10, "is_active": True, "knockout": False},
    {"name": "Influencer role", "rule_type": "demographic", "field_name": "role", "operator": "role_level",
     "value": "influencer", "points": 10, "priority": 20, "is_active": True, "knockout": False},
    {"name": "Exact ICP match", "rule_type": "firmographic", "field_name": "industry", "operator": "industry_fit",
     "value": "exact", "points": 20, "priority": 30, "is_active": True, "knockout": False},
    {"name": "Adjacent industry", "rule_type": "firmographic", "field_name": "industry", "operator": "industry_fit",
     "value": "adjacent", "points": 10, "priority": 40, "is_active": True, "knockout": False},
    {"name": "Complete profile", "rule_type": "demographic", "field_name": "", "operator": "profile_complete",
     "value": True, "points": 10, "priority": 50, "is_active": True, "knockout": False},
]
# (name, group, field, operator, points) of the four-factor template, as DESIGN's tiers add up.
FOUR_FACTOR_RULES = [
    ("Budget stated", "budget", "budget", "is_not_empty", 10),
    ("Budget over 10k", "budget", "budget", "greater_than", 10),
    ("Budget over 50k", "budget", "budget", "greater_than", 10),
    ("Company size stated", "size", "company_size", "is_not_empty", 10),
    ("Over 100 employees", "size", "company_size", "greater_than", 10),
    ("Over 500 employees", "size", "company_size", "greater_than", 10),
    ("Industry stated", "industry", "industry", "is_not_empty", 5),
    ("Technology industry", "industry", "industry", "regex", 15),
    ("Finance industry", "industry", "industry", "regex", 10),
    ("Healthcare industry", "industry", "industry", "regex", 5),
    ("Urgency stated", "urgency", "urgency", "is_not_empty", 5),
    ("Buying this month or sooner", "urgency", "urgency", "in_list", 5),
    ("Buying this week or sooner", "urgency", "urgency", "in_list", 5),
    ("Buying immediately", "urgency", "urgency", "in_list", 5),
]
FOUR_FACTOR_CAPS = {"budget": {"max_points": 30}, "size": {"max_points": 30}, "industry": {"max_points": 20},
                    "urgency": {"max_points": 20}}
# Lead fields and uploaded columns, and the score the four-factor tiers give them.
TOP_LEAD = {"industry": "Software", "attributes": {"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"}}
# budget 20k: stated 10 + over 10k 10 = 20; 150 staff: 10 + 10 = 20; Retail: stated 5; "diese Woche":
# stated 5 + this month 5 + this week 5 = 15.
MID_LEAD = {"industry": "Retail", "attributes": {"budget": "20k", "company_size": "150", "urgency": "diese Woche"}}
MID_SCORE = 20 + 20 + 5 + 15


@pytest.fixture(autouse=True)
def _no_compiled_model_from_another_test() -> Iterator[None]:
    """Test databases hand out the same ids again after each test's rollback, and the compiled-model
    cache is keyed by (model id, version): without this a test can score with another test's model."""
    _compiled.cache_clear()
    yield
    _compiled.cache_clear()


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in keys}


def _models(tenant: Tenant) -> list[dict[str, Any]]:
    response = tenant.client.get("/api/scoring-models/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _default_id(tenant: Tenant) -> int:
    return next(m["id"] for m in _models(tenant) if m["is_default"])


def _four_factor(tenant: Tenant, name: str = "Four factors") -> dict[str, Any]:
    response = tenant.client.post("/api/scoring-models/", {"name": name, "template": "budget_size_industry_urgency"},
                                  format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _use_model(tenant: Tenant, offer: Offer, model_id: int | None) -> None:
    response = tenant.client.patch(f"/api/offer/{offer.pk}/", {"scoring_model": model_id}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["scoring_model"] == model_id


def _four_factor_offer(tenant: Tenant) -> tuple[int, Offer]:
    offer = OfferFactory(workspace=tenant.workspace)
    model_id = _four_factor(tenant)["id"]
    _use_model(tenant, offer, model_id)
    return model_id, offer


def _versions(model_id: int) -> list[int]:
    return list(ScoringModelVersion.objects.filter(model_id=model_id).order_by("version")
                .values_list("version", flat=True))


def _calculate(tenant: Tenant, lead: Lead, offer: Offer) -> dict[str, Any]:
    response = tenant.client.post("/api/lead-scores/calculate/", {"lead_id": lead.pk, "offer": offer.pk},
                                  format="json")
    assert response.status_code == 200, response.content
    return response.json()


# --- the default model and templates -------------------------------------------------------------


@pytest.mark.django_db
def test_list_creates_the_default_model_once(tenant: Tenant) -> None:
    assert ScoringModel.objects.filter(workspace=tenant.workspace).count() == 0
    response = tenant.client.get("/api/scoring-models/")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (1, None, None)
    model = body["results"][0]
    stored = ScoringModel.objects.get(workspace=tenant.workspace)
    assert model["id"] == stored.pk
    assert _without(model, *VOLATILE, "rules") == {
        "name": "Default", "description": TEMPLATES["default"].description, "is_default": True, "version": 1,
        "copied_from": "default", "rule_max": 50, "group_caps": {}, "ai_enabled": True,
        "ai_points": {"High": 50, "Medium": 30, "Low": 10}, "engagement": {}, "learned_weight": 0,
        "high_from": 70, "medium_from": 40,
    }
    assert [_without(rule, "id") for rule in model["rules"]] == DEFAULT_RULES
    assert [rule["id"] for rule in model["rules"]] == list(
        stored.rules.order_by("priority").values_list("pk", flat=True))
    assert _versions(stored.pk) == [1]
    # A second read finds it; it doesn't make another.
    assert [m["id"] for m in _models(tenant)] == [stored.pk]
    assert ScoringModel.objects.filter(workspace=tenant.workspace).count() == 1


@pytest.mark.django_db
def test_model_list_reads_rules_without_a_query_per_model(tenant: Tenant) -> None:
    _models(tenant)
    with CaptureQueriesContext(connection) as one:
        tenant.client.get("/api/scoring-models/")
    _four_factor(tenant, "A")
    _four_factor(tenant, "B")
    with CaptureQueriesContext(connection) as three:
        response = tenant.client.get("/api/scoring-models/")
    assert response.json()["count"] == 3
    assert len(three.captured_queries) == len(one.captured_queries)


@pytest.mark.django_db
def test_templates_list_the_models_to_copy(tenant: Tenant) -> None:
    response = tenant.client.get("/api/scoring-models/templates/")
    assert response.status_code == 200
    templates = response.json()
    assert [t["key"] for t in templates] == ["default", "budget_size_industry_urgency", "engagement_led",
                                             "engagement_decay"]
    assert all(set(t) == {"key", "name", "description", "model"} for t in templates)
    by_key = {t["key"]: t for t in templates}
    assert [t["name"] for t in templates] == ["Default", "Budget, size, industry, urgency", "Engagement-led",
                                              "Engagement with decay"]
    default = by_key["default"]["model"]
    assert (default["rule_max"], default["ai_enabled"], default["high_from"], default["medium_from"]) == (
        50, True, 70, 40)
    assert [(r["name"], r["points"]) for r in default["rules"]] == [(r["name"], r["points"]) for r in DEFAULT_RULES]
    four = by_key["budget_size_industry_urgency"]["model"]
    assert (four["rule_max"], four["ai_enabled"], four["group_caps"]) == (100, False, FOUR_FACTOR_CAPS)
    assert [(r["name"], r["group"], r["field_name"], r["operator"], r["points"]) for r in four["rules"]] == (
        FOUR_FACTOR_RULES)
    engagement = by_key["engagement_led"]["model"]
    assert engagement["ai_enabled"] is False
    assert [r["name"] for r in engagement["rules"] if r["knockout"]] == ["Unsubscribed"]
    decay = by_key["engagement_decay"]["model"]
    assert decay["engagement"]["email_open"] == {"points": 5, "half_life_days": 14, "max_points": 25}
    assert decay["engagement"]["horizon_days"] == 180
    # Listing templates copies nothing.
    assert ScoringModel.objects.filter(workspace=tenant.workspace, is_default=False).count() == 0


@pytest.mark.django_db
def test_create_copies_the_four_factor_template(tenant: Tenant) -> None:
    model = _four_factor(tenant)
    stored = ScoringModel.objects.get(pk=model["id"])
    assert stored.workspace_id == tenant.workspace.pk
    assert _without(model, *VOLATILE, "rules") == {
        "name": "Four factors", "description": TEMPLATES["budget_size_industry_urgency"].description,
        "is_default": False, "version": 1, "copied_from": "budget_size_industry_urgency", "rule_max": 100,
        "group_caps": FOUR_FACTOR_CAPS, "ai_enabled": False, "ai_points": {"High": 50, "Medium": 30, "Low": 10},
        "engagement": {}, "learned_weight": 0, "high_from": 70, "medium_from": 40,
    }
    assert [(r["name"], r["rule_type"], r["field_name"], r["operator"], r["points"]) for r in model["rules"]] == (
        FOUR_FACTOR_RULES)
    assert {r["field_name"] for r in model["rules"]} == {"budget", "company_size", "industry", "urgency"}
    assert ScoringRule.objects.filter(model=stored).count() == len(FOUR_FACTOR_RULES)
    assert _versions(stored.pk) == [1]
    # The workspace keeps its default beside the copy.
    assert [(m["name"], m["is_default"]) for m in _models(tenant)] == [("Default", True), ("Four factors", False)]


@pytest.mark.django_db
def test_create_without_template_copies_the_default_with_given_settings(tenant: Tenant) -> None:
    response = tenant.client.post("/api/scoring-models/", {"name": "Strict", "high_from": 80, "rule_max": 40},
                                  format="json")
    assert response.status_code == 201, response.content
    model = response.json()
    assert (model["copied_from"], model["is_default"], model["rule_max"], model["high_from"],
            model["medium_from"], model["ai_enabled"]) == ("default", False, 40, 80, 40, True)
    assert [_without(rule, "id") for rule in model["rules"]] == DEFAULT_RULES
    assert ScoringModelVersion.objects.get(model_id=model["id"]).spec["rule_max"] == 40


@pytest.mark.django_db
def test_patch_a_setting_bumps_the_version_and_keeps_a_snapshot(tenant: Tenant) -> None:
    model_id = _default_id(tenant)
    response = tenant.client.patch(f"/api/scoring-models/{model_id}/", {"rule_max": 40, "version": 99},
                                   format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["rule_max"], response.json()["version"]) == (40, 2)
    assert _versions(model_id) == [1, 2]
    snapshots = {v.version: v.spec for v in ScoringModelVersion.objects.filter(model_id=model_id)}
    assert (snapshots[1]["rule_max"], snapshots[2]["rule_max"]) == (50, 40)
    assert snapshots[2]["version"] == 2
    assert ScoringModelVersion.objects.get(model_id=model_id, version=2).created_by.username == "alice"
    # The same value again is no change: no new version.
    again = tenant.client.patch(f"/api/scoring-models/{model_id}/", {"rule_max": 40}, format="json")
    assert again.json()["version"] == 2
    assert _versions(model_id) == [1, 2]


@pytest.mark.django_db
def test_patch_name_only_bumps_the_version_but_leaves_scores_fresh(tenant: Tenant) -> None:
    model_id, offer = _four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    _calculate(tenant, lead, offer)
    response = tenant.client.patch(f"/api/scoring-models/{model_id}/", {"name": "Renamed"}, format="json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["version"]) == ("Renamed", 2)
    assert _versions(model_id) == [1, 2]
    assert ScoringModelVersion.objects.get(model_id=model_id, version=2).spec["name"] == "Renamed"
    assert Score.objects.get(lead=lead, is_current=True).stale_cause == ""
    # A setting that changes scores marks them stale.
    tenant.client.patch(f"/api/scoring-models/{model_id}/", {"high_from": 90}, format="json")
    assert Score.objects.get(lead=lead, is_current=True).stale_cause == "model_change"


@pytest.mark.django_db
@pytest.mark.parametrize(("patch", "expected"), [
    ({"rule_max": 101}, {"error": "Invalid input — rule_max: Ensure this value is less than or equal to 100.",
                         "code": "invalid",
                         "details": {"rule_max": ["Ensure this value is less than or equal to 100."]}}),
    ({"high_from": 30}, {"error": BAD_THRESHOLDS, "code": "invalid", "details": {"high_from": [BAD_THRESHOLDS]}}),
    ({"high_from": 50, "medium_from": 60},
     {"error": BAD_THRESHOLDS, "code": "invalid", "details": {"high_from": [BAD_THRESHOLDS]}}),
    ({"ai_points": {"High": 50, "Medium": 30}},
     {"error": BAD_AI_POINTS, "code": "invalid", "details": {"ai_points": [BAD_AI_POINTS]}}),
    ({"group_caps": {"firmographic": 30}},
     {"error": BAD_GROUP_CAPS, "code": "invalid", "details": {"group_caps": [BAD_GROUP_CAPS]}}),
    ({"group_caps": {"firmographic": {"max_points": 5, "min_points": 10}}},
     {"error": BAD_GROUP_CAPS, "code": "invalid", "details": {"group_caps": [BAD_GROUP_CAPS]}}),
    ({"group_caps": {"firmographic": {"most": 5}}},
     {"error": BAD_GROUP_CAPS, "code": "invalid", "details": {"group_caps": [BAD_GROUP_CAPS]}}),
    ({"engagement": {"email_open": {"points": 5}}},  # no half-life
     {"error": BAD_ENGAGEMENT, "code": "invalid", "details": {"engagement": [BAD_ENGAGEMENT]}}),
    ({"engagement": {"Email Open": {"points": 5, "half_life_days": 14}}},
     {"error": BAD_ENGAGEMENT, "code": "invalid", "details": {"engagement": [BAD_ENGAGEMENT]}}),
    ({"engagement": {"email_open": {"points": 5, "half_life_days": 14}, "horizon_days": 0}},
     {"error": BAD_ENGAGEMENT, "code": "invalid", "details": {"engagement": [BAD_ENGAGEMENT]}}),
    ({"learned_weight": -1},
     {"error": "Invalid input — learned_weight: Ensure this value is greater than or equal to 0.",
      "code": "invalid", "details": {"learned_weight": ["Ensure this value is greater than or equal to 0."]}}),
])
def test_invalid_settings_are_400_and_change_nothing(tenant: Tenant, patch: dict, expected: dict) -> None:
    model_id = _default_id(tenant)
    response = tenant.client.patch(f"/api/scoring-models/{model_id}/", patch, format="json")
    assert response.status_code == 400
    assert response.json() == expected
    stored = ScoringModel.objects.get(pk=model_id)
    assert (stored.version, stored.rule_max, stored.high_from, stored.medium_from, stored.group_caps) == (
        1, 50, 70, 40, {})
    assert _versions(model_id) == [1]


@pytest.mark.django_db
@pytest.mark.parametrize(("payload", "details"), [
    ({"name": "X", "template": "nope"}, {"template": ['"nope" is not a valid choice.']}),
    ({"name": "X", "engagement": {"email_open": {"points": 5}}}, {"engagement": [BAD_ENGAGEMENT]}),
    ({"name": "X", "learned_weight": 101}, {"learned_weight": ["Ensure this value is less than or equal to 100."]}),
    ({"name": "X", "template": "budget_size_industry_urgency", "medium_from": 80},
     {"high_from": [BAD_THRESHOLDS]}),
    ({"template": "default"}, {"name": ["This field is required."]}),
])
def test_invalid_create_is_400_and_stores_nothing(tenant: Tenant, payload: dict, details: dict) -> None:
    _models(tenant)
    response = tenant.client.post("/api/scoring-models/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["details"]) == ("invalid", details)
    assert body["error"]
    assert ScoringModel.objects.filter(workspace=tenant.workspace).count() == 1


@pytest.mark.django_db
def test_duplicate_model_name_is_409(tenant: Tenant) -> None:
    _four_factor(tenant, "Mine")
    other = _four_factor(tenant, "Other")
    expected = {"error": DUPLICATE_MODEL_NAME, "code": "duplicate_name", "details": {}}
    created = tenant.client.post("/api/scoring-models/", {"name": "Mine"}, format="json")
    assert (created.status_code, created.json()) == (409, expected)
    renamed = tenant.client.patch(f"/api/scoring-models/{other['id']}/", {"name": "Mine"}, format="json")
    assert (renamed.status_code, renamed.json()) == (409, expected)
    assert ScoringModel.objects.get(pk=other["id"]).name == "Other"
    assert _versions(other["id"]) == [1]


@pytest.mark.django_db
def test_the_default_model_cannot_be_deleted(tenant: Tenant) -> None:
    model_id = _default_id(tenant)
    response = tenant.client.delete(f"/api/scoring-models/{model_id}/")
    assert response.status_code == 409
    assert response.json() == {"error": DEFAULT_NOT_DELETABLE, "code": "default_model", "details": {}}
    assert ScoringModel.objects.filter(pk=model_id).exists()


@pytest.mark.django_db
def test_deleting_a_model_sends_its_offers_back_to_the_default(tenant: Tenant) -> None:
    model_id, offer = _four_factor_offer(tenant)
    untouched = OfferFactory(workspace=tenant.workspace)
    lead = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    assert _calculate(tenant, lead, offer)["scoring_model"] == model_id
    _calculate(tenant, lead, untouched)
    response = tenant.client.delete(f"/api/scoring-models/{model_id}/")
    assert response.status_code == 204
    assert not ScoringModel.objects.filter(pk=model_id).exists()
    assert ScoringRule.objects.filter(model_id=model_id).count() == 0
    assert tenant.client.get(f"/api/offer/{offer.pk}/").json()["scoring_model"] is None
    assert tenant.client.get(f"/api/scoring-models/{model_id}/").status_code == 404
    # Its scores no longer say how the offer scores now; the other offer's do.
    assert Score.objects.get(lead=lead, offer=offer, is_current=True).stale_cause == "model_change"
    assert Score.objects.get(lead=lead, offer=untouched, is_current=True).stale_cause == ""
    rescored = _calculate(tenant, lead, offer)
    assert rescored["scoring_model"] == _default_id(tenant)
    assert rescored["score_breakdown"]["model"]["name"] == "Default"


@pytest.mark.django_db
def test_make_another_model_the_default(tenant: Tenant) -> None:
    old_default = _default_id(tenant)
    model = _four_factor(tenant)
    response = tenant.client.patch(f"/api/scoring-models/{model['id']}/", {"is_default": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_default"] is True
    assert [(m["id"], m["is_default"]) for m in _models(tenant)] == [(model["id"], True), (old_default, False)]
    # Un-setting it is no way to leave the workspace without a default.
    kept = tenant.client.patch(f"/api/scoring-models/{model['id']}/", {"is_default": False}, format="json")
    assert (kept.status_code, kept.json()["is_default"]) == (200, True)
    assert tenant.client.delete(f"/api/scoring-models/{old_default}/").status_code == 204


# --- the four-factor template scores what a person adds up ----------------------------------------


@pytest.mark.django_db
def test_four_factor_model_scores_a_top_lead_100(tenant: Tenant) -> None:
    model_id, offer = _four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    body = _calculate(tenant, lead, offer)
    assert (body["score"], body["intent"], body["qualification_stage"]) == (100, "High", "sql")
    breakdown = body["score_breakdown"]
    assert (breakdown["rule_score"], breakdown["ai_score"], breakdown["ai"]) == (100, 0, None)
    assert breakdown["model"] == {"id": model_id, "name": "Four factors", "version": 1}
    assert breakdown["components"][0]["groups"] == [
        {"group": "budget", "points": 30}, {"group": "size", "points": 30}, {"group": "industry", "points": 20},
        {"group": "urgency", "points": 20}]
    assert [r["label"] for r in breakdown["rules"]] == [
        "Budget stated", "Budget over 10k", "Budget over 50k", "Company size stated", "Over 100 employees",
        "Over 500 employees", "Industry stated", "Technology industry", "Urgency stated",
        "Buying this month or sooner", "Buying this week or sooner", "Buying immediately"]
    assert body["reasoning"].endswith("[AI: not part of this scoring model]")


@pytest.mark.django_db
def test_four_factor_model_scores_lower_tiers_by_hand(tenant: Tenant) -> None:
    _, offer = _four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    body = _calculate(tenant, lead, offer)
    assert body["score"] == MID_SCORE == 60
    assert (body["intent"], body["qualification_stage"]) == ("Medium", "mql")
    assert body["score_breakdown"]["components"][0]["groups"] == [
        {"group": "budget", "points": 20}, {"group": "size", "points": 20}, {"group": "industry", "points": 5},
        {"group": "urgency", "points": 15}]


@pytest.mark.django_db
def test_intent_thresholds_are_the_models_own(tenant: Tenant) -> None:
    model_id, offer = _four_factor_offer(tenant)
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    mid = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    assert (_calculate(tenant, top, offer)["intent"], _calculate(tenant, mid, offer)["intent"]) == ("High", "Medium")
    patched = tenant.client.patch(f"/api/scoring-models/{model_id}/", {"medium_from": 65, "high_from": 100},
                                  format="json")
    assert patched.status_code == 200, patched.content
    top_again, mid_again = _calculate(tenant, top, offer), _calculate(tenant, mid, offer)
    assert (top_again["intent"], top_again["model_version"]) == ("High", 2)
    assert (mid_again["score"], mid_again["intent"]) == (MID_SCORE, "Low")


@pytest.mark.django_db
@pytest.mark.parametrize(("industry", "attributes", "expected", "industry_group"), [
    # 12k: 10 + 10; "51-200" reads as 51: stated only; Banking: 5 + finance 10; this month: 5 + 5.
    ("Banking", {"budget": "12k", "company_size": "51-200", "urgency": "this month"}, 20 + 10 + 15 + 10,
     {"group": "industry", "points": 15}),
    # Health tech matches two lists (5 + 15 + 5 = 25): the industry cap holds it at 20.
    ("Health tech", {"Budget": "1.2M", "Company Size": "500+", "urgency": "later"}, 30 + 20 + 20 + 5,
     {"group": "industry", "points": 20, "capped_from": 25}),
    ("", {}, 0, None),
])
def test_four_factor_tiers_caps_and_missing_columns(tenant: Tenant, industry: str, attributes: dict, expected: int,
                                                    industry_group: dict | None) -> None:
    _, offer = _four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, industry=industry, attributes=attributes)
    body = _calculate(tenant, lead, offer)
    assert body["score"] == expected, body["reasoning"]
    groups = {g["group"]: g for g in body["score_breakdown"]["components"][0]["groups"]}
    assert groups.get("industry") == industry_group
    if not expected:
        assert body["reasoning"] == "[Rule: none (+0)] [AI: not part of this scoring model]"


# --- preview: a proposed version scored on a sample, nothing stored --------------------------------


def _scored_sample(tenant: Tenant) -> tuple[int, Offer, Lead, Lead, Lead]:
    model_id, offer = _four_factor_offer(tenant)
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    mid = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    blank = LeadFactory(workspace=tenant.workspace, industry="", attributes={})
    response = tenant.client.post("/api/leads/score/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["total_scored"] == 3
    return model_id, offer, top, mid, blank


PROPOSED_RULES = [
    {"name": "Big budget", "operator": "greater_than", "field_name": "budget", "value": 30_000, "points": 40,
     "rule_type": "budget"},
    {"name": "Any industry", "operator": "is_not_empty", "field_name": "industry", "points": 10},
]


@pytest.mark.django_db
def test_preview_compares_current_and_proposed_and_stores_nothing(tenant: Tenant) -> None:
    model_id, offer, top, mid, blank = _scored_sample(tenant)
    scores_before = Score.objects.count()
    response = tenant.client.post(f"/api/scoring-models/{model_id}/preview/", {"rules": PROPOSED_RULES},
                                  format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    # Proposed: top 40 budget capped at 30, +10 = 40; mid: 20k is not over 30k, +10 = 10; blank: 0.
    assert (body["model"], body["offer"], body["sample_size"], body["left_out_without_verdict"]) == (
        model_id, offer.pk, 3, 0)
    assert body["current_distribution"] == {
        "average": round((100 + 60 + 0) / 3, 2),
        "buckets": [{"range": "0-20", "min": 0, "max": 20, "count": 1},
                    {"range": "20-40", "min": 20, "max": 40, "count": 0},
                    {"range": "40-60", "min": 40, "max": 60, "count": 0},
                    {"range": "60-80", "min": 60, "max": 80, "count": 1},
                    {"range": "80-100", "min": 80, "max": 100, "count": 1}],
        "intents": {"High": 1, "Medium": 1, "Low": 1},
    }
    assert body["proposed_distribution"] == {
        "average": round((40 + 10 + 0) / 3, 2),
        "buckets": [{"range": "0-20", "min": 0, "max": 20, "count": 2},
                    {"range": "20-40", "min": 20, "max": 40, "count": 0},
                    {"range": "40-60", "min": 40, "max": 60, "count": 1},
                    {"range": "60-80", "min": 60, "max": 80, "count": 0},
                    {"range": "80-100", "min": 80, "max": 100, "count": 0}],
        "intents": {"High": 0, "Medium": 1, "Low": 2},
    }
    assert body["summary"] == {"raised": 0, "lowered": 2, "unchanged": 1, "intent_changed": 2}
    assert body["top_changes"] == [
        {"lead": top.pk, "lead_name": top.name, "company": top.company, "current_score": 100, "proposed_score": 40,
         "change": -60, "current_intent": "High", "proposed_intent": "Medium",
         "proposed_reasoning": "[Rule: Big budget (+40), Any industry (+10); 40 after caps] "
                               "[AI: not part of this scoring model]"},
        {"lead": mid.pk, "lead_name": mid.name, "company": mid.company, "current_score": 60, "proposed_score": 10,
         "change": -50, "current_intent": "Medium", "proposed_intent": "Low",
         "proposed_reasoning": "[Rule: Any industry (+10)] [AI: not part of this scoring model]"},
    ]
    assert [r["name"] for r in body["proposed"]["rules"]] == ["Big budget", "Any industry"]
    # Nothing stored: no score, no version, no rule.
    assert Score.objects.count() == scores_before
    assert ScoringModel.objects.get(pk=model_id).version == 1
    assert _versions(model_id) == [1]
    assert ScoringRule.objects.filter(model_id=model_id).count() == len(FOUR_FACTOR_RULES)
    assert [r["score"] for r in tenant.client.get("/api/leads/results/").json()["results"]] == [100, 60, 0]


@pytest.mark.django_db
def test_preview_of_proposed_settings(tenant: Tenant) -> None:
    model_id, offer, top, mid, blank = _scored_sample(tenant)
    response = tenant.client.post(f"/api/scoring-models/{model_id}/preview/",
                                  {"settings": {"rule_max": 50}, "offer": offer.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["summary"] == {"raised": 0, "lowered": 2, "unchanged": 1, "intent_changed": 1}
    assert [(c["lead"], c["proposed_score"], c["proposed_intent"]) for c in body["top_changes"]] == [
        (top.pk, 50, "Medium"), (mid.pk, 50, "Medium")]
    assert ScoringModel.objects.get(pk=model_id).rule_max == 100


@pytest.mark.django_db
def test_preview_names_the_invalid_proposed_rule(tenant: Tenant) -> None:
    model_id, *_ = _scored_sample(tenant)
    bad = {"name": "Bad", "operator": "regex", "field_name": "industry", "value": "(", "points": 5}
    response = tenant.client.post(f"/api/scoring-models/{model_id}/preview/", {"rules": [PROPOSED_RULES[0], bad]},
                                  format="json")
    assert response.status_code == 400
    message = "The regular expression doesn't compile: missing ) at position 1."
    assert response.json() == {"error": f"Proposed rule 2: {message}", "code": "invalid",
                               "details": {"rules": {"2": {"value": [message]}}}}


@pytest.mark.django_db
def test_preview_rejects_unknown_settings(tenant: Tenant) -> None:
    model_id, *_ = _scored_sample(tenant)
    response = tenant.client.post(f"/api/scoring-models/{model_id}/preview/", {"settings": {"colour": "red"}},
                                  format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "Unknown settings: colour.", "code": "invalid",
                               "details": {"settings": ["colour"]}}


@pytest.mark.django_db
def test_preview_of_the_saved_default_model_changes_nothing(tenant: Tenant) -> None:
    OfferFactory(workspace=tenant.workspace, ideal_use_cases=["B2B SaaS mid-market"])
    LeadFactory(workspace=tenant.workspace, role="CEO", industry="B2B SaaS", linkedin_bio="Hiring SDRs, scaling.")
    LeadFactory(workspace=tenant.workspace, role="Student", industry="Retail", linkedin_bio="")
    LeadFactory(workspace=tenant.workspace, role="Engineering Manager", industry="SaaS")
    assert tenant.client.post("/api/leads/score/", {}, format="json").json()["total_scored"] == 3
    response = tenant.client.post(f"/api/scoring-models/{_default_id(tenant)}/preview/", {}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["sample_size"], body["left_out_without_verdict"]) == (3, 0)
    assert body["summary"] == {"raised": 0, "lowered": 0, "unchanged": 3, "intent_changed": 0}
    assert body["top_changes"] == []
    assert body["proposed_distribution"] == body["current_distribution"]
    assert body["current_distribution"]["average"] == round(
        sum(Score.objects.filter(is_current=True).values_list("score", flat=True)) / 3, 2)
