"""The end-to-end suite's plumbing: an HTTP client for the live server, tenants, lead CSVs, the worker.

`.ci/integration.sh` starts PostgreSQL, Redis, gunicorn and a Celery worker with the production
settings and passes their whereabouts in the environment (LEADSCORE_URL, INTEGRATION_*). These tests
talk to the server over HTTP only (the standard library's urllib: `requests` is not a dependency),
create workspaces with `manage.py create_workspace` like an operator would, and read PostgreSQL
directly (psycopg) only to check what the API can't show, such as duplicate rows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
INTEGRATION_DIR = Path(__file__).resolve().parent
NOT_LIVE = "No live server: run the integration suite with `make test-integration` (.ci/integration.sh)."
JOB_DONE = {"succeeded", "failed", "cancelled"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything in this directory is an integration test, so the unit run (-m 'not integration') skips it."""
    for item in items:
        if INTEGRATION_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.integration)


# --- HTTP --------------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def __repr__(self) -> str:  # what a failed assertion shows
        return f"<Reply {self.status} {self.body[:600]!r}>"


@dataclass
class Api:
    """A minimal JSON/multipart client over urllib, authenticated with a workspace member's token."""

    base_url: str
    token: str | None = None
    default_headers: dict[str, str] = field(default_factory=dict)

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        url = path if path.startswith("http") else self.base_url + path
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        return url

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json_body: Any = None,
                body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 120) -> Reply:
        all_headers = {"Accept": "application/json", **self.default_headers, **(headers or {})}
        if self.token:
            all_headers.setdefault("Authorization", f"Token {self.token}")
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url(path, params), data=body, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, error.headers, error.read())

    def get(self, path: str, **params: Any) -> Reply:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, json_body=json_body if json_body is not None else {}, **kwargs)

    def upload(self, path: str, filename: str, content: bytes, **fields: str) -> Reply:
        boundary = f"----leadscore{uuid.uuid4().hex}"
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request("POST", path, body=b"".join(parts),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def wait_job(self, job: dict[str, Any] | int, *, timeout: float = 180) -> dict[str, Any]:
        """Poll GET /api/jobs/{id}/ until the job finishes; fail with its last state after `timeout`."""
        job_id = job if isinstance(job, int) else job["id"]
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            reply = self.get(f"/api/jobs/{job_id}/")
            assert reply.status == 200, reply
            state = reply.json()
            if state["status"] in JOB_DONE:
                return state
            if time.monotonic() > deadline:
                pytest.fail(f"job {job_id} did not finish within {timeout} s: {state}")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    def job_of(self, reply: Reply, *, accepted: tuple[int, ...]) -> dict[str, Any]:
        """The job of an upload/score reply, waited for when the server answered 202."""
        assert reply.status in accepted, reply
        body = reply.json()
        job = body.get("job", body)
        if reply.status == 202:
            assert reply.headers["Location"] == job["url"], reply.headers
            assert job["url"].startswith(self.base_url), job["url"]
        return self.wait_job(job) if job["status"] not in JOB_DONE else job


@dataclass
class Live:
    base_url: str
    state: Path
    logs: Path
    worker_cmd: str
    worker_pidfile: Path
    redis_port: int

    def api(self, token: str | None = None) -> Api:
        return Api(self.base_url, token)


@pytest.fixture(scope="session")
def live() -> Live:
    base_url = os.environ.get("LEADSCORE_URL")
    if not base_url:
        pytest.fail(NOT_LIVE)
    return Live(
        base_url=base_url.rstrip("/"),
        state=Path(os.environ["INTEGRATION_STATE"]),
        logs=Path(os.environ["INTEGRATION_LOGS"]),
        worker_cmd=os.environ["INTEGRATION_WORKER_CMD"],
        worker_pidfile=Path(os.environ["INTEGRATION_WORKER_PIDFILE"]),
        redis_port=int(os.environ["INTEGRATION_REDIS_PORT"]),
    )


# --- Tenants -----------------------------------------------------------------------------------
def manage(*args: str, timeout: float = 120) -> str:
    """Run `manage.py` with the server's environment, as an operator would; returns stdout."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class Tenant:
    workspace: str
    username: str
    token: str
    api: Api


@pytest.fixture(scope="session")
def make_tenant(live: Live) -> Iterator[Any]:
    """Create a workspace and a member with `create_workspace`; the token is the command's last line."""
    run_id = uuid.uuid4().hex[:6]

    def make(label: str) -> Tenant:
        workspace, username = f"{label}-ws-{run_id}", f"{label}-user-{run_id}"
        token = manage("create_workspace", workspace, username).strip().splitlines()[-1].strip()
        assert len(token) >= 20, token
        return Tenant(workspace, username, token, live.api(token))

    yield make


# --- Data --------------------------------------------------------------------------------------
FIRST = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kemal", "Lena", "Maya",
         "Nils", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tara"]
LAST = ["Ng", "Okafor", "Silva", "Berg", "Kowalski", "Haddad", "Ito", "Murphy", "Patel", "Rossi", "Schmidt", "Diaz"]
ROLES = ["CEO", "Co-founder", "VP of Sales", "Head of Growth", "Director of Marketing", "Sales Manager",
         "Senior Engineer", "Team Lead", "Account Executive", "Marketing Coordinator", "Student", "Intern",
         "Executive Assistant to the CEO", "Chief Revenue Officer", "Product Owner", ""]
INDUSTRIES = ["B2B SaaS", "SaaS", "FinTech", "Healthcare", "Manufacturing", "Retail", "E-commerce",
              "Education", "Logistics", "Financial Services", "N/A", ""]
LOCATIONS = ["Berlin", "London", "New York", "Austin", "Lisbon", "Singapore", "Toronto", ""]
BIOS = [
    "Scaling our outbound team and evaluating automation tools for Q3.",
    "Hiring SDRs and expanding into new markets; we need more meetings.",
    "Leading a small team focused on customer success.",
    "Student interested in marketing; looking for an internship.",
    "Retired, enjoying gardening.",
    "Building pipeline with 24/7 outreach experiments.",
    "",
]


def leads_csv(count: int, *, tag: str, seed: int = 7) -> bytes:
    """`count` distinct leads (unique emails) as CSV bytes, the same for the same arguments."""
    rng = random.Random(f"{seed}-{tag}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["Name", "Job Title", "Company", "Industry", "Location", "LinkedIn Bio", "Email", "Source"])
    for i in range(count):
        company = f"{tag.title()} {rng.choice(['Labs', 'Systems', 'Cloud', 'Works', 'Group'])} {i // 7}"
        writer.writerow([
            f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(ROLES), company, rng.choice(INDUSTRIES),
            rng.choice(LOCATIONS), rng.choice(BIOS), f"lead{i}@{tag}-{i // 7}.example.com", "integration",
        ])
    return out.getvalue().encode("utf-8")


OFFER = {
    "name": "AI Outreach Automation",
    "value_props": ["24/7 outreach", "6x more meetings"],
    "ideal_use_cases": ["B2B SaaS mid-market"],
    "adjacent_industries": ["FinTech"],
}


def create_offer(api: Api, **overrides: Any) -> dict[str, Any]:
    reply = api.post("/api/offer/", {**OFFER, **overrides})
    assert reply.status == 201, reply
    return reply.json()


def import_leads(api: Api, count: int, *, tag: str) -> dict[str, Any]:
    """Upload `count` generated leads and wait for the import job; asserts every row was stored."""
    reply = api.upload("/api/leads/upload/", f"{tag}.csv", leads_csv(count, tag=tag))
    job = api.job_of(reply, accepted=(201, 202))
    assert job["status"] == "succeeded", job
    assert (job["created"], job["failed"], job["processed"]) == (count, 0, count), job
    return job


def score(api: Api, **body: Any) -> dict[str, Any]:
    """Start a scoring run and wait for its job."""
    reply = api.post("/api/leads/score/", body)
    return api.job_of(reply, accepted=(200, 202))


# --- Database (read-only checks the API can't make) --------------------------------------------
@pytest.fixture(scope="session")
def pg() -> Iterator[Any]:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        yield conn


def table(model_name: str) -> str:
    from django.apps import apps

    return apps.get_model("leads", model_name)._meta.db_table


def group_alive(pgid: int) -> bool:
    """Whether a process of the group still runs. Zombies don't count: killpg(pgid, 0) would say yes
    to the dead leader of a group this process started and has not reaped yet."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # state, ppid, pgrp
            return True
    return False


# --- Workers ----------------------------------------------------------------------------------
class Workers:
    """Celery workers by name. `worker` is the one the script started; its pid file names the group leader.

    Each worker runs the Procfile's worker command as the leader of a new process group, with its pid
    in `<state>/<name>.pid`, where the script's cleanup finds and stops it.
    """

    MAIN = "worker"

    def __init__(self, live: Live) -> None:
        self.live = live
        self.starts = 0

    def pidfile(self, name: str) -> Path:
        return self.live.state / f"{name}.pid"

    def pid(self, name: str = MAIN) -> int:
        return int(self.pidfile(name).read_text().strip())

    def alive(self, name: str = MAIN) -> bool:
        try:
            return group_alive(self.pid(name))
        except FileNotFoundError:
            return False

    def kill(self, name: str = MAIN) -> None:
        """SIGKILL the whole group (main process and pool children): no warm shutdown, no acks."""
        self._signal_and_wait(name, signal.SIGKILL, timeout=10)

    def stop(self, name: str) -> None:
        """SIGTERM: a warm shutdown that finishes the running tasks."""
        self._signal_and_wait(name, signal.SIGTERM, timeout=60)
        self.pidfile(name).unlink(missing_ok=True)

    def _signal_and_wait(self, name: str, sig: int, *, timeout: float) -> None:
        pid = self.pid(name)
        os.killpg(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not group_alive(pid):
                return
            time.sleep(0.05)
        pytest.fail(f"worker group {pid} ({name}) survived signal {sig}")

    def start(self, name: str = MAIN, extra_args: str = "") -> Path:
        """Start the Procfile's worker command (plus `extra_args`); returns its log once it is ready."""
        self.starts += 1
        log = self.live.logs / f"{name}-{self.starts}.log"
        command = f"exec {self.live.worker_cmd} {extra_args}".strip()
        with log.open("ab") as out:
            process = subprocess.Popen(["bash", "-c", command], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.pidfile(name).write_text(f"{process.pid}\n")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"worker {name} exited with {process.returncode}; see {log}")
            if b" ready." in log.read_bytes():
                return log
            time.sleep(0.2)
        pytest.fail(f"worker {name} did not report ready within 60 s; see {log}")


@pytest.fixture(scope="session")
def workers(live: Live) -> Workers:
    return Workers(live)
