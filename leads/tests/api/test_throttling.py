"""Upload and score are throttled per user, and a throttled call answers 429 in the envelope."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle

from leads.tests.conftest import Tenant


@pytest.fixture
def low_score_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF binds the rates to the class when it is imported, so settings overrides don't reach it.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"score": "2/hour", "upload": "2/hour"})
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_score_is_throttled_per_user(tenant: Tenant, other_tenant: Tenant, low_score_rate: None) -> None:
    statuses = [tenant.client.post("/api/leads/score/", {}, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]  # no offer yet: the first two are answered, the third throttled
    throttled = tenant.client.post("/api/leads/score/", {}, format="json").json()
    assert throttled["code"] == "throttled"
    assert throttled["error"].startswith("Request was throttled.")
    assert 0 < throttled["details"]["retry_after_seconds"] <= 3600
    assert other_tenant.client.post("/api/leads/score/", {}, format="json").status_code == 400
    assert tenant.client.get("/api/leads/").status_code == 200  # reads are not throttled
