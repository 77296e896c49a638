"""Small HTTP receivers for the automation tests: a webhook endpoint and a Slack-compatible one.

Both bind 127.0.0.1 on a free port, record every request (method, path, headers, raw body) and
answer from a scripted list of responses, then from a default once the script runs out:

    with Receiver([Response(429, {"Retry-After": "7"}), Response(200)]) as receiver:
        ...post to receiver.url...
        assert [r.path for r in receiver.requests] == ["/hook", "/hook"]

`verify_signature` checks a Standard Webhooks signature the way a receiver would; it is written
from the specification (https://www.standardwebhooks.com), not with the product's signing code, so
a mistake there can't cancel itself out here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Response:
    """One scripted answer."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | str = b""
    delay: float = 0.0  # seconds to stall before answering (bounded by the server's stop)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A threaded HTTP server on 127.0.0.1 that records requests and answers from a script."""

    default = Response(200, {"Content-Type": "text/plain"}, b"ok")

    def __init__(self, responses: Iterable[Response] = (), *, default: Response | None = None) -> None:
        self._script: deque[Response] = deque(responses)
        if default is not None:
            self.default = default
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread: threading.Thread | None = None

    # -- where it listens -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    # -- what it answers and saw ------------------------------------------------------------------

    def script(self, *responses: Response) -> None:
        """Queue answers for the next requests (after any still queued)."""
        with self._lock:
            self._script.extend(responses)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def pending_script(self) -> int:
        with self._lock:
            return len(self._script)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Receiver:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="test-receiver",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler ----------------------------------------------------------------------

    def _answer(self, request: RecordedRequest) -> Response:
        with self._lock:
            self._requests.append(request)
            response = self._script.popleft() if self._script else self.default
        if response.delay > 0:
            self._stopping.wait(min(response.delay, 30.0))
        return response


class SlackReceiver(Receiver):
    """Answers like a Slack incoming webhook: `ok` with 200, or what the script says (429, 500...)."""

    default = Response(200, {"Content-Type": "text/html"}, b"ok")

    @staticmethod
    def rate_limited(retry_after: int = 0) -> Response:
        return Response(429, {"Content-Type": "text/html", "Retry-After": str(retry_after)}, b"rate_limited")

    @staticmethod
    def server_error() -> Response:
        return Response(500, {"Content-Type": "text/html"}, b"internal_error")

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The JSON messages posted so far, in arrival order."""
        return [request.json() for request in self.requests]


def _make_handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after a test
        timeout = 10  # a client that never sends its body doesn't hold a thread

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorded = RecordedRequest(self.command, self.path,
                                       {name.lower(): value for name, value in self.headers.items()}, body)
            response = receiver._answer(recorded)
            payload = response.body.encode() if isinstance(response.body, str) else response.body
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_GET = do_PUT = _handle

        def log_message(self, format: str, *args: object) -> None:
            return  # no console noise

    return Handler


# --- Standard Webhooks, receiver side ---------------------------------------------------------------


def expected_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """`v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), key = base64-decoded after `whsec_`."""
    assert secret.startswith("whsec_"), secret
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, message_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
                     tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """True when the request is signed with `secret` and its timestamp is recent, as a receiver checks it."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not message_id or not timestamp or not signatures or not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    wanted = expected_signature(secret, message_id, timestamp, body)
    return any(hmac.compare_digest(wanted, candidate) for candidate in signatures.split(" ") if candidate)
