"""The embedded default under attack and under Ctrl-C: a killed worker's import and scoring run are
taken over, throttles hold across web processes, a killed web process leaves no upload behind, and
`make run` stops cleanly within seconds."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from leads.tests.integration.conftest import ROOT, Api, create_offer, leads_csv
from leads.tests.integration.embedded import Embedded, embedded_env, free_port, leftovers

pytestmark = pytest.mark.integration

LEASE_SECONDS = 4
THROTTLE = 8
IMPORT_ROWS = 120_000
STOP_BUDGET_SECONDS = 15  # on a loaded CI machine; honcho itself SIGKILLs after 5 s


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedded]:
    stack = Embedded(tmp_path_factory.mktemp("embedded"), JOB_LEASE_SECONDS=str(LEASE_SECONDS),
                     IMPORT_BATCH_SIZE="2000", SCORE_CHUNK_SIZE="500", JOB_WAIT_SECONDS="0.5",
                     THROTTLE_UPLOAD=f"{THROTTLE}/hour")
    try:
        stack.start_all()
        yield stack
    finally:
        stack.stop_all()


def _catch_running(api: Api, job_id: int, total: int) -> dict:
    deadline = time.monotonic() + 60
    while True:
        job = api.get(f"/api/jobs/{job_id}/").json()
        if job["processed"] > 0:
            assert job["status"] == "running" and job["processed"] < total, f"finished too soon; make it bigger: {job}"
            return job
        assert time.monotonic() < deadline, f"nothing was processed within 60 s: {job}"
        time.sleep(0.05)


def test_a_killed_worker_restarted_at_once_finishes_the_import_and_the_scoring(stack: Embedded) -> None:
    """SIGKILL the worker mid-import and start it again at once: the filesystem broker has dropped the
    message and the dead worker's lease still runs, so only the jobs sweep brings the import back."""
    api = stack.tenant_api("kill")
    reply = api.upload("/api/leads/upload/", "big.csv", leads_csv(IMPORT_ROWS, tag="embkill"))
    assert reply.status == 202, reply
    job_id = reply.json()["id"]
    _catch_running(api, job_id, IMPORT_ROWS)
    stack.kill("worker")
    stack.start_worker()
    job = api.wait_job(job_id, timeout=180)
    assert job["status"] == "succeeded", job
    assert (job["processed"], job["created"], job["failed"]) == (IMPORT_ROWS, IMPORT_ROWS, 0), job
    assert api.get("/api/leads/", page_size=1).json()["count"] == IMPORT_ROWS
    assert not list((stack.data_dir / "media" / "imports").iterdir()), "the finished import left its upload"

    offer = create_offer(api)
    reply = api.post("/api/leads/score/", {"offer": offer["id"]})
    assert reply.status == 202, reply
    score_id = reply.json()["id"]
    _catch_running(api, score_id, IMPORT_ROWS)
    stack.kill("worker")
    stack.start_worker()
    job = api.wait_job(score_id, timeout=300)
    assert job["status"] == "succeeded", job
    assert (job["processed"], job["failed"], job["skipped"]) == (IMPORT_ROWS, 0, 0), job
    assert api.get("/api/leads/results/", offer=offer["id"], page_size=1).json()["count"] == IMPORT_ROWS


def test_the_upload_throttle_holds_across_web_processes(stack: Embedded) -> None:
    """Two gunicorn workers, one counter: THROTTLE uploads an hour, not twice as many."""
    api = stack.tenant_api("throttle")
    statuses = [api.upload("/api/leads/upload/", "one.csv", b"name,company\nAna,Acme\n").status
                for _ in range(THROTTLE * 2)]
    assert statuses.count(429) == THROTTLE, statuses
    assert all(status in (201, 202) for status in statuses[:THROTTLE]), statuses


def _upload_files(stack: Embedded) -> list[Path]:
    """Spooled uploads wherever they may be: the stack's own folder, or the system's temp folder."""
    places = [stack.data_dir / "tmp", Path(stack.env["TMPDIR"])]
    return [path for place in places if place.is_dir() for path in place.rglob("*.upload*") if path.is_file()]


def _gunicorn_workers(master: int) -> list[int]:
    workers = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            workers.append(int(stat.parent.name))
    return workers


def test_a_web_process_killed_mid_upload_leaves_no_file(stack: Embedded) -> None:
    """Half of a 20 MB upload is spooled to disk when its gunicorn worker is SIGKILLed: the file goes too."""
    api = stack.tenant_api("spool")
    boundary = uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode()
    body = leads_csv(200_000, tag="spool")[:20 * 1024 * 1024]
    length = len(head) + len(body) + len(f"\r\n--{boundary}--\r\n")
    request = (f"POST /api/leads/upload/ HTTP/1.1\r\nHost: 127.0.0.1:{stack.port}\r\n"
               f"Authorization: Token {api.token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
               f"Content-Length: {length}\r\n\r\n").encode()
    assert not _upload_files(stack)
    with socket.create_connection(("127.0.0.1", stack.port)) as client:
        client.sendall(request + head + body[:len(body) // 2])
        deadline = time.monotonic() + 30
        while not _upload_files(stack):
            assert time.monotonic() < deadline, "the upload was never spooled to disk"
            time.sleep(0.1)
        for pid in _gunicorn_workers(stack.processes["web"].pid):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while _upload_files(stack):
            assert time.monotonic() < deadline, f"left behind: {_upload_files(stack)}"
            time.sleep(0.1)
    # The master started new workers, which serve as before.
    deadline = time.monotonic() + 30
    while Api(stack.base_url).get("/health/").status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    # The whole server killed mid-upload: the next one removes what its workers left.
    with socket.create_connection(("127.0.0.1", stack.port)) as client:
        client.sendall(request + head + body[:len(body) // 2])
        deadline = time.monotonic() + 30
        while not _upload_files(stack):
            assert time.monotonic() < deadline, "the upload was never spooled to disk"
            time.sleep(0.1)
        stack.kill("web")
    assert _upload_files(stack), "nothing to clean up: the test no longer tests anything"
    stack.start_web()
    assert not _upload_files(stack), f"left behind: {_upload_files(stack)}"


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_make_run_stops_web_worker_and_beat(tmp_path: Path, how: str) -> None:
    """`make run`, then Ctrl-C (SIGINT to the terminal's process group) or SIGTERM to make: everything
    it started is gone within seconds, with no segfault and no flood of shutdown lines."""
    port = free_port()
    env = embedded_env(tmp_path, port)
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        make = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        api = Api(f"http://127.0.0.1:{port}")
        while True:
            text = log.read_text(errors="replace")
            if " ready." in text and "Starting" in text:
                try:
                    if api.get("/health/").status == 200:
                        break
                except OSError:
                    pass
            assert make.poll() is None, f"make run exited:\n{text[-3000:]}"
            assert time.monotonic() < deadline, f"make run did not get ready:\n{text[-3000:]}"
            time.sleep(0.3)
        assert len(leftovers(tmp_path)) >= 4  # make, honcho, gunicorn (+ workers), celery (+ pool), beat

        started = time.monotonic()
        if how == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)
        else:
            make.send_signal(signal.SIGTERM)
        while leftovers(tmp_path) and time.monotonic() - started < 60:
            time.sleep(0.1)
        took = time.monotonic() - started
        assert not leftovers(tmp_path), f"still running after 60 s: {leftovers(tmp_path)}"
        assert took < STOP_BUDGET_SECONDS, f"stopping took {took:.1f} s"
        make.wait(timeout=10)
        text = log.read_text(errors="replace")
        assert "Segmentation fault" not in text and "core dumped" not in text, text[-3000:]
        assert text.count("Warm shutdown") + text.count("Cold shutdown") <= 1, text[-3000:]
        print(f"make run stopped by {how} in {took:.1f} s")
    finally:
        for pid in leftovers(tmp_path):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
