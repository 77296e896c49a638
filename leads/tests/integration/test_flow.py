"""The whole user journey over HTTP: offer → upload 5,000 leads → score → results → export."""

from __future__ import annotations

import csv
import io

import pytest

from leads.tests.integration.conftest import Tenant, create_offer, import_leads, leads_csv, score, table

pytestmark = pytest.mark.integration

LEADS = 5000
RESULT_KEYS = {"id", "name", "role", "company", "industry", "location", "linkedin_bio", "intent", "score",
               "reasoning", "score_breakdown", "created_at"}
EXPORT_HEADER_START = ["id", "name", "role", "company", "industry", "location", "email", "linkedin_bio", "intent",
                       "score"]


@pytest.fixture(scope="module")
def scored(make_tenant) -> tuple[Tenant, dict, dict]:
    tenant = make_tenant("flow")
    offer = create_offer(tenant.api)
    import_leads(tenant.api, LEADS, tag="flow")
    job = score(tenant.api, offer=offer["id"])
    return tenant, offer, job


def test_offer_create_answers_an_absolute_location(make_tenant, live) -> None:
    """POST /api/offer/ → 201 with an absolute Location that reads the offer back."""
    api = make_tenant("offer").api
    reply = api.post("/api/offer/", {"name": "Payroll", "value_props": ["fast"], "ideal_use_cases": ["Retail"]})
    assert reply.status == 201, reply
    location = reply.headers["Location"]
    assert location == f"{live.base_url}/api/offer/{reply.json()['id']}/"
    again = api.get(location)
    assert again.status == 200 and again.json()["name"] == "Payroll", again


def test_upload_stores_every_lead(scored, pg, live) -> None:
    """The 5,000 uploaded leads are all in the workspace, extra columns kept. The upload reached a
    worker with a disk of its own through PostgreSQL, and nothing of it is left anywhere."""
    tenant, _, _ = scored
    reply = tenant.api.get("/api/leads/", page_size=1)
    assert reply.status == 200, reply
    body = reply.json()
    assert body["count"] == LEADS
    assert body["results"][0]["attributes"] == {"Source": "integration"}
    storages = pg.execute(f"SELECT DISTINCT params->>'storage' FROM {table('Job')} WHERE kind = 'import'").fetchall()
    assert storages == [("database",)]
    assert pg.execute(f"SELECT count(*) FROM {table('UploadPart')}").fetchone()[0] == 0
    leftovers = [p for folder in ("data", "worker-data") for p in (live.state / folder / "media").rglob("*.csv*")]
    assert leftovers == []


def test_score_job_scores_every_lead(scored) -> None:
    """The scoring job ends succeeded with processed == total == 5,000 and no failures."""
    _, offer, job = scored
    assert job["status"] == "succeeded", job
    assert job["kind"] == "score" and job["offer"] == offer["id"]
    assert (job["total"], job["processed"], job["failed"], job["progress"]) == (LEADS, LEADS, 0, 1.0), job
    assert job["finished_at"] and job["started_at"]


def test_score_again_without_rescore_has_nothing_to_do(scored) -> None:
    """A second run for the same offer finds every lead scored and finishes at once."""
    tenant, offer, _ = scored
    reply = tenant.api.post("/api/leads/score/", {"offer": offer["id"]})
    assert reply.status == 200, reply
    body = reply.json()
    assert body["total_scored"] == 0 and body["job"]["total"] == 0, body
    assert body["scoring_method"]


def test_results_are_paginated_best_first(scored) -> None:
    """Results page through all 5,000 leads in score order without repeats at page boundaries."""
    tenant, offer, _ = scored
    first = tenant.api.get("/api/leads/results/", offer=offer["id"], page_size=1000)
    assert first.status == 200, first
    body = first.json()
    assert body["count"] == LEADS and body["previous"] is None and body["next"], body["count"]
    assert set(body["results"][0]) >= RESULT_KEYS
    assert body["next"].startswith("http://127.0.0.1:"), body["next"]
    second = tenant.api.get(body["next"])
    assert second.status == 200, second
    items = body["results"] + second.json()["results"]
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert len({item["id"] for item in items}) == len(items) == 2000
    top = items[0]
    assert 0 <= top["score"] <= 100 and top["intent"] in {"High", "Medium", "Low"}
    assert top["reasoning"].startswith("[Rule:"), top["reasoning"]
    assert top["score_breakdown"]["rule_score"] + top["score_breakdown"]["ai_score"] == top["score"]
    # Without `offer`, the workspace's latest (only) offer is used.
    assert tenant.api.get("/api/leads/results/", page_size=1).json()["count"] == LEADS


def test_results_filters(scored) -> None:
    """intent, min_score/max_score and search narrow the results; the intents add up to the whole."""
    tenant, offer, _ = scored
    counts = {}
    for intent in ("High", "Medium", "Low"):
        reply = tenant.api.get("/api/leads/results/", offer=offer["id"], intent=intent, page_size=100)
        assert reply.status == 200, reply
        body = reply.json()
        assert all(item["intent"] == intent for item in body["results"])
        counts[intent] = body["count"]
    assert sum(counts.values()) == LEADS, counts
    assert counts["High"] > 0 and counts["Low"] > 0, counts

    ranged = tenant.api.get("/api/leads/results/", offer=offer["id"], min_score=40, max_score=69, page_size=1000)
    assert ranged.status == 200, ranged
    assert ranged.json()["count"] == counts["Medium"]
    assert all(40 <= item["score"] <= 69 for item in ranged.json()["results"])

    searched = tenant.api.get("/api/leads/results/", offer=offer["id"], search="lead42@")
    assert searched.status == 200, searched
    assert [item["email"] for item in searched.json()["results"]] == ["lead42@flow-6.example.com"]

    bad = tenant.api.get("/api/leads/results/", offer=offer["id"], min_score="lots")
    assert bad.status == 400 and bad.json()["code"] == "invalid", bad


def test_export_csv_has_every_scored_lead(scored) -> None:
    """The streamed CSV has the header and one row per scored lead, best first, extra columns last."""
    tenant, offer, job = scored
    reply = tenant.api.request("GET", "/api/leads/export_csv/", params={"offer": offer["id"]},
                               headers={"Accept": "*/*"})  # what curl and browsers send
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in reply.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(reply.body.decode("utf-8-sig"))))
    header, data = rows[0], rows[1:]
    assert header[:len(EXPORT_HEADER_START)] == EXPORT_HEADER_START, header
    assert header[-1] == "Source", header  # the upload's extra column, found by PostgreSQL's jsonb keys
    assert len(data) == job["processed"] - job["failed"] == LEADS
    assert {row[-1] for row in data} == {"integration"}
    assert len({row[0] for row in data}) == LEADS
    score_column = header.index("score")
    scores = [int(row[score_column]) for row in data]
    assert scores == sorted(scores, reverse=True)

    high = tenant.api.request("GET", "/api/leads/export_csv/", params={"offer": offer["id"], "intent": "High"},
                              headers={"Accept": "*/*"})
    high_count = tenant.api.get("/api/leads/results/", offer=offer["id"], intent="High").json()["count"]
    assert len(list(csv.reader(io.StringIO(high.body.decode("utf-8-sig"))))) - 1 == high_count


def test_export_csv_accepts_text_csv(scored) -> None:
    """A client asking for exactly what the endpoint produces gets it."""
    tenant, offer, _ = scored
    reply = tenant.api.request("GET", "/api/leads/export_csv/", params={"offer": offer["id"], "intent": "High"},
                               headers={"Accept": "text/csv"})
    assert reply.status == 200, reply


def test_uploading_again_updates_in_place(scored) -> None:
    """The same 5,000 rows again change nothing; edited rows update their lead, a new one is created
    with its text intact. No twin: PostgreSQL's key lookup (a unique-index probe per key) finds every
    stored lead, and COPY stores what it is given."""
    tenant, _, _ = scored
    again = tenant.api.job_of(tenant.api.upload("/api/leads/upload/", "again.csv", leads_csv(LEADS, tag="flow")),
                              accepted=(201, 202))
    assert (again["status"], again["created"], again["updated"], again["skipped"], again["failed"]) == (
        "succeeded", 0, 0, LEADS, 0), again

    rows = list(csv.reader(io.StringIO(leads_csv(LEADS, tag="flow").decode())))
    header, body = rows[0], rows[1:]
    for row in body[:100]:
        row[header.index("Location")] = "Reykjavík"
    tricky = 'Tab\there, back\\slash \\N, "quoted", new\nline, ünïcødé'  # what COPY's text format escapes
    new_lead = list(body[0])
    new_lead[header.index("Email")] = "copy.escapes@flow.example.com"
    new_lead[header.index("Location")] = "Lagos"
    new_lead[header.index("LinkedIn Bio")] = tricky
    body.append(new_lead)
    out = io.StringIO()
    csv.writer(out).writerows([header, *body])
    edited = tenant.api.job_of(tenant.api.upload("/api/leads/upload/", "edited.csv", out.getvalue().encode()),
                               accepted=(201, 202))
    assert (edited["created"], edited["updated"], edited["skipped"], edited["failed"]) == (1, 100, LEADS - 100, 0)
    stored = tenant.api.get("/api/leads/", email="copy.escapes@flow.example.com").json()["results"]
    assert [lead["linkedin_bio"] for lead in stored] == [tricky]  # written by COPY, read back as sent
    assert tenant.api.get("/api/leads/", page_size=1).json()["count"] == LEADS + 1
    assert tenant.api.get("/api/leads/", location="Reykjavík", page_size=1).json()["count"] == 100
