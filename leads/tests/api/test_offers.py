"""Offers: CRUD, validation in the error envelope, Location headers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from leads.models import Offer
from leads.tests.conftest import Tenant

VALID = {"name": "AI Outreach Automation", "value_props": ["24/7 outreach", "6x more meetings"],
         "ideal_use_cases": ["B2B SaaS mid-market"]}


@pytest.mark.django_db
def test_create_list_retrieve_update_delete(api_client: APIClient, tenant: Tenant) -> None:
    created = api_client.post("/api/offer/", VALID, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    offer_id = body["id"]
    assert body["name"] == VALID["name"]
    assert body["value_props"] == VALID["value_props"]
    assert body["ideal_use_cases"] == VALID["ideal_use_cases"]
    assert body["adjacent_industries"] == []
    assert created["Location"] == f"http://testserver/api/offer/{offer_id}/"
    assert Offer.objects.get(pk=offer_id).workspace == tenant.workspace

    listed = api_client.get("/api/offer/").json()
    assert listed["count"] == 1
    assert [o["id"] for o in listed["results"]] == [offer_id]

    assert api_client.get(f"/api/offer/{offer_id}/").json()["name"] == VALID["name"]

    patched = api_client.patch(f"/api/offer/{offer_id}/", {"adjacent_industries": ["FinTech"]}, format="json")
    assert patched.status_code == 200
    assert Offer.objects.get(pk=offer_id).adjacent_industries == ["FinTech"]

    put = api_client.put(f"/api/offer/{offer_id}/", {**VALID, "name": "Renamed"}, format="json")
    assert put.status_code == 200
    assert put.json()["name"] == "Renamed"

    assert api_client.delete(f"/api/offer/{offer_id}/").status_code == 204
    assert not Offer.objects.filter(pk=offer_id).exists()


@pytest.mark.django_db
def test_alias_path_creates_offer(api_client: APIClient) -> None:
    response = api_client.post("/offer/", VALID, format="json")
    assert response.status_code == 201
    assert response["Location"].startswith("http://testserver/offer/")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({**VALID, "name": ""}, "name", "This field may not be blank."),
        ({**VALID, "name": "   "}, "name", "This field may not be blank."),
        ({"value_props": ["x"]}, "name", "This field is required."),
        ({**VALID, "name": "x" * 201}, "name", "Ensure this field has no more than 200 characters."),
        ({**VALID, "value_props": ["ok", ""]}, "value_props", "This field may not be blank."),
        ({**VALID, "value_props": "not a list"}, "value_props", 'Expected a list of items but got type "str".'),
        ({**VALID, "ideal_use_cases": [" "]}, "ideal_use_cases", "This field may not be blank."),
        ({**VALID, "ideal_use_cases": ["x" * 201]}, "ideal_use_cases",
         "Ensure this field has no more than 200 characters."),
        ({**VALID, "adjacent_industries": ["a"] * 51}, "adjacent_industries",
         "Ensure this field has no more than 50 elements."),
        ({**VALID, "value_props": [3, None]}, "value_props", "This field may not be null."),
    ],
    ids=["blank-name", "space-name", "missing-name", "long-name", "blank-prop", "prop-not-list", "blank-icp",
         "long-icp", "too-many-adjacent", "null-item"],
)
def test_validation_errors_use_the_envelope(api_client: APIClient, payload: dict, field: str, message: str) -> None:
    response = api_client.post("/api/offer/", payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert body["error"].startswith("Invalid input — ")
    assert field in body["details"]
    assert message in str(body["details"][field])
    assert Offer.objects.count() == 0


@pytest.mark.django_db
def test_malformed_json_is_a_400_not_a_500(api_client: APIClient) -> None:
    response = api_client.generic("POST", "/api/offer/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


@pytest.mark.django_db
def test_method_not_allowed_and_unknown_path_use_the_envelope(api_client: APIClient) -> None:
    response = api_client.put("/api/leads/")
    assert response.status_code == 405
    assert response.json() == {"error": 'Method "PUT" not allowed.', "code": "method_not_allowed", "details": {}}
    missing = api_client.get("/api/nowhere/")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
