"""On PostgreSQL, through the live server: a re-upload without the email column updates the leads
that have one, POST /api/leads/ finds an uploaded twin, and the XLSX export opens."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from leads.tests.integration.conftest import create_offer, score

pytestmark = pytest.mark.integration


def _upload(api, name: str, content: bytes) -> dict:
    job = api.job_of(api.upload("/api/leads/upload/", name, content), accepted=(201, 202))
    assert job["status"] == "succeeded", job
    return job


def test_matching_across_the_email_column_and_one_lead_at_a_time(make_tenant) -> None:
    tenant = make_tenant("firsthour")
    api = tenant.api
    rows = "".join(f"P{i},Co{i % 7},p{i}@firsthour.example\n" for i in range(300))
    first = _upload(api, "with-email.csv", ("name,company,email\n" + rows).encode())
    assert first["created"] == 300
    again = _upload(api, "without-email.csv", ("name,company,role\n" + "".join(
        f"P{i},Co{i % 7},CTO\n" for i in range(300)) + "Jo,Acme,CEO\n").encode())
    assert (again["created"], again["updated"]) == (1, 300), again
    leads = api.get("/api/leads/", page_size=1000).json()
    assert leads["count"] == 301
    assert {lead["role"] for lead in leads["results"] if lead["email"]} == {"CTO"}

    twin = api.post("/api/leads/", {"name": "p7", "company": "co0"})
    assert twin.status == 409, twin
    p7 = api.get("/api/leads/", email="p7@firsthour.example").json()["results"][0]
    assert twin.json()["details"] == {"id": p7["id"]}
    created = api.post("/api/leads/", {"name": "New Person", "email": "new@firsthour.example"})
    assert created.status == 201, created

    offer = create_offer(api, name="First hour offer")
    score(api, offer=offer["id"])
    reply = api.request("GET", "/api/leads/export_csv/", params={"format": "xlsx", "offer": offer["id"]})
    assert reply.status == 200 and reply.headers["X-Offer"] == str(offer["id"])
    rows = list(load_workbook(io.BytesIO(reply.body))["Results"].iter_rows(values_only=True))
    assert len(rows) == 303
