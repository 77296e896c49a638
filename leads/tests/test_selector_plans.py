"""A lead's own rows are read through the lead's index, never by walking the whole workspace's (at a
million leads the lead page spent 0.5 s walking every score of the workspace). SQLite's plans: the
unit suite's database."""

from __future__ import annotations

import pytest
from django.db import connection

from leads import selectors
from leads.models import Workspace
from leads.tests.factories import LeadFactory, OfferFactory


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.django_db
def test_history_and_tasks_of_a_lead_use_the_leads_index(workspace: Workspace) -> None:
    lead = LeadFactory(workspace=workspace)
    offer = OfferFactory(workspace=workspace)
    for plan in (_plan(selectors.score_history(workspace=workspace, lead=lead, offer=offer)),
                 _plan(selectors.score_history(workspace=workspace, lead=lead, offer=None)),
                 _plan(selectors.lead_tasks(lead=lead))):
        assert "lead_id=?" in plan and "workspace_id=?" not in plan, plan


@pytest.mark.django_db
def test_another_workspaces_lead_has_no_history(workspace: Workspace) -> None:
    other = Workspace.objects.create(name="other")
    lead = LeadFactory(workspace=other)
    assert not selectors.score_history(workspace=workspace, lead=lead, offer=None).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("drive_max", "skip", "expected"), [(0, 10**6, "probe"), (0, 0, "scan"), (10**9, 0, "drive")])
def test_a_search_page_picks_its_plan(workspace: Workspace, monkeypatch: pytest.MonkeyPatch, drive_max: int,
                                      skip: int, expected: str) -> None:
    """A term in few leads (at most SEARCH_DRIVE_MAX): its matches, sorted. In more: the page walks
    the order's index (no sort of every match), testing each entry against the index's matches for a
    deep OFFSET, or against the text near the start, where a page is met within a few rows."""
    monkeypatch.setattr(selectors, "SEARCH_DRIVE_MAX", drive_max)
    LeadFactory.create_batch(3, workspace=workspace, company="Nimbus Labs")
    offer = OfferFactory(workspace=workspace)
    leads = selectors.leads_search(selectors.lead_list(workspace=workspace), terms=["nimbus"], skip=skip)
    scores = selectors.score_results(workspace=workspace, offer=offer, filters=selectors.ResultFilters(search="nimbus"),
                                     skip=skip)
    for plan, index in ((_plan(leads), "lead_ws_created"), (_plan(scores), "score_current")):
        if expected == "drive":
            assert "leads_lead_search VIRTUAL TABLE" in plan and "TEMP B-TREE FOR ORDER BY" in plan, plan
        else:
            assert f"INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
            assert ("leads_lead_search VIRTUAL TABLE" in plan) == (expected == "probe"), plan
