"""The short ways the event ingest takes: each must answer exactly as the long way did.

The NUL walk only for bodies with a `\\u0000` escape, times through datetime.fromisoformat first,
the duplicate lookup through the unique index, the cycle collector off during a request.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from leads.api.parsers import JSON_MAX_DEPTH, NUL_IN_STRING, TOO_DEEP
from leads.exceptions import LeadsError
from leads.models import Event, Lead, LeadEngagement
from leads.services import engagement as engagement_service
from leads.services.engagement import BAD_TIME, MAX_EVENTS_PER_REQUEST, events_ingest
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/events/"


@pytest.fixture
def ann(tenant: Tenant) -> Lead:
    return LeadFactory(workspace=tenant.workspace, email="ann@example.com")


def post_raw(tenant: Tenant, body: str) -> Any:
    return tenant.client.generic("POST", EVENTS, body.encode(), content_type="application/json")


def envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error", "code", "details"} and body["code"] == code, body
    return body


# --- the JSON body's bounds ----------------------------------------------------------------------------


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(tenant: Tenant, ann: Lead) -> None:
    # The body holds the characters \u0000 (an escaped backslash, then u0000): the full walk runs and
    # finds no NUL, and the text is stored as sent.
    body = '[{"lead": ' + str(ann.pk) + ', "type": "email_open", "properties": {"note": "C:\\\\u0000"}}]'
    response = post_raw(tenant, body)
    assert response.status_code == 201, response.content
    assert Event.objects.get(lead=ann).properties == {"note": "C:\\u0000"}


@pytest.mark.parametrize("where", ['{"note": "a\\u0000b"}', '{"a\\u0000": 1}', '{"deep": [[{"x": ["\\u0000"]}]]}'])
def test_a_nul_anywhere_in_an_event_is_the_parse_error_and_stores_nothing(tenant: Tenant, ann: Lead,
                                                                          where: str) -> None:
    good = f'{{"lead": {ann.pk}, "type": "email_open"}}'
    body = f'[{good}, {{"lead": {ann.pk}, "type": "page_view", "properties": {where}}}]'
    assert envelope(post_raw(tenant, body), 400, "parse_error")["error"] == NUL_IN_STRING
    assert not Event.objects.exists()


@pytest.mark.parametrize("levels, status", [(JSON_MAX_DEPTH - 3, 201), (JSON_MAX_DEPTH - 2, 400)])
def test_the_depth_is_still_checked_in_a_body_without_nul_escapes(tenant: Tenant, ann: Lead, levels: int,
                                                                  status: int) -> None:
    # list (1) > event (2) > properties (3) > `levels` nested lists inside it.
    nested = "[" * levels + "1" + "]" * levels
    body = f'[{{"lead": {ann.pk}, "type": "email_open", "properties": {{"x": {nested}}}}}]'
    response = post_raw(tenant, body)
    if status == 201:
        assert response.status_code == 201, response.content
    else:
        assert envelope(response, 400, "parse_error")["error"] == TOO_DEEP
        assert not Event.objects.exists()


def test_bad_json_in_an_events_body_is_the_parse_error_envelope(tenant: Tenant, ann: Lead) -> None:
    body = envelope(post_raw(tenant, f'[{{"lead": {ann.pk}, "type": "email_open"}},]'), 400, "parse_error")
    assert body["error"].startswith("JSON parse error - ")
    assert not Event.objects.exists()


# --- times ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "2026-11-30T14:05:00Z", "2026-11-30T14:05:00+02:00", "2026-11-30T14:05:00-05:30", "2026-11-30T14:05:00",
    "2026-11-30 14:05:00", "2026-11-30T14:05:00.123456Z", "2026-11-30T14:05:00.5+01:00", "2026-11-30T14:05Z",
    "2026-11-30", "2026-11-30T14:05:00,5Z", "20261130T140500Z",
])
def test_every_time_form_parse_datetime_reads_is_read_the_same(text: str) -> None:
    expected = parse_datetime(text)
    assert expected is not None
    if expected.tzinfo is None:
        expected = expected.replace(tzinfo=UTC)
    assert engagement_service._moment(text) == expected


@pytest.mark.parametrize("value", ["2026-13-01T00:00:00Z", "2026-02-30T10:00:00Z", "yesterday", "", "2026-11-30T25:00",
                                   12345, ["2026-11-30"], None])
def test_what_is_not_a_time_gets_the_time_reason(value: object) -> None:
    with pytest.raises(ValueError, match="^" + BAD_TIME.replace(".", r"\.") + "$"):
        engagement_service._moment(value)


# --- the write transaction --------------------------------------------------------------------------------


def test_the_duplicate_lookup_reads_the_unique_index_not_the_workspaces_events(tenant: Tenant, ann: Lead) -> None:
    events_ingest(workspace=tenant.workspace, items=[
        {"lead": ann.pk, "type": "email_open", "source": "mail", "external_id": f"m-{i}"} for i in range(20)])
    with CaptureQueriesContext(connection) as queries:
        result = events_ingest(workspace=tenant.workspace, items=[
            {"lead": ann.pk, "type": "email_open", "source": "mail", "external_id": f"m-{i}"} for i in range(15, 25)])
    assert (result.accepted, result.duplicates) == (5, 5)
    lookup = [q["sql"] for q in queries.captured_queries if "external_id" in q["sql"] and
              q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(lookup) == 1
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {lookup[0]}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "one_event_per_external_id" in plan, plan


def test_mixed_ids_and_emails_known_and_unknown_resolve_as_before(tenant: Tenant, ann: Lead) -> None:
    bob = LeadFactory(workspace=tenant.workspace, email="bob@example.com")
    result = events_ingest(workspace=tenant.workspace, items=[
        {"lead": ann.pk, "type": "email_open"}, {"email": "BOB@example.com", "type": "page_view"},
        {"lead": bob.pk + 1000, "type": "email_open"}, {"email": "nobody@example.com", "type": "email_open"},
        {"email": "bob@example.com", "type": "email_click"}])
    assert (result.accepted, result.rejected, sorted(result.leads)) == (3, 2, sorted([ann.pk, bob.pk]))
    assert [e["index"] for e in result.errors] == [2, 3]
    assert LeadEngagement.objects.get(lead=bob).counts == {"page_view": 1, "email_click": 1}


def test_first_and_last_activity_move_only_outwards_in_the_database(tenant: Tenant, ann: Lead) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    middle, early, late = now - timedelta(days=5), now - timedelta(days=9, microseconds=-250), now - timedelta(hours=1)

    def send(*moments: datetime) -> tuple[datetime, datetime]:
        events_ingest(workspace=tenant.workspace, items=[
            {"lead": ann.pk, "type": "page_view", "occurred_at": m.isoformat()} for m in moments])
        row = LeadEngagement.objects.get(lead=ann)
        return row.first_activity, row.last_activity

    assert send(middle) == (middle, middle)
    assert send(now - timedelta(days=6), now - timedelta(days=4)) == (now - timedelta(days=6),
                                                                      now - timedelta(days=4))
    assert send(middle) == (now - timedelta(days=6), now - timedelta(days=4))  # inside: nothing moves
    assert send(early, late) == (early, late)  # a time with microseconds beside ones without


def test_the_cycle_collector_is_back_on_after_a_request_and_after_a_refusal(tenant: Tenant, ann: Lead) -> None:
    assert gc.isenabled()
    events_ingest(workspace=tenant.workspace, items=[{"lead": ann.pk, "type": "email_open"}])
    assert gc.isenabled()
    with pytest.raises(LeadsError):
        events_ingest(workspace=tenant.workspace, items=[{"lead": ann.pk, "type": "x"}] * (MAX_EVENTS_PER_REQUEST + 1))
    assert gc.isenabled()


def test_a_failure_inside_the_transaction_leaves_the_collector_on(tenant: Tenant, ann: Lead,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(engagement_service, "engagement_fold_soon", broken)
    with pytest.raises(RuntimeError):
        events_ingest(workspace=tenant.workspace, items=[{"lead": ann.pk, "type": "email_open"}])
    assert gc.isenabled()
    assert not Event.objects.exists() and not LeadEngagement.objects.exists()


def test_a_full_request_of_events_for_many_leads_is_exact(tenant: Tenant) -> None:
    leads = Lead.objects.bulk_create([
        Lead(workspace=tenant.workspace, name=f"L{i}", email=f"l{i}@example.com", dedupe_key=f"e:l{i}@example.com",
             name_key=f"n:l{i}|") for i in range(500)])
    now = datetime.now(UTC).replace(microsecond=0)
    items = [{"lead": leads[i % 500].pk, "type": ("email_open", "page_view")[i % 2],
              "occurred_at": (now - timedelta(minutes=i)).isoformat(), "source": "s", "external_id": str(i % 9000)}
             for i in range(MAX_EVENTS_PER_REQUEST)]
    result = events_ingest(workspace=tenant.workspace, items=items)
    assert (result.accepted, result.duplicates, len(result.leads)) == (9000, 1000, 500)
    row = LeadEngagement.objects.get(lead=leads[3])
    # Lead 3 got events 3, 503, …, 8503 (the ones from 9000 on repeat an external_id): all page views.
    assert row.counts == {"page_view": 18}
    assert row.last_activity == now - timedelta(minutes=3)
    assert row.first_activity == now - timedelta(minutes=8503)
    assert set(row.daily) == {"page_view"} and sum(row.daily["page_view"].values()) == 18
