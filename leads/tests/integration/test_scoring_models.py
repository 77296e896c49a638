"""Scoring models end to end on PostgreSQL with a real worker: a template copy scores uploaded
columns, a rule change makes exactly the affected scores stale, and history, stages and the
distribution come out of the same ledger, whose outbox the dispatcher drains."""

from __future__ import annotations

import csv
import io
import time

import pytest

from leads.tests.integration.conftest import Tenant, create_offer, score, table

pytestmark = pytest.mark.integration

LEADS = 600
TIERS = [("60.000 €", "600", "Software", "Sofort"), ("20k", "150", "Retail", "diese Woche"),
         ("5000", "12", "", "later")]
# Four-factor points of each tier (bench-free arithmetic from the template): 30+30+20+20, 20+20+5+15, 10+10+0+5.
EXPECTED = [100, 60, 25]


def _csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Name", "Job Title", "Company", "Industry", "Email", "Budget", "Company Size", "Urgency"])
    for i in range(LEADS):
        budget, size, industry, urgency = TIERS[i % 3]
        writer.writerow([f"Person {i}", "Buyer", f"Firm {i}", industry, f"p{i}@models.example.com", budget, size,
                         urgency])
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def scored(make_tenant) -> tuple[Tenant, dict, dict, dict]:
    tenant = make_tenant("models")
    api = tenant.api
    offer = create_offer(api, name="Four factors")
    model = api.post("/api/scoring-models/", {"name": "Four", "template": "budget_size_industry_urgency"})
    assert model.status == 201, model
    reply = api.request("PATCH", f"/api/offer/{offer['id']}/", json_body={"scoring_model": model.json()["id"]})
    assert reply.status == 200, reply
    upload = api.job_of(api.upload("/api/leads/upload/", "models.csv", _csv()), accepted=(201, 202))
    assert (upload["status"], upload["created"]) == ("succeeded", LEADS), upload
    job = score(api, offer=offer["id"])
    assert (job["status"], job["total"], job["failed"]) == ("succeeded", LEADS, 0), job
    return tenant, offer, model.json(), job


def test_template_scores_the_uploaded_columns(scored) -> None:
    tenant, offer, model, _ = scored
    results = tenant.api.get("/api/leads/results/", offer=offer["id"], page_size=1000).json()["results"]
    by_name = {item["name"]: item for item in results}
    for i, expected in enumerate(EXPECTED):
        item = by_name[f"Person {i}"]
        assert (item["score"], item["ai_score"], item["model_version"]) == (expected, 0, model["version"]), item
        assert item["scoring_model"] == model["id"]
    assert by_name["Person 0"]["qualification_stage"] == "sql" and by_name["Person 1"]["qualification_stage"] == "mql"
    assert by_name["Person 2"]["qualification_stage"] == ""


def test_distribution_and_outbox_come_from_the_ledger(scored, pg) -> None:
    tenant, offer, _, _ = scored
    body = tenant.api.get("/api/lead-scores/distribution/", offer=offer["id"]).json()
    third = LEADS // 3
    assert body["total"] == LEADS
    assert [b["count"] for b in body["buckets"]] == [0, third, 0, third, third]
    assert body["stages"] == {"sql": third, "mql": third, "none": third}
    assert body["average"] == round(sum(EXPECTED) / 3, 2)
    # The outbox held one transition per first score; the dispatcher consumes it (no workflow fires).
    deadline = time.monotonic() + 60
    while True:
        with pg.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table('ScoreTransition')} WHERE offer_id = %s", [offer["id"]])
            (left,) = cursor.fetchone()
        if left == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert left == 0


def test_a_rule_change_makes_exactly_the_affected_scores_stale(scored) -> None:
    tenant, offer, model, _ = scored
    api = tenant.api
    rule = api.post("/api/scoring-rules/", {"model": model["id"], "name": "Retail penalty", "rule_type": "industry",
                                            "field_name": "industry", "operator": "equals", "value": "retail",
                                            "points": -20})
    assert rule.status == 201, rule
    first = api.get("/api/leads/results/", offer=offer["id"], page_size=1).json()["results"][0]
    assert first["stale"] is True
    job = score(api, offer=offer["id"])
    assert (job["status"], job["total"]) == ("succeeded", LEADS), job
    retail = api.get("/api/leads/results/", offer=offer["id"], search="Person 1", page_size=1000).json()["results"]
    person1 = next(item for item in retail if item["name"] == "Person 1")
    assert (person1["score"], person1["previous_score"], person1["score_change"]) == (40, 60, -20), person1
    history = api.get("/api/lead-scores/history/", lead_id=person1["id"]).json()["results"]
    assert [h["cause"] for h in history] == ["model_change", "upload"]
    assert [h["model_version"] for h in history] == [model["version"] + 1, model["version"]]
    # An edited lead is the only one the next run picks up.
    reply = api.request("PATCH", f"/api/leads/{person1['id']}/", json_body={"industry": "Software"})
    assert reply.status == 200, reply
    job = score(api, offer=offer["id"])
    assert (job["status"], job["total"]) == ("succeeded", 1), job
