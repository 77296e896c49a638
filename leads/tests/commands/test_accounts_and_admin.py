"""Accounts a newcomer makes (a member's password logs in where the command says) and the admin
pages an operator reads (plural names, one industry per spelling, current scores first, no Add on
rows the service writes, no server paths)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from leads.models import Job, Offer, Score
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory


def _create(*args: str) -> str:
    err = StringIO()
    call_command("create_workspace", *args, stdout=StringIO(), stderr=err)
    return err.getvalue()


@pytest.mark.django_db
def test_a_members_password_logs_in_where_the_command_says() -> None:
    err = _create("acme", "carol", "--password", "s3cret-pass")
    assert "log in at /api-auth/login/" in err
    browser = Client()
    page = browser.get("/api-auth/login/?next=/api/leads/")
    assert page.status_code == 200
    response = browser.post("/api-auth/login/?next=/api/leads/", {"username": "carol", "password": "s3cret-pass",
                                                                   "next": "/api/leads/"})
    assert response.status_code == 302 and response["Location"] == "/api/leads/"
    assert browser.get("/api/leads/", HTTP_ACCEPT="application/json").status_code == 200
    # The admin is for staff: the help says so, and it is true.
    assert "/admin/ is for staff" in call_command_help()
    assert Client().login(username="carol", password="s3cret-pass")
    admin = Client()
    admin.post("/admin/login/", {"username": "carol", "password": "s3cret-pass"})
    assert admin.get("/admin/").status_code == 302


def call_command_help() -> str:
    from leads.management.commands.create_workspace import Command

    parser = Command().create_parser("manage.py", "create_workspace")
    return " ".join(parser.format_help().split())


@pytest.mark.django_db
def test_password_given_again_resets_it() -> None:
    _create("acme", "carol", "--password", "first-pass")
    _create("acme", "carol", "--password", "second-pass")
    user = get_user_model().objects.get(username="carol")
    assert user.check_password("second-pass") and not user.check_password("first-pass")


@pytest.fixture
def staff(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.mark.django_db
def test_admin_index_says_intent_cache_entries(staff: Client) -> None:
    page = staff.get("/admin/").content.decode()
    assert "Intent cache entries" in page and "entrys" not in page


@pytest.mark.django_db
def test_industry_filter_has_one_choice_per_spelling(staff: Client, tenant: Tenant) -> None:
    for industry in ("FinTech", "fintech", "Fintech", "B2B SaaS"):
        LeadFactory(workspace=tenant.workspace, industry=industry)
    response = staff.get("/admin/leads/lead/")
    changelist = response.context["cl"]
    choices = [c["display"] for spec in changelist.filter_specs for c in spec.choices(changelist)
               if spec.title == "industry"]
    assert choices == ["All", "B2B SaaS", "FinTech"]
    filtered = staff.get("/admin/leads/lead/?industry=fintech")
    assert filtered.context["cl"].result_count == 3


@pytest.mark.django_db
def test_score_admin_shows_current_scores_unless_asked(staff: Client, tenant: Tenant) -> None:
    offer = Offer.objects.create(workspace=tenant.workspace, name="Offer", ideal_use_cases=["B2B SaaS"])
    lead = LeadFactory(workspace=tenant.workspace)
    assert tenant.client.post("/api/leads/score/", {}, format="json").status_code == 200
    assert tenant.client.post("/api/leads/score/", {"rescore": True}, format="json").status_code == 200
    assert Score.objects.filter(lead=lead, offer=offer).count() == 2

    def ids(query: str = "") -> list[int]:
        return [score.pk for score in staff.get(f"/admin/leads/score/{query}").context["cl"].result_list]

    current = Score.objects.get(lead=lead, is_current=True)
    assert ids() == [current.pk]
    assert len(ids("?current=all")) == 2
    assert ids("?current=no") == [Score.objects.get(lead=lead, is_current=False).pk]


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["job", "score", "intentcacheentry"])
def test_rows_the_service_writes_have_no_add_button(staff: Client, model: str) -> None:
    assert staff.get(f"/admin/leads/{model}/add/").status_code == 403
    assert f'href="/admin/leads/{model}/add/"' not in staff.get(f"/admin/leads/{model}/").content.decode()


@pytest.mark.django_db
def test_job_page_shows_no_server_path(staff: Client, tenant: Tenant) -> None:
    job = Job.objects.create(workspace=tenant.workspace, kind=Job.Kind.IMPORT, params={
        "path": "/srv/leadscore/var/media/imports/0123abcd.csv", "filename": "leads.csv", "strict": False,
        "lead_ids": [1, 2, 3]})
    page = staff.get(f"/admin/leads/job/{job.pk}/change/").content.decode()
    assert "/srv/leadscore" not in page and "0123abcd" not in page
    assert "leads.csv" in page


@pytest.mark.django_db
def test_a_lead_cannot_be_moved_to_another_workspace_in_the_admin(staff: Client, tenant: Tenant,
                                                                  other_tenant: Tenant) -> None:
    """Its scores, events and tasks carry its workspace and would stay behind, readable there."""
    lead = LeadFactory(workspace=tenant.workspace, name="Ann", email="ann@example.com")
    url = f"/admin/leads/lead/{lead.pk}/change/"
    form = staff.get(url).content.decode()
    assert 'name="workspace"' not in form
    response = staff.post(url, {"workspace": other_tenant.workspace.pk, "name": "Ann", "email": "ann@example.com",
                                "status": lead.status, "attributes": "{}", "tags": "[]"})
    assert response.status_code == 302, response.content.decode()[:2000]
    lead.refresh_from_db()
    assert lead.workspace_id == tenant.workspace.pk
    assert staff.get("/admin/leads/lead/add/").content.decode().count('name="workspace"') == 1
