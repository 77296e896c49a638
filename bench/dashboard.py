"""The dashboard phase: server time (the `Server-Timing` header the request middleware sets) of the
top-leads page and of a lead's page, signed in as the bench workspace's user with a session cookie
(the dashboard has no token auth).

Variants of top leads: the first page, a deep page (the keyset cursor at score 50, the middle of
the ranking), two filters and a text search; the lead page over several leads from the first and a
deep page. Each variant: one warm-up, then `reps` requests (fewer past the time budget, at least 3).
"""

from __future__ import annotations

import html
import http.client
import re
import statistics
import time
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from bench.client import BenchError
from bench.phases import log, percentile
from bench.stack import HOST, Stack

PASSWORD = "bench-dashboard-password"
_SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
_LEAD_LINK = re.compile(r'href="/app/leads/(\d+)/')
_COUNT_URL = re.compile(r'id="result-count" hx-get="([^"]+)"')


class Browser:
    """Just enough of one: cookies and the CSRF token, on 127.0.0.1 only."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, form: dict[str, str] | None = None) -> tuple[int, str, float, float]:
        """(status, body, server ms, client ms)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Referer": f"http://{HOST}:{self.port}{path}"})
        try:
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            client_ms = (time.perf_counter() - started) * 1000
        finally:
            conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        timing = _SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
        server_ms = float(timing.group(1)) if timing else client_ms
        return response.status, raw.decode("utf-8", "replace"), server_ms, client_ms

    def log_in(self, username: str, password: str) -> None:
        status, _, _, _ = self.request("GET", "/app/login/")
        if status != 200 or "csrftoken" not in self.cookies:
            raise BenchError(f"the login page answered {status}")
        status, body, _, _ = self.request("POST", "/app/login/", form={
            "username": username, "password": password, "csrfmiddlewaretoken": self.cookies["csrftoken"]})
        if status != 302 or "sessionid" not in self.cookies:
            raise BenchError(f"logging in to the dashboard answered {status}: {body[:300]}")


def _timed(browser: Browser, path: str, *, reps: int, budget_seconds: float) -> dict[str, Any]:
    status, body, _, _ = browser.request("GET", path)  # warm-up
    if status != 200:
        raise BenchError(f"{path} answered {status}: {body[:300]}")
    server: list[float] = []
    client: list[float] = []
    deadline = time.monotonic() + budget_seconds
    while len(server) < reps and (len(server) < 3 or time.monotonic() < deadline):
        status, body, server_ms, client_ms = browser.request("GET", path)
        if status != 200:
            raise BenchError(f"{path} answered {status}: {body[:300]}")
        server.append(server_ms)
        client.append(client_ms)
    return {"requests": len(server), "p50_ms": statistics.median(server), "p95_ms": percentile(server, 95),
            "max_ms": max(server), "client_p95_ms": percentile(client, 95), "body": body}


def measure_dashboard(stack: Stack, offer_id: int, *, username: str = "bench", reps: int = 20,
                      budget_seconds: float = 30.0) -> list[dict[str, Any]]:
    stack.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; "
        f"u = get_user_model().objects.get(username={username!r}); u.set_password({PASSWORD!r}); u.save()"))
    browser = Browser(stack.port)
    browser.log_in(username, PASSWORD)
    variants = [
        ("top leads", "first page", {"offer": offer_id}),
        ("top leads", "deep page (from score 50)", {"offer": offer_id, "after": "50:0"}),
        ("top leads", "intent=High", {"offer": offer_id, "intent": "High"}),
        ("top leads", "min_score=50", {"offer": offer_id, "min_score": 50}),
        ("top leads", "search=nimbus", {"offer": offer_id, "search": "nimbus"}),
        ("top leads", "search=nimbus, deep page (from score 50)",
         {"offer": offer_id, "search": "nimbus", "after": "50:0"}),
        # A term in every lead (every email is @example.com): the page walks the scores, the count is the cost.
        ("top leads", "search=example", {"offer": offer_id, "search": "example"}),
    ]
    out: list[dict[str, Any]] = []
    lead_ids: list[int] = []
    for page, label, params in variants:
        result = _timed(browser, f"/app/?{urlencode(params)}", reps=reps, budget_seconds=budget_seconds)
        if label.startswith(("first", "deep")):
            lead_ids += [int(i) for i in _LEAD_LINK.findall(result["body"])[:3]]
        out.append({"page": page, "variant": label, **{k: v for k, v in result.items() if k != "body"}})
        if label.startswith("first"):
            # A view the score tally can't count shows its rows and, past COUNTED_AT_ONCE leads, asks
            # for the exact total in a second request (hx-get on load): timed too, a person waits for it.
            count = _COUNT_URL.search(result["body"])
            if count is not None:
                timed = _timed(browser, html.unescape(count.group(1)), reps=reps, budget_seconds=budget_seconds)
                out.append({"page": "top leads", "variant": "its exact total (second request)",
                            **{k: v for k, v in timed.items() if k != "body"}})
        log(f"dashboard {page} {label}: server p50 {out[-1]['p50_ms']:.1f} ms, p95 {out[-1]['p95_ms']:.1f} ms "
            f"(client p95 {out[-1]['client_p95_ms']:.1f} ms, {out[-1]['requests']} requests)")
    if not lead_ids:
        raise BenchError("the top-leads page listed no lead")
    # The lead page, cycling through leads from both pages (each request a different lead when it can).
    server: list[float] = []
    client: list[float] = []
    browser.request("GET", f"/app/leads/{lead_ids[0]}/?offer={offer_id}")  # warm-up
    deadline = time.monotonic() + budget_seconds
    while len(server) < reps and (len(server) < 3 or time.monotonic() < deadline):
        lead_id = lead_ids[len(server) % len(lead_ids)]
        status, body, server_ms, client_ms = browser.request("GET", f"/app/leads/{lead_id}/?offer={offer_id}")
        if status != 200:
            raise BenchError(f"lead page {lead_id} answered {status}: {body[:300]}")
        server.append(server_ms)
        client.append(client_ms)
    out.append({"page": "lead", "variant": f"{len(set(lead_ids))} leads", "requests": len(server),
                "p50_ms": statistics.median(server), "p95_ms": percentile(server, 95), "max_ms": max(server),
                "client_p95_ms": percentile(client, 95)})
    log(f"dashboard lead page: server p50 {out[-1]['p50_ms']:.1f} ms, p95 {out[-1]['p95_ms']:.1f} ms")
    return out
