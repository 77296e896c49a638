"""The measured phases, each through the HTTP API a user would call.

Every function takes a ready `Api` (a workspace's token on a running `Stack`) and returns plain
dicts of numbers, so the report and the JSON file are built from the same data.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.client import Api, BenchError
from bench.memory import TreeSampler

# Scoring offers are built to meet the generated data (its industries, titles and bio signals).
OFFER = {
    "name": "Pipeline autopilot",
    "value_props": ["Automate outbound prospecting", "Score and route leads in real time",
                    "Cut customer acquisition cost"],
    "ideal_use_cases": ["B2B SaaS mid-market", "FinTech", "IT Services"],
    "adjacent_industries": ["Consulting"],
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def job_timeout(rows: int) -> float:
    """Generous but bounded: two minutes plus 2 ms a row (a million rows: 35 minutes)."""
    return 120.0 + rows * 0.002


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def create_offer(api: Api, name: str | None = None, *, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST /api/offer/ with `fields` (default: the bench offer's, OFFER)."""
    fields = fields or OFFER
    response = api.post("/api/offer/", {**fields, "name": name or fields["name"]})
    if response.status != 201:
        raise BenchError(f"creating the offer answered {response.status}: {response.body!r:.500}")
    return response.body


def _job_from(response_body: dict[str, Any]) -> dict[str, Any]:
    return response_body["job"] if "job" in response_body and isinstance(response_body["job"], dict) \
        else response_body


def _seconds_between(job: dict[str, Any], start: str, end: str) -> float | None:
    from datetime import datetime

    if not job.get(start) or not job.get(end):
        return None
    parse = datetime.fromisoformat
    return (parse(job[end].replace("Z", "+00:00")) - parse(job[start].replace("Z", "+00:00"))).total_seconds()


def measure_import(api: Api, csv_path: Path, rows: int, sampler: TreeSampler) -> dict[str, Any]:
    """Upload the CSV and wait for its job: seconds from the first byte sent to the job finished."""
    sampler.window()
    started = time.perf_counter()
    response = api.upload("/api/leads/upload/", csv_path)
    request_seconds = time.perf_counter() - started
    if response.status not in (201, 202):
        raise BenchError(f"upload answered {response.status}: {response.body!r:.1000}")
    job = api.wait_job(_job_from(response.body), timeout=job_timeout(rows))
    seconds = time.perf_counter() - started
    peaks = sampler.window()
    if job["status"] != "succeeded" or job["created"] != rows:
        raise BenchError(f"import job ended {job['status']} with {job['created']} of {rows} created: "
                         f"{job.get('message')!r} {job.get('errors', [])[:3]!r}")
    return {"seconds": seconds, "rows_per_s": rows / seconds, "request_seconds": request_seconds,
            "http_status": response.status, "job_seconds": _seconds_between(job, "created_at", "finished_at"),
            "bytes": csv_path.stat().st_size, **peaks.as_dict()}


def measure_score(api: Api, leads: int, sampler: TreeSampler, *, offer_id: int | None = None) -> dict[str, Any]:
    """POST /api/leads/score/ (`offer_id`, or the latest offer) and wait: seconds from the request to the job
    finished."""
    return score_job(api, leads, sampler, offer_id=offer_id)[0]


def score_job(api: Api, leads: int, sampler: TreeSampler, *, offer_id: int | None = None,
              rescore: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """measure_score's figures, and the finished job itself (its `finished_at`). `rescore`: every lead
    scored again, scored before or not."""
    sampler.window()
    started = time.perf_counter()
    body: dict[str, Any] = {} if offer_id is None else {"offer": offer_id}
    if rescore:
        body["rescore"] = True
    response = api.post("/api/leads/score/", body)
    if response.status not in (200, 202):
        raise BenchError(f"score answered {response.status}: {response.body!r:.1000}")
    job = api.wait_job(_job_from(response.body), timeout=job_timeout(leads) * 2)
    seconds = time.perf_counter() - started
    peaks = sampler.window()
    scored = job["processed"] - job["failed"] - job["skipped"]
    if job["status"] != "succeeded" or scored != leads:
        raise BenchError(f"score job ended {job['status']} with {scored} of {leads} scored: {job.get('message')!r} "
                         f"{job.get('errors', [])[:3]!r}")
    return {"seconds": seconds, "leads_per_s": leads / seconds, "http_status": response.status,
            "job_seconds": _seconds_between(job, "created_at", "finished_at"), "ai_requests": job["ai_requests"],
            "prompt_tokens": job["prompt_tokens"], "completion_tokens": job["completion_tokens"],
            "requests_per_lead": job["ai_requests"] / leads, "prompt_tokens_per_lead": job["prompt_tokens"] / leads,
            **peaks.as_dict()}, job


# --- a custom scoring model ---------------------------------------------------------------------

# Copied from this template: the default model, so the AI layer stays on and its 5 rules (role level,
# industry fit, complete profile) stay; the 15 rules below are added, 20 in all. They mix every kind
# of condition over lead fields and uploaded columns (bench/generate.py writes Lead Source, Company
# Size and Budget); the numeric columns are named as the product's own templates name them
# (`company_size`, `budget`: matched to "Company Size" and "Budget" by the attribute reader), Lead
# Source by its `attributes.` path. Each fires on a good share of the generated leads.
CUSTOM_MODEL_TEMPLATE = "default"
CUSTOM_MODEL_TEMPLATE_RULES = 5
CUSTOM_MODEL_RULES: list[dict[str, Any]] = [
    # text
    {"name": "VP title", "rule_type": "demographic", "field_name": "role", "operator": "starts_with",
     "value": "VP", "points": 5},
    {"name": "Head of a function", "rule_type": "demographic", "field_name": "role", "operator": "contains",
     "value": "head of", "points": 5},
    {"name": "Labs company", "rule_type": "firmographic", "field_name": "company", "operator": "contains",
     "value": "labs", "points": 3},
    {"name": "Based in London", "rule_type": "geographic", "field_name": "location", "operator": "equals",
     "value": "London, UK", "points": 3},
    {"name": "Based in Germany", "rule_type": "geographic", "field_name": "location", "operator": "contains",
     "value": "germany", "points": 2},
    {"name": "Hiring", "rule_type": "behavioral", "field_name": "linkedin_bio", "operator": "contains",
     "value": "hiring", "points": 5},
    # lists
    {"name": "Software industry", "rule_type": "firmographic", "field_name": "industry", "operator": "in_list",
     "value": ["B2B SaaS", "SaaS", "Software", "FinTech", "IT Services", "Cybersecurity"], "points": 5},
    {"name": "Not a public-sector industry", "rule_type": "firmographic", "field_name": "industry",
     "operator": "not_in_list", "value": ["Non-profit", "Government", "Education", "Agriculture"], "points": 2},
    {"name": "Warm lead source", "rule_type": "source", "field_name": "attributes.Lead Source",
     "operator": "in_list", "value": ["referral", "webinar", "trade show"], "points": 5},
    # numbers, read from uploaded columns as people write them ("51-200", "50k €", "12.000")
    {"name": "Over 200 employees", "rule_type": "firmographic", "field_name": "company_size",
     "operator": "greater_than", "value": 200, "points": 5},
    {"name": "Fewer than 11 employees", "rule_type": "firmographic", "field_name": "company_size",
     "operator": "less_than", "value": 11, "points": -5},
    {"name": "Budget 10k–100k", "rule_type": "budget", "field_name": "budget", "operator": "between",
     "value": [10_000, 100_000], "points": 5},
    {"name": "Budget over 100k", "rule_type": "budget", "field_name": "budget", "operator": "greater_than",
     "value": "100k", "points": 8},
    # regular expressions
    {"name": "Automation or pipeline in the bio", "rule_type": "behavioral", "field_name": "linkedin_bio",
     "operator": "regex", "value": r"\b(automat\w*|pipeline|scal(e|ing))\b", "points": 5},
    {"name": "Email at a target account", "rule_type": "firmographic", "field_name": "email", "operator": "regex",
     "value": r"@(acme|globex|initech|hooli|nimbus|helix|vertex)\.example\.com$", "points": 3},
]


def create_custom_model(api: Api, name: str) -> dict[str, Any]:
    """POST /api/scoring-models/ from the template, then one POST /api/scoring-rules/ per added rule.

    Checks that the model ends with the template's rules plus ours and the AI layer on. Done before any
    offer uses the model, so no rule change marks scores stale.
    """
    started = time.perf_counter()
    response = api.post("/api/scoring-models/", {"name": name, "template": CUSTOM_MODEL_TEMPLATE})
    if response.status != 201:
        raise BenchError(f"creating the scoring model answered {response.status}: {response.body!r:.500}")
    model_id = response.body["id"]
    for index, rule in enumerate(CUSTOM_MODEL_RULES):
        # After the template's rules (priorities 10–50), in the order above.
        added = api.post("/api/scoring-rules/", {**rule, "model": model_id, "priority": 100 + index})
        if added.status != 201:
            raise BenchError(f"adding rule {rule['name']!r} answered {added.status}: {added.body!r:.500}")
    response = api.get(f"/api/scoring-models/{model_id}/")
    if response.status != 200:
        raise BenchError(f"GET scoring model {model_id} answered {response.status}: {response.body!r:.500}")
    model = response.body
    expected = CUSTOM_MODEL_TEMPLATE_RULES + len(CUSTOM_MODEL_RULES)
    active = [rule for rule in model["rules"] if rule["is_active"]]
    if len(model["rules"]) != expected or len(active) != expected or not model["ai_enabled"]:
        raise BenchError(f"scoring model {model_id} has {len(model['rules'])} rules ({len(active)} active, "
                         f"expected {expected}) and ai_enabled={model['ai_enabled']}")
    return {"model_id": model_id, "version": model["version"], "rules": len(model["rules"]),
            "ai_enabled": model["ai_enabled"], "rule_max": model["rule_max"],
            "setup_seconds": time.perf_counter() - started}


def create_offer_with_model(api: Api, name: str, model_id: int) -> dict[str, Any]:
    """A new offer with the bench offer's fields, then PATCH /api/offer/{id}/ to score it with `model_id`."""
    offer = create_offer(api, name)
    response = api.patch(f"/api/offer/{offer['id']}/", {"scoring_model": model_id})
    if response.status != 200 or response.body.get("scoring_model") != model_id:
        raise BenchError(f"PATCH offer {offer['id']} with scoring_model {model_id} answered {response.status}: "
                         f"{response.body!r:.500}")
    return response.body


# --- distribution -------------------------------------------------------------------------------

DISTRIBUTION_PATH = "/api/lead-scores/distribution/"


def _distribution_summary(body: dict[str, Any], expected_total: int) -> dict[str, Any]:
    """What one distribution answer says, and whether it adds up: its total is the leads scored, and the
    buckets, intents and stages each count every one of them."""
    total = body.get("total")
    sums = {"buckets": sum(b["count"] for b in body.get("buckets", [])),
            "intents": sum(body.get("intents", {}).values()), "stages": sum(body.get("stages", {}).values())}
    return {"offer": body.get("offer"), "total": total, "expected_total": expected_total,
            "total_ok": total == expected_total, "parts_add_up": all(v == total for v in sums.values()),
            "sums": sums, "average": body.get("average"), "buckets": [b["count"] for b in body.get("buckets", [])],
            "intents": body.get("intents"), "stages": body.get("stages")}


def distribution_check(api: Api, offer_id: int, expected_total: int) -> dict[str, Any]:
    """One GET of the distribution (not timed), summarised and checked."""
    response = api.get(DISTRIBUTION_PATH, offer=offer_id)
    if response.status != 200:
        raise BenchError(f"distribution of offer {offer_id} answered {response.status}: {response.body!r:.500}")
    return _distribution_summary(response.body, expected_total)


def measure_distribution(api: Api, offer_id: int, expected_total: int, *, reps: int,
                         budget_seconds: float = 30.0) -> dict[str, Any]:
    """p50/p95 of GET /api/lead-scores/distribution/?offer=<id>: one warm-up, then `reps` requests (fewer
    if they exceed the time budget, but at least 3). Every answer's total is checked against the leads
    scored; a wrong one is recorded (and logged), not raised, so the latency is still reported."""
    check = distribution_check(api, offer_id, expected_total)  # the warm-up
    times: list[float] = []
    totals: set[Any] = {check["total"]}
    deadline = time.monotonic() + budget_seconds
    while len(times) < reps and (len(times) < 3 or time.monotonic() < deadline):
        response = api.get(DISTRIBUTION_PATH, offer=offer_id)
        if response.status != 200:
            raise BenchError(f"distribution of offer {offer_id} answered {response.status}: {response.body!r:.500}")
        times.append(response.seconds * 1000)
        totals.add(response.body.get("total"))
        check = _distribution_summary(response.body, expected_total)
    if totals != {expected_total}:
        check["total_ok"] = False
    check["totals_seen"] = sorted(totals, key=str)
    return {"requests": len(times), "p50_ms": statistics.median(times), "p95_ms": percentile(times, 95),
            "max_ms": max(times), **check}


RESULT_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("all", {}),
    ("intent=High", {"intent": "High"}),
    ("min_score=50", {"min_score": 50}),
    ("search=nimbus", {"search": "nimbus"}),
    # The other shapes of a text search: a term in every lead, a rare one, a phrase, a non-ASCII name in
    # another case than stored, and a 2-character term (below the trigram index: the plain scan).
    ("search=example", {"search": "example"}),
    ("search=12345@", {"search": "12345@"}),
    ("search=nimbus cloud", {"search": "nimbus cloud"}),
    ("search=DVOŘÁK", {"search": "DVOŘÁK"}),
    ("search=li", {"search": "li"}),
]
PAGE_SIZE = 50
DEEP_PAGE = 10_000


def _measure_pages(api: Api, path: str, queries: list[tuple[str, dict[str, Any]]], *, reps: int,
                   budget_seconds: float) -> list[dict[str, Any]]:
    """p50/p95 of GET `path` for the first and a deep page of each query.

    The deep page is page 10,000 of 50 when the query matches that many, else the middle page. Each
    variant gets one unmeasured warm-up request, then `reps` requests (fewer if they exceed the
    time budget, but at least 3).
    """
    out = []
    for name, params in queries:
        first = api.get(path, **params, page_size=PAGE_SIZE)
        if first.status != 200:
            raise BenchError(f"{path} {params} answered {first.status}: {first.body!r:.500}")
        count, count_exact = first.body["count"], first.body.get("count_exact", True)
        if not count_exact:  # a lower bound: the whole count (unmeasured) places the deep page
            count = api.get(path, **params, page_size=PAGE_SIZE, count="exact").body["count"]
        pages = max(1, math.ceil(count / PAGE_SIZE))
        deep = min(DEEP_PAGE, max(1, pages // 2))
        pages_to_measure = [("first page", 1)] + ([(f"page {deep:,}", deep)] if deep > 1 else [])
        for label, page in pages_to_measure:
            query = {**params, "page": page, "page_size": PAGE_SIZE}
            api.get(path, **query)  # warm-up
            times: list[float] = []
            deadline = time.monotonic() + budget_seconds
            while len(times) < reps and (len(times) < 3 or time.monotonic() < deadline):
                response = api.get(path, **query)
                if response.status != 200:
                    raise BenchError(f"{path} {query} answered {response.status}: {response.body!r:.500}")
                times.append(response.seconds * 1000)
            out.append({"query": name, "page": label, "page_number": page, "count": count,
                        "count_exact": count_exact, "requests": len(times),
                        "p50_ms": statistics.median(times), "p95_ms": percentile(times, 95),
                        "max_ms": max(times)})
            log(f"{path} {name} {label}: p50 {out[-1]['p50_ms']:.1f} ms, p95 {out[-1]['p95_ms']:.1f} ms "
                f"({count:,} matches, {len(times)} requests)")
    return out


def measure_results(api: Api, *, reps: int, budget_seconds: float = 30.0) -> list[dict[str, Any]]:
    """p50/p95 of GET /api/leads/results/ for the first and a deep page, with and without filters."""
    return _measure_pages(api, "/api/leads/results/", RESULT_QUERIES, reps=reps, budget_seconds=budget_seconds)


# --- search: the lead list's search and what the search index costs the import ----------------------

LEAD_SEARCH_QUERIES: list[tuple[str, dict[str, Any]]] = [
    (name, params) for name, params in RESULT_QUERIES if name.startswith("search=")
] + [("search=nimbus labs (two terms)", {"search": "nimbus labs"})]


def measure_lead_search(api: Api, *, reps: int, budget_seconds: float = 30.0) -> list[dict[str, Any]]:
    """p50/p95 of GET /api/leads/?search= (newest first) for the first and a deep page."""
    return _measure_pages(api, "/api/leads/", LEAD_SEARCH_QUERIES, reps=reps, budget_seconds=budget_seconds)


def search_index_drop(db_path: Path) -> None:
    """Remove the search index (its triggers and FTS5 table) from a stack's fresh SQLite database, so an
    import into it shows what the import costs without the index."""
    import sqlite3

    from leads.search_index import SQLITE_BULK_TABLE, SQLITE_TABLE, SQLITE_TRIGGERS

    conn = sqlite3.connect(db_path, timeout=30)
    try:
        for name in SQLITE_TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        conn.execute(f"DROP TABLE IF EXISTS {SQLITE_TABLE}")
        conn.execute(f"DROP TABLE IF EXISTS {SQLITE_BULK_TABLE}")
        conn.commit()
    finally:
        conn.close()


def database_sizes(db_path: Path) -> dict[str, int]:
    """Bytes of the whole SQLite database and of the search index's tables (FTS5 shadow tables)."""
    import sqlite3

    from leads.search_index import SQLITE_TABLE

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        (total,) = conn.execute("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").fetchone()
        index = sum(conn.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ?",
                                 (f"{SQLITE_TABLE}_{shadow}",)).fetchone()[0]
                    for shadow in ("data", "idx", "docsize", "config", "content"))
    finally:
        conn.close()
    return {"db_bytes": int(total), "search_index_bytes": int(index)}


def measure_export(api: Api, rows: int, sampler: TreeSampler) -> dict[str, Any]:
    """GET /api/leads/export_csv/, parsed as it streams: seconds to the last byte, rows, memory."""
    sampler.window()
    status, counted, size, seconds = api.stream_csv("/api/leads/export_csv/")
    peaks = sampler.window()
    if counted != rows:
        raise BenchError(f"export returned {counted} rows, expected {rows}")
    return {"seconds": seconds, "rows_per_s": rows / seconds, "bytes": size, **peaks.as_dict()}


# --- automations: a score_threshold webhook workflow ---------------------------------------------

# The burst: 10,000 leads crossing a threshold at once. Smaller sizes get a tenth of their leads.
AUTOMATION_CROSSINGS = 10_000
AUTOMATION_SHARE = 10
WORKFLOWS_PATH = "/api/workflows/"
# Waiting for the receiver: at most 2 minutes plus 50 ms a crossing (10,000: ~10 minutes), and never
# longer than this without a new delivery (past the default lease, 120 s, plus a 30 s sweep).
DELIVERY_STALL_SECONDS = 160.0
# After the last delivery, how long the receiver keeps listening for late repeats.
DUPLICATE_GRACE_SECONDS = 5.0


def automation_target(size: int) -> int:
    return min(AUTOMATION_CROSSINGS, max(1, size // AUTOMATION_SHARE))


def results_count(api: Api, offer_id: int, min_score: int) -> int:
    response = api.get("/api/leads/results/", offer=offer_id, min_score=min_score, page_size=1)
    if response.status != 200:
        raise BenchError(f"results min_score={min_score} answered {response.status}: {response.body!r:.500}")
    return int(response.body["count"])


def pick_threshold(api: Api, offer_id: int, target: int) -> tuple[int, int]:
    """The threshold (1–100) whose count of scores at or above it is closest to `target`, from the
    results API of a scored offer: (threshold, that count). Binary search: the count only falls as
    the threshold rises."""
    low, high = 1, 100  # the smallest t with count(t) <= target lies in [low, high + 1]
    counts: dict[int, int] = {}

    def count(t: int) -> int:
        if t > 100:
            return 0
        if t not in counts:
            counts[t] = results_count(api, offer_id, t)
        return counts[t]

    high += 1
    while low < high:
        middle = (low + high) // 2
        if count(middle) <= target:
            high = middle
        else:
            low = middle + 1
    candidates = [t for t in (low - 1, low) if 1 <= t <= 100]
    best = min(candidates, key=lambda t: (abs(count(t) - target), -t))
    return best, count(best)


def crossing_lead_ids(api: Api, offer_id: int, threshold: int) -> set[int]:
    """Every lead whose current score for the offer is at or above `threshold` (results API, 1,000 a page)."""
    ids: set[int] = set()
    page = 1
    while True:
        response = api.get("/api/leads/results/", offer=offer_id, min_score=threshold, page_size=1000, page=page,
                           ordering="-score")
        if response.status != 200:
            raise BenchError(f"results page {page} answered {response.status}: {response.body!r:.500}")
        ids.update(item["id"] for item in response.body["results"])
        if not response.body.get("next"):
            if len(ids) != response.body["count"]:
                raise BenchError(f"results listed {len(ids)} distinct leads of {response.body['count']}")
            return ids
        page += 1


def create_webhook_workflow(api: Api, offer_id: int, threshold: int, url: str) -> dict[str, Any]:
    response = api.post(WORKFLOWS_PATH, {
        "name": f"Bench webhook at {threshold}", "trigger_type": "score_threshold",
        "trigger_config": {"score": threshold}, "offer": offer_id, "action_type": "webhook",
        "action_config": {"url": url}})
    if response.status != 201 or not str(response.body.get("signing_secret", "")).startswith("whsec_"):
        raise BenchError(f"creating the workflow answered {response.status}: {response.body!r:.500}")
    return response.body


def workflow_statistics(api: Api) -> dict[str, int]:
    response = api.get(f"{WORKFLOWS_PATH}statistics/")
    if response.status != 200:
        raise BenchError(f"workflow statistics answered {response.status}: {response.body!r:.500}")
    return response.body


def _wall(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _log_problems(log_path: Path, offset: int) -> dict[str, Any]:
    """ERROR / WARNING lines and tracebacks the worker wrote after `offset` bytes of its log."""
    try:
        with log_path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return {"errors": None, "warnings": None, "tracebacks": None, "first": []}
    lines = text.splitlines()
    errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
    return {"errors": len(errors), "warnings": sum(1 for line in lines if " WARNING " in line),
            "tracebacks": text.count("Traceback (most recent call last)"), "first": [e[:300] for e in errors[:3]]}


OUTBOX_TABLE = "leads_scoretransition"


IDLE_SETTLE_SECONDS = 0.5


def wait_idle(data_dir: Path, *, timeout: float = 300.0) -> float:
    """Wait until the worker has nothing left to do: the score outbox is empty (read-only, straight from
    the server's SQLite file: no API shows it) and the embedded broker's queue folder has held no message
    for IDLE_SETTLE_SECONDS. Returns the seconds waited. Every scoring leaves work behind it (the
    outbox's dispatch, one dispatch nudge per chunk written), so a scoring started at once after another
    one would wait behind that; each timed scoring here starts from an idle worker instead."""
    import sqlite3

    started = time.monotonic()
    queue = data_dir / "broker" / "queue"
    conn = sqlite3.connect(f"file:{data_dir / 'leadscore.sqlite3'}?mode=ro", uri=True, timeout=30)
    try:
        quiet_since = None
        while True:
            busy = conn.execute(f"SELECT EXISTS (SELECT 1 FROM {OUTBOX_TABLE})").fetchone()[0] or \
                any(name.endswith(".msg") for name in os.listdir(queue))
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= IDLE_SETTLE_SECONDS:
                return now - started - IDLE_SETTLE_SECONDS
            if now - started > timeout:
                raise BenchError(f"the worker did not go idle within {timeout:.0f} s (outbox or queue not empty)")
            time.sleep(0.05)
    finally:
        conn.close()


def measure_automations(api: Api, size: int, sampler: TreeSampler, *, label: str, worker_log: Path,
                        receiver_dir: Path, data_dir: Path) -> dict[str, Any]:
    """A score_threshold webhook workflow on one of three identical offers, against bench/receiver.py.

    1. Score a control offer (no workflow) and pick the threshold whose count of scores at or above it
       is closest to automation_target(size) (results API).
    2. Create the workflow on a second offer with the same fields (its webhook: the receiver), score
       that offer (every first score at or above the threshold crosses it), and list the crossing
       leads from the results API.
    3. Wait for the receiver to see every crossing; keep listening DUPLICATE_GRACE_SECONDS for repeats.
    4. Switch the workflow off and score a third identical offer (control after), so the order of the
       runs (a growing scores table) is measured too: the ratio compares the workflow's run with the
       mean of the two controls, both scored with no active workflow in the workspace.

    Each scoring starts from an idle worker (wait_idle): the work an earlier scoring leaves behind
    is not charged to the next one.
    """
    from bench.receiver import WebhookReceiver

    log_offset = worker_log.stat().st_size if worker_log.exists() else 0
    control = create_offer(api, f"{OFFER['name']} (control, no workflow) {label}")
    automated = create_offer(api, f"{OFFER['name']} (webhook workflow) {label}")
    control_after = create_offer(api, f"{OFFER['name']} (control after, no workflow) {label}")
    drained = [wait_idle(data_dir)]
    before = measure_score(api, size, sampler, offer_id=control["id"])
    target = automation_target(size)
    threshold, control_crossings = pick_threshold(api, control["id"], target)
    log(f"automations {size:,}: control scoring {before['seconds']:.2f} s; threshold {threshold}: "
        f"{control_crossings:,} of {size:,} at or above it (target {target:,})")
    with WebhookReceiver(receiver_dir) as receiver:
        workflow = create_webhook_workflow(api, automated["id"], threshold, receiver.url)
        receiver.set_secret(workflow["signing_secret"])
        drained.append(wait_idle(data_dir))
        started_wall = time.time()
        scored, job = score_job(api, size, sampler, offer_id=automated["id"])
        job_end = _wall(job["finished_at"]) if job.get("finished_at") else time.time()
        crossing = crossing_lead_ids(api, automated["id"], threshold)
        expected = len(crossing)
        log(f"automations {size:,}: scoring with the workflow {scored['seconds']:.2f} s "
            f"({scored['seconds'] / before['seconds']:.2f}× the control); {expected:,} crossings to deliver")

        deadline = time.monotonic() + 120.0 + 0.05 * expected
        last_progress, seen = time.monotonic(), receiver.distinct()
        stalled = False
        while seen < expected and time.monotonic() < deadline:
            time.sleep(0.2)
            now_seen = receiver.distinct()
            if now_seen != seen:
                seen, last_progress = now_seen, time.monotonic()
            elif time.monotonic() - last_progress > DELIVERY_STALL_SECONDS:
                stalled = True
                break
        waited_s = time.time() - job_end  # how long after the job's end the wait stopped
        time.sleep(DUPLICATE_GRACE_SECONDS)
        seen_all = receiver.summary()
    # The executions' own bookkeeping: the last outcomes may be written a moment after their answer.
    statistics_deadline = time.monotonic() + 15
    stats = workflow_statistics(api)
    while stats.get("pending") and time.monotonic() < statistics_deadline:
        time.sleep(0.5)
        stats = workflow_statistics(api)
    # The product writes the outbox only while an active workflow could read it: switched off, the
    # workspace is as it was for the first control, so the control after is a scoring without one too.
    response = api.patch(f"{WORKFLOWS_PATH}{workflow['id']}/", {"is_active": False})
    if response.status != 200 or response.body.get("is_active") is not False:
        raise BenchError(f"switching the workflow off answered {response.status}: {response.body!r:.500}")
    drained.append(wait_idle(data_dir))
    after = measure_score(api, size, sampler, offer_id=control_after["id"])
    leads_seen = {lead for lead in seen_all["lead_ids"] if lead is not None}
    delivered = seen_all["distinct_ids"]
    first_at, last_at = seen_all["first_at"], seen_all["last_new_at"]
    seconds = (last_at - job_end) if last_at is not None and delivered >= expected else None
    window = (last_at - first_at) if first_at is not None and last_at is not None else None
    control_mean = (before["seconds"] + after["seconds"]) / 2
    result = {
        "threshold": threshold, "target_crossings": target, "crossings": expected,
        "control_crossings": control_crossings, "delivered": delivered,
        "missing": len(crossing - leads_seen), "unexpected": len(leads_seen - crossing),
        "requests": seen_all["requests"], "duplicates": seen_all["duplicates"],
        "repeated_ids": seen_all["repeated_ids"], "bad_signatures": seen_all["bad_signatures"],
        "signature_problems": seen_all["problems"],
        "complete": delivered >= expected and leads_seen == crossing,
        "stalled": stalled, "waited_s": waited_s,
        # Seconds from the scoring job's finished_at until the receiver had seen every crossing; the
        # first delivery can come before the job ends (negative first_after_job_s).
        "seconds": seconds,
        "first_after_job_s": (first_at - job_end) if first_at is not None else None,
        "from_score_start_s": (last_at - started_wall) if last_at is not None else None,
        "delivery_window_s": window,
        "rate_per_s": (delivered / window) if window else None,
        "executions": {k: stats.get(k) for k in ("executions", "succeeded", "failed", "pending")},
        "control_seconds": before["seconds"], "control_after_seconds": after["seconds"],
        "workflow_seconds": scored["seconds"], "control_mean_seconds": control_mean,
        "ratio": scored["seconds"] / control_mean,
        "ratio_vs_first_control": scored["seconds"] / before["seconds"],
        # The same from the jobs' own created_at..finished_at (no client polling in it).
        "control_job_seconds": before["job_seconds"], "control_after_job_seconds": after["job_seconds"],
        "workflow_job_seconds": scored["job_seconds"],
        "job_ratio": (scored["job_seconds"] / ((before["job_seconds"] + after["job_seconds"]) / 2))
        if before["job_seconds"] and after["job_seconds"] and scored["job_seconds"] else None,
        "workflow_peak_process_mb": scored["peak_process_mb"],
        "idle_waits_s": drained,
        "worker_log": _log_problems(worker_log, log_offset),
    }
    return result


# --- outcomes, training and the learned part of a scoring model -----------------------------------------

OUTCOMES_PATH = "/api/outcomes/"
OUTCOMES_PER_REQUEST = 10_000  # the API's most per request
MODELS_PATH = "/api/models/"
LEARNED_WEIGHT = 30
LEARNED_TEMPLATE = "default"
# Training reads every outcome, featurises and cross-validates: generous, bounded.
TRAIN_TIMEOUT_S = 900.0


def record_outcomes(api: Api, outcomes: list[tuple[str, bool]]) -> dict[str, Any]:
    """POST /api/outcomes/ in lists of OUTCOMES_PER_REQUEST `{"email", "outcome"}`; every one must be accepted."""
    started = time.perf_counter()
    requests = 0
    for start in range(0, len(outcomes), OUTCOMES_PER_REQUEST):
        chunk = outcomes[start:start + OUTCOMES_PER_REQUEST]
        response = api.post(OUTCOMES_PATH, [{"email": email, "outcome": "won" if won else "lost"}
                                            for email, won in chunk])
        requests += 1
        if response.status != 201:
            raise BenchError(f"POST {OUTCOMES_PATH} ({len(chunk):,} outcomes from {start:,}) answered "
                             f"{response.status}: {response.body!r:.500}")
        body = response.body
        if body["accepted"] != len(chunk) or body["rejected"] or body["leads"] != len(chunk):
            raise BenchError(f"POST {OUTCOMES_PATH} ({len(chunk):,} outcomes from {start:,}) accepted "
                             f"{body['accepted']:,}, rejected {body['rejected']:,}, stored {body['leads']:,}: "
                             f"{body['errors'][:3]!r}")
    seconds = time.perf_counter() - started
    won = sum(1 for _, outcome in outcomes if outcome)
    return {"outcomes": len(outcomes), "won": won, "lost": len(outcomes) - won, "requests": requests,
            "seconds": seconds, "outcomes_per_s": len(outcomes) / seconds}


def _trained_model_of(api: Api, job_id: int) -> dict[str, Any]:
    response = api.get(MODELS_PATH, page_size=100)
    if response.status != 200:
        raise BenchError(f"GET {MODELS_PATH} answered {response.status}: {response.body!r:.500}")
    listed = response.body["results"] if isinstance(response.body, dict) else response.body
    found = [model for model in listed if model["job"] == job_id]
    if len(found) != 1:
        raise BenchError(f"GET {MODELS_PATH} lists {len(found)} models of training job {job_id} "
                         f"(ids {[m['id'] for m in listed]})")
    detail = api.get(f"{MODELS_PATH}{found[0]['id']}/")
    if detail.status != 200:
        raise BenchError(f"GET {MODELS_PATH}{found[0]['id']}/ answered {detail.status}: {detail.body!r:.500}")
    return detail.body


def measure_training(api: Api, sampler: TreeSampler, *, won: int, lost: int,
                     offer_id: int | None = None) -> dict[str, Any]:
    """POST /api/models/train/ and wait for the job: seconds from the request to the job finished. The
    trained model (GET /api/models/{id}/) must count exactly the outcomes recorded."""
    sampler.window()
    started = time.perf_counter()
    response = api.post(f"{MODELS_PATH}train/", {} if offer_id is None else {"offer": offer_id})
    request_seconds = time.perf_counter() - started
    if response.status not in (200, 202):
        raise BenchError(f"POST {MODELS_PATH}train/ answered {response.status}: {response.body!r:.1000}")
    job = api.wait_job(_job_from(response.body), timeout=TRAIN_TIMEOUT_S)
    seconds = time.perf_counter() - started
    peaks = sampler.window()
    if job["status"] != "succeeded":
        raise BenchError(f"training job {job['id']} ended {job['status']}: {job.get('message')!r}")
    model = _trained_model_of(api, job["id"])
    if (model["n_won"], model["n_lost"]) != (won, lost):
        raise BenchError(f"model {model['id']} was trained on {model['n_won']:,} won and {model['n_lost']:,} lost "
                         f"outcomes; {won:,} won and {lost:,} lost were recorded")
    return {"seconds": seconds, "request_seconds": request_seconds, "http_status": response.status,
            "job_seconds": _seconds_between(job, "created_at", "finished_at"),
            "run_seconds": _seconds_between(job, "started_at", "finished_at"), "message": job.get("message"),
            "model_id": model["id"], "version": model["version"], "n_won": model["n_won"],
            "n_lost": model["n_lost"], "cv_auc": model["cv_auc"], "holdout_auc": model["holdout_auc"],
            "cv_folds": model["cv_folds"], "blend": model["blend"], "top_factors": model["top_factors"][:8],
            **peaks.as_dict()}


def create_learned_scoring_model(api: Api, name: str, weight: int = LEARNED_WEIGHT) -> dict[str, Any]:
    """POST /api/scoring-models/ from the default template with `learned_weight`; checks what it holds."""
    response = api.post("/api/scoring-models/", {"name": name, "template": LEARNED_TEMPLATE,
                                                 "learned_weight": weight})
    if response.status != 201:
        raise BenchError(f"creating the scoring model answered {response.status}: {response.body!r:.500}")
    model = response.body
    if model["learned_weight"] != weight or not model["ai_enabled"] or \
            len(model["rules"]) != CUSTOM_MODEL_TEMPLATE_RULES:
        raise BenchError(f"scoring model {model['id']} has learned_weight {model['learned_weight']}, "
                         f"ai_enabled={model['ai_enabled']} and {len(model['rules'])} rules")
    return {"model_id": model["id"], "learned_weight": model["learned_weight"], "rules": len(model["rules"])}


def learned_part_check(api: Api, offer_id: int, sample: int = 50) -> dict[str, Any]:
    """The first page of the offer's results: every score carries a conversion probability and the
    breakdown's learned component (the part was applied, not skipped)."""
    response = api.get("/api/leads/results/", offer=offer_id, page_size=sample)
    if response.status != 200:
        raise BenchError(f"results of offer {offer_id} answered {response.status}: {response.body!r:.500}")
    results = response.body["results"]
    learned = [next((c for c in (r.get("score_breakdown") or {}).get("components", []) if c.get("part") == "learned"),
                    None) for r in results]
    missing = [r["id"] for r, part in zip(results, learned, strict=True)
               if r.get("conversion_probability") is None or part is None]
    if not results or missing:
        raise BenchError(f"{len(missing)} of {len(results)} scores of offer {offer_id} carry no "
                         f"conversion_probability or learned component (leads {missing[:5]})")
    probabilities = [r["conversion_probability"] for r in results]
    return {"checked": len(results), "blend": learned[0].get("blend"), "weight": learned[0].get("weight"),
            "probability_min": min(probabilities), "probability_max": max(probabilities),
            "learned_points_max": max((part.get("points") or 0) for part in learned)}


def default_scoring_model_id(api: Api) -> int:
    response = api.get("/api/scoring-models/", page_size=100)
    if response.status != 200:
        raise BenchError(f"GET /api/scoring-models/ answered {response.status}: {response.body!r:.500}")
    listed = response.body["results"] if isinstance(response.body, dict) else response.body
    defaults = [model["id"] for model in listed if model["is_default"]]
    if len(defaults) != 1:
        raise BenchError(f"the workspace has {len(defaults)} default scoring models")
    return defaults[0]


def measure_backtest(api: Api, model_id: int, offer_id: int, *, settings: dict[str, Any] | None = None,
                     expected: int) -> dict[str, Any]:
    """POST /api/scoring-models/{id}/backtest/ for the offer: every lead with an outcome must be scored."""
    body: dict[str, Any] = {"offer": offer_id}
    if settings:
        body["settings"] = settings
    response = api.post(f"/api/scoring-models/{model_id}/backtest/", body)
    if response.status != 200:
        raise BenchError(f"backtest of scoring model {model_id} answered {response.status}: {response.body!r:.500}")
    result = response.body
    scored = result["leads"]
    if scored != expected or result["left_out_without_verdict"]:
        raise BenchError(f"backtest of scoring model {model_id} scored {scored:,} leads "
                         f"({result['left_out_without_verdict']:,} left out without a verdict); "
                         f"{expected:,} have an outcome")
    return {"seconds": response.seconds, "auc": result["auc"], "rules_only_auc": result["rules_only_auc"],
            "top_decile": result.get("top_decile"), "buckets": result["buckets"], "intents": result["intents"],
            "learned": result.get("learned"), "scored": scored, "won": result["won"],
            "conversion_rate": result["conversion_rate"]}


def lead_names_by_id(api: Api, expected: int) -> list[str]:
    """Every lead's name in id order (GET /api/leads/?ordering=id, 1,000 a page)."""
    names: list[str] = []
    page = 1
    while True:
        response = api.get("/api/leads/", ordering="id", page=page, page_size=1000)
        if response.status != 200:
            raise BenchError(f"GET /api/leads/ page {page} answered {response.status}: {response.body!r:.500}")
        names += [lead["name"] for lead in response.body["results"]]
        if not response.body.get("next"):
            break
        page += 1
    if len(names) != expected:
        raise BenchError(f"GET /api/leads/ listed {len(names):,} leads, {expected:,} were imported")
    return names
