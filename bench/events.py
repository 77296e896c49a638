"""The events phase: engagement events through `POST /api/events/`, then the rescore they cause.

Events are written straight into request bodies as bytes (no dict per event, no json.dumps), and
every body into a file before the clock starts: at 10,000,000 events the client must not be what
is measured (while timed it reads a file and sends it). Each body holds EVENTS_PER_REQUEST
events (the API's most per request) for leads drawn at random, three in four named by id and one
in four by email (a CRM sync knows the id, a mail tool the address); types weighted as a B2B
funnel sends them; times over the last 90 days; 90 % carry an external_id, and 1 % of all events
are exact resends of an event sent shortly before (the duplicates the product must count once).
The same seed gives the same events on every machine.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.client import Api, BenchError
from bench.memory import TreeSampler

EVENTS_PATH = "/api/events/"
EVENTS_PER_REQUEST = 10_000
EVENTS_PER_LEAD = 10  # the default: 10,000,000 events for 1,000,000 leads
CLIENTS = 3  # concurrent client threads: both web workers busy, the next body on its way
DUPLICATE_SHARE = 0.01
WITHOUT_EXTERNAL_ID = 0.10
BY_EMAIL = 0.25
WINDOW_DAYS = 90
# How often each type arrives, roughly as a B2B funnel sends them.
EVENT_TYPES = {"email_open": 30, "page_view": 30, "email_click": 12, "email_reply": 3, "form_submit": 5,
               "content_download": 4, "webinar_attended": 2, "meeting": 2, "call": 3, "demo_request": 1,
               "pricing_page_view": 6, "email_unsubscribe": 1, "email_bounce": 1}
PROPERTIES = ['{"campaign":"q4-nurture"}', '{"url":"/pricing"}', '{"url":"/blog/pipeline-automation"}',
              '{"campaign":"webinar-followup","variant":"b"}']


def workspace_leads(db_path: Path) -> list[tuple[int, str]]:
    """(id, email) of every lead of the bench workspace, read-only from the server's SQLite file."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        return [(int(pk), email) for pk, email in conn.execute("SELECT id, email FROM leads_lead ORDER BY id")]
    finally:
        conn.close()


@dataclass
class EventBodies:
    """Request bodies of `total` events, built on demand under a lock (client threads share it).

    The random draws of a body come from numpy in one call each, and the events are joined from
    prepared pieces: ~2 µs an event, so 10,000,000 cost the client seconds, not minutes."""

    leads: list[tuple[int, str]]
    total: int
    seed: int
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    sent: int = 0
    resends: int = 0
    touched: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        import numpy as np

        self._rng = np.random.default_rng(self.seed)
        self._lock = threading.Lock()
        self._types = [name for name, weight in EVENT_TYPES.items() for _ in range(weight)]
        start = self.now - timedelta(days=WINDOW_DAYS)
        # A pool of times (one every few minutes on average) drawn by index: formatting a time per
        # event would cost the client more than the rest of the event.
        self._times = [(start + timedelta(seconds=int(s))).strftime("%Y-%m-%dT%H:%M:%SZ")
                       for s in self._rng.integers(0, WINDOW_DAYS * 86400, 50_000)]
        self._by_id = [f'{{"lead":{pk}' for pk, _ in self.leads]
        self._by_email: dict[int, str] = {}
        self._recent: list[tuple[str, int]] = []

    def _email_ref(self, index: int) -> str:
        ref = self._by_email.get(index)
        if ref is None:
            ref = self._by_email[index] = f'{{"email":{json.dumps(self.leads[index][1])}'
        return ref

    def next_body(self) -> tuple[bytes, int] | None:
        """The next body and its number of events, or None when all were handed out."""
        with self._lock:
            count = min(EVENTS_PER_REQUEST, self.total - self.sent)
            if count <= 0:
                return None
            rng, leads, types, times, recent = self._rng, self.leads, self._types, self._times, self._recent
            lead_at = rng.integers(0, len(leads), count).tolist()
            type_at = rng.integers(0, len(types), count).tolist()
            time_at = rng.integers(0, len(times), count).tolist()
            draws = rng.random((count, 5)).tolist()
            parts: list[str] = []
            for k in range(count):
                resend, by_email, with_properties, without_id, pick = draws[k]
                if recent and resend < DUPLICATE_SHARE:
                    event, lead_id = recent[int(pick * len(recent))]
                    self.resends += 1
                else:
                    index = lead_at[k]
                    lead_id = leads[index][0]
                    who = self._email_ref(index) if by_email < BY_EMAIL else self._by_id[index]
                    extra = f',"properties":{PROPERTIES[int(pick * len(PROPERTIES))]}' if with_properties < 0.2 else ""
                    external = "" if without_id < WITHOUT_EXTERNAL_ID else f',"external_id":"ev-{self.sent + k}"'
                    event = (f'{who},"type":"{types[type_at[k]]}","occurred_at":"{times[time_at[k]]}",'
                             f'"source":"bench"{external}{extra}}}')
                    if external:
                        if len(recent) < 20_000:
                            recent.append((event, lead_id))
                        else:
                            recent[int(pick * len(recent))] = (event, lead_id)
                self.touched.add(lead_id)
                parts.append(event)
            self.sent += count
            return ("[" + ",".join(parts) + "]").encode(), count


def _percentile(values: list[float], pct: float) -> float:
    from bench.phases import percentile

    return percentile(values, pct)


def write_bodies(bodies: EventBodies, directory: Path) -> list[tuple[Path, int]]:
    """Every body of `bodies` into a file of its own (before the clock starts): during the timed part
    the client only reads a file and sends it."""
    directory.mkdir(parents=True, exist_ok=True)
    files: list[tuple[Path, int]] = []
    while (body := bodies.next_body()) is not None:
        path = directory / f"events-{len(files):05d}.json"
        path.write_bytes(body[0])
        files.append((path, body[1]))
    return files


def measure_events(api: Api, sampler: TreeSampler, leads: list[tuple[int, str]], *, total: int, work_dir: Path,
                   clients: int = CLIENTS, seed: int = 0) -> dict[str, Any]:
    """Send `total` events in bodies of EVENTS_PER_REQUEST from `clients` threads; every request must
    answer 201, and in all every event must be accepted or counted as a duplicate (of the resends
    exactly), none rejected. The bodies are written to `work_dir` first, untimed."""
    built = time.perf_counter()
    bodies = EventBodies(leads, total, seed)
    files = write_bodies(bodies, work_dir)
    build_seconds = time.perf_counter() - built
    queue = iter(files)
    latencies: list[float] = []
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        while not failures:
            with lock:
                path, count = next(queue, (None, 0))
            if path is None:
                return
            try:
                response = api.post_json_bytes(EVENTS_PATH, path.read_bytes())
            except OSError as exc:
                failures.append(f"POST {EVENTS_PATH} failed: {exc!r}")
                return
            if response.status != 201:
                failures.append(f"POST {EVENTS_PATH} ({count:,} events) answered {response.status}: "
                                f"{response.body!r:.500}")
                return
            with lock:
                latencies.append(response.seconds)
                for key in totals:
                    totals[key] += response.body[key]

    sampler.window()
    started = time.perf_counter()
    threads = [threading.Thread(target=client, name=f"events-{i}", daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    peaks = sampler.window()
    for path, _ in files:
        path.unlink(missing_ok=True)
    if failures:
        raise BenchError(failures[0])
    expected_new = bodies.sent - bodies.resends
    if totals["rejected"] or totals["accepted"] != expected_new or totals["duplicates"] != bodies.resends:
        raise BenchError(f"{bodies.sent:,} events sent ({bodies.resends:,} resends): {totals['accepted']:,} accepted, "
                         f"{totals['duplicates']:,} duplicates, {totals['rejected']:,} rejected; expected "
                         f"{expected_new:,} accepted and {bodies.resends:,} duplicates")
    return {"events": bodies.sent, "leads": len(leads), "touched_leads": len(bodies.touched),
            "requests": len(latencies), "clients": clients, "seconds": seconds,
            "events_per_s": bodies.sent / seconds, "p50_ms": _percentile(latencies, 50) * 1000,
            "p95_ms": _percentile(latencies, 95) * 1000, "max_ms": max(latencies) * 1000,
            "client_build_seconds": build_seconds, **totals,
            **peaks.as_dict()}


def wait_folded(data_dir: Path, *, timeout: float) -> float:
    """Seconds until the worker folded every accepted event into the leads' aggregates (the bench
    workspace's `events_folded_through` at its last event), read-only from the server's SQLite file:
    after this the aggregates, engagement_summary and stale marks are exact."""
    started = time.monotonic()
    conn = sqlite3.connect(f"file:{data_dir / 'leadscore.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        while conn.execute("SELECT EXISTS (SELECT 1 FROM leads_workspace w WHERE w.events_folded_through < "
                           "(SELECT MAX(e.id) FROM leads_event e WHERE e.workspace_id = w.id))").fetchone()[0]:
            if time.monotonic() - started > timeout:
                raise BenchError(f"events were still not folded {timeout:.0f} s after the ingest")
            time.sleep(0.05)
    finally:
        conn.close()
    return time.monotonic() - started


def _settle(data_dir: Path) -> None:
    """The same start for each timed rescore: no written page left for the kernel to flush (the
    ingest leaves gigabytes; whichever run came first would pay for that writeback), and the whole
    database in the page cache, as on a server that has been running (the run that came second
    would otherwise find the pages the first one read)."""
    os.sync()
    for path in sorted(data_dir.glob("leadscore.sqlite3*")):
        with path.open("rb") as file:
            while file.read(1 << 24):
                pass


def measure_rescore(api: Api, sampler: TreeSampler, *, data_dir: Path, touched: int, score: dict[str, Any],
                    leads: int, timeout: float) -> dict[str, Any]:
    """`POST /api/leads/refresh/` (what the debounced rescore after events runs: one run per offer over
    its stale scores) until every run finished; then, as its yardstick, a plain rescore of every lead
    of the bench offer (`POST /api/leads/score/ {"rescore": true}`), per score. Each starts settled
    (`_settle`)."""
    _settle(data_dir)
    sampler.window()
    started = time.perf_counter()
    response = api.post("/api/leads/refresh/", {})
    if response.status != 202:
        raise BenchError(f"refresh answered {response.status}: {response.body!r:.500}")
    jobs = [api.wait_job(job, timeout=timeout) for job in response.body["jobs"]]
    seconds = time.perf_counter() - started
    peaks = sampler.window()
    bad = [job for job in jobs if job["status"] != "succeeded" or job["failed"]]
    if bad:
        raise BenchError(f"rescore job {bad[0]['id']} ended {bad[0]['status']}: {bad[0].get('message')!r}")
    rescored = sum(job["processed"] - job["failed"] - job["skipped"] for job in jobs)
    first = min(jobs, key=lambda job: job["id"]) if jobs else None
    if first is None or first["processed"] - first["skipped"] != touched:
        raise BenchError(f"the bench offer's rescore scored {first and first['processed']} leads; the events "
                         f"touched {touched:,}")
    from bench.phases import score_job

    # "A plain rescore of as many leads": every lead scored again (the touched ones among them), per
    # score. A first scoring is no yardstick: it only inserts, where a rescore also retires the old row.
    _settle(data_dir)
    plain, _job = score_job(api, leads, sampler, offer_id=first["offer"], rescore=True)
    plain_per_score = plain["seconds"] / leads
    return {"jobs": len(jobs), "rescored": rescored, "touched_leads": touched, "seconds": seconds,
            "scores_per_s": rescored / seconds, "plain_rescore_all_seconds": plain["seconds"],
            "plain_seconds": plain_per_score * rescored, "plain_leads_per_s": plain["leads_per_s"],
            "ratio": seconds / (plain_per_score * rescored),
            "first_scoring_seconds": score["seconds"] / leads * rescored,
            "first_scoring_ratio": seconds / (score["seconds"] / leads * rescored), **peaks.as_dict()}
