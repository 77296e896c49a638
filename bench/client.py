"""A small HTTP client for the benchmark: stdlib only, 127.0.0.1 only, bodies streamed both ways.

The upload streams the CSV from disk as a multipart body with a Content-Length (no chunked
encoding, no copy in memory), and the export is read in chunks, so the client's own memory stays
flat however large the file is.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

UPLOAD_BLOCK = 1024 * 1024
JOB_FINISHED = ("succeeded", "failed", "cancelled")


class BenchError(RuntimeError):
    """Something the benchmark cannot measure around (a failed job, a timeout, a 500)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float


class Api:
    def __init__(self, host: str, port: int, token: str, *, timeout: float = 600.0) -> None:
        if host != "127.0.0.1":
            raise ValueError("the benchmark only talks to 127.0.0.1")
        self.host, self.port, self.token, self.timeout = host, port, token, timeout

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout, blocksize=UPLOAD_BLOCK)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}", "Accept": "application/json", **(extra or {})}

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None) -> Response:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = None if json_body is None else json.dumps(json_body).encode()
        headers = self._headers({"Content-Type": "application/json"} if body is not None else None)
        return self._send(method, path, body, headers)

    def _send(self, method: str, path: str, body: bytes | Iterator[bytes] | None,
              headers: dict[str, str]) -> Response:
        """One request on a fresh connection, timed from the first byte sent to the last byte read."""
        conn = self._connection()
        try:
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            seconds = time.perf_counter() - started
        finally:
            conn.close()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = raw.decode("utf-8", "replace")
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds)

    def post_json_bytes(self, path: str, body: bytes) -> Response:
        """POST a JSON body the caller already encoded (the events phase builds its bodies as bytes)."""
        return self._send("POST", path, body, self._headers({"Content-Type": "application/json"}))

    def get(self, path: str, **params: Any) -> Response:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Response:
        return self.request("POST", path, json_body=body)

    def patch(self, path: str, body: Any) -> Response:
        return self.request("PATCH", path, json_body=body)

    def upload(self, path: str, csv_path: Path, *, field: str = "file") -> Response:
        """POST the file as multipart/form-data, streamed from disk."""
        boundary = f"bench-{uuid.uuid4().hex}"
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                f"filename=\"{csv_path.name}\"\r\nContent-Type: text/csv\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = len(head) + csv_path.stat().st_size + len(tail)

        def body() -> Iterator[bytes]:
            yield head
            with csv_path.open("rb") as handle:
                while block := handle.read(UPLOAD_BLOCK):
                    yield block
            yield tail

        headers = self._headers({"Content-Type": f"multipart/form-data; boundary={boundary}",
                                 "Content-Length": str(length)})
        return self._send("POST", path, body(), headers)

    def stream_csv(self, path: str, **params: Any) -> tuple[int, int, float, float]:
        """GET a CSV and parse it as it arrives: (status, data rows, bytes, seconds to the last byte).

        Rows are counted with csv.reader, not by newlines: bios hold newlines inside quotes.
        """
        if params:
            path = f"{path}?{urlencode(params)}"
        conn = self._connection()
        try:
            started = time.perf_counter()
            # What curl and browsers send. (`Accept: text/csv` answers 406: the view's renderers are JSON's.)
            conn.request("GET", path, headers=self._headers({"Accept": "*/*"}))
            response = conn.getresponse()
            if response.status != 200:
                raise BenchError(f"GET {path} answered {response.status}: {response.read()[:500]!r}")
            counted = _CountingReader(response)
            buffered = io.BufferedReader(counted, buffer_size=UPLOAD_BLOCK)
            text = io.TextIOWrapper(buffered, encoding="utf-8-sig", newline="")
            rows = sum(1 for _ in csv.reader(text)) - 1  # minus the header
            seconds = time.perf_counter() - started
        finally:
            conn.close()
        return response.status, rows, counted.bytes, seconds

    def wait_job(self, job: dict[str, Any], *, timeout: float, poll: float = 0.25) -> dict[str, Any]:
        """Poll GET /api/jobs/{id}/ until the job finishes; raises after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        path = urlsplit(job["url"]).path if job.get("url") else f"/api/jobs/{job['id']}/"
        while job["status"] not in JOB_FINISHED:
            if time.monotonic() > deadline:
                raise BenchError(f"job {job['id']} still {job['status']} after {timeout:.0f} s "
                                 f"({job.get('processed')}/{job.get('total')} processed)")
            time.sleep(poll)
            response = self.get(path)
            if response.status != 200:
                raise BenchError(f"GET {path} answered {response.status}: {response.body!r:.500}")
            job = response.body
        return job


class _CountingReader(io.RawIOBase):
    """A raw stream over an HTTP response that counts the bytes read through it."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.response = response
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.response.readinto(buffer)
        self.bytes += n or 0
        return n or 0
