"""Operations and hardening of the production configuration (DEBUG=0) behind gunicorn."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from leads.tests.integration.conftest import ROOT, create_offer, import_leads, leads_csv, score

pytestmark = pytest.mark.integration

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# In multiprocess mode a labelled counter appears once it has been incremented: with the local provider
# there are no AI calls, tokens or errors to count.
COUNTERS = ["leadscore_http_requests_total", "leadscore_http_request_duration_seconds", "leadscore_jobs_total",
            "leadscore_leads_imported_total", "leadscore_leads_scored_total"]
TRUSTED_ORIGIN = "https://app.example.test"


def test_health_and_ready(live) -> None:
    """/health/ and /ready/ answer 200 without a token; ready checks the database and the broker."""
    api = live.api()
    health = api.get("/health/")
    assert health.status == 200 and health.json() == {"status": "ok"}, health
    ready = api.get("/ready/")
    assert ready.status == 200, ready
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_metrics_add_up_web_and_worker_counters(live, make_tenant) -> None:
    """/metrics is Prometheus text with every leadscore_ counter, including the worker's."""
    tenant = make_tenant("metrics")
    create_offer(tenant.api)
    import_leads(tenant.api, 20, tag="metrics")
    score(tenant.api)
    anonymous = live.api().request("GET", "/metrics", headers={"Accept": "text/plain"})
    assert anonymous.status == 401, anonymous
    reply = live.api().request("GET", "/metrics", headers={"Accept": "text/plain",
                                                           "Authorization": f"Bearer {os.environ['METRICS_TOKEN']}"})
    assert reply.status == 200, reply
    assert reply.headers["Content-Type"].startswith("text/plain"), reply.headers
    text = reply.text
    for name in COUNTERS:
        assert f"# HELP {name} " in text and f"# TYPE {name} " in text, name
    assert re.search(r'^leadscore_http_requests_total\{method="GET",status="200"\} [1-9]', text, re.M), text[:2000]
    scored = re.findall(r'^leadscore_leads_scored_total\{provider="local"\} ([0-9.e+]+)$', text, re.M)
    assert scored and float(scored[0]) >= 20, "the worker's counters are missing from /metrics"
    jobs = re.findall(r'^leadscore_jobs_total\{kind="score",status="succeeded"\} ([0-9.e+]+)$', text, re.M)
    assert jobs and float(jobs[0]) >= 1, text[:2000]


def test_security_headers_with_debug_off(live, make_tenant) -> None:
    """API answers, errors and probes carry the security headers; errors are JSON, never a debug page."""
    api = make_tenant("headers").api
    for reply in (api.get("/api/offer/"), api.get("/health/"), api.get("/api/leads/999999999/"),
                  live.api().get("/api/offer/")):
        for header, value in SECURITY_HEADERS.items():
            assert reply.headers[header] == value, (header, reply.status, dict(reply.headers))
    missing = live.api().get("/api/no/such/page/")
    assert missing.status == 404 and missing.json()["code"] == "not_found", missing
    page = live.api().request("GET", "/no/such/page/", headers={"Accept": "text/html"})
    assert page.status == 404 and page.headers["Content-Type"].startswith("text/html"), page
    assert "Page not found" in page.text and "Traceback" not in page.text, page.text[:500]
    anonymous = live.api().get("/api/offer/")
    assert anonymous.status == 401 and set(anonymous.json()) == {"error", "code", "details"}, anonymous


def test_unknown_host_is_refused(live) -> None:
    """With DEBUG off only ALLOWED_HOSTS are served."""
    reply = live.api().request("GET", "/health/", headers={"Host": "evil.example.com"})
    assert reply.status == 400, reply


def test_static_files_and_docs_are_served(live) -> None:
    """collectstatic ran (build.sh): the admin and Swagger pages render and their assets are served."""
    api = live.api()
    login = api.request("GET", "/admin/login/", headers={"Accept": "text/html"})
    assert login.status == 200, login
    assets = re.findall(r'href="(/static/[^"]+\.css)"', login.text)
    assert assets, login.text[:1000]
    css = api.request("GET", assets[0], headers={"Accept": "text/css"})
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css"), css
    assert "max-age" in css.headers.get("Cache-Control", ""), dict(css.headers)
    swagger = api.request("GET", "/swagger/", headers={"Accept": "text/html"})
    assert swagger.status == 200, swagger
    schema = api.request("GET", "/swagger.json")
    assert schema.status == 200, schema
    paths = {schema.json().get("basePath", "").rstrip("/") + path for path in schema.json()["paths"]}
    assert "/api/leads/upload/" in paths, sorted(paths)


def test_cors_allows_only_configured_origins(live) -> None:
    """CORS_ALLOWED_ORIGINS from the environment: that origin may call the API from a browser, others not."""
    api = live.api()
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    allowed = api.request("OPTIONS", "/api/offer/", headers={"Origin": TRUSTED_ORIGIN, **preflight})
    assert allowed.status == 200, allowed
    assert allowed.headers["Access-Control-Allow-Origin"] == TRUSTED_ORIGIN
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"].lower()
    refused = api.request("OPTIONS", "/api/offer/", headers={"Origin": "https://evil.example.test", **preflight})
    assert "Access-Control-Allow-Origin" not in refused.headers, dict(refused.headers)


def test_oversized_upload_is_refused_before_the_body_is_read(live, make_tenant) -> None:
    """A declared Content-Length over IMPORT_MAX_BYTES gets 413 while the client has sent only a few bytes."""
    token = make_tenant("big").token
    limit = int(os.environ.get("IMPORT_MAX_BYTES") or 500 * 1024 * 1024)
    url = urllib.parse.urlsplit(live.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.putrequest("POST", "/api/leads/upload/")
        conn.putheader("Authorization", f"Token {token}")
        conn.putheader("Content-Type", "multipart/form-data; boundary=xyz")
        conn.putheader("Content-Length", str(limit + 10 * 1024 * 1024))
        conn.endheaders(b"--xyz\r\n")  # the rest never comes
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 413, body
    assert body["code"] == "file_too_large" and str(limit // (1024 * 1024)) in body["error"], body


def test_upload_throttle_answers_429_in_the_envelope(live, make_tenant) -> None:
    """THROTTLE_UPLOAD is shared by every gunicorn worker (Redis cache): the request after the limit is 429."""
    rate = os.environ.get("THROTTLE_UPLOAD", "")
    match = re.fullmatch(r"(\d+)/hour", rate)
    if not match or int(match.group(1)) > 50:
        pytest.skip(f"THROTTLE_UPLOAD={rate!r} is too high to exhaust here")
    api = make_tenant("throttle").api
    content = leads_csv(2, tag="throttle")
    statuses = [api.upload("/api/leads/upload/", "t.csv", content).status for _ in range(int(match.group(1)))]
    assert set(statuses) <= {201, 202}, statuses
    over = api.upload("/api/leads/upload/", "t.csv", content)
    assert over.status == 429, over
    body = over.json()
    assert body["code"] == "throttled" and body["details"]["retry_after_seconds"] > 0, body
    assert int(over.headers["Retry-After"]) > 0


def test_logs_hold_no_tokens_or_secrets(live, make_tenant) -> None:
    """Everything the web and worker processes logged so far is free of API tokens and the secret key."""
    tenant = make_tenant("logs")
    tenant.api.get("/api/offer/")
    time.sleep(0.5)  # let the access log line land
    secrets = [tenant.token, os.environ["SECRET_KEY"], urllib.parse.urlsplit(os.environ["DATABASE_URL"]).password]
    logs = sorted(live.logs.glob("*.log"))
    assert any(path.name == "web.log" for path in logs)
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in secrets:
            assert secret not in text, f"{path.name} contains a secret"
    web = (live.logs / "web.log").read_text(errors="replace")
    assert '"GET /api/offer/ HTTP/1.1" 200' in web, "gunicorn's access log is missing"


def test_container_healthchecks_work(live) -> None:
    """The Dockerfile's HEALTHCHECK command and the compose worker's ping pass against the live processes."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    exec_form = re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", dockerfile, re.M)
    assert exec_form, "no exec-form HEALTHCHECK in the Dockerfile"
    command = json.loads(exec_form.group(1))
    assert command[0] == "python"
    port = urllib.parse.urlsplit(live.base_url).port
    env = {**os.environ, "PORT": str(port), "ALLOWED_HOSTS": "localhost,127.0.0.1"}
    done = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    # Against a port nobody listens on, it fails.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    env["PORT"] = str(closed_port)
    done = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0

    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ping = compose["services"]["worker"]["healthcheck"]["test"][1].replace("$$", "$")
    done = subprocess.run(["sh", "-c", ping], cwd=ROOT, env={**os.environ, "HOSTNAME": socket.gethostname()},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_deployment_files_run_the_procfile_commands() -> None:
    """Dockerfile, docker-compose.yml and Procfile name the same web, worker and release commands."""
    import yaml

    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    procfile = {name: value.strip() for name, value in procfile.items()}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert " ".join(compose["web"]["command"]) == procfile["web"]
    assert " ".join(compose["worker"]["command"]) == procfile["worker"]
    assert " ".join(compose["migrate"]["command"]) == procfile["release"]
    cmd = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    assert cmd and " ".join(json.loads(cmd.group(1))) == procfile["web"]
    build = (ROOT / "build.sh").read_text()
    assert "set -euo pipefail" in build and "collectstatic" in build and "migrate" in build
    assert Path(ROOT / "build.sh").stat().st_mode & 0o111, "build.sh is not executable"
    for dependency in ("postgres", "redis", "migrate"):
        assert dependency in compose["web"]["depends_on"] and dependency in compose["worker"]["depends_on"]
    assert compose["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
