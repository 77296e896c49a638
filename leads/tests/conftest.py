"""Shared fixtures: workspaces with a member and an authenticated API client each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from leads.models import Offer, Workspace
from leads.services.workspaces import workspace_member_ensure
from leads.tests.llm_server import LLMServer


@dataclass
class Tenant:
    workspace: Workspace
    client: APIClient
    token: str


def four_factor_offer(tenant: Tenant, *, model_name: str = "Four") -> tuple[int, Offer]:
    """A new offer of the tenant scored by a copy of the `budget_size_industry_urgency` template, made
    through the API: (the scoring model's id, the offer)."""
    from leads.tests.factories import OfferFactory

    offer = OfferFactory(workspace=tenant.workspace)
    created = tenant.client.post("/api/scoring-models/",
                                 {"name": model_name, "template": "budget_size_industry_urgency"}, format="json")
    assert created.status_code == 201, created.content
    model_id = created.json()["id"]
    assert tenant.client.patch(f"/api/offer/{offer.pk}/", {"scoring_model": model_id},
                               format="json").status_code == 200
    return model_id, offer


def make_tenant(name: str, username: str) -> Tenant:
    access = workspace_member_ensure(workspace_name=name, username=username)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {access.token}")
    return Tenant(access.workspace, client, access.token)


@pytest.fixture
def tenant(db: None) -> Tenant:
    return make_tenant("acme", "alice")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return make_tenant("globex", "bob")


@pytest.fixture
def api_client(tenant: Tenant) -> APIClient:
    return tenant.client


@pytest.fixture
def workspace(tenant: Tenant) -> Workspace:
    return tenant.workspace


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def offer(workspace: Workspace) -> Offer:
    return Offer.objects.create(
        workspace=workspace, name="AI Outreach Automation",
        value_props=["24/7 outreach", "6x more meetings"],
        ideal_use_cases=["B2B SaaS mid-market"],
    )


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """The OpenAI-compatible test server on 127.0.0.1, with the provider settings pointing at it."""
    with LLMServer() as server:
        yield server


@pytest.fixture
def openai_settings(settings, llm_server: LLMServer) -> LLMServer:
    settings.INTENT_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = llm_server.base_url
    settings.OPENAI_MODEL = "judge"
    settings.OPENAI_MAX_RETRIES = 1
    settings.OPENAI_TIMEOUT = 2.0
    return llm_server
