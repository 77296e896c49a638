"""Scoring rules over HTTP: create (default model), every operator, validation, test_rule, and how
negative points and knockouts move a score."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leads.models import Lead, Offer, ScoringModel, ScoringModelVersion, ScoringRule
from leads.scoring.model import BAD_ROLE_LEVEL
from leads.scoring.operators import (
    BETWEEN_ORDER,
    LIST_REQUIRED,
    NUMBER_REQUIRED,
    REGEX_INVALID,
    VALUE_TOO_LONG,
)
from leads.services.scoring_models import _compiled
from leads.tests.conftest import Tenant, four_factor_offer
from leads.tests.factories import LeadFactory, OfferFactory

RULE_KEYS = {"id", "model", "name", "rule_type", "field_name", "operator", "value", "points", "priority",
             "is_active", "knockout", "created_at", "updated_at"}
TOP_LEAD = {"industry": "Software", "attributes": {"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"}}
MID_LEAD = {"industry": "Retail", "attributes": {"budget": "20k", "company_size": "150", "urgency": "diese Woche"}}
MID_SCORE = 60  # 20 budget + 20 size + 5 industry + 15 urgency (test_scoring_models_api adds it up)
EVENTS_FIELD_ERROR = (
    "Unknown field 'events.foo.bar': use a lead field, attributes.<column>, or a computed field (days_since_creation, "
    "last_activity_days_ago, email_opens_count, email_clicks_count, website_visits, activities_count, "
    "events.<type>.count, events.<type>.count_<N>d).")


@pytest.fixture(autouse=True)
def _no_compiled_model_from_another_test() -> Iterator[None]:
    """Test databases hand out the same ids again after each test's rollback, and the compiled-model
    cache is keyed by (model id, version): without this a test can score with another test's model."""
    _compiled.cache_clear()
    yield
    _compiled.cache_clear()


def _default(tenant: Tenant) -> ScoringModel:
    response = tenant.client.get("/api/scoring-models/")
    assert response.status_code == 200
    return ScoringModel.objects.get(workspace=tenant.workspace, is_default=True)


def _create_rule(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    payload = {"name": "Rule", "field_name": "industry", "operator": "equals", "value": "SaaS", "points": 5, **fields}
    response = tenant.client.post("/api/scoring-rules/", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _calculate(tenant: Tenant, lead: Lead, offer: Offer) -> dict[str, Any]:
    response = tenant.client.post("/api/lead-scores/calculate/", {"lead_id": lead.pk, "offer": offer.pk},
                                  format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _test_rule(tenant: Tenant, rule_id: int, lead: Lead, prefix: str = "/api") -> dict[str, Any]:
    response = tenant.client.post(f"{prefix}/scoring-rules/{rule_id}/test_rule/", {"lead_id": lead.pk},
                                  format="json")
    assert response.status_code == 200, response.content
    return response.json()


# --- create ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rule_without_model_lands_on_the_default_and_bumps_its_version(tenant: Tenant) -> None:
    default = _default(tenant)
    response = tenant.client.post("/api/scoring-rules/", {
        "name": "Germany", "rule_type": "firmographic", "field_name": "location", "operator": "contains",
        "value": "Berlin", "points": 5}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == RULE_KEYS
    rule = ScoringRule.objects.get(pk=body["id"])
    assert {k: v for k, v in body.items() if k not in ("id", "created_at", "updated_at")} == {
        "model": default.pk, "name": "Germany", "rule_type": "firmographic", "field_name": "location",
        "operator": "contains", "value": "Berlin", "points": 5, "priority": 100, "is_active": True,
        "knockout": False}
    assert (rule.model_id, rule.workspace_id) == (default.pk, tenant.workspace.pk)
    default.refresh_from_db()
    assert default.version == 2
    snapshot = ScoringModelVersion.objects.get(model=default, version=2).spec
    assert [r["name"] for r in snapshot["rules"]][-1] == "Germany"
    assert len(snapshot["rules"]) == 6
    listed = tenant.client.get("/api/scoring-rules/").json()
    assert listed["count"] == 6
    assert listed["results"][-1] == body


@pytest.mark.django_db
def test_rule_on_a_named_model(tenant: Tenant) -> None:
    model_id, _ = four_factor_offer(tenant)
    body = _create_rule(tenant, model=model_id)
    assert body["model"] == model_id
    assert ScoringModel.objects.get(pk=model_id).version == 2
    assert _default(tenant).version == 1
    filtered = tenant.client.get(f"/api/scoring-rules/?model={model_id}").json()
    assert filtered["count"] == 15
    assert {r["model"] for r in filtered["results"]} == {model_id}


@pytest.mark.django_db
def test_update_and_delete_a_rule_bump_the_version(tenant: Tenant) -> None:
    default = _default(tenant)
    rule = _create_rule(tenant)
    patched = tenant.client.patch(f"/api/scoring-rules/{rule['id']}/", {"points": -7}, format="json")
    assert patched.status_code == 200
    assert patched.json()["points"] == -7
    assert ScoringModel.objects.get(pk=default.pk).version == 3
    bad = tenant.client.patch(f"/api/scoring-rules/{rule['id']}/", {"operator": "between"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["details"] == {"value": ["Enter two numbers as a list: [low, high]."]}
    assert ScoringModel.objects.get(pk=default.pk).version == 3
    assert tenant.client.delete(f"/api/scoring-rules/{rule['id']}/").status_code == 204
    assert not ScoringRule.objects.filter(pk=rule["id"]).exists()
    assert ScoringModel.objects.get(pk=default.pk).version == 4
    assert len(ScoringModelVersion.objects.get(model=default, version=4).spec["rules"]) == 5


@pytest.mark.django_db
def test_moving_a_rule_to_another_model_bumps_both(tenant: Tenant) -> None:
    default = _default(tenant)
    model_id, _ = four_factor_offer(tenant)
    rule = _create_rule(tenant)
    assert ScoringModel.objects.get(pk=default.pk).version == 2
    moved = tenant.client.patch(f"/api/scoring-rules/{rule['id']}/", {"model": model_id}, format="json")
    assert moved.status_code == 200
    assert moved.json()["model"] == model_id
    assert (ScoringModel.objects.get(pk=default.pk).version, ScoringModel.objects.get(pk=model_id).version) == (3, 2)
    assert "Rule" not in [r["name"] for r in ScoringModelVersion.objects.get(model=default, version=3).spec["rules"]]
    assert "Rule" in [r["name"] for r in ScoringModelVersion.objects.get(model_id=model_id, version=2).spec["rules"]]


# (operator, field, value, fires on the test lead, what test_rule reads)
LEAD_FIELDS = {"role": "CEO", "industry": "B2B SaaS", "email": "", "attributes": {"budget": "60k"}}
CREATED_AT = object()  # stands for the lead's created_at, read back in ISO form
OPERATOR_CASES = [
    ("equals", "industry", "b2b saas", True, "B2B SaaS"),
    ("not_equals", "industry", "Retail", True, "B2B SaaS"),
    ("contains", "industry", "saas", True, "B2B SaaS"),
    ("not_contains", "industry", "saas", False, "B2B SaaS"),
    ("starts_with", "industry", "b2b", True, "B2B SaaS"),
    ("in_list", "industry", ["FinTech", "B2B SaaS"], True, "B2B SaaS"),
    ("not_in_list", "industry", ["FinTech", "B2B SaaS"], False, "B2B SaaS"),
    ("regex", "industry", r"^B2B\s", True, "B2B SaaS"),
    ("greater_than", "budget", "50k", True, "60k"),
    ("less_than", "attributes.budget", 50_000, False, "60k"),
    ("between", "budget", [10_000, 70_000], True, "60k"),
    ("is_empty", "email", None, True, ""),
    ("is_not_empty", "title", None, True, "CEO"),
    ("within_days", "created_at", 30, True, CREATED_AT),
    ("older_than_days", "created_at", 365, False, CREATED_AT),
    ("role_level", "role", "decision_maker", True, "CEO"),
    ("industry_fit", "industry", "exact", True, "B2B SaaS"),
    ("profile_complete", "", True, True, True),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("operator", "field_name", "value", "fires", "seen"), OPERATOR_CASES,
                         ids=[case[0] for case in OPERATOR_CASES])
def test_every_operator_can_be_created_and_tested(tenant: Tenant, operator: str, field_name: str, value: Any,
                                                  fires: bool, seen: Any) -> None:
    OfferFactory(workspace=tenant.workspace, ideal_use_cases=["B2B SaaS mid-market"])
    default = _default(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **LEAD_FIELDS)
    body = _create_rule(tenant, name=f"Rule {operator}", operator=operator, field_name=field_name, value=value,
                        points=7)
    assert (body["operator"], body["field_name"], body["value"], body["model"]) == (
        operator, field_name, value, default.pk)
    assert ScoringModel.objects.get(pk=default.pk).version == 2
    result = _test_rule(tenant, body["id"], lead)
    expected_seen = lead.created_at.isoformat() if seen is CREATED_AT else seen
    assert result == {"rule": body, "lead": lead.pk,
                      "points_awarded": 7 if fires else 0, "rule_applied": fires, "value_seen": expected_seen}


@pytest.mark.django_db
@pytest.mark.parametrize(("patch", "details"), [
    ({"operator": "nope"}, {"operator": ['"nope" is not a valid choice.']}),
    ({"operator": "in_list", "value": "Retail, Banking"}, {"value": [LIST_REQUIRED]}),
    ({"operator": "not_in_list"}, {"value": [LIST_REQUIRED]}),
    ({"operator": "regex", "value": "("},
     {"value": [REGEX_INVALID.format(error="missing ) at position 1")]}),
    ({"operator": "regex", "value": "a" * 201}, {"value": [VALUE_TOO_LONG]}),
    ({"operator": "between", "value": [5, 1]}, {"value": [BETWEEN_ORDER]}),
    ({"operator": "greater_than", "value": "abc"}, {"value": [NUMBER_REQUIRED]}),
    ({"operator": "role_level", "field_name": "role", "value": "boss"}, {"value": [BAD_ROLE_LEVEL]}),
    ({"field_name": "events.foo.bar"}, {"field_name": [EVENTS_FIELD_ERROR]}),
    ({"points": 101}, {"points": ["Ensure this value is less than or equal to 100."]}),
    ({"points": -101}, {"points": ["Ensure this value is greater than or equal to -100."]}),
    ({"field_name": ""}, {"field_name": ["This operator needs a field_name."]}),
])
def test_invalid_rules_are_400_naming_the_field(tenant: Tenant, patch: dict, details: dict) -> None:
    default = _default(tenant)
    payload = {"name": "Rule", "field_name": "industry", "operator": "equals", "value": "SaaS", "points": 5, **patch}
    response = tenant.client.post("/api/scoring-rules/", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "code", "details"}
    assert (body["code"], body["details"]) == ("invalid", details)
    field, messages = next(iter(details.items()))
    assert body["error"] in (messages[0], f"Invalid input — {field}: {messages[0]}")
    assert ScoringRule.objects.filter(model=default).count() == 5
    assert ScoringModel.objects.get(pk=default.pk).version == 1


@pytest.mark.django_db
def test_rule_alias_path_answers_like_the_canonical_one(tenant: Tenant) -> None:
    _default(tenant)
    created = tenant.client.post("/api/lead-qualification/scoring-rules/", {
        "name": "Alias", "field_name": "industry", "operator": "equals", "value": "SaaS", "points": 1},
        format="json")
    assert created.status_code == 201
    canonical = tenant.client.get("/api/scoring-rules/")
    alias = tenant.client.get("/api/lead-qualification/scoring-rules/")
    assert alias.status_code == 200
    assert alias.json() == canonical.json()
    assert alias.json()["count"] == 6
    rule_id = created.json()["id"]
    assert tenant.client.get(f"/api/lead-qualification/scoring-rules/{rule_id}/").json() == created.json()
    lead = LeadFactory(workspace=tenant.workspace, industry="saas")
    assert _test_rule(tenant, rule_id, lead, prefix="/api/lead-qualification") == _test_rule(tenant, rule_id, lead)


# --- test_rule -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_test_rule_on_a_matching_and_a_non_matching_lead(tenant: Tenant) -> None:
    model_id, _ = four_factor_offer(tenant)
    rule = ScoringRule.objects.get(model_id=model_id, name="Budget over 50k")
    detail = tenant.client.get(f"/api/scoring-rules/{rule.pk}/").json()
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    mid = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    bare = LeadFactory(workspace=tenant.workspace, attributes={})
    assert _test_rule(tenant, rule.pk, top) == {"rule": detail, "lead": top.pk, "points_awarded": 10,
                                               "rule_applied": True, "value_seen": "60.000 €"}
    assert _test_rule(tenant, rule.pk, mid) == {"rule": detail, "lead": mid.pk, "points_awarded": 0,
                                               "rule_applied": False, "value_seen": "20k"}
    assert _test_rule(tenant, rule.pk, bare) == {"rule": detail, "lead": bare.pk, "points_awarded": 0,
                                                "rule_applied": False, "value_seen": None}
    # Testing stores nothing.
    assert ScoringModel.objects.get(pk=model_id).version == 1
    assert not top.scores.exists()


@pytest.mark.django_db
def test_test_rule_of_a_knockout_awards_nothing_but_applies(tenant: Tenant) -> None:
    model_id, _ = four_factor_offer(tenant)
    knockout = _create_rule(tenant, model=model_id, name="Competitor", field_name="company", operator="equals",
                            value="Rival Corp", points=0, knockout=True)
    rival = LeadFactory(workspace=tenant.workspace, company="Rival Corp")
    other = LeadFactory(workspace=tenant.workspace, company="Friendly Ltd")
    assert _test_rule(tenant, knockout["id"], rival) == {
        "rule": knockout, "lead": rival.pk, "points_awarded": 0, "rule_applied": True, "value_seen": "Rival Corp"}
    assert _test_rule(tenant, knockout["id"], other)["rule_applied"] is False
    with_points = _create_rule(tenant, model=model_id, name="Knockout with points", field_name="company",
                               operator="equals", value="Rival Corp", points=25, knockout=True)
    result = _test_rule(tenant, with_points["id"], rival)
    assert (result["points_awarded"], result["rule_applied"]) == (0, True)


@pytest.mark.django_db
@pytest.mark.parametrize(("payload", "status", "code"), [
    ({}, 400, "invalid"),
    ({"lead_id": "x"}, 400, "invalid"),
    ({"lead_id": 2**64}, 400, "invalid"),
    ({"lead_id": 987654}, 404, "unknown_lead"),
])
def test_test_rule_input(tenant: Tenant, payload: dict, status: int, code: str) -> None:
    rule = _create_rule(tenant)
    response = tenant.client.post(f"/api/scoring-rules/{rule['id']}/test_rule/", payload, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code
    if status == 404:
        assert response.json() == {"error": "Lead 987654 does not exist.", "code": "unknown_lead",
                                   "details": {"lead_id": 987654}}


# --- what rules do to a score ----------------------------------------------------------------------


@pytest.mark.django_db
def test_negative_points_lower_the_score(tenant: Tenant) -> None:
    model_id, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    assert _calculate(tenant, lead, offer)["score"] == MID_SCORE
    _create_rule(tenant, model=model_id, name="Retail penalty", rule_type="penalty", field_name="industry",
                 operator="equals", value="retail", points=-25)
    body = _calculate(tenant, lead, offer)
    assert (body["score"], body["previous_score"], body["score_change"]) == (MID_SCORE - 25, MID_SCORE, -25)
    assert (body["intent"], body["qualification_stage"]) == ("Low", "mql")  # stages only move forward
    assert {"label": "Retail penalty", "points": -25} in body["score_breakdown"]["rules"]
    assert {"group": "penalty", "points": -25} in body["score_breakdown"]["components"][0]["groups"]
    assert "Retail penalty (-25)" in body["reasoning"]
    assert body["model_version"] == 2


@pytest.mark.django_db
def test_a_group_floor_limits_what_negative_rules_take(tenant: Tenant) -> None:
    model_id, offer = four_factor_offer(tenant)
    caps = tenant.client.get(f"/api/scoring-models/{model_id}/").json()["group_caps"]
    patched = tenant.client.patch(f"/api/scoring-models/{model_id}/",
                                  {"group_caps": {**caps, "penalty": {"min_points": -10}}}, format="json")
    assert patched.status_code == 200, patched.content
    _create_rule(tenant, model=model_id, name="Retail penalty", rule_type="penalty", field_name="industry",
                 operator="equals", value="retail", points=-25)
    lead = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    body = _calculate(tenant, lead, offer)
    assert body["score"] == MID_SCORE - 10
    assert {"group": "penalty", "points": -10, "capped_from": -25} in body["score_breakdown"]["components"][0][
        "groups"]


@pytest.mark.django_db
def test_negative_points_never_take_a_score_below_zero(tenant: Tenant) -> None:
    model_id, offer = four_factor_offer(tenant)
    _create_rule(tenant, model=model_id, name="No budget", field_name="budget", operator="is_empty", points=-50)
    lead = LeadFactory(workspace=tenant.workspace, industry="Retail", attributes={})
    body = _calculate(tenant, lead, offer)
    assert body["score"] == 0
    assert body["score_breakdown"]["rule_score"] == 5 - 50
    assert body["score_breakdown"]["capped_from"] == 5 - 50


@pytest.mark.django_db
def test_a_knockout_rule_disqualifies(tenant: Tenant) -> None:
    model_id, offer = four_factor_offer(tenant)
    lead = LeadFactory(workspace=tenant.workspace, company="Rival Corp", **TOP_LEAD)
    assert _calculate(tenant, lead, offer)["score"] == 100
    knockout = _create_rule(tenant, model=model_id, name="Competitor", field_name="company", operator="equals",
                            value="rival corp", points=0, knockout=True)
    body = _calculate(tenant, lead, offer)
    assert (body["score"], body["intent"], body["qualification_stage"]) == (0, "Low", "disqualified")
    assert (body["previous_score"], body["score_change"]) == (100, -100)
    assert body["reasoning"] == "[Rule: Knockout: Competitor] [AI: not asked: a knockout rule disqualified the lead]"
    assert body["score_breakdown"]["knockout"] == {"rule_id": knockout["id"], "label": "Competitor",
                                                   "group": "demographic"}
    # Without the rule the criteria decide again.
    assert tenant.client.delete(f"/api/scoring-rules/{knockout['id']}/").status_code == 204
    again = _calculate(tenant, lead, offer)
    assert (again["score"], again["qualification_stage"]) == (100, "sql")


@pytest.mark.django_db
def test_a_knockout_on_the_default_model_skips_the_ai(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    lead = LeadFactory(workspace=tenant.workspace, role="CEO", industry="B2B SaaS", company="Rival Corp",
                       linkedin_bio="Scaling our outbound team and hiring SDRs.")
    before = _calculate(tenant, lead, offer)
    assert before["score"] == before["score_breakdown"]["rule_score"] + before["score_breakdown"]["ai_score"]
    assert before["score"] > 40
    _create_rule(tenant, name="Competitor", field_name="company", operator="equals", value="Rival Corp", points=0,
                 knockout=True)
    body = _calculate(tenant, lead, offer)
    assert (body["score"], body["intent"], body["qualification_stage"]) == (0, "Low", "disqualified")
    assert "Competitor" in body["reasoning"]
    assert (body["score_breakdown"]["ai"], body["score_breakdown"]["ai_intent"]) == (None, "")
    assert lead.scores.get(is_current=True).provider == "rules"
