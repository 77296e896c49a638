"""events_ingest: checked one by one, deduplicated, aggregated, stale marks and the debounced rescore.

DESIGN "Engagement". Database state asserted after each call; times are relative to the real clock
(ingest refuses the future against it) and expectations derive from the times sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.models import Event, Lead, LeadEngagement, Score, Workspace
from leads.scoring.engagement import day_number
from leads.services import engagement as engagement_service
from leads.services.engagement import (
    BAD_PROPERTIES,
    BAD_TIME,
    BAD_TYPE,
    DAILY_WINDOW_DAYS,
    FUTURE_TIME,
    NO_LEAD,
    TOO_MANY,
    UNKNOWN_LEAD,
    IngestResult,
    engagement_facts,
    engagement_fold,
    events_ingest,
)
from leads.services.leads import lead_update
from leads.services.scoring import engagement_rescore, score_job_start
from leads.tests.conftest import Tenant
from leads.tests.engagement.support import aggregates, current, decay_offer, iso, scored_leads
from leads.tests.factories import LeadFactory, OfferFactory

pytestmark = pytest.mark.django_db

UNKNOWN_ID = UNKNOWN_LEAD.format(what="id")
UNKNOWN_EMAIL = UNKNOWN_LEAD.format(what="email")
NOT_AN_ID = "lead must be a lead id."
NOT_AN_OBJECT = "Each event is an object."


def ingest(workspace: Workspace, *items: Any, create_leads: bool = False) -> IngestResult:
    return events_ingest(workspace=workspace, items=list(items), create_leads=create_leads)


def summary(accepted: int = 0, duplicates: int = 0, rejected: int = 0, errors: list[dict[str, Any]] | None = None,
            created_leads: int = 0, leads: int = 0) -> dict[str, Any]:
    errors = errors or []
    return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected, "errors": errors,
            "errors_truncated": rejected > len(errors), "created_leads": created_leads, "leads": leads}


def ago(**delta: float) -> datetime:
    return (timezone.now() - timedelta(**delta)).replace(microsecond=0)


def debounce_key(workspace: Workspace) -> str:
    return f"leadscore:rescore-queued:{workspace.pk}"


@pytest.fixture
def ann(workspace: Workspace) -> Lead:
    return LeadFactory(workspace=workspace, email="ann@example.com")


# --- one, many, and what each stored event holds ---------------------------------------------------


def test_one_event_is_stored_as_sent(workspace: Workspace, ann: Lead) -> None:
    at = ago(days=2)
    result = ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": iso(at), "source": "mailchimp",
                                "external_id": "m-1", "properties": {"campaign": "spring", "opens": 2}})
    assert result.as_dict() == summary(accepted=1, leads=1)
    event = Event.objects.get()
    assert (event.workspace_id, event.lead_id, event.type, event.occurred_at, event.source, event.external_id,
            event.properties) == (workspace.pk, ann.pk, "email_open", at, "mailchimp", "m-1",
                                  {"campaign": "spring", "opens": 2})


def test_defaults_now_api_no_external_id_no_properties(workspace: Workspace, ann: Lead) -> None:
    before = timezone.now()
    ingest(workspace, {"email": "ann@example.com", "type": "page_view"})
    after = timezone.now()
    event = Event.objects.get()
    assert before <= event.occurred_at <= after
    assert (event.lead_id, event.source, event.external_id, event.properties) == (ann.pk, "api", "", {})


def test_a_list_matches_leads_by_id_and_by_email_in_any_case(workspace: Workspace, ann: Lead) -> None:
    bob = LeadFactory(workspace=workspace, email="bob@example.com")
    result = ingest(workspace,
                    {"lead": ann.pk, "type": "email_open"},
                    {"lead": str(bob.pk), "type": "email_click"},
                    {"email": "  ANN@Example.COM ", "type": "page_view"},
                    {"email": "Bob@example.com", "type": "meeting"})
    assert result.as_dict() == summary(accepted=4, leads=2)
    assert sorted(Event.objects.values_list("lead_id", "type")) == sorted([
        (ann.pk, "email_open"), (bob.pk, "email_click"), (ann.pk, "page_view"), (bob.pk, "meeting")])


def test_bad_items_are_reported_with_index_and_reason_and_the_good_ones_stored(
        workspace: Workspace, ann: Lead, other_tenant: Tenant) -> None:
    theirs = LeadFactory(workspace=other_tenant.workspace, email="eve@example.com")
    good_at = ago(hours=1)
    items: list[Any] = [
        {"lead": ann.pk, "type": "email_open", "occurred_at": iso(good_at)},
        {"lead": ann.pk, "type": "Email Open"},
        {"lead": ann.pk},
        {"lead": ann.pk, "type": "email_open", "occurred_at": "yesterday"},
        {"lead": ann.pk, "type": "email_open", "occurred_at": 1767225600},
        {"lead": ann.pk, "type": "email_open", "occurred_at": iso(ago(days=-2))},
        {"type": "email_open"},
        {"lead": 987_654_321, "type": "email_open"},
        {"lead": "abc", "type": "email_open"},
        {"email": "nobody@example.com", "type": "email_open"},
        {"lead": theirs.pk, "type": "email_open"},
        {"email": "eve@example.com", "type": "email_open"},
        "email_open",
        {"lead": ann.pk, "type": "email_open", "properties": ["not", "an", "object"]},
        {"lead": ann.pk, "type": "email_open", "source": 5},
        {"email": "ann@example.com", "type": "page_view", "occurred_at": iso(ago(hours=-12))},
    ]
    result = ingest(workspace, *items)
    expected = [
        {"index": 1, "reason": BAD_TYPE},
        {"index": 2, "reason": BAD_TYPE},
        {"index": 3, "reason": BAD_TIME},
        {"index": 4, "reason": BAD_TIME},
        {"index": 5, "reason": FUTURE_TIME},
        {"index": 6, "reason": NO_LEAD},
        {"index": 7, "reason": UNKNOWN_ID},
        {"index": 8, "reason": NOT_AN_ID},
        {"index": 9, "reason": UNKNOWN_EMAIL},
        {"index": 10, "reason": UNKNOWN_ID},
        {"index": 11, "reason": UNKNOWN_EMAIL},
        {"index": 12, "reason": NOT_AN_OBJECT},
        {"index": 13, "reason": BAD_PROPERTIES},
        {"index": 14, "reason": "source must be a text of at most 50 characters."},
    ]
    body = result.as_dict()
    assert sorted(body.pop("errors"), key=lambda error: error["index"]) == expected
    assert body == {"accepted": 2, "duplicates": 0, "rejected": 14, "errors_truncated": False, "created_leads": 0,
                    "leads": 1}
    assert sorted(Event.objects.values_list("lead_id", "type")) == [(ann.pk, "email_open"), (ann.pk, "page_view")]
    assert aggregates(ann)["counts"] == {"email_open": 1, "page_view": 1}
    # Nothing reached the other workspace.
    assert not Event.objects.filter(workspace=other_tenant.workspace).exists()
    assert not LeadEngagement.objects.filter(lead=theirs).exists()


def test_a_time_without_an_offset_is_utc(workspace: Workspace, ann: Lead) -> None:
    """ISO 8601 without an offset (what spreadsheets write) is read as UTC, as everything here is."""
    at = ago(days=3)
    result = ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S")})
    assert result.as_dict() == summary(accepted=1, leads=1)
    assert Event.objects.get().occurred_at == at


def test_a_well_formed_but_impossible_time_gets_the_time_reason(workspace: Workspace, ann: Lead) -> None:
    result = ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": "2026-13-01T10:00:00Z"})
    assert result.errors == [{"index": 0, "reason": BAD_TIME}]


def test_only_the_first_1000_errors_are_listed(workspace: Workspace, ann: Lead) -> None:
    result = ingest(workspace, *[{"lead": ann.pk, "type": "Bad"}] * 1001, {"lead": ann.pk, "type": "email_open"})
    body = result.as_dict()
    assert (body["accepted"], body["rejected"], len(body["errors"]), body["errors_truncated"]) == (1, 1001, 1000, True)
    assert body["errors"][-1] == {"index": 999, "reason": BAD_TYPE}


def test_more_than_10000_events_are_refused_whole(workspace: Workspace, ann: Lead) -> None:
    with pytest.raises(LeadsError) as raised:
        ingest(workspace, *[{"lead": ann.pk, "type": "email_open"}] * 10_001)
    error = raised.value
    assert (error.status_code, error.code, error.message, error.details) == (
        413, "too_many_events", TOO_MANY, {"limit": 10_000})
    assert not Event.objects.exists()


def test_10000_events_are_one_request(workspace: Workspace, ann: Lead) -> None:
    result = ingest(workspace, *[{"lead": ann.pk, "type": "email_open"}] * 10_000)
    assert (result.accepted, result.rejected) == (10_000, 0)
    assert aggregates(ann)["counts"] == {"email_open": 10_000}


# --- duplicates ------------------------------------------------------------------------------------


def test_the_same_source_and_external_id_count_once_within_and_across_requests(workspace: Workspace,
                                                                                ann: Lead) -> None:
    first = ingest(workspace,
                   {"lead": ann.pk, "type": "email_open", "source": "hubspot", "external_id": "e-1"},
                   {"lead": ann.pk, "type": "email_open", "source": "hubspot", "external_id": "e-1"},
                   {"email": "ann@example.com", "type": "email_open", "source": "hubspot", "external_id": "e-2"})
    assert first.as_dict() == summary(accepted=2, duplicates=1, leads=1)
    again = ingest(workspace,
                   {"lead": ann.pk, "type": "email_open", "source": "hubspot", "external_id": "e-2"},
                   {"lead": ann.pk, "type": "email_click", "source": "hubspot", "external_id": "e-1"})
    assert again.as_dict() == summary(duplicates=2)
    assert sorted(Event.objects.values_list("external_id", flat=True)) == ["e-1", "e-2"]
    assert aggregates(ann)["counts"] == {"email_open": 2}


def test_a_numeric_external_id_is_the_same_as_its_text(workspace: Workspace, ann: Lead) -> None:
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "external_id": 42})
    assert ingest(workspace, {"lead": ann.pk, "type": "email_open", "external_id": "42"}).as_dict() == summary(
        duplicates=1)
    assert Event.objects.get().external_id == "42"


def test_another_source_is_another_event(workspace: Workspace, ann: Lead) -> None:
    result = ingest(workspace,
                    {"lead": ann.pk, "type": "email_open", "source": "hubspot", "external_id": "1"},
                    {"lead": ann.pk, "type": "email_open", "source": "mailchimp", "external_id": "1"},
                    {"lead": ann.pk, "type": "email_open", "external_id": "1"})
    assert result.as_dict() == summary(accepted=3, leads=1)
    assert sorted(Event.objects.values_list("source", "external_id")) == [
        ("api", "1"), ("hubspot", "1"), ("mailchimp", "1")]


def test_events_without_an_external_id_are_never_deduplicated(workspace: Workspace, ann: Lead) -> None:
    at = iso(ago(days=1))
    same = {"lead": ann.pk, "type": "email_open", "occurred_at": at}
    assert ingest(workspace, same, same).accepted == 2
    assert ingest(workspace, same, {**same, "external_id": ""}).accepted == 2
    assert Event.objects.count() == 4
    assert aggregates(ann)["counts"] == {"email_open": 4}


def test_another_workspace_may_reuse_an_external_id(workspace: Workspace, ann: Lead, other_tenant: Tenant) -> None:
    theirs = LeadFactory(workspace=other_tenant.workspace, email="ann@example.com")
    assert ingest(workspace, {"lead": ann.pk, "type": "email_open", "external_id": "x"}).accepted == 1
    result = ingest(other_tenant.workspace, {"lead": theirs.pk, "type": "email_open", "external_id": "x"})
    assert result.as_dict() == summary(accepted=1, leads=1)


def test_the_first_good_copy_counts_when_an_earlier_one_was_rejected(workspace: Workspace, ann: Lead) -> None:
    result = ingest(workspace,
                    {"lead": 987_654_321, "type": "email_open", "external_id": "e-1"},
                    {"lead": ann.pk, "type": "email_open", "external_id": "e-1"})
    assert result.as_dict() == summary(accepted=1, rejected=1, errors=[{"index": 0, "reason": UNKNOWN_ID}], leads=1)


# --- leads created by email ------------------------------------------------------------------------


def test_create_leads_makes_one_lead_per_new_email(workspace: Workspace, ann: Lead) -> None:
    result = ingest(workspace,
                    {"email": "New.Person@Example.com", "type": "form_submit"},
                    {"email": "new.person@example.com", "type": "email_open"},
                    {"email": "ann@example.com", "type": "email_open"},
                    create_leads=True)
    assert result.as_dict() == summary(accepted=3, created_leads=1, leads=2)
    new = Lead.objects.get(workspace=workspace, email="new.person@example.com")
    assert (new.name, new.dedupe_key) == ("new.person", "e:new.person@example.com")
    assert sorted(Event.objects.filter(lead=new).values_list("type", flat=True)) == ["email_open", "form_submit"]
    assert Lead.objects.filter(workspace=workspace).count() == 2


def test_without_create_leads_an_unknown_email_creates_nothing(workspace: Workspace) -> None:
    result = ingest(workspace, {"email": "new@example.com", "type": "form_submit"})
    assert result.as_dict() == summary(rejected=1, errors=[{"index": 0, "reason": UNKNOWN_EMAIL}])
    assert not Lead.objects.exists()


def test_create_leads_never_creates_a_lead_for_a_lead_id(workspace: Workspace) -> None:
    result = ingest(workspace, {"lead": 987_654_321, "type": "form_submit"}, create_leads=True)
    assert result.as_dict() == summary(rejected=1, errors=[{"index": 0, "reason": UNKNOWN_ID}])
    assert not Lead.objects.exists()


# --- aggregates ------------------------------------------------------------------------------------


def test_aggregates_are_exact_after_several_ingests_in_any_order(workspace: Workspace, ann: Lead) -> None:
    t_open_1, t_open_2, t_click = ago(days=10, hours=3), ago(days=3), ago(days=3, minutes=5)
    t_early, t_visit = ago(days=20), ago(days=1)
    ingest(workspace,
           {"lead": ann.pk, "type": "email_open", "occurred_at": iso(t_open_2)},
           {"lead": ann.pk, "type": "email_open", "occurred_at": iso(t_open_1)},
           {"lead": ann.pk, "type": "email_click", "occurred_at": iso(t_click)})
    ingest(workspace,
           {"lead": ann.pk, "type": "email_open", "occurred_at": iso(t_early)},
           {"lead": ann.pk, "type": "page_view", "occurred_at": iso(t_visit)},
           {"lead": ann.pk, "type": "email_open", "occurred_at": iso(t_open_2 - timedelta(minutes=1))})
    day = lambda moment: str(day_number(moment))  # noqa: E731
    opens: dict[str, int] = {}
    for moment in (t_open_2, t_open_1, t_early, t_open_2 - timedelta(minutes=1)):
        opens[day(moment)] = opens.get(day(moment), 0) + 1
    assert aggregates(ann) == {
        "counts": {"email_open": 4, "email_click": 1, "page_view": 1},
        "daily": {"email_open": opens, "email_click": {day(t_click): 1}, "page_view": {day(t_visit): 1}},
        "first_activity": t_early, "last_activity": t_visit,
    }
    facts = engagement_facts([ann.pk])[ann.pk]
    assert dict(facts.last_at) == {"email_open": t_open_2, "email_click": t_click, "page_view": t_visit}
    assert (facts.first_activity, facts.last_activity) == (t_early, t_visit)
    assert dict(facts.counts) == {"email_open": 4, "email_click": 1, "page_view": 1}
    assert {t: dict(days) for t, days in facts.daily.items()} == {
        "email_open": {int(d): n for d, n in opens.items()}, "email_click": {day_number(t_click): 1},
        "page_view": {day_number(t_visit): 1}}


def test_an_older_event_keeps_the_latest_time_and_moves_first_activity(workspace: Workspace, ann: Lead) -> None:
    recent, older = ago(days=1), ago(days=5)
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": iso(recent)})
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": iso(older)})
    facts = engagement_facts([ann.pk])[ann.pk]
    assert (facts.last_at["email_open"], facts.first_activity, facts.last_activity) == (recent, older, recent)


@pytest.mark.parametrize("one_request", [True, False], ids=["one request", "two requests"])
def test_the_latest_time_is_the_latest_instant_whatever_the_offset(workspace: Workspace, ann: Lead,
                                                                    one_request: bool) -> None:
    """10:00+02:00 is 08:00Z, earlier than 09:00Z: comparing the texts would keep the wrong one."""
    day = ago(days=4).date()
    east = {"lead": ann.pk, "type": "email_open", "occurred_at": f"{day}T10:00:00+02:00"}
    utc = {"lead": ann.pk, "type": "email_open", "occurred_at": f"{day}T09:00:00Z"}
    if one_request:
        ingest(workspace, east, utc)
    else:
        ingest(workspace, east)
        ingest(workspace, utc)
    latest = datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC)
    facts = engagement_facts([ann.pk])[ann.pk]
    assert facts.last_at["email_open"] == latest
    assert facts.last_activity == latest
    assert facts.first_activity == latest - timedelta(hours=1)


def test_events_older_than_the_day_window_are_counted_but_not_kept_per_day(workspace: Workspace,
                                                                            ann: Lead) -> None:
    ancient, recent = ago(days=DAILY_WINDOW_DAYS + 70), ago(days=2)
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": iso(ancient)},
           {"lead": ann.pk, "type": "email_open", "occurred_at": iso(recent)})
    assert aggregates(ann) == {"counts": {"email_open": 2}, "daily": {"email_open": {str(day_number(recent)): 1}},
                               "first_activity": ancient, "last_activity": recent}


def test_day_counts_that_left_the_window_are_forgotten_when_the_lead_is_touched(workspace: Workspace,
                                                                                 ann: Lead) -> None:
    today = day_number(timezone.now())
    LeadEngagement.objects.create(lead=ann, workspace=workspace, counts={"email_open": 3},
                                  last_at={"email_open": iso(ago(days=DAILY_WINDOW_DAYS - 10))},
                                  daily={"email_open": {str(today - DAILY_WINDOW_DAYS - 5): 2,
                                                        str(today - DAILY_WINDOW_DAYS + 10): 1}})
    at = ago(hours=1)
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": iso(at)})
    row = LeadEngagement.objects.get(lead=ann)
    assert row.counts == {"email_open": 4}
    assert row.daily == {"email_open": {str(today - DAILY_WINDOW_DAYS + 10): 1, str(day_number(at)): 1}}


def test_rejected_and_duplicate_events_never_touch_the_aggregates(workspace: Workspace, ann: Lead) -> None:
    at = ago(days=2)
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "occurred_at": iso(at), "external_id": "e-1"})
    before = aggregates(ann)
    result = ingest(workspace,
                    {"lead": ann.pk, "type": "email_click", "occurred_at": iso(ago(days=1)), "external_id": "e-1"},
                    {"lead": ann.pk, "type": "Bad Type"},
                    {"lead": ann.pk, "type": "page_view", "occurred_at": iso(ago(days=-3))})
    assert (result.accepted, result.duplicates, result.rejected) == (0, 1, 2)
    assert aggregates(ann) == before
    assert Event.objects.count() == 1


# --- stale marks and the debounced rescore --------------------------------------------------------


@pytest.fixture
def two_offers(workspace: Workspace) -> tuple[Any, Any]:
    """An offer under the decaying model and one under the default model (AI by the local provider)."""
    return decay_offer(workspace), OfferFactory(workspace=workspace, name="Plain offer")


def test_only_the_touched_leads_current_scores_go_stale_with_cause_events(workspace: Workspace,
                                                                          two_offers: tuple[Any, Any]) -> None:
    decay, plain = two_offers
    ann, bob, cid = scored_leads(workspace, decay, "ann@example.com", "bob@example.com", "cid@example.com")
    score_job_start(workspace=workspace, user=None, offer=plain)
    score_job_start(workspace=workspace, user=None, offer=decay, rescore=True)  # ann's first score is history now
    lead_update(lead=cid, data={"company": "Renamed Co"})  # stale already, cause manual
    history = list(Score.objects.filter(lead=ann, is_current=False).values_list("pk", "stale_cause"))
    assert history and all(cause == "" for _, cause in history)

    result = ingest(workspace, {"lead": ann.pk, "type": "email_open"}, {"lead": cid.pk, "type": "email_click"})
    assert result.as_dict() == summary(accepted=2, leads=2)
    assert (current(ann, decay).stale_cause, current(ann, plain).stale_cause) == ("events", "events")
    assert (current(bob, decay).stale_cause, current(bob, plain).stale_cause) == ("", "")
    assert (current(cid, decay).stale_cause, current(cid, plain).stale_cause) == ("manual", "manual")
    assert list(Score.objects.filter(lead=ann, is_current=False).values_list("pk", "stale_cause")) == history


def test_duplicates_only_mark_nothing_stale(workspace: Workspace) -> None:
    offer = decay_offer(workspace)
    (ann,) = scored_leads(workspace, offer, "ann@example.com")
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "external_id": "e-1"})
    engagement_rescore(workspace_id=workspace.pk)
    assert current(ann, offer).stale_cause == ""
    assert ingest(workspace, {"lead": ann.pk, "type": "email_open", "external_id": "e-1"}).duplicates == 1
    assert current(ann, offer).stale_cause == ""


def test_the_debounced_rescore_rescores_exactly_the_touched_leads(workspace: Workspace,
                                                                  two_offers: tuple[Any, Any]) -> None:
    """Ann opens two emails today: under engagement_decay that is 2 x 5 = 10, plus "Active in the last 7
    days" +5 (no company_size, so no size points): 0 -> 15."""
    decay, plain = two_offers
    ann, bob = scored_leads(workspace, decay, "ann@example.com", "bob@example.com")
    score_job_start(workspace=workspace, user=None, offer=plain)
    before = {(lead.pk, offer.pk): current(lead, offer) for lead in (ann, bob) for offer in (decay, plain)}
    assert before[ann.pk, decay.pk].score == 0
    ingest(workspace, {"lead": ann.pk, "type": "email_open"}, {"lead": ann.pk, "type": "email_open"})

    assert engagement_rescore(workspace_id=workspace.pk) == 2  # one run per offer

    for offer in (decay, plain):
        new = current(ann, offer)
        assert new.pk != before[ann.pk, offer.pk].pk
        assert (new.cause, new.stale_cause, new.previous_score) == ("events", "", before[ann.pk, offer.pk].score)
        assert current(bob, offer).pk == before[bob.pk, offer.pk].pk
    rescored = current(ann, decay)
    assert (rescored.score, rescored.score_change) == (15, 15)
    assert rescored.score_breakdown["components"][1] == {
        "part": "engagement", "points": 10, "types": [{"type": "email_open", "events": 2, "points": 10}]}
    assert Score.objects.filter(lead=bob).count() == 2
    assert Score.objects.filter(lead=ann).count() == 4


def test_fold_requests_are_debounced_per_workspace(workspace: Workspace, settings: Any, ann: Lead,
                                                   other_tenant: Tenant,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    """With a real broker the fold is sent after the commit: once for many ingests, once per workspace;
    the rescore is the fold's to ask for, not the ingest's."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    theirs = LeadFactory(workspace=other_tenant.workspace, email="eve@example.com")
    with django_capture_on_commit_callbacks(execute=False) as sent:
        ingest(workspace, {"lead": ann.pk, "type": "email_open"})
        ingest(workspace, {"lead": ann.pk, "type": "email_click"})
        ingest(workspace, {"email": "ann@example.com", "type": "page_view"})
    assert len(sent) == 1
    assert cache.get(f"leadscore:fold-queued:{workspace.pk}") == 1
    assert cache.get(debounce_key(workspace)) is None
    with django_capture_on_commit_callbacks(execute=False) as sent:
        ingest(other_tenant.workspace, {"lead": theirs.pk, "type": "email_open"})
    assert len(sent) == 1


def test_the_fold_asks_for_one_rescore_and_clears_its_own_mark(workspace: Workspace, settings: Any, ann: Lead,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with django_capture_on_commit_callbacks(execute=False):
        ingest(workspace, {"lead": ann.pk, "type": "email_open"}, {"lead": ann.pk, "type": "page_view"})
    assert not LeadEngagement.objects.exists() and Event.objects.count() == 2
    with django_capture_on_commit_callbacks(execute=False) as sent:
        assert engagement_fold(workspace_id=workspace.pk) == 2
        assert engagement_fold(workspace_id=workspace.pk) == 0  # nothing left: no second rescore
    assert len(sent) == 1
    assert cache.get(debounce_key(workspace)) == 1
    assert cache.get(f"leadscore:fold-queued:{workspace.pk}") is None
    assert aggregates(ann)["counts"] == {"email_open": 1, "page_view": 1}


def test_no_rescore_is_requested_when_nothing_was_stored(workspace: Workspace, settings: Any, ann: Lead,
                                                         django_capture_on_commit_callbacks: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with django_capture_on_commit_callbacks(execute=False) as sent:
        ingest(workspace, {"lead": ann.pk, "type": "Bad"}, {"email": "nobody@example.com", "type": "email_open"})
    assert len(sent) == 0
    assert cache.get(debounce_key(workspace)) is None


def test_the_rescore_clears_the_debounce_so_the_next_events_ask_again(workspace: Workspace, ann: Lead) -> None:
    ingest(workspace, {"lead": ann.pk, "type": "email_open"})
    assert cache.get(debounce_key(workspace)) == 1
    engagement_rescore(workspace_id=workspace.pk)
    assert cache.get(debounce_key(workspace)) is None


def test_a_rescore_of_a_deleted_workspace_does_nothing(workspace: Workspace) -> None:
    assert engagement_rescore(workspace_id=987_654_321) == 0


# --- all or nothing --------------------------------------------------------------------------------


def test_a_failure_mid_way_stores_nothing(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failure injection (the one patch of a service helper here): the aggregates update raises after
    the events were inserted; the events, the new lead and the stale marks go with it."""
    offer = decay_offer(workspace)
    (ann,) = scored_leads(workspace, offer, "ann@example.com")
    ingest(workspace, {"lead": ann.pk, "type": "email_open", "external_id": "e-1"})
    engagement_rescore(workspace_id=workspace.pk)
    before = aggregates(ann)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(engagement_service, "_aggregates_write", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest(workspace, {"lead": ann.pk, "type": "email_click", "external_id": "e-2"},
               {"email": "new@example.com", "type": "form_submit"}, create_leads=True)
    assert list(Event.objects.values_list("external_id", flat=True)) == ["e-1"]
    assert aggregates(ann) == before
    assert not Lead.objects.filter(email="new@example.com").exists()
    assert current(ann, offer).stale_cause == ""
    monkeypatch.undo()
    # The same request, sent again, goes in whole: nothing of the failed one was left to dedupe against.
    result = ingest(workspace, {"lead": ann.pk, "type": "email_click", "external_id": "e-2"},
                    {"email": "new@example.com", "type": "form_submit"}, create_leads=True)
    assert result.as_dict() == summary(accepted=2, created_leads=1, leads=2)
