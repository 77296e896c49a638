"""Text search on PostgreSQL through the live server: the pg_trgm index exists, answers the same query
Django's `icontains` makes, and the results and lead lists find exactly the leads holding the text, in
this workspace only."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from leads.tests.integration.conftest import Tenant, create_offer, leads_csv, score, table

pytestmark = pytest.mark.integration

GENERATED = 400
FIELDS = ("name", "role", "company", "industry", "location", "email")
# Rows a search must get right beside the generated ones: case, punctuation LIKE gives a meaning to,
# an accent, an email, a phrase with a comma, and a term in one lead only.
TRICKY = [
    ["Émilie Durand", "CEO", "Acme Corp", "B2B SaaS", "Paris", "", "emilie@acme.io"],
    ["Sean O'Brien", "CTO", "100% Tech", "FinTech", "Dublin", "", "x_y@z.org"],
    ["ACME FAN", "Student", "Nimbus, Inc.", "Education", "Lima, Peru", "", "fan@nimbus.example.com"],
    ["Zed Quux", "Head of Data", "Quuxworks", "Software", "Oslo", "", "zq@quuxworks.example.com"],
]
QUERIES = ["acme", "ACME", "Acme Corp", "me c", "Émilie", "o'brien", "100%", "x_y", "%", "nimbus, inc", "quux",
           "zq@", "li", "a", "Systems", "head of", "example.com", "no such text"]


def _csv(tag: str) -> tuple[bytes, list[dict[str, str]]]:
    """The generated leads plus the tricky rows, as CSV bytes and as the fields the server stores."""
    generated = leads_csv(GENERATED, tag=tag).decode("utf-8")
    rows = list(csv.reader(io.StringIO(generated)))
    rows += [row + ["integration"] for row in TRICKY]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    header, *body = rows
    stored = [dict(zip(("name", "role", "company", "industry", "location", "linkedin_bio", "email"), row[:7],
                       strict=True)) for row in body]
    return out.getvalue().encode("utf-8"), stored


def _folded(text: str) -> str:
    """What UPPER does in the suite's database (initdb --no-locale: the C locale folds ASCII only)."""
    return "".join(ch.upper() if ch.isascii() else ch for ch in text)


def _expected(stored: list[dict[str, str]], term: str) -> set[str]:
    wanted = _folded(term)
    return {row["email"] for row in stored if any(wanted in _folded(row[field]) for field in FIELDS)}


def _all_pages(tenant: Tenant, path: str, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    reply = tenant.api.get(path, page_size=37, **params)
    assert reply.status == 200, reply
    body = reply.json()
    count, items = body["count"], list(body["results"])
    while body["next"]:
        reply = tenant.api.get(body["next"])
        assert reply.status == 200, reply
        body = reply.json()
        assert body["count"] == count
        items += body["results"]
    return count, items


@pytest.fixture(scope="module")
def searchable(make_tenant) -> tuple[Tenant, dict[str, Any], list[dict[str, str]], Tenant]:
    mine, theirs = make_tenant("search-a"), make_tenant("search-b")
    data, stored = _csv("searcha")
    offers = []
    for tenant in (mine, theirs):  # the same people in another workspace
        offers.append(create_offer(tenant.api))
        job = tenant.api.job_of(tenant.api.upload("/api/leads/upload/", "search.csv", data), accepted=(201, 202))
        assert job["status"] == "succeeded" and job["created"] == len(stored), job
        assert score(tenant.api, offer=offers[-1]["id"])["status"] == "succeeded"
    return mine, offers[0], stored, theirs


def test_pg_trgm_index_serves_the_icontains_query(pg, searchable) -> None:
    """The migration created the extension and the index, and the planner can answer Django's own
    `UPPER("column"::text) LIKE UPPER(%s)` from it (sequential scans off: the table is small)."""
    with pg.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == (1,)
        where = " OR ".join(f'UPPER("{field}"::text) LIKE UPPER(%s)' for field in FIELDS)
        with pg.transaction():
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f'EXPLAIN SELECT id FROM {table("Lead")} WHERE {where}', ["%quux%"] * len(FIELDS))
            plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "lead_search_trgm" in plan, plan


@pytest.mark.parametrize("term", QUERIES)
def test_results_search_finds_exactly_the_matches_best_first(searchable, term: str) -> None:
    mine, offer, stored, _ = searchable
    count, items = _all_pages(mine, "/api/leads/results/", offer=offer["id"], search=term)
    expected = _expected(stored, term)
    assert count == len(expected)
    assert sorted(item["email"] for item in items) == sorted(expected)
    keys = [(-item["score"], item["id"]) for item in items]
    assert keys == sorted(keys)


@pytest.mark.parametrize("term", QUERIES)
def test_lead_list_search_finds_exactly_the_matches(searchable, term: str) -> None:
    mine, _, stored, _ = searchable
    count, items = _all_pages(mine, "/api/leads/", search=f'"{term}"' if " " in term or "," in term else term)
    assert count == len(_expected(stored, term))
    assert {item["email"] for item in items} == _expected(stored, term)


def test_search_never_returns_another_workspaces_leads(searchable) -> None:
    mine, offer, stored, theirs = searchable
    mine_ids = {item["id"] for item in _all_pages(mine, "/api/leads/", search="quux")[1]}
    their_ids = {item["id"] for item in _all_pages(theirs, "/api/leads/", search="quux")[1]}
    assert len(mine_ids) == len(their_ids) == len(_expected(stored, "quux")) and not mine_ids & their_ids
    _, results = _all_pages(theirs, "/api/leads/results/", search="quux")
    assert {item["id"] for item in results} == their_ids
    reply = theirs.api.get("/api/leads/results/", offer=offer["id"], search="quux")
    assert reply.status == 404, reply  # my offer is not theirs
