"""A webhook receiver for the automations phase, in a process of its own on 127.0.0.1.

    python -m bench.receiver DIR      # what WebhookReceiver starts; writes DIR/port, appends DIR/records.tsv

The server verifies every request's Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">`, keyed with the base64 part of the
workflow's `whsec_` secret, read from DIR/secret), answers 200 at once, and appends one line per request:
webhook-id, lead id, arrival (wall clock, to compare with the job's `finished_at`), whether it verified.
A repeat is a request whose `webhook-id` came before: the product sends the same id on every retry of
one execution, so repeats are the duplicates a receiver would have to drop.

It runs in its own process so that the benchmark's own work (parsing result pages, sampling memory)
never holds the GIL of the server that answers the deliveries: a receiver thread inside the bench
answered up to 30× slower while the bench parsed JSON, which the product's delivery rate would show.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.client import BenchError
from bench.stack import HOST, REPO, kill_group

TIMESTAMP_TOLERANCE = 300  # seconds, as the Standard Webhooks reference verifiers allow
START_TIMEOUT = 30.0


# --- the server process -----------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog (socketserver's default is 5)


def verify(secret: str | None, headers: Any, body: bytes) -> str:
    """'' when the Standard Webhooks signature verifies, else what is wrong."""
    if not secret:
        return "no secret"
    msg_id, stamp, signatures = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                 headers.get("webhook-signature"))
    if not (msg_id and stamp and signatures):
        return "missing webhook-* headers"
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > TIMESTAMP_TOLERANCE:
        return f"timestamp {stamp!r} too far from now"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = "v1," + base64.b64encode(
        hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()).decode()
    if not any(hmac.compare_digest(expected, sig) for sig in signatures.split()):
        return "signature does not verify"
    return ""


def serve(folder: Path) -> None:
    records = (folder / "records.tsv").open("a", buffering=1)  # a line per request, flushed
    secret_file = folder / "secret"
    state: dict[str, str | None] = {"secret": None}
    lock = threading.Lock()  # handler threads share the records file

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            arrived = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if state["secret"] is None and secret_file.exists():
                state["secret"] = secret_file.read_text().strip() or None
            problem = verify(state["secret"], self.headers, body)
            try:
                lead = (json.loads(body).get("lead") or {}).get("id")
            except (ValueError, AttributeError):
                lead, problem = None, problem or "body is not a JSON object"
            webhook_id = (self.headers.get("webhook-id") or "").replace("\t", " ")
            answer = b'{"ok":true}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            line = f"{webhook_id}\t{lead if lead is not None else ''}\t{arrived:.6f}\t{problem.replace(chr(9), ' ')}\n"
            with lock:
                records.write(line)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = _Server((HOST, 0), Handler)
    (folder / "port.tmp").write_text(str(server.server_address[1]))
    (folder / "port.tmp").rename(folder / "port")
    server.serve_forever(poll_interval=0.1)


# --- the bench's side ----------------------------------------------------------------------------
class WebhookReceiver:
    """Starts `python -m bench.receiver DIR` and reads what it recorded; stop() always ends it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self._offset = 0
        self._partial = b""
        self.counts: Counter[str] = Counter()
        self.first_at: dict[str, float] = {}
        self.lead_of: dict[str, int | None] = {}
        self.requests = 0
        self.bad_signatures = 0
        self.problems: list[str] = []

    def start(self) -> WebhookReceiver:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in ("port", "secret", "records.tsv"):
            (self.folder / name).unlink(missing_ok=True)
        (self.folder / "records.tsv").touch()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", str(self.folder)], cwd=REPO,
            stdout=(self.folder / "receiver.log").open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not (self.folder / "port").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise BenchError("the webhook receiver did not start: "
                                 f"{(self.folder / 'receiver.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.05)
        self.port = int((self.folder / "port").read_text())
        return self

    def stop(self) -> None:
        if self.process is not None:
            kill_group(self.process, grace=2)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/bench-hook"

    def set_secret(self, secret: str) -> None:
        tmp = self.folder / "secret.tmp"
        tmp.write_text(secret)
        tmp.rename(self.folder / "secret")

    def _read(self) -> None:
        with (self.folder / "records.tsv").open("rb") as handle:
            handle.seek(self._offset)
            data = handle.read()
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an unfinished last line waits for the next read
        for raw in lines:
            webhook_id, lead, arrived, problem = raw.decode("utf-8", "replace").split("\t", 3)
            self.requests += 1
            self.counts[webhook_id] += 1
            self.first_at.setdefault(webhook_id, float(arrived))
            self.lead_of.setdefault(webhook_id, int(lead) if lead else None)
            if problem:
                self.bad_signatures += 1
                if len(self.problems) < 5:
                    self.problems.append(f"{webhook_id}: {problem}")

    def distinct(self) -> int:
        self._read()
        return len(self.counts)

    def summary(self) -> dict[str, Any]:
        self._read()
        firsts = sorted(self.first_at.values())
        return {
            "requests": self.requests,
            "distinct_ids": len(self.counts),
            "duplicates": self.requests - len(self.counts),  # requests whose webhook-id came before
            "repeated_ids": sum(1 for n in self.counts.values() if n > 1),
            "bad_signatures": self.bad_signatures,
            "problems": list(self.problems),
            "first_at": firsts[0] if firsts else None,
            "last_new_at": firsts[-1] if firsts else None,
            "lead_ids": list(self.lead_of.values()),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.receiver", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    with contextlib.suppress(KeyboardInterrupt):
        serve(parser.parse_args().folder)
