"""The OpenAPI schema builds and lists every endpoint, including the multipart upload."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

EXPECTED_PATHS = {
    "/offer/", "/offer/{id}/", "/leads/", "/leads/{id}/", "/leads/upload/", "/leads/score/", "/leads/results/",
    "/leads/export_csv/", "/jobs/", "/jobs/{id}/", "/jobs/{id}/cancel/",
    # The qualification engine (second stage).
    "/scoring-models/", "/scoring-models/{id}/", "/scoring-models/templates/", "/scoring-models/{id}/preview/",
    "/scoring-rules/", "/scoring-rules/{id}/", "/scoring-rules/{id}/test_rule/", "/qualification-criteria/",
    "/qualification-criteria/{id}/", "/lead-scores/calculate/", "/lead-scores/bulk_calculate/",
    "/lead-scores/history/", "/lead-scores/distribution/", "/lead-scores/set_stage/",
    "/workflows/", "/workflows/{id}/", "/workflows/statistics/", "/workflows/{id}/run/",
    "/workflows/{id}/rotate_secret/",
    "/workflow-executions/", "/workflow-executions/{id}/", "/workflow-executions/recent/",
    "/workflow-executions/{id}/retry/", "/tasks/", "/tasks/{id}/", "/alerts/config/",
    "/events/", "/events/upload/", "/leads/{id}/events/", "/leads/refresh/",
    "/connectors/hubspot/", "/connectors/hubspot/sync/",
    "/outcomes/", "/outcomes/upload/", "/models/", "/models/{id}/", "/models/train/",
    "/scoring-models/{id}/backtest/",
}


@pytest.mark.django_db
def test_schema_lists_every_path(anon_client: APIClient) -> None:
    schema = anon_client.get("/swagger.json").json()
    assert schema["basePath"] == "/api"
    assert set(schema["paths"]) == EXPECTED_PATHS
    upload = schema["paths"]["/leads/upload/"]["post"]
    assert "multipart/form-data" in upload["consumes"]
    assert {p["name"]: p["type"] for p in upload["parameters"]} == {"file": "file", "strict": "boolean"}
    assert "Token" in schema["securityDefinitions"]
    score = schema["paths"]["/leads/score/"]["post"]
    assert set(score["responses"]) >= {"200", "202", "400"}


@pytest.mark.django_db
def test_swagger_ui_renders(anon_client: APIClient) -> None:
    response = anon_client.get("/swagger/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
