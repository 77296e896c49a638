"""Workflows end to end: score-threshold webhooks delivered by the real worker, signed, once per crossing.

A webhook receiver runs in this test process on 127.0.0.1 (the suite's server runs with
WEBHOOK_ALLOW_PRIVATE=1 so it may post there). It verifies the Standard Webhooks signature of every
request with the workflow's `signing_secret` (answering 401 to one that doesn't verify, which fails
the execution and so the test) and records each request's `webhook-id` and lead.

- Each lead whose first score reaches the threshold is delivered exactly once; rescoring unchanged
  leads delivers nothing.
- A worker SIGKILLed while deliveries are in flight (the receiver holds them a few seconds): after a
  restart every execution still succeeds, none is created twice, and a delivery repeated because its
  worker died carries the same `webhook-id` (receivers drop repeats by it).
- A receiver that always answers 500: the execution is retried with backoff, the same `webhook-id`
  each time. The full WORKFLOW_MAX_ATTEMPTS (6, backoff base 10 s: minutes) is too slow for the suite,
  so the last attempt is reached through the API: a failed execution retried by hand gets exactly one
  more attempt, the last one, and ends failed with the receiver's error.
- A receiver that answers every request after 4 s, no worker dying: each execution is still
  delivered once (a batch renews the lease of what waits, so the sweep never takes it over).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from leads.tests.integration.conftest import Api, Workers, create_offer, import_leads, score, table

pytestmark = pytest.mark.integration

THRESHOLD = 70
KILL_THRESHOLD = 50  # more crossings (~a third of the generated leads), so the kill lands mid-delivery
DELIVERY_TIMEOUT = 90.0  # seconds for every crossing to be delivered
SWEEP_SECONDS = 2.0  # AUTOMATION_SWEEP_SECONDS in .ci/integration.sh
LEASE_SECONDS = 8.0  # AUTOMATION_LEASE_SECONDS there
HOLD_SECONDS = 4.0  # a held request is answered after this long at most (below the lease and the 10 s timeout)
BACKOFF_BASE_SECONDS = 10.0  # leads.services.automations.BACKOFF_BASE_SECONDS
TIMESTAMP_TOLERANCE = 300


# --- the receiver -------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # the listen backlog (socketserver's default is 5)


@dataclass
class Received:
    webhook_id: str
    lead_id: int | None
    workflow_id: int | None
    verified: bool
    at: float  # time.monotonic() on arrival
    answered: bool = False


@dataclass
class Receiver:
    """A threaded HTTP server on 127.0.0.1 that verifies and records webhook requests.

    `status` is the answer; while `holding` is set, each request is held up to HOLD_SECONDS first.
    """

    secret: str | None = None
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    in_flight: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    holding: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verify(self, headers: Any, body: bytes) -> str:
        """'' when the Standard Webhooks signature verifies, else what is wrong."""
        if self.secret is None:
            return "no secret yet"
        msg_id, stamp, signatures = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                     headers.get("webhook-signature"))
        if not (msg_id and stamp and signatures):
            return f"missing headers: id={msg_id!r} timestamp={stamp!r} signature={signatures!r}"
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > TIMESTAMP_TOLERANCE:
            return f"timestamp {stamp!r} is not now"
        key = base64.b64decode(self.secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest())
        if not any(hmac.compare_digest(f"v1,{expected.decode()}", sig) for sig in signatures.split()):
            return f"signature {signatures!r} does not verify"
        return ""

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        problem = self.verify(request.headers, body)
        try:
            payload = json.loads(body)
        except ValueError:
            payload = {}
            problem = problem or f"body is not JSON: {body[:200]!r}"
        if request.headers.get("Content-Type") != "application/json":
            problem = problem or f"Content-Type {request.headers.get('Content-Type')!r}"
        webhook_id = request.headers.get("webhook-id") or ""
        record = Received(webhook_id=webhook_id, lead_id=(payload.get("lead") or {}).get("id"),
                          workflow_id=(payload.get("workflow") or {}).get("id"), verified=not problem,
                          at=time.monotonic())
        with self.lock:
            self.requests.append(record)
            if problem:
                self.problems.append(f"{webhook_id}: {problem}")
            self.in_flight.add(webhook_id)
        try:
            if self.holding.is_set():
                self.released.wait(HOLD_SECONDS)
            status = 401 if problem else self.status
            answer = json.dumps({"ok": status == 200}).encode()
            request.send_response(status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(answer)))
            request.end_headers()
            request.wfile.write(answer)
            record.answered = True
        except OSError:
            pass  # the sender died while we held its request (the kill test does that)
        finally:
            with self.lock:
                self.in_flight.discard(webhook_id)

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


# --- helpers ------------------------------------------------------------------------------------
def create_webhook_workflow(api: Api, url: str, *, offer_id: int | None, threshold: int) -> dict[str, Any]:
    reply = api.post("/api/workflows/", {
        "name": f"Webhook at {threshold}", "trigger_type": "score_threshold", "trigger_config": {"score": threshold},
        "offer": offer_id, "action_type": "webhook", "action_config": {"url": url}})
    assert reply.status == 201, reply
    workflow = reply.json()
    assert workflow["signing_secret"].startswith("whsec_"), workflow
    assert workflow["has_signing_secret"] is True
    return workflow


def crossing_lead_ids(api: Api, offer_id: int, threshold: int) -> set[int]:
    """The leads whose current score for the offer is at or above the threshold (results API)."""
    ids: set[int] = set()
    page = 1
    while True:
        reply = api.get("/api/leads/results/", offer=offer_id, min_score=threshold, page_size=1000, page=page)
        assert reply.status == 200, reply
        body = reply.json()
        ids |= {item["id"] for item in body["results"]}
        assert all(item["score"] >= threshold for item in body["results"])
        if not body.get("next"):
            assert len(ids) == body["count"], body["count"]
            return ids
        page += 1


def executions(api: Api, workflow_id: int) -> list[dict[str, Any]]:
    reply = api.get("/api/workflow-executions/", workflow=workflow_id, page_size=1000)
    assert reply.status == 200, reply
    body = reply.json()
    assert body["count"] <= 1000, "more executions than one page holds"
    return body["results"]


def wait_until_delivered(api: Api, receiver: Receiver, workflow_id: int, expected: int,
                         *, timeout: float = DELIVERY_TIMEOUT) -> list[dict[str, Any]]:
    """Poll until the workflow has `expected` executions, all finished, and the receiver has seen as
    many distinct webhook-ids; fail with the state seen after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        runs = executions(api, workflow_id)
        statuses = Counter(run["status"] for run in runs)
        seen = {r.webhook_id for r in receiver.snapshot()}
        if len(runs) == expected and statuses["pending"] + statuses["running"] == 0 and len(seen) >= expected:
            return runs
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout:.0f} s: {len(runs)} of {expected} executions {dict(statuses)}, "
                        f"{len(seen)} distinct webhook-ids received")
        time.sleep(0.5)


def wait_outbox_drained(pg: Any, offer_id: int, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        (left,) = pg.execute(f"SELECT count(*) FROM {table('ScoreTransition')} WHERE offer_id = %s",
                             [offer_id]).fetchone()
        if left == 0:
            return
        assert time.monotonic() < deadline, f"{left} transitions still in the outbox after {timeout:.0f} s"
        time.sleep(0.25)


def execution_rows(pg: Any, workflow_id: int) -> tuple[int, int, int]:
    """(executions, distinct leads, distinct message ids) in PostgreSQL for the workflow."""
    return pg.execute(f"SELECT count(*), count(DISTINCT lead_id), count(DISTINCT message_id) "
                      f"FROM {table('WorkflowExecution')} WHERE workflow_id = %s", [workflow_id]).fetchone()


def assert_each_crossing_delivered(receiver: Receiver, runs: list[dict[str, Any]], crossing: set[int],
                                   workflow_id: int) -> Counter[str]:
    """Every execution succeeded, one per crossing lead, each id received (repeats only with the same
    id and lead), every signature verified. Returns the count of requests per webhook-id."""
    requests = receiver.snapshot()
    assert receiver.problems == [], receiver.problems[:5]
    assert all(r.verified for r in requests)
    assert {run["status"] for run in runs} == {"succeeded"}, Counter(run["status"] for run in runs)
    assert sorted(run["lead"] for run in runs) == sorted(crossing), "one execution per crossing lead"
    by_id: dict[str, set[int | None]] = {}
    for r in requests:
        assert r.workflow_id == workflow_id, r
        by_id.setdefault(r.webhook_id, set()).add(r.lead_id)
    assert all(len(leads) == 1 for leads in by_id.values()), "a webhook-id was reused for another lead"
    assert {next(iter(leads)) for leads in by_id.values()} == crossing
    assert len(by_id) == len(crossing), "distinct webhook-ids == crossing leads"
    assert {str(run["message_id"]) for run in runs} == set(by_id), "webhook-id is the execution's message_id"
    for run in runs:
        assert run["response"].startswith("200"), run
        assert run["error"] == "" and run["finished_at"] and run["next_attempt_at"] is None, run
    return Counter(r.webhook_id for r in requests)


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# --- tests --------------------------------------------------------------------------------------
def test_threshold_webhook_delivers_each_crossing_once(make_tenant, receiver: Receiver, pg) -> None:
    """300 leads scored once: exactly the leads at or above 70 are delivered, once each, signed;
    rescoring the unchanged leads delivers nothing more."""
    api = make_tenant("hook").api
    offer = create_offer(api, name="Webhook threshold")
    workflow = create_webhook_workflow(api, receiver.url, offer_id=offer["id"], threshold=THRESHOLD)
    receiver.secret = workflow["signing_secret"]
    # The secret is shown once: reading the workflow back says only that it has one.
    again = api.get(f"/api/workflows/{workflow['id']}/").json()
    assert "signing_secret" not in again and again["has_signing_secret"] is True, again

    import_leads(api, 300, tag="hook")
    job = score(api, offer=offer["id"])
    assert (job["status"], job["processed"], job["failed"]) == ("succeeded", 300, 0), job
    crossing = crossing_lead_ids(api, offer["id"], THRESHOLD)
    assert 10 <= len(crossing) <= 290, f"{len(crossing)} of 300 leads cross {THRESHOLD}: pick another threshold"
    print(f"\n{len(crossing)} of 300 leads cross {THRESHOLD}")

    runs = wait_until_delivered(api, receiver, workflow["id"], len(crossing))
    per_id = assert_each_crossing_delivered(receiver, runs, crossing, workflow["id"])
    assert set(per_id.values()) == {1}, f"delivered twice: {[i for i, n in per_id.items() if n > 1][:5]}"
    assert {run["attempts"] for run in runs} == {1}
    assert execution_rows(pg, workflow["id"]) == (len(crossing),) * 3
    payload = runs[0]["payload"]
    assert payload["type"] == "score_threshold" and payload["offer"]["id"] == offer["id"], payload
    assert payload["score"] >= THRESHOLD and payload["previous_score"] is None, payload
    stats = api.get("/api/workflows/statistics/").json()
    assert (stats["executions"], stats["succeeded"], stats["failed"], stats["pending"]) == \
        (len(crossing), len(crossing), 0, 0), stats

    # Rescore: every lead scores what it scored, so nothing crosses and nothing is sent.
    delivered = len(receiver.snapshot())
    job = score(api, offer=offer["id"], rescore=True)
    assert (job["status"], job["processed"], job["failed"]) == ("succeeded", 300, 0), job
    wait_outbox_drained(pg, offer["id"])
    time.sleep(SWEEP_SECONDS * 2 + 1)  # a sweep or two: anything queued would have gone out by now
    assert crossing_lead_ids(api, offer["id"], THRESHOLD) == crossing
    assert len(receiver.snapshot()) == delivered, "rescoring unchanged leads delivered again"
    assert len(executions(api, workflow["id"])) == len(crossing)
    assert execution_rows(pg, workflow["id"]) == (len(crossing),) * 3


def test_worker_killed_mid_delivery_loses_nothing_and_repeats_only_with_the_same_id(
        make_tenant, receiver: Receiver, workers: Workers, pg) -> None:
    """SIGKILL the worker while the receiver holds deliveries; after a restart every crossing is
    delivered, no execution is lost or created twice, and repeats carry the same webhook-id."""
    api = make_tenant("hookkill").api
    offer = create_offer(api, name="Webhook kill drill")
    workflow = create_webhook_workflow(api, receiver.url, offer_id=offer["id"], threshold=KILL_THRESHOLD)
    receiver.secret = workflow["signing_secret"]
    import_leads(api, 150, tag="hookkill")

    receiver.holding.set()
    killed_in_flight: set[str] = set()
    try:
        job = score(api, offer=offer["id"])
        assert job["status"] == "succeeded", job
        crossing = crossing_lead_ids(api, offer["id"], KILL_THRESHOLD)
        assert len(crossing) >= 10, f"only {len(crossing)} leads cross {KILL_THRESHOLD}"
        deadline = time.monotonic() + 30
        while not receiver.in_flight:
            assert time.monotonic() < deadline, "no delivery reached the receiver within 30 s"
            time.sleep(0.05)
        workers.kill()
        with receiver.lock:
            killed_in_flight = set(receiver.in_flight)
        assert killed_in_flight, "the held deliveries were answered before the kill"
        at_kill = Counter(run["status"] for run in executions(api, workflow["id"]))
        reached = {r.webhook_id for r in receiver.snapshot()}
        assert at_kill["succeeded"] == 0 and len(reached) < len(crossing), \
            f"not in the middle of delivery at the kill: {at_kill}, {len(reached)} of {len(crossing)} sent"
        time.sleep(1.0)
        restarted_log = workers.start()
    finally:
        if not workers.alive():
            workers.start()  # the Procfile worker again, for the tests that follow
        receiver.released.set()  # answer the rest at once
        receiver.holding.clear()

    runs = wait_until_delivered(api, receiver, workflow["id"], len(crossing))
    per_id = assert_each_crossing_delivered(receiver, runs, crossing, workflow["id"])
    assert execution_rows(pg, workflow["id"]) == (len(crossing),) * 3, "an execution was created twice"
    by_message = {str(run["message_id"]): run for run in runs}
    for webhook_id in killed_in_flight:
        # Its worker died holding it: taken over once the lease ran out, sent again with the same id.
        assert per_id[webhook_id] >= 2, f"{webhook_id} in flight at the kill was not sent again"
        assert by_message[webhook_id]["attempts"] >= 2, by_message[webhook_id]
    assert "Traceback" not in restarted_log.read_text(errors="replace"), f"errors in {restarted_log}"
    repeats = {i: n for i, n in per_id.items() if n > 1}
    print(f"\n{len(crossing)} crossings; {len(killed_in_flight)} in flight at the kill ({dict(at_kill)}, "
          f"{len(reached)} sent); "
          f"{sum(per_id.values())} requests, repeated ids: {len(repeats)} (max {max(per_id.values())} each)")


def test_receiver_answering_500_is_retried_with_backoff_and_the_same_id(make_tenant, receiver: Receiver) -> None:
    """Every request answered 500: the execution stays pending with a next attempt, is tried again
    after the backoff (base 10 s, full jitter: 5–10 s after the first), always with the same id."""
    api = make_tenant("hook500").api
    offer = create_offer(api, name="Webhook 500")
    workflow = create_webhook_workflow(api, receiver.url, offer_id=offer["id"], threshold=0)  # every lead crosses
    receiver.secret = workflow["signing_secret"]
    receiver.status = 500
    import_leads(api, 3, tag="hook500")
    started = time.monotonic()
    try:
        job = score(api, offer=offer["id"])
        assert job["status"] == "succeeded", job
        deadline = time.monotonic() + 60
        while True:
            runs = executions(api, workflow["id"])
            if len(runs) == 3 and all(run["attempts"] >= 2 and run["status"] == "pending" for run in runs):
                break
            assert time.monotonic() < deadline, \
                f"not retried within 60 s: {[(r['status'], r['attempts']) for r in runs]}"
            time.sleep(0.25)
        print(f"\n3 executions at attempt 2 after {time.monotonic() - started:.1f} s")
    finally:
        # Four more attempts would follow over ~5 minutes, each a message held in Redis until its
        # time: the broker outage test needs an idle queue. Deleting the workflow deletes its
        # executions, so the next attempt (10-20 s from now) finds nothing and queues nothing more.
        reply = api.request("DELETE", f"/api/workflows/{workflow['id']}/")
        assert reply.status == 204, reply

    assert receiver.problems == [], receiver.problems
    for run in runs:
        assert run["error"] == "HTTP 500 from the receiver" and run["response"].startswith("500"), run
        assert run["next_attempt_at"] is not None and run["finished_at"] is None, run
        # The wait after attempt 2: full jitter over 10 × 2^1 s, i.e. 10–20 s (plus the update's own time).
        wait = (_when(run["next_attempt_at"]) - _when(run["updated_at"])).total_seconds()
        assert BACKOFF_BASE_SECONDS - 0.5 <= wait <= BACKOFF_BASE_SECONDS * 2 + 0.5, (wait, run)
        arrivals = [r.at for r in receiver.snapshot() if r.webhook_id == str(run["message_id"])]
        assert len(arrivals) == run["attempts"], (len(arrivals), run)
        gap = arrivals[1] - arrivals[0]
        # 5–10 s of backoff, and then the retry message (or the sweep, every 2 s) has to be picked up.
        assert BACKOFF_BASE_SECONDS / 2 - 0.5 <= gap <= BACKOFF_BASE_SECONDS + SWEEP_SECONDS + 5, gap
    assert {r.webhook_id for r in receiver.snapshot()} == {str(run["message_id"]) for run in runs}


def test_last_attempt_fails_the_execution_with_the_receivers_error(make_tenant, receiver: Receiver) -> None:
    """A 4xx that is not worth retrying fails the execution at once; retried by hand it gets the last
    of WORKFLOW_MAX_ATTEMPTS, and a 500 then fails it for good with that error (same webhook-id)."""
    from django.conf import settings

    api = make_tenant("hooklast").api
    offer = create_offer(api, name="Webhook last attempt")
    workflow = create_webhook_workflow(api, receiver.url, offer_id=offer["id"], threshold=0)
    receiver.secret = workflow["signing_secret"]
    receiver.status = 410
    import_leads(api, 1, tag="hooklast")
    score(api, offer=offer["id"])

    def finished(timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            runs = executions(api, workflow["id"])
            if runs and runs[0]["status"] in ("succeeded", "failed"):
                assert len(runs) == 1, runs
                return runs[0]
            assert time.monotonic() < deadline, f"not finished within {timeout:.0f} s: {runs}"
            time.sleep(0.25)

    run = finished()
    assert (run["status"], run["attempts"], run["error"]) == ("failed", 1, "HTTP 410 from the receiver"), run
    assert run["next_attempt_at"] is None and run["finished_at"], run

    receiver.status = 500
    reply = api.post(f"/api/workflow-executions/{run['id']}/retry/")
    assert reply.status == 200, reply
    assert reply.json()["attempts"] == settings.WORKFLOW_MAX_ATTEMPTS - 1, reply
    run = finished()
    assert (run["status"], run["attempts"], run["error"]) == \
        ("failed", settings.WORKFLOW_MAX_ATTEMPTS, "HTTP 500 from the receiver"), run
    assert run["response"].startswith("500") and run["next_attempt_at"] is None, run
    ids = [r.webhook_id for r in receiver.snapshot()]
    assert ids == [str(run["message_id"])] * 2, ids
    assert receiver.problems == [], receiver.problems


def test_slow_receiver_gets_each_delivery_once(make_tenant, receiver: Receiver) -> None:
    """Every request answered after HOLD_SECONDS (4 s, under the 10 s timeout and the 8 s lease) and no
    worker dies: each execution is still delivered once."""
    api = make_tenant("hookslow").api
    offer = create_offer(api, name="Webhook slow receiver")
    workflow = create_webhook_workflow(api, receiver.url, offer_id=offer["id"], threshold=KILL_THRESHOLD)
    receiver.secret = workflow["signing_secret"]
    import_leads(api, 150, tag="hookkill")  # the kill drill's leads: 29 cross, 4 rounds of 8 at 4 s
    receiver.holding.set()
    job = score(api, offer=offer["id"])
    assert job["status"] == "succeeded", job
    crossing = crossing_lead_ids(api, offer["id"], KILL_THRESHOLD)
    assert len(crossing) > 16, "fewer than three rounds of requests: the lease would not run out"
    runs = wait_until_delivered(api, receiver, workflow["id"], len(crossing), timeout=120)
    per_id = assert_each_crossing_delivered(receiver, runs, crossing, workflow["id"])
    repeats = {i: n for i, n in per_id.items() if n > 1}
    print(f"\nslow receiver: {len(crossing)} crossings, {sum(per_id.values())} requests, {len(repeats)} repeated ids, "
          f"attempts {Counter(run['attempts'] for run in runs)}")
    assert repeats == {}, f"{len(repeats)} of {len(crossing)} executions delivered more than once"
