"""Dashboard fixtures: a signed-in member of "acme" with scored leads, and a stranger workspace."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leads.models import Lead, Offer, Workspace
from leads.services.scoring import lead_score_now
from leads.services.workspaces import workspace_member_ensure
from leads.tests.factories import LeadFactory

PASSWORD = "correct horse battery staple"


@dataclass
class Site:
    workspace: Workspace
    client: Client
    offer: Offer
    leads: list[Lead]


def scored_workspace(name: str, username: str, *, leads: int = 3) -> Site:
    access = workspace_member_ensure(workspace_name=name, username=username, password=PASSWORD)
    workspace = access.workspace
    offer = Offer.objects.create(workspace=workspace, name=f"{name} offer", ideal_use_cases=["B2B SaaS"],
                                 value_props=["More meetings"])
    roles = ["CEO", "VP Sales", "Intern", "CTO", "Analyst"]
    rows = [LeadFactory(workspace=workspace, role=roles[i % len(roles)], email=f"{username}{i}@example.com")
            for i in range(leads)]
    for lead in rows:
        lead_score_now(lead=lead, offer=offer)
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return Site(workspace, client, offer, rows)


@pytest.fixture
def site(db: None) -> Site:
    return scored_workspace("acme", "alice")


@pytest.fixture
def other_site(db: None) -> Site:
    return scored_workspace("globex", "bob", leads=2)
