"""The measured phases, each through the HTTP API a user would call.

Every function takes a ready `Api` (a workspace's token on a running `Stack`) and returns plain
dicts of numbers, so the report and the JSON file are built from the same data.
"""

from __future__ import annotations

import math
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


def create_offer(api: Api, name: str | None = None) -> dict[str, Any]:
    response = api.post("/api/offer/", {**OFFER, "name": name or OFFER["name"]})
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


def measure_score(api: Api, leads: int, sampler: TreeSampler) -> dict[str, Any]:
    """POST /api/leads/score/ (the latest offer) and wait: seconds from the request to the job finished."""
    sampler.window()
    started = time.perf_counter()
    response = api.post("/api/leads/score/", {})
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
            **peaks.as_dict()}


RESULT_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("all", {}),
    ("intent=High", {"intent": "High"}),
    ("min_score=50", {"min_score": 50}),
    ("search=nimbus", {"search": "nimbus"}),
]
PAGE_SIZE = 50
DEEP_PAGE = 10_000


def measure_results(api: Api, *, reps: int, budget_seconds: float = 30.0) -> list[dict[str, Any]]:
    """p50/p95 of GET /api/leads/results/ for the first and a deep page, with and without filters.

    The deep page is page 10,000 of 50 when the filter matches that many, else the middle page. Each
    variant gets one unmeasured warm-up request, then `reps` requests (fewer if they exceed the
    time budget, but at least 3).
    """
    out = []
    for name, params in RESULT_QUERIES:
        first = api.get("/api/leads/results/", **params, page_size=PAGE_SIZE)
        if first.status != 200:
            raise BenchError(f"results {params} answered {first.status}: {first.body!r:.500}")
        count = first.body["count"]
        pages = max(1, math.ceil(count / PAGE_SIZE))
        deep = min(DEEP_PAGE, max(1, pages // 2))
        pages_to_measure = [("first page", 1)] + ([(f"page {deep:,}", deep)] if deep > 1 else [])
        for label, page in pages_to_measure:
            query = {**params, "page": page, "page_size": PAGE_SIZE}
            api.get("/api/leads/results/", **query)  # warm-up
            times: list[float] = []
            deadline = time.monotonic() + budget_seconds
            while len(times) < reps and (len(times) < 3 or time.monotonic() < deadline):
                response = api.get("/api/leads/results/", **query)
                if response.status != 200:
                    raise BenchError(f"results {query} answered {response.status}: {response.body!r:.500}")
                times.append(response.seconds * 1000)
            out.append({"query": name, "page": label, "page_number": page, "count": count, "requests": len(times),
                        "p50_ms": statistics.median(times), "p95_ms": percentile(times, 95),
                        "max_ms": max(times)})
            log(f"results {name} {label}: p50 {out[-1]['p50_ms']:.1f} ms, p95 {out[-1]['p95_ms']:.1f} ms "
                f"({count:,} matches, {len(times)} requests)")
    return out


def measure_export(api: Api, rows: int, sampler: TreeSampler) -> dict[str, Any]:
    """GET /api/leads/export_csv/, parsed as it streams: seconds to the last byte, rows, memory."""
    sampler.window()
    status, counted, size, seconds = api.stream_csv("/api/leads/export_csv/")
    peaks = sampler.window()
    if counted != rows:
        raise BenchError(f"export returned {counted} rows, expected {rows}")
    return {"seconds": seconds, "rows_per_s": rows / seconds, "bytes": size, **peaks.as_dict()}
