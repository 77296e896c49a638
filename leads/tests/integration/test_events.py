"""Events on PostgreSQL: lists by id and email, duplicates across requests, the worker's fold into the
aggregates and stale marks, and the rescore of exactly the touched leads, over HTTP against the live
server."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from leads.tests.integration.conftest import create_offer, import_leads, score, table

pytestmark = pytest.mark.integration

LEADS = 300
FOLD_WAIT_SECONDS = 60


def wait_folded(pg, lead_id: int) -> None:
    """Until the worker folded every event of the lead's workspace (ENGAGEMENT_FOLD_DELAY_SECONDS after
    the ingest), or fail after FOLD_WAIT_SECONDS."""
    deadline = time.monotonic() + FOLD_WAIT_SECONDS
    while True:
        (folded,) = pg.execute(
            f"SELECT w.events_folded_through >= (SELECT MAX(e.id) FROM {table('Event')} e WHERE e.workspace_id = w.id) "
            f"FROM {table('Workspace')} w JOIN {table('Lead')} l ON l.workspace_id = w.id WHERE l.id = %s",
            [lead_id]).fetchone()
        if folded:
            return
        assert time.monotonic() < deadline, f"the events were not folded within {FOLD_WAIT_SECONDS} s"
        time.sleep(0.1)


def test_event_lists_dedupe_aggregate_and_rescore_the_touched_leads(make_tenant, pg) -> None:
    tenant = make_tenant("events")
    offer = create_offer(tenant.api)
    import_leads(tenant.api, LEADS, tag="events")
    assert score(tenant.api, offer=offer["id"])["status"] == "succeeded"
    listed = tenant.api.get("/api/leads/", page_size=LEADS, ordering="id").json()["results"]
    ids = [lead["id"] for lead in listed]
    emails = {lead["id"]: lead["email"] for lead in listed}
    now = datetime.now(UTC).replace(microsecond=0)

    def event(i: int, *, days: float = 1, by_email: bool = False) -> dict:
        lead = ids[i % 40]
        who = {"email": emails[lead].upper()} if by_email else {"lead": lead}
        return {**who, "type": ("email_open", "page_view")[i % 2], "source": "mailer", "external_id": f"e-{i}",
                "occurred_at": (now - timedelta(days=days)).isoformat()}

    first = tenant.api.post("/api/events/", [event(i, by_email=i % 3 == 0) for i in range(200)]
                            + [{"email": "nobody@example.com", "type": "email_open"}])
    assert first.status == 201, first
    assert {k: first.json()[k] for k in ("accepted", "duplicates", "rejected", "leads")} == {
        "accepted": 200, "duplicates": 0, "rejected": 1, "leads": 40}
    assert first.json()["errors"][0]["index"] == 200
    # Half again (by the other reference), half new and older: the older ones move first activity back.
    second = tenant.api.post("/api/events/", [event(i, by_email=i % 3 != 0) for i in range(100, 200)]
                             + [event(i, days=30) for i in range(200, 240)])
    assert second.status == 201, second
    assert (second.json()["accepted"], second.json()["duplicates"]) == (40, 100)

    lead = ids[0]  # events 0, 40, 80, …, 200: opens (even), one of them 30 days old
    wait_folded(pg, lead)
    counts, first_at, last_at = pg.execute(
        f"SELECT counts, first_activity, last_activity FROM {table('LeadEngagement')} WHERE lead_id = %s",
        [lead]).fetchone()
    assert counts == {"email_open": 6}
    assert (first_at, last_at) == (now - timedelta(days=30), now - timedelta(days=1))
    summary = tenant.api.get(f"/api/leads/{lead}/").json()["engagement_summary"]
    assert summary["email_opens"] == 6

    stale = pg.execute(f"SELECT lead_id FROM {table('Score')} WHERE offer_id = %s AND is_current "
                       f"AND stale_cause = 'events'", [offer["id"]]).fetchall()
    assert sorted(row[0] for row in stale) == sorted(ids[:40])
    refresh = tenant.api.post("/api/leads/refresh/", {})
    assert refresh.status == 202, refresh
    jobs = [tenant.api.wait_job(job) for job in refresh.json()["jobs"]]
    assert [(job["status"], job["total"]) for job in jobs] == [("succeeded", 40)]


def test_a_leads_timeline_and_its_delete_on_postgresql(make_tenant, pg) -> None:
    """The timeline (entries the worker's fold wrote, plus events after the mark) and a lead's delete,
    which takes its events along, folded or not, and leaves the other lead's."""
    tenant = make_tenant("timeline")
    import_leads(tenant.api, 2, tag="timeline")
    ann, bob = [lead["id"] for lead in tenant.api.get("/api/leads/", ordering="id").json()["results"]]
    now = datetime.now(UTC).replace(microsecond=0)

    def send(lead: int, *days: int) -> None:
        reply = tenant.api.post("/api/events/", [
            {"lead": lead, "type": "email_open", "occurred_at": (now - timedelta(days=d)).isoformat()} for d in days])
        assert reply.status == 201 and reply.json()["accepted"] == len(days), reply

    send(ann, 3, 1, 2)
    send(bob, 1)
    wait_folded(pg, ann)
    (entries,) = pg.execute(f"SELECT COUNT(*) FROM {table('TimelineEntry')} WHERE lead_id = %s", [ann]).fetchone()
    assert entries == 3
    send(ann, 0)  # on the timeline at once, folded or not yet
    days = [(now - datetime.fromisoformat(event["occurred_at"])).days
            for event in tenant.api.get(f"/api/leads/{ann}/events/").json()["results"]]
    assert days == [0, 1, 2, 3]

    assert tenant.api.request("DELETE", f"/api/leads/{ann}/").status == 204
    wait_folded(pg, bob)
    for model in ("Event", "TimelineEntry"):
        rows = pg.execute(f"SELECT lead_id, COUNT(*) FROM {table(model)} WHERE lead_id IN (%s, %s) GROUP BY lead_id",
                          [ann, bob]).fetchall()
        assert rows == [(bob, 1)], (model, rows)
