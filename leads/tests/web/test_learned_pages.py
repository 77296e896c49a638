"""The dashboard's learned-model views: a lead's outcome, probability and factors, and conversion per
score range on the charts page, all scoped to the workspace."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leads.models import Outcome, ScoringModel
from leads.selectors import conversion_by_bucket
from leads.tests.api.test_learning_api import _leads_with_a_signal, _record
from leads.tests.conftest import Tenant
from leads.tests.factories import OfferFactory


def _browser(tenant: Tenant) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))
    return client


@pytest.mark.django_db
def test_lead_page_shows_outcome_probability_and_factors(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    leads = _leads_with_a_signal(tenant, n=200)
    _record(tenant, leads)
    tenant.client.get("/api/scoring-models/")
    default = ScoringModel.objects.get(workspace=tenant.workspace, is_default=True)
    tenant.client.patch(f"/api/scoring-models/{default.pk}/", {"learned_weight": 30}, format="json")
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    assert tenant.client.post("/api/leads/score/", {"offer": offer.pk}, format="json").status_code == 200
    lead, won = leads[0]
    page = _browser(tenant).get(f"/app/leads/{lead.pk}/?offer={offer.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert ('won' if won else 'lost') in html.split('id="outcome"')[1][:200]
    assert 'id="conversion-probability"' in html and "likely to convert" in html
    assert 'id="factors"' in html
    assert "Learned model (" in html  # the breakdown's part, with probability × weight × blend

    charts = _browser(tenant).get(f"/app/charts/?offer={offer.pk}")
    assert charts.status_code == 200
    assert 'id="conversion-table"' in charts.content.decode()
    buckets = conversion_by_bucket(workspace=tenant.workspace, offer=offer)
    assert sum(b["leads"] for b in buckets) == len(leads)
    assert sum(b["won"] for b in buckets) == Outcome.objects.filter(outcome="won").count()


@pytest.mark.django_db
def test_without_outcomes_the_panels_say_so(tenant: Tenant) -> None:
    offer = OfferFactory(workspace=tenant.workspace)
    lead, _ = _leads_with_a_signal(tenant, n=1)[0]
    tenant.client.post("/api/leads/score/", {"offer": offer.pk}, format="json")
    html = _browser(tenant).get(f"/app/leads/{lead.pk}/?offer={offer.pk}").content.decode()
    assert 'id="no-outcome"' in html and 'id="conversion-probability"' not in html
    assert 'id="no-outcomes"' in _browser(tenant).get(f"/app/charts/?offer={offer.pk}").content.decode()
