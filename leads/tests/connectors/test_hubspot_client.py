"""The HubSpot client, through the real hubspot-api-client against the server on 127.0.0.1: paging
with `after` cursors, the incremental search and its 10,000-result window, batch writes, and the
rate limits (429 with Retry-After or HubSpot's rate-limit headers, pacing, bounded attempts)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from leads.integrations.hubspot import client as hs
from leads.integrations.hubspot.client import HubSpotClient, HubSpotError
from leads.tests.connectors.conftest import TOKEN
from leads.tests.connectors.hubspot_server import (
    BATCH_UPDATE,
    CONTACTS,
    SEARCH,
    HubSpotServer,
    Reply,
    hubspot_time,
)


@pytest.fixture
def server() -> Iterator[HubSpotServer]:
    with HubSpotServer(token=TOKEN) as running:
        yield running


def _client(server: HubSpotServer, **options: object) -> HubSpotClient:
    return HubSpotClient(access_token=TOKEN, host=server.base_url, **{"page_size": 10, **options})  # type: ignore[arg-type]


def _ids(pages: Iterator[list[hs.Contact]]) -> list[list[str]]:
    return [[contact.id for contact in page] for page in pages]


def test_list_pages_with_after_cursors(server: HubSpotServer) -> None:
    """Several pages of page size, each asking from the previous page's cursor; never one huge request."""
    ids = [server.add_contact({"email": f"p{i}@example.com"}) for i in range(25)]
    pages = _ids(_client(server).contacts_pages(properties=["email"], modified_since=None))
    assert pages == [ids[:10], ids[10:20], ids[20:]]
    requests = server.requests_to(CONTACTS)
    assert [(r.query["limit"], r.query.get("after")) for r in requests] == [
        (["10"], None), (["10"], [ids[10]]), (["10"], [ids[20]])]
    assert all(r.query["properties"] == ["email"] for r in requests)
    assert requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_page_size_is_capped_at_hubspots_limit(server: HubSpotServer) -> None:
    server.add_contact({"email": "a@example.com"})
    list(_client(server, page_size=5000).contacts_pages(properties=["email"], modified_since=None))
    assert server.requests_to(CONTACTS)[0].query["limit"] == ["100"]


def test_search_asks_for_contacts_modified_since(server: HubSpotServer) -> None:
    now = datetime.now(UTC)
    old = server.add_contact({"email": "old@example.com"}, modified=now - timedelta(days=3))
    recent = [server.add_contact({"email": f"r{i}@example.com"}, modified=now - timedelta(minutes=30 - i))
              for i in range(12)]
    since = now - timedelta(hours=1)
    pages = _ids(_client(server).contacts_pages(properties=["email"], modified_since=since))
    assert pages == [recent[:10], recent[10:]]
    assert old not in sum(pages, [])
    first = server.requests_to(SEARCH)[0].body
    assert first["filterGroups"] == [{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(int(since.timestamp() * 1000))}]}]
    assert first["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert first["limit"] == 10 and "after" not in first
    assert server.requests_to(SEARCH)[1].body["after"] == "10"
    assert not server.requests_to(CONTACTS)


def test_search_restarts_its_window_before_the_result_ceiling(server: HubSpotServer) -> None:
    """Past the search window the query starts again from the last time seen, without losing a contact."""
    start = datetime.now(UTC) - timedelta(hours=2)
    ids = [server.add_contact({"email": f"w{i}@example.com"}, modified=start + timedelta(seconds=i))
           for i in range(45)]
    pages = _ids(_client(server, search_window=20).contacts_pages(properties=["email"],
                                                                  modified_since=start - timedelta(minutes=1)))
    seen = sum(pages, [])
    assert sorted(set(seen), key=int) == ids
    bodies = [r.body for r in server.requests_to(SEARCH)]
    assert all(int(b.get("after") or 0) + b["limit"] <= 20 for b in bodies)
    restarts = [b["filterGroups"][0]["filters"][0]["value"] for b in bodies if "after" not in b]
    # The window moved on twice, each time to the modification time of the last contact seen.
    assert restarts[1:] == [str(int((start + timedelta(seconds=s)).timestamp() * 1000)) for s in (19, 38)]


def test_429_with_retry_after_then_success(server: HubSpotServer) -> None:
    server.add_contact({"email": "a@example.com"})
    server.script(Reply(429, headers={"Retry-After": "1"}))
    pages = _ids(_client(server).contacts_pages(properties=["email"], modified_since=None))
    assert len(pages[0]) == 1
    first, second = server.requests_to(CONTACTS)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.95


def test_429_waits_for_the_rate_limit_window_announced_in_headers(server: HubSpotServer) -> None:
    server.add_contact({"email": "a@example.com"})
    server.script(Reply(429, headers={"X-HubSpot-RateLimit-Interval-Milliseconds": "400",
                                      "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"}))
    list(_client(server, backoff=0.01).contacts_pages(properties=["email"], modified_since=None))
    first, second = server.requests_to(CONTACTS)
    assert second.at - first.at >= 0.38


def test_a_used_up_window_on_a_success_delays_the_next_call(server: HubSpotServer) -> None:
    """Pacing: `X-HubSpot-RateLimit-Remaining: 0` on a success makes the next request wait, not fail."""
    for i in range(15):
        server.add_contact({"email": f"a{i}@example.com"})
    server.rate_limit_headers = {"X-HubSpot-RateLimit-Interval-Milliseconds": "300",
                                 "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"}
    list(_client(server).contacts_pages(properties=["email"], modified_since=None))
    first, second = server.requests_to(CONTACTS)
    assert (first.status, second.status) == (200, 200)
    assert second.at - first.at >= 0.28


def test_429_attempts_are_bounded(server: HubSpotServer) -> None:
    server.script(*[Reply(429, headers={"Retry-After": "0"})] * 10)
    with pytest.raises(HubSpotError) as caught:
        list(_client(server, max_attempts=3).contacts_pages(properties=["email"], modified_since=None))
    assert caught.value.code == "rate_limited"
    assert caught.value.message == hs.RATE_LIMITED.format(attempts=3)
    assert len(server.requests) == 3


def test_a_used_up_daily_limit_is_not_retried(server: HubSpotServer) -> None:
    server.script(Reply(429, body={"status": "error", "message": "You have reached your daily limit.",
                                   "errorType": "RATE_LIMIT", "policyName": "DAILY"}))
    with pytest.raises(HubSpotError) as caught:
        list(_client(server).contacts_pages(properties=["email"], modified_since=None))
    assert caught.value.message == hs.DAILY_LIMIT
    assert len(server.requests) == 1


def test_server_errors_are_retried_with_backoff(server: HubSpotServer) -> None:
    server.add_contact({"email": "a@example.com"})
    server.script(Reply(502), Reply(500))
    pages = _ids(_client(server, backoff=0.01).contacts_pages(properties=["email"], modified_since=None))
    assert len(pages[0]) == 1
    assert [r.status for r in server.requests] == [502, 500, 200]


def test_a_bad_token_fails_at_once_with_a_clear_message(server: HubSpotServer) -> None:
    client = HubSpotClient(access_token="pat-wrong", host=server.base_url)
    with pytest.raises(HubSpotError) as caught:
        list(client.contacts_pages(properties=["email"], modified_since=None))
    assert (caught.value.code, caught.value.status, caught.value.message) == ("unauthorized", 401, hs.UNAUTHORIZED)
    assert len(server.requests) == 1


def test_an_unreachable_host_fails_after_bounded_attempts() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and now has nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HubSpotClient(access_token=TOKEN, host=f"http://127.0.0.1:{port}", max_attempts=2, backoff=0.01)
    with pytest.raises(HubSpotError) as caught:
        list(client.contacts_pages(properties=["email"], modified_since=None))
    assert caught.value.code == "unavailable"
    assert caught.value.message.startswith(f"HubSpot could not be reached at http://127.0.0.1:{port} (")
    assert TOKEN not in caught.value.message


def test_batch_update_writes_and_reports_per_contact_errors(server: HubSpotServer) -> None:
    server.properties["leadscore_score"] = {"name": "leadscore_score"}
    known = server.add_contact({"email": "a@example.com"}, modified=datetime.now(UTC) - timedelta(days=1))
    before = server.contacts[known]["properties"]["lastmodifieddate"]
    result = _client(server).contacts_update({known: {"leadscore_score": "87"}, "999999": {"leadscore_score": "5"}})
    assert result.written == [known]
    assert result.errors == [{"contact": "999999", "reason": "Object not found"}]
    assert server.contacts[known]["properties"]["leadscore_score"] == "87"
    assert server.contacts[known]["properties"]["lastmodifieddate"] > before
    assert server.requests_to(BATCH_UPDATE)[0].body == {"inputs": [
        {"id": known, "properties": {"leadscore_score": "87"}},
        {"id": "999999", "properties": {"leadscore_score": "5"}}]}


def test_batch_update_refuses_more_than_100(server: HubSpotServer) -> None:
    with pytest.raises(ValueError, match="At most 100 contacts per batch"):
        _client(server).contacts_update({str(i): {"leadscore_score": "1"} for i in range(101)})
    assert not server.requests


def test_missing_properties_are_created_once(server: HubSpotServer) -> None:
    client = _client(server)
    definitions = [{"name": "leadscore_score", "label": "Leadscore score", "type": "number", "field_type": "number",
                    "group_name": "contactinformation"}]
    assert client.contact_properties_ensure(definitions) == ["leadscore_score"]
    assert client.contact_properties_ensure(definitions) == []
    assert server.properties["leadscore_score"]["type"] == "number"


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-30T14:05:00.000Z", datetime(2026, 11, 30, 14, 5, tzinfo=UTC)),
    ("1796047500000", datetime(2026, 11, 30, 14, 5, tzinfo=UTC)),
    (hubspot_time(datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)), datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)),
    ("", None), (None, None), ("yesterday", None),
])
def test_hubspot_times(value: str | None, expected: datetime | None) -> None:
    assert hs.parse_hubspot_time(value) == expected
