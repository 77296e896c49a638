"""The schema says what the API does: its error statuses, its types; the API refuses what the schema forbids."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.models import Lead, Offer
from leads.tests.conftest import Tenant

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(anon_client: APIClient) -> dict:
    return anon_client.get("/swagger.json").json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.mark.django_db
def test_every_operation_documents_its_error_statuses(schema: dict) -> None:
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "401", "403", "404"} | ({"409"} if method != "get" else set())
        expected |= {"413", "415"} if method in {"post", "put", "patch"} else set()
        assert expected <= set(responses), (method, path, sorted(responses))
        for status in expected:
            assert responses[status]["schema"]["$ref"] == "#/definitions/Error", (method, path, status)


@pytest.mark.django_db
def test_throttled_operations_document_429(schema: dict) -> None:
    throttled = {(path, method) for path, method, op in operations(schema) if "429" in op["responses"]}
    assert {("/leads/upload/", "post"), ("/leads/score/", "post")} <= throttled


@pytest.mark.django_db
def test_job_errors_is_a_list(schema: dict, tenant: Tenant) -> None:
    errors = schema["definitions"]["Job"]["properties"]["errors"]
    assert errors["type"] == "array"
    assert errors["items"]["type"] == "object"


@pytest.mark.django_db
@pytest.mark.parametrize("name", [123, 1.5, True, ["x"], {"a": 1}])
def test_offer_name_must_be_text(api_client: APIClient, name: object) -> None:
    response = api_client.post("/api/offer/", {"name": name}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["details"] == {"name": ["Not a valid string: send text in double quotes."]}
    assert not Offer.objects.exists()


@pytest.mark.django_db
def test_lead_text_fields_must_be_text(api_client: APIClient, tenant: Tenant) -> None:
    lead = Lead.objects.create(workspace=tenant.workspace, name="Ada", company="Acme")
    response = api_client.patch(f"/api/leads/{lead.pk}/", {"role": 42}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()["details"]


@pytest.mark.django_db
def test_model_text_columns_must_be_text(api_client: APIClient) -> None:
    response = api_client.post("/api/scoring-models/", {"name": 7}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()["details"]


@pytest.mark.django_db
def test_hand_paginated_actions_document_the_page(schema: dict) -> None:
    for path in ("/leads/results/", "/leads/{id}/events/", "/lead-scores/history/"):
        ref = schema["paths"][path]["get"]["responses"]["200"]["schema"]["$ref"]
        page = schema["definitions"][ref.rsplit("/", 1)[1]]
        assert set(page["properties"]) == {"count", "count_exact", "next", "previous", "results"}, path
        assert page["properties"]["results"]["type"] == "array"


@pytest.mark.django_db
def test_refresh_documents_its_jobs_object(schema: dict) -> None:
    ref = schema["paths"]["/leads/refresh/"]["post"]["responses"]["202"]["schema"]["$ref"]
    assert schema["definitions"][ref.rsplit("/", 1)[1]]["properties"]["jobs"]["type"] == "array"


@pytest.mark.django_db
def test_export_documents_csv(schema: dict) -> None:
    assert schema["paths"]["/leads/export_csv/"]["get"]["produces"][0] == "text/csv"


@pytest.mark.django_db
def test_free_form_json_is_documented_as_any(schema: dict) -> None:
    assert schema["definitions"]["Error"]["properties"]["details"]["additionalProperties"] is True
    value = schema["definitions"]["ScoringRule"]["properties"]["value"]
    assert "type" not in value  # text, a number, a list…


@pytest.mark.django_db
def test_read_only_text_may_be_blank(schema: dict) -> None:
    assert "minLength" not in schema["definitions"]["Job"]["properties"]["message"]
    assert schema["definitions"]["Job"]["properties"]["offer"]["x-nullable"] is True
    assert schema["definitions"]["Offer"]["properties"]["name"]["minLength"] == 1  # input keeps its rule
