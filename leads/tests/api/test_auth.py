"""Every endpoint but docs and health demands authentication, and answers in the error envelope."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from leads.tests.conftest import Tenant

PROTECTED = [
    ("get", "/api/offer/"), ("post", "/api/offer/"), ("get", "/api/offer/1/"), ("put", "/api/offer/1/"),
    ("patch", "/api/offer/1/"), ("delete", "/api/offer/1/"),
    ("get", "/api/leads/"), ("get", "/api/leads/1/"), ("put", "/api/leads/1/"), ("patch", "/api/leads/1/"),
    ("delete", "/api/leads/1/"),
    ("post", "/api/leads/upload/"), ("post", "/api/leads/score/"), ("get", "/api/leads/results/"),
    ("get", "/api/leads/export_csv/"), ("get", "/api/jobs/"), ("get", "/api/jobs/1/"), ("post", "/api/jobs/1/cancel/"),
    ("get", "/offer/"), ("post", "/leads/upload/"), ("post", "/score/"), ("get", "/results/"),
    ("get", "/results/export/"), ("get", "/metrics"),
]
PUBLIC = ["/swagger/", "/redoc/", "/swagger.json", "/health/"]


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_endpoint_requires_authentication(anon_client: APIClient, method: str, path: str) -> None:
    response = getattr(anon_client, method)(path)
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["error"] == "Authentication credentials were not provided."
    assert body["details"] == {}


@pytest.mark.django_db
def test_wrong_token_is_rejected(anon_client: APIClient) -> None:
    anon_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anon_client.get("/api/offer/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC)
def test_docs_and_health_are_public(anon_client: APIClient, path: str) -> None:
    assert anon_client.get(path).status_code == 200


@pytest.mark.django_db
def test_ready_reports_database_and_broker(anon_client: APIClient) -> None:
    response = anon_client.get("/ready/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


@pytest.mark.django_db
def test_user_without_workspace_gets_a_clear_403(django_user_model) -> None:
    from rest_framework.authtoken.models import Token

    user = django_user_model.objects.create_user("loner")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.get("/api/leads/")
    assert response.status_code == 403
    assert response.json()["code"] == "no_workspace"


@pytest.mark.django_db
def test_session_auth_works_for_the_browser(django_user_model) -> None:
    from leads.services.workspaces import workspace_member_ensure

    workspace_member_ensure(workspace_name="web", username="carol", password="a-long-pass-phrase")
    client = APIClient()
    assert client.login(username="carol", password="a-long-pass-phrase")
    assert client.get("/api/offer/").status_code == 200


@pytest.mark.django_db
def test_metrics_take_the_scrape_token_or_a_staff_user(settings: Any, anon_client: APIClient, tenant: Tenant) -> None:
    settings.METRICS_TOKEN = "scrape-secret-0123456789"
    ok = anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-0123456789")
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain")
    assert b"leadscore_http_requests_total" in ok.content
    assert anon_client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert anon_client.get("/metrics", HTTP_ACCEPT="text/plain").status_code == 401  # not a 406
    assert tenant.client.get("/metrics").status_code == 403  # a member, not staff
    tenant.workspace.members.update(is_staff=True)
    assert tenant.client.get("/metrics").status_code == 200


@pytest.mark.django_db
def test_admin_log_in_is_locked_after_repeated_failures(settings: Any, django_user_model) -> None:
    """LOGIN_FAILURE_LIMIT wrong passwords for one user from one address, then 429 even for the right one."""
    django_user_model.objects.create_superuser("root", password="the-right-pass-phrase")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/admin/login/", {"username": "root", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post("/admin/login/", {"username": "root", "password": "wrong"}).status_code == 429
    locked = client.post("/admin/login/", {"username": "root", "password": "the-right-pass-phrase"})
    assert locked.status_code == 429
    assert b"Too many failed log-in attempts" in locked.content
    # Another address is not locked out by someone else's guesses.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.post("/admin/login/", {"username": "root", "password": "the-right-pass-phrase"}).status_code == 302


@pytest.mark.django_db
def test_a_successful_log_in_clears_the_failures(settings: Any, django_user_model) -> None:
    django_user_model.objects.create_superuser("root", password="the-right-pass-phrase")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    assert client.post("/admin/login/", {"username": "root", "password": "the-right-pass-phrase"}).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/admin/login/", {"username": "root", "password": "wrong"}).status_code == 200
