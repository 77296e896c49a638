"""The admin pages of the HubSpot connector: the token can be replaced there, never read back."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leads.models import HubSpotConnector
from leads.tests.conftest import Tenant
from leads.tests.connectors.conftest import TOKEN


@pytest.fixture
def admin_client(db: None) -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_admin_never_shows_the_token(admin_client: Client, tenant: Tenant) -> None:
    connector = HubSpotConnector.objects.create(workspace=tenant.workspace, access_token=TOKEN)
    for path in ("/admin/leads/hubspotconnector/", f"/admin/leads/hubspotconnector/{connector.pk}/change/"):
        response = admin_client.get(path)
        assert response.status_code == 200
        assert TOKEN not in response.content.decode()
    assert admin_client.get("/admin/leads/externalrecord/").status_code == 200


@pytest.mark.django_db
def test_the_admin_replaces_the_token_only_when_one_is_given(admin_client: Client, tenant: Tenant) -> None:
    connector = HubSpotConnector.objects.create(workspace=tenant.workspace, access_token=TOKEN,
                                                properties_ready=True)
    path = f"/admin/leads/hubspotconnector/{connector.pk}/change/"
    form = {"workspace": tenant.workspace.pk, "write_back": "on", "offer": "", "extra_properties": "[]"}
    assert admin_client.post(path, {**form, "new_access_token": ""}).status_code == 302
    connector.refresh_from_db()
    assert (connector.access_token, connector.properties_ready) == (TOKEN, True)
    assert admin_client.post(path, {**form, "new_access_token": "pat-new"}).status_code == 302
    connector.refresh_from_db()
    assert (connector.access_token, connector.properties_ready) == ("pat-new", False)
