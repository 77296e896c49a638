"""Every dashboard page through Django's test client: status, what it shows, its query count, and
that another workspace's ids are 404s."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from leads.models import Job, Lead, Membership, ScoringModel, ScoringRule, Task, Workflow
from leads.services import scoring_models
from leads.tenancy import WORKSPACE_SESSION_KEY
from leads.tests.web.conftest import PASSWORD, Site

pytestmark = pytest.mark.django_db

# Session, user, workspace, the switcher's list, then the page's own reads.
PAGE_QUERIES = {
    "web:top-leads": 10, "web:upload": 5, "web:offers": 6, "web:models": 8, "web:workflows": 9,
    "web:tasks": 5, "web:charts": 8, "web:lead-new": 5,
}


def _model(site: Site) -> ScoringModel:
    return scoring_models.scoring_model_default(workspace=site.workspace)


class TestSignIn:
    def test_root_redirects_to_the_app(self, client: Client) -> None:
        response = client.get("/")
        assert response.status_code == 302 and response["Location"] == "/app/"

    def test_pages_need_a_signed_in_user(self, client: Client) -> None:
        response = client.get(reverse("web:top-leads"))
        assert response.status_code == 302
        assert response["Location"] == "/app/login/?next=/app/"

    def test_log_in_with_a_django_user_and_log_out(self, site: Site) -> None:
        client = Client()
        response = client.post(reverse("web:login"), {"username": "alice", "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/app/"
        assert client.get(reverse("web:top-leads")).status_code == 200
        assert client.post(reverse("web:logout")).status_code == 302
        assert client.get(reverse("web:top-leads")).status_code == 302

    def test_a_wrong_password_is_refused(self, site: Site) -> None:
        response = Client().post(reverse("web:login"), {"username": "alice", "password": "nope"})
        assert response.status_code == 200
        assert b"didn't match" in response.content

    def test_the_local_admin_of_make_run_can_log_in(self, db: None) -> None:
        from io import StringIO

        from django.core.management import call_command

        out = StringIO()
        call_command("ensure_local_admin", stdout=out)
        printed = re.search(r"user admin  password (\S+)", out.getvalue())
        assert printed, out.getvalue()
        client = Client()
        response = client.post(reverse("web:login"), {"username": "admin", "password": printed.group(1)})
        assert response.status_code == 302
        response = client.get(reverse("web:top-leads"))
        assert response.status_code == 200 and b"default" in response.content

    def test_a_user_without_workspace_gets_a_403_page(self, db: None) -> None:
        user = get_user_model().objects.create_user("loner", password=PASSWORD)
        client = Client()
        client.force_login(user)
        response = client.get(reverse("web:top-leads"))
        assert response.status_code == 403
        assert b"not a member of any workspace" in response.content


class TestWorkspaceSwitch:
    def test_a_member_of_two_workspaces_switches(self, site: Site, other_site: Site) -> None:
        alice = get_user_model().objects.get(username="alice")
        Membership.objects.create(workspace=other_site.workspace, user=alice)
        response = site.client.get(reverse("web:top-leads"))
        assert site.offer.name.encode() in response.content and b'id="workspace-switch"' in response.content
        response = site.client.post(reverse("web:workspace"), {"workspace": other_site.workspace.pk})
        assert response.status_code == 302
        assert site.client.session[WORKSPACE_SESSION_KEY] == other_site.workspace.pk
        response = site.client.get(reverse("web:top-leads"))
        assert other_site.offer.name.encode() in response.content
        assert site.offer.name.encode() not in response.content

    def test_switching_to_a_workspace_one_is_not_in_is_a_404(self, site: Site, other_site: Site) -> None:
        response = site.client.post(reverse("web:workspace"), {"workspace": other_site.workspace.pk})
        assert response.status_code == 404
        assert WORKSPACE_SESSION_KEY not in site.client.session

    def test_the_api_uses_the_same_resolution(self, site: Site, other_site: Site) -> None:
        """A session's choice applies to the API too; the header still wins and still can't escape."""
        alice = get_user_model().objects.get(username="alice")
        Membership.objects.create(workspace=other_site.workspace, user=alice)
        site.client.post(reverse("web:workspace"), {"workspace": other_site.workspace.pk})
        names = [o["name"] for o in site.client.get("/api/offer/").json()["results"]]
        assert names == [other_site.offer.name]
        response = site.client.get("/api/offer/", HTTP_X_WORKSPACE=str(site.workspace.pk))
        assert [o["name"] for o in response.json()["results"]] == [site.offer.name]


class TestPages:
    @pytest.mark.parametrize("name", sorted(PAGE_QUERIES))
    def test_each_page_answers_within_its_query_budget(self, site: Site, name: str,
                                                       django_assert_max_num_queries) -> None:
        _model(site)  # created on first visit otherwise, which would count its writes
        with django_assert_max_num_queries(PAGE_QUERIES[name]):
            response = site.client.get(reverse(name))
        assert response.status_code == 200
        assert b"<h1>" in response.content

    def test_unknown_app_paths_are_an_html_404(self, site: Site) -> None:
        response = site.client.get("/app/no-such-page/")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/html")


class TestTopLeads:
    def test_best_first_with_the_filters(self, site: Site) -> None:
        response = site.client.get(reverse("web:top-leads"))
        rows = response.context["rows"]
        scores = [row.score for row, _owner in rows]
        assert scores == sorted(scores, reverse=True) and len(scores) == 3
        top = scores[0]
        response = site.client.get(reverse("web:top-leads"), {"min_score": top})
        assert [row.score for row, _ in response.context["rows"]] == [s for s in scores if s >= top]
        assert response.context["total"] == sum(1 for s in scores if s >= top)
        lead = site.leads[1]
        response = site.client.get(reverse("web:top-leads"), {"search": lead.email})
        assert [row.lead_id for row, _ in response.context["rows"]] == [lead.pk]

    def test_a_large_total_is_counted_by_a_second_request(self, site: Site, other_site: Site,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
        from leads.web import lead_pages

        monkeypatch.setattr(lead_pages, "COUNTED_AT_ONCE", 2)  # the site has 3 scored leads
        # A filter on the lead's own fields: the score tally can't count it.
        Lead.objects.filter(pk__in=[lead.pk for lead in site.leads]).update(industry="Fintech")
        response = site.client.get(reverse("web:top-leads"), {"offer": site.offer.pk, "industry": "fintech"})
        assert response.context["total"] is None and len(response.context["rows"]) == 3
        html = response.content.decode()
        count_url = re.search(r'id="result-count" hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert "More than 2" in html and f"offer={site.offer.pk}" in count_url
        counted = site.client.get(count_url)
        assert counted.status_code == 200 and counted.content == b'<strong id="result-count">3</strong>'
        top = response.context["rows"][0][0].score
        assert site.client.get(count_url + f"&min_score={top}").content.decode() == \
            f'<strong id="result-count">{sum(1 for row, _ in response.context["rows"] if row.score >= top)}</strong>'
        assert site.client.get(reverse("web:top-leads-count"), {"offer": other_site.offer.pk}).status_code == 404
        assert Client().get(count_url).status_code == 302  # signed in only

    def test_filters_on_the_score_alone_are_counted_exactly_at_once(self, site: Site,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
        from leads.web import lead_pages

        monkeypatch.setattr(lead_pages, "COUNTED_AT_ONCE", 2)  # fewer than the site's 3: no matter here
        for query in ({}, {"min_score": 100}, {"intent": "High", "max_score": 100}, {"stage": "none"}):
            response = site.client.get(reverse("web:top-leads"), {"offer": site.offer.pk, **query})
            assert response.context["total"] == len(response.context["rows"]), query
            assert 'id="result-count" hx-get' not in response.content.decode()
        assert len(site.client.get(reverse("web:top-leads"), {"offer": site.offer.pk}).context["rows"]) == 3

    def test_a_search_is_counted_by_the_second_request(self, site: Site) -> None:
        lead = site.leads[1]
        response = site.client.get(reverse("web:top-leads"), {"search": lead.email})
        assert response.context["total"] is None and "Counting…" in response.content.decode()
        count_url = re.search(r'id="result-count" hx-get="([^"]+)"', response.content.decode()).group(1)
        assert site.client.get(count_url.replace("&amp;", "&")).content == b'<strong id="result-count">1</strong>'

    def test_owner_and_industry_filters(self, site: Site) -> None:
        alice = get_user_model().objects.get(username="alice")
        Lead.objects.filter(pk=site.leads[0].pk).update(owner=alice, industry="Fintech")
        response = site.client.get(reverse("web:top-leads"), {"owner": alice.pk})
        assert [row.lead_id for row, _ in response.context["rows"]] == [site.leads[0].pk]
        assert response.context["rows"][0][1] == "alice"
        response = site.client.get(reverse("web:top-leads"), {"industry": "fintech"})
        assert [row.lead_id for row, _ in response.context["rows"]] == [site.leads[0].pk]
        assert response.context["total"] == 1

    def test_keyset_pages_cover_every_lead_once(self, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
        from leads.web import lead_pages

        monkeypatch.setattr(lead_pages, "PAGE_SIZE", 2)
        first = site.client.get(reverse("web:top-leads"))
        assert first.context["next_query"]
        second = site.client.get(f"{reverse('web:top-leads')}?{first.context['next_query']}")
        assert second.context["next_query"] is None
        seen = [row.lead_id for row, _ in first.context["rows"]] + [row.lead_id for row, _ in second.context["rows"]]
        assert sorted(seen) == sorted(lead.pk for lead in site.leads)

    def test_another_workspaces_offer_is_a_404(self, site: Site, other_site: Site) -> None:
        response = site.client.get(reverse("web:top-leads"), {"offer": other_site.offer.pk})
        assert response.status_code == 404

    def test_export_this_view_as_csv(self, site: Site) -> None:
        response = site.client.get(reverse("web:export"), {"search": site.leads[0].email})
        body = b"".join(response.streaming_content).decode()
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        lines = body.strip().splitlines()
        assert len(lines) == 2 and site.leads[0].email in lines[1]

    def test_bulk_set_owner_and_status(self, site: Site) -> None:
        alice = get_user_model().objects.get(username="alice")
        ids = [site.leads[0].pk, site.leads[1].pk]
        response = site.client.post(reverse("web:bulk"), {"action": "owner", "owner": alice.pk, "lead": ids})
        assert response.status_code == 302, response.content.decode()[-800:]
        assert set(Lead.objects.filter(owner=alice).values_list("pk", flat=True)) == set(ids)
        site.client.post(reverse("web:bulk"), {"action": "status", "status": "working", "lead": ids[:1]})
        assert Lead.objects.get(pk=ids[0]).status == "working"
        response = site.client.post(reverse("web:bulk"), {"action": "status", "status": "bogus", "lead": ids[:1]})
        assert response.status_code == 400 and b"bogus" in response.content

    def test_bulk_rescore_starts_a_job(self, site: Site) -> None:
        response = site.client.post(reverse("web:bulk"), {"action": "rescore", "lead": [site.leads[0].pk]})
        job = Job.objects.get(kind=Job.Kind.SCORE)
        assert response.status_code == 302 and response["Location"] == reverse("web:job", args=[job.pk])
        assert job.status == Job.Status.SUCCEEDED and job.processed == 1

    def test_bulk_on_another_workspaces_lead_is_a_404(self, site: Site, other_site: Site) -> None:
        response = site.client.post(reverse("web:bulk"), {"action": "status", "status": "working",
                                                          "lead": [other_site.leads[0].pk]})
        assert response.status_code == 404
        assert Lead.objects.get(pk=other_site.leads[0].pk).status == "new"


class TestLeadPage:
    def test_breakdown_adds_up(self, site: Site, django_assert_max_num_queries) -> None:
        lead = site.leads[0]
        with django_assert_max_num_queries(13):
            response = site.client.get(reverse("web:lead", args=[lead.pk]))
        assert response.status_code == 200
        breakdown = response.context["breakdown"]
        current = response.context["current"]
        assert breakdown.total == sum(part.points for part in breakdown.parts)
        assert min(max(breakdown.total, 0), 100) == current.score
        rules = next(part for part in breakdown.parts if part.key == "rules")
        assert rules.points == min(sum(points for _label, points, _group in rules.items),
                                   _model(site).rule_max) or rules.capped_from is not None
        assert b"No outcome yet" in response.content

    def test_another_workspaces_lead_is_a_404(self, site: Site, other_site: Site) -> None:
        lead = other_site.leads[0]
        for url in (reverse("web:lead", args=[lead.pk]),):
            assert site.client.get(url).status_code == 404
        for name in ("web:lead-edit", "web:lead-rescore", "web:lead-stage", "web:lead-task-add"):
            assert site.client.post(reverse(name, args=[lead.pk]), {"name": "x"}).status_code == 404
        assert Lead.objects.get(pk=lead.pk).name != "x"

    def test_edit_and_rescore(self, site: Site) -> None:
        lead = site.leads[2]
        response = site.client.post(reverse("web:lead-edit", args=[lead.pk]), {"role": "Chief Executive Officer"})
        assert response.status_code == 302
        lead.refresh_from_db()
        assert lead.role == "Chief Executive Officer"
        assert lead.scores.get(is_current=True).stale_cause == "manual"
        response = site.client.post(reverse("web:lead-rescore", args=[lead.pk]))
        assert response.status_code == 302
        assert lead.scores.get(is_current=True).stale_cause == ""

    def test_set_the_stage_by_hand_and_back(self, site: Site) -> None:
        lead = site.leads[0]
        response = site.client.post(reverse("web:lead-stage", args=[lead.pk]), {"stage": "disqualified"})
        assert response.status_code == 302
        current = lead.scores.get(is_current=True)
        assert current.stage == "disqualified" and current.stage_set_at is not None
        site.client.post(reverse("web:lead-stage", args=[lead.pk]), {"stage": ""})
        assert lead.scores.get(is_current=True).stage_set_at is None
        response = site.client.post(reverse("web:lead-stage", args=[lead.pk]), {"stage": "nope"})
        assert response.status_code == 400 and b"nope" in response.content

    def test_add_a_task_to_the_lead(self, site: Site) -> None:
        lead = site.leads[0]
        response = site.client.post(reverse("web:lead-task-add", args=[lead.pk]),
                                    {"title": "Call back", "due": "2030-01-02T09:30", "priority": "high"})
        assert response.status_code == 302
        task = Task.objects.get(lead=lead)
        assert task.title == "Call back" and task.priority == "high" and task.due.year == 2030
        response = site.client.post(reverse("web:lead-task-add", args=[lead.pk]), {"title": ""})
        assert response.status_code == 400 and b"title" in response.content

    def test_an_invalid_edit_shows_its_error(self, site: Site) -> None:
        lead = site.leads[0]
        response = site.client.post(reverse("web:lead-edit", args=[lead.pk]), {"email": "not-an-email"})
        assert response.status_code == 400
        assert b"email" in response.content and b"valid email" in response.content


class TestAddLead:
    def test_add_a_lead_by_hand(self, site: Site) -> None:
        response = site.client.post(reverse("web:lead-new"), {"name": "Zoe Quinn", "company": "Acme",
                                                              "email": "zoe@acme.example", "status": "new",
                                                              "attributes": '{"budget": "5000"}'})
        lead = Lead.objects.get(email="zoe@acme.example")
        assert response.status_code == 302 and response["Location"] == reverse("web:lead", args=[lead.pk])
        assert lead.workspace == site.workspace and lead.attributes == {"budget": "5000"}

    def test_a_twin_is_refused(self, site: Site) -> None:
        response = site.client.post(reverse("web:lead-new"), {"name": "Twin", "email": site.leads[0].email})
        assert response.status_code == 400 and b"This lead already exists" in response.content


class TestUploadAndJobs:
    def test_upload_runs_the_import_and_shows_row_errors(self, site: Site) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        # A bad email keeps its lead with a warning; a row with neither name nor email is an error.
        csv = b"name,company,email\nAnn,Initech,ann@initech.example\nBob,Hooli,not-an-email\n,Umbrella,\n"
        response = site.client.post(reverse("web:upload"), {"file": SimpleUploadedFile("l.csv", csv, "text/csv")})
        job = Job.objects.get(kind=Job.Kind.IMPORT)
        assert response.status_code == 302 and response["Location"] == reverse("web:job", args=[job.pk])
        page = site.client.get(reverse("web:job-progress", args=[job.pk]))
        assert page.status_code == 200 and b"succeeded" in page.content
        html = page.content.decode()
        assert 'id="row-errors"' in html and '<td class="num">4</td>' in html.split('id="row-errors"')[1]
        assert 'id="row-warnings"' in html and "not-an-email" in html.split('id="row-warnings"')[1]
        assert b"hx-trigger" not in page.content  # finished: the poll stops

    def test_a_running_job_keeps_polling(self, site: Site) -> None:
        job = Job.objects.create(workspace=site.workspace, kind=Job.Kind.IMPORT, status=Job.Status.RUNNING,
                                 total=10, processed=4)
        page = site.client.get(reverse("web:job", args=[job.pk]))
        assert b'hx-trigger="every 1s"' in page.content and b'aria-valuenow="40"' in page.content

    def test_no_file_is_a_400(self, site: Site) -> None:
        assert site.client.post(reverse("web:upload"), {}).status_code == 400

    def test_another_workspaces_job_is_a_404(self, site: Site, other_site: Site) -> None:
        job = Job.objects.create(workspace=other_site.workspace, kind=Job.Kind.IMPORT)
        assert site.client.get(reverse("web:job", args=[job.pk])).status_code == 404
        assert site.client.get(reverse("web:job-progress", args=[job.pk])).status_code == 404


class TestOffers:
    def test_create_and_validation(self, site: Site) -> None:
        response = site.client.post(reverse("web:offers"), {"name": "Second", "ideal_use_cases": "Fintech\nRetail"})
        assert response.status_code == 302
        assert site.workspace.offers.get(name="Second").ideal_use_cases == ["Fintech", "Retail"]
        response = site.client.post(reverse("web:offers"), {"name": ""})
        assert response.status_code == 400 and b"name" in response.content


class TestScoringModels:
    def test_model_page_rules_and_add_rule(self, site: Site, django_assert_max_num_queries) -> None:
        model = _model(site)
        with django_assert_max_num_queries(9):
            response = site.client.get(reverse("web:model", args=[model.pk]))
        assert response.status_code == 200 and len(response.context["rules"]) == model.rules.count()
        response = site.client.post(reverse("web:model", args=[model.pk]), {
            "name": "Big budget", "rule_type": "firmographic", "field_name": "attributes.budget",
            "operator": "greater_than", "value": "10000", "points": "10", "is_active": "on"})
        assert response.status_code == 302
        rule = ScoringRule.objects.get(name="Big budget")
        assert rule.value == 10000 and rule.model == model

    def test_a_bad_rule_shows_its_validation_error(self, site: Site) -> None:
        model = _model(site)
        response = site.client.post(reverse("web:model", args=[model.pk]), {
            "name": "Broken", "field_name": "role", "operator": "between", "value": "5", "points": "500"})
        assert response.status_code == 400
        assert b"points" in response.content and b"Please fix" in response.content
        assert not ScoringRule.objects.filter(name="Broken").exists()

    def test_preview_before_saving(self, site: Site) -> None:
        model = _model(site)
        response = site.client.post(reverse("web:model-preview", args=[model.pk]), {
            "name": "Everyone", "field_name": "name", "operator": "is_not_empty", "points": "5", "is_active": "on"})
        assert response.status_code == 200
        preview = response.context["preview"]
        assert preview["sample_size"] == 3 and preview["summary"]["raised"] + preview["summary"]["unchanged"] == 3
        assert not ScoringRule.objects.filter(name="Everyone").exists()

    def test_edit_and_test_a_rule(self, site: Site) -> None:
        rule = _model(site).rules.order_by("priority").first()
        assert site.client.get(reverse("web:rule", args=[rule.pk])).status_code == 200
        response = site.client.post(reverse("web:rule", args=[rule.pk]), {
            "name": rule.name, "rule_type": rule.rule_type, "field_name": rule.field_name, "operator": rule.operator,
            "value": rule.value, "points": "7", "priority": rule.priority, "is_active": "on"})
        assert response.status_code == 302
        rule.refresh_from_db()
        assert rule.points == 7
        response = site.client.post(reverse("web:rule-test", args=[rule.pk]), {"lead_id": site.leads[0].pk})
        assert response.status_code == 200 and response.context["result"].lead == site.leads[0].pk

    def test_another_workspaces_model_and_rule_are_404(self, site: Site, other_site: Site) -> None:
        model = _model(other_site)
        rule = model.rules.first()
        assert site.client.get(reverse("web:model", args=[model.pk])).status_code == 404
        assert site.client.post(reverse("web:model-preview", args=[model.pk])).status_code == 404
        assert site.client.get(reverse("web:rule", args=[rule.pk])).status_code == 404
        assert site.client.post(reverse("web:rule-test", args=[rule.pk]), {"lead_id": 1}).status_code == 404

    def test_testing_a_rule_on_another_workspaces_lead_is_a_404(self, site: Site, other_site: Site) -> None:
        rule = _model(site).rules.first()
        response = site.client.post(reverse("web:rule-test", args=[rule.pk]), {"lead_id": other_site.leads[0].pk})
        assert response.status_code == 404


class TestWorkflowsAndTasks:
    def test_create_a_workflow_and_its_errors(self, site: Site) -> None:
        response = site.client.post(reverse("web:workflows"), {
            "name": "Hot", "trigger_type": "score_threshold", "trigger_config": '{"score": 70}',
            "action_type": "create_task", "action_config": "{}", "is_active": "on"})
        assert response.status_code == 400 and b"Please fix" in response.content
        response = site.client.post(reverse("web:workflows"), {
            "name": "Hot", "trigger_type": "score_threshold", "trigger_config": '{"score": 70}',
            "action_type": "create_task", "action_config": '{"title": "Call {name}"}', "is_active": "on"})
        workflow = Workflow.objects.get(name="Hot")
        assert response.status_code == 302 and workflow.workspace == site.workspace

    def test_tasks_due_and_done(self, site: Site, other_site: Site) -> None:
        task = Task.objects.create(workspace=site.workspace, lead=site.leads[0], title="Call Ada")
        foreign = Task.objects.create(workspace=other_site.workspace, lead=other_site.leads[0], title="Secret")
        response = site.client.get(reverse("web:tasks"))
        assert b"Call Ada" in response.content and b"Secret" not in response.content
        assert site.client.post(reverse("web:task-done", args=[foreign.pk])).status_code == 404
        assert site.client.post(reverse("web:task-done", args=[task.pk])).status_code == 302
        task.refresh_from_db()
        assert task.done and task.done_at is not None


class TestCharts:
    def test_distribution_and_funnel(self, site: Site) -> None:
        stages = list(site.workspace.stages.filter(is_active=True).order_by("order", "id"))
        response = site.client.get(reverse("web:charts"))
        assert response.status_code == 200
        assert sum(response.context["chart"]["buckets"]["values"]) == 3
        funnel = response.context["funnel"]
        assert [f["name"] for f in funnel] == [stage.name for stage in stages]
        assert [f["count"] for f in funnel] == sorted((f["count"] for f in funnel), reverse=True)
        assert b"No outcomes yet" in response.content
