"""Qualification stages over HTTP: the defaults, custom stages and their validation, and the stage a
scored lead lands in (results carry it and filter by it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from leads.models import Lead, QualificationStage, Score
from leads.services.scoring_models import DUPLICATE_STAGE, RESERVED_STAGE, _compiled
from leads.tests.conftest import Tenant, four_factor_offer
from leads.tests.factories import LeadFactory

TOP_LEAD = {"industry": "Software", "attributes": {"budget": "60.000 €", "company_size": "600", "urgency": "Sofort"}}
MID_LEAD = {"industry": "Retail", "attributes": {"budget": "20k", "company_size": "150", "urgency": "diese Woche"}}
BLANK_LEAD = {"industry": "", "attributes": {}}
# Four-factor scores of the leads above (test_scoring_models_api adds them up): 100, 60, 0.
DEFAULT_STAGES = [
    {"name": "Marketing qualified lead (MQL)", "stage": "mql", "order": 10, "minimum_score": 40,
     "required_fields": [], "required_actions": [], "time_constraint_days": None, "forward_only": True,
     "is_active": True},
    {"name": "Sales qualified lead (SQL)", "stage": "sql", "order": 20, "minimum_score": 70,
     "required_fields": [], "required_actions": [], "time_constraint_days": None, "forward_only": True,
     "is_active": True},
]
VOLATILE = ("id", "created_at", "updated_at")


@pytest.fixture(autouse=True)
def _no_compiled_model_from_another_test() -> Iterator[None]:
    """Test databases hand out the same ids again after each test's rollback, and the compiled-model
    cache is keyed by (model id, version): without this a test can score with another test's model."""
    _compiled.cache_clear()
    yield
    _compiled.cache_clear()


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in keys}


def _stages(tenant: Tenant, prefix: str = "/api") -> dict[str, Any]:
    response = tenant.client.get(f"{prefix}/qualification-criteria/")
    assert response.status_code == 200, response.content
    return response.json()


def _stage_id(tenant: Tenant, key: str) -> int:
    return next(s["id"] for s in _stages(tenant)["results"] if s["stage"] == key)


def _score_all(tenant: Tenant, *, rescore: bool = False) -> dict[str, Any]:
    response = tenant.client.post("/api/leads/score/", {"rescore": rescore}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _results(tenant: Tenant, query: str = "") -> list[dict[str, Any]]:
    response = tenant.client.get(f"/api/leads/results/{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _stage_of(tenant: Tenant, lead: Lead) -> str:
    return next(r["qualification_stage"] for r in _results(tenant) if r["id"] == lead.pk)


def _create(tenant: Tenant, **fields: Any) -> Any:
    return tenant.client.post("/api/qualification-criteria/", fields, format="json")


@pytest.mark.django_db
def test_every_workspace_starts_with_mql_and_sql(tenant: Tenant) -> None:
    body = _stages(tenant)
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [_without(stage, *VOLATILE) for stage in body["results"]] == DEFAULT_STAGES
    assert [s["id"] for s in body["results"]] == list(
        QualificationStage.objects.filter(workspace=tenant.workspace).order_by("order").values_list("pk", flat=True))
    assert _stages(tenant)["count"] == 2  # read again: not made twice


@pytest.mark.django_db
def test_create_a_custom_stage(tenant: Tenant) -> None:
    _stages(tenant)
    response = _create(tenant, name="Hot lead", stage="hot", order=30, minimum_score=90, required_fields=["email"],
                       required_actions=["demo_request"], time_constraint_days=14)
    assert response.status_code == 201, response.content
    body = response.json()
    assert _without(body, *VOLATILE) == {
        "name": "Hot lead", "stage": "hot", "order": 30, "minimum_score": 90, "required_fields": ["email"],
        "required_actions": ["demo_request"], "time_constraint_days": 14, "forward_only": True, "is_active": True}
    stored = QualificationStage.objects.get(pk=body["id"])
    assert (stored.workspace_id, stored.stage) == (tenant.workspace.pk, "hot")
    assert [s["stage"] for s in _stages(tenant)["results"]] == ["mql", "sql", "hot"]
    assert tenant.client.get(f"/api/qualification-criteria/{body['id']}/").json() == body


@pytest.mark.django_db
def test_disqualified_is_a_reserved_key(tenant: Tenant) -> None:
    _stages(tenant)
    response = _create(tenant, name="Out", stage="disqualified", order=5)
    assert response.status_code == 400
    assert response.json() == {"error": RESERVED_STAGE, "code": "invalid", "details": {"stage": [RESERVED_STAGE]}}
    patched = tenant.client.patch(f"/api/qualification-criteria/{_stage_id(tenant, 'mql')}/",
                                  {"stage": "disqualified"}, format="json")
    assert patched.status_code == 400
    assert patched.json()["details"] == {"stage": [RESERVED_STAGE]}
    assert [s["stage"] for s in _stages(tenant)["results"]] == ["mql", "sql"]


@pytest.mark.django_db
def test_duplicate_stage_key_is_409(tenant: Tenant) -> None:
    _stages(tenant)
    expected = {"error": DUPLICATE_STAGE, "code": "duplicate_stage", "details": {}}
    response = _create(tenant, name="Another MQL", stage="mql", order=15)
    assert (response.status_code, response.json()) == (409, expected)
    patched = tenant.client.patch(f"/api/qualification-criteria/{_stage_id(tenant, 'sql')}/", {"stage": "mql"},
                                  format="json")
    assert (patched.status_code, patched.json()) == (409, expected)
    assert [s["stage"] for s in _stages(tenant)["results"]] == ["mql", "sql"]


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "details"), [
    ({"required_fields": ["events.x.y"]}, {"required_fields": [
        "Unknown field 'events.x.y': use a lead field, attributes.<column>, or a computed field (days_since_creation, "
        "last_activity_days_ago, email_opens_count, email_clicks_count, website_visits, activities_count, "
        "events.<type>.count, events.<type>.count_<N>d)."]}),
    ({"required_fields": [""]}, {"required_fields": {"0": ["This field may not be blank."]}}),
    ({"required_actions": ["Email Open"]}, {"required_actions": {"0": ["This value does not match the required "
                                                                       "pattern."]}}),
    ({"minimum_score": 101}, {"minimum_score": ["Ensure this value is less than or equal to 100."]}),
    ({"stage": "no spaces"}, {"stage": [
        'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.']}),
])
def test_invalid_stages_are_400(tenant: Tenant, fields: dict, details: dict) -> None:
    _stages(tenant)
    response = _create(tenant, **{"name": "Custom", "stage": "custom", "order": 30, **fields})
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["details"]) == ("invalid", details)
    assert body["error"]
    assert _stages(tenant)["count"] == 2


@pytest.mark.django_db
def test_scored_leads_carry_their_stage_and_results_filter_by_it(tenant: Tenant) -> None:
    four_factor_offer(tenant)
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    mid = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    blank = LeadFactory(workspace=tenant.workspace, **BLANK_LEAD)
    scored = _score_all(tenant)
    assert {r["id"]: (r["score"], r["qualification_stage"]) for r in scored["results"]} == {
        top.pk: (100, "sql"), mid.pk: (60, "mql"), blank.pk: (0, "")}
    assert [(r["id"], r["qualification_stage"]) for r in _results(tenant)] == [
        (top.pk, "sql"), (mid.pk, "mql"), (blank.pk, "")]
    assert [r["id"] for r in _results(tenant, "?stage=sql")] == [top.pk]
    assert [r["id"] for r in _results(tenant, "?stage=mql")] == [mid.pk]
    assert [r["id"] for r in _results(tenant, "?stage=none")] == [blank.pk]
    assert _results(tenant, "?stage=hot") == []
    assert tenant.client.get("/api/leads/results/?stage=sql").json()["count"] == 1


@pytest.mark.django_db
def test_required_fields_hold_a_lead_back(tenant: Tenant) -> None:
    four_factor_offer(tenant)
    assert _create(tenant, name="Hot", stage="hot", order=30, minimum_score=90,
                   required_fields=["email", "attributes.budget"]).status_code == 201
    with_email = LeadFactory(workspace=tenant.workspace, email="ava@example.com", **TOP_LEAD)
    without = LeadFactory(workspace=tenant.workspace, email="", **TOP_LEAD)
    _score_all(tenant)
    assert (_stage_of(tenant, with_email), _stage_of(tenant, without)) == ("hot", "sql")
    assert [r["id"] for r in _results(tenant, "?stage=hot")] == [with_email.pk]


@pytest.mark.django_db
def test_stages_move_forward_only_unless_a_stage_says_otherwise(tenant: Tenant) -> None:
    four_factor_offer(tenant)
    mid = LeadFactory(workspace=tenant.workspace, **MID_LEAD)
    _score_all(tenant)
    mql = _stage_id(tenant, "mql")
    # A stricter MQL marks the scores stale; the lead keeps the stage it reached.
    assert tenant.client.patch(f"/api/qualification-criteria/{mql}/", {"minimum_score": 65},
                               format="json").status_code == 200
    assert Score.objects.get(lead=mid, is_current=True).stale_cause == "model_change"
    rescored = _score_all(tenant)
    assert rescored["job"]["total"] == 1
    assert _stage_of(tenant, mid) == "mql"
    # Not forward-only: the criteria decide on every score.
    assert tenant.client.patch(f"/api/qualification-criteria/{mql}/", {"forward_only": False},
                               format="json").status_code == 200
    _score_all(tenant)
    assert _stage_of(tenant, mid) == ""


@pytest.mark.django_db
def test_deleted_and_inactive_stages_no_longer_count(tenant: Tenant) -> None:
    four_factor_offer(tenant)
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    _score_all(tenant)
    assert _stage_of(tenant, top) == "sql"
    assert tenant.client.delete(f"/api/qualification-criteria/{_stage_id(tenant, 'sql')}/").status_code == 204
    assert Score.objects.get(lead=top, is_current=True).stale_cause == "model_change"
    _score_all(tenant)
    assert _stage_of(tenant, top) == "mql"
    assert tenant.client.patch(f"/api/qualification-criteria/{_stage_id(tenant, 'mql')}/", {"is_active": False},
                               format="json").status_code == 200
    _score_all(tenant)
    assert _stage_of(tenant, top) == ""


@pytest.mark.django_db
def test_renaming_a_stage_leaves_scores_fresh(tenant: Tenant) -> None:
    four_factor_offer(tenant)
    top = LeadFactory(workspace=tenant.workspace, **TOP_LEAD)
    _score_all(tenant)
    response = tenant.client.patch(f"/api/qualification-criteria/{_stage_id(tenant, 'sql')}/",
                                   {"name": "Ready for sales"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Ready for sales"
    assert Score.objects.get(lead=top, is_current=True).stale_cause == ""


@pytest.mark.django_db
def test_stage_alias_path_answers_like_the_canonical_one(tenant: Tenant) -> None:
    canonical = _stages(tenant)
    assert _stages(tenant, "/api/lead-qualification") == canonical
    created = tenant.client.post("/api/lead-qualification/qualification-criteria/",
                                 {"name": "Hot", "stage": "hot", "order": 30, "minimum_score": 90}, format="json")
    assert created.status_code == 201
    assert [s["stage"] for s in _stages(tenant)["results"]] == ["mql", "sql", "hot"]
    assert _stages(tenant, "/api/lead-qualification") == _stages(tenant)
    dup = tenant.client.post("/api/lead-qualification/qualification-criteria/",
                             {"name": "Hot", "stage": "hot", "order": 31}, format="json")
    assert (dup.status_code, dup.json()["code"]) == (409, "duplicate_stage")
