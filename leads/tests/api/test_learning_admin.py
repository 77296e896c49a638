"""The admin shows outcomes and trained models; trained models are read-only there."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from leads.models import TrainedModel
from leads.tests.api.test_learning_api import _leads_with_a_signal, _record
from leads.tests.conftest import Tenant


@pytest.mark.django_db
def test_admin_lists_outcomes_and_trained_models(tenant: Tenant) -> None:
    _record(tenant, _leads_with_a_signal(tenant, n=200))
    assert tenant.client.post("/api/models/train/", {}, format="json").status_code == 200
    staff = Client()
    staff.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    outcomes = staff.get("/admin/leads/outcome/")
    assert outcomes.status_code == 200 and "200 outcomes" in outcomes.content.decode()
    trained = TrainedModel.objects.get()
    listed = staff.get("/admin/leads/trainedmodel/").content.decode()
    assert "learned model v1" in listed
    page = staff.get(f"/admin/leads/trainedmodel/{trained.pk}/change/")
    assert page.status_code == 200 and str(trained.n_won) in page.content.decode()
    assert staff.get("/admin/leads/trainedmodel/add/").status_code == 403
