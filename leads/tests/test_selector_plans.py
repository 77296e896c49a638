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
@pytest.mark.parametrize("chosen", [selectors.DRIVE, selectors.PROBE, selectors.SCAN])
def test_each_search_plan_reads_what_it_says(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                                             chosen: str) -> None:
    """DRIVE starts from the index's matches and sorts them (a score's from the `score_lead` index
    alone, no row read); PROBE and SCAN walk the order's index (no sort), testing each entry
    against the index's matches (PROBE) or against the text (SCAN)."""
    monkeypatch.setattr(selectors, "search_plan_choice", lambda **_: chosen)
    LeadFactory.create_batch(3, workspace=workspace, company="Nimbus Labs")
    offer = OfferFactory(workspace=workspace)
    leads = selectors.leads_search(selectors.lead_list(workspace=workspace), terms=["nimbus"])
    scores = selectors.score_results(workspace=workspace, offer=offer, filters=selectors.ResultFilters(search="nimbus"))
    # The page's ids, as results read them (its rows are then read by id).
    for plan, index in ((_plan(leads), "lead_ws_created"), (_plan(scores.values("pk")), "score_current")):
        if chosen == selectors.DRIVE:
            assert "leads_lead_search VIRTUAL TABLE" in plan and "TEMP B-TREE FOR ORDER BY" in plan, plan
        else:
            assert f"INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
            assert ("leads_lead_search VIRTUAL TABLE" in plan) == (chosen == selectors.PROBE), plan
    if chosen == selectors.DRIVE:
        assert "COVERING INDEX score_lead" in _plan(scores.values("pk"))


MILLION = 1_000_000


@pytest.mark.parametrize(("matches", "skip", "drive_us", "expected"), [
    # A term in 2% of a million leads (`nimbus`): its first page is met within ~2,500 rows of the walk.
    (24_000, 0, selectors.DRIVE_INDEX_US, selectors.SCAN),
    (24_000, 0, selectors.DRIVE_ROW_US, selectors.SCAN),
    # Its middle page: sorting every match by score from the index beats walking half the order...
    (24_000, 12_000, selectors.DRIVE_INDEX_US, selectors.DRIVE),
    # ...but not when each match is a row read (the lead list): then the walk probing the ids wins.
    (24_000, 12_000, selectors.DRIVE_ROW_US, selectors.PROBE),
    # A rare term: its matches, sorted, whatever the page.
    (500, 0, selectors.DRIVE_ROW_US, selectors.DRIVE),
    (10, 0, selectors.DRIVE_INDEX_US, selectors.DRIVE),
    # No match at all: the index says so at once.
    (0, 0, selectors.DRIVE_INDEX_US, selectors.DRIVE),
    # A term in every tenth lead, page 2: the walk; deep, the sort from the index.
    (100_000, 50, selectors.DRIVE_INDEX_US, selectors.SCAN),
    (100_000, 40_000, selectors.DRIVE_INDEX_US, selectors.DRIVE),
])
def test_the_cheapest_search_plan_is_chosen(matches: int, skip: int, drive_us: float, expected: str) -> None:
    assert selectors.search_plan_choice(matches=matches, leads=MILLION, skip=skip, drive_us=drive_us) == expected


def test_a_term_in_more_leads_than_a_page_may_sort_is_never_sorted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selectors, "SEARCH_DRIVE_MAX", 1_000)
    assert selectors.search_plan_choice(matches=1_001, leads=MILLION, skip=500,
                                        drive_us=selectors.DRIVE_INDEX_US) != selectors.DRIVE
    assert selectors.search_plan_choice(matches=1_000, leads=MILLION, skip=500,
                                        drive_us=selectors.DRIVE_INDEX_US) == selectors.DRIVE
