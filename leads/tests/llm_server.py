"""A small OpenAI-compatible chat completions server for tests, benchmarks and the integration suite.

It binds 127.0.0.1 (port 0 = any free port) so nothing ever reaches the internet, and serves
`POST /v1/chat/completions` and `GET /v1/models`. By default a deterministic *judge* answers: it
reads the lead JSON between the prompt's `<lead>` tags and rates it from keywords in the role and
bio, with plausible `usage` counts. Tests script exceptions (429s, 500s, slow or malformed replies)
with `Reply` objects, and assert on what the server recorded.

    with LLMServer(latency=0.2) as server:
        server.script(Reply(status=429, headers={"Retry-After": "1"}))
        provider = OpenAIIntentProvider(api_key="test", model="judge", base_url=server.base_url)

Standalone: `python -m leads.tests.llm_server --port 8765 --latency-ms 200`.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from leads.scoring.intent.prompts import LEAD_CLOSE, LEAD_OPEN


@dataclass(frozen=True)
class Reply:
    """One scripted answer; every field left at its default behaves like the judge."""

    status: int = 200
    content: str | None = None  # the assistant's text; None: the judge decides
    body: bytes | None = None  # sent as-is (e.g. malformed JSON), overriding everything else
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stall before answering, on top of the server's latency
    error: str = "Scripted error"  # the message of a non-2xx reply


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # names lower-cased
    body: Any  # the decoded JSON body, or None


# --- the default judge -------------------------------------------------------------------------

_DECISION_MAKER = re.compile(
    r"\b(ceo|cto|cfo|coo|cmo|cro|cio|chief|founder|co-founder|owner|president|vp|svp|evp|head of|director)\b"
)
_INFLUENCER = re.compile(r"\b(manager|lead|principal|senior|architect)\b")
_BUYING_SIGNAL = re.compile(
    r"\b(scaling|hiring|evaluating|expanding|growing|migrating|automat\w*|looking for)\b"
)
_NEGATIVE = re.compile(r"\b(student|retired|job seeker|intern|open to work)\b")


def lead_from_messages(messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The lead record the provider put between the delimiters ({} when there is none)."""
    for message in messages:
        text = message.get("content")
        # User turns only: the system prompt names the tags too, in prose.
        if message.get("role") == "user" and isinstance(text, str) and LEAD_OPEN in text:
            inner = text.split(LEAD_OPEN, 1)[1].split(LEAD_CLOSE, 1)[0]
            try:
                lead = json.loads(inner)
            except ValueError:
                return {}
            return lead if isinstance(lead, dict) else {}
    return {}


def judge(lead: Mapping[str, Any]) -> tuple[str, str]:
    """(intent, reasoning) from simple keywords: plausible, deterministic, and blind to injections."""
    role = str(lead.get("role", "")).lower()
    bio = str(lead.get("linkedin_bio", "")).lower()
    if _NEGATIVE.search(role) or _NEGATIVE.search(bio):
        return "Low", "Negative signal in the profile (student, retired, intern or job seeker)."
    decides = bool(_DECISION_MAKER.search(role))
    influences = bool(_INFLUENCER.search(role))
    signal = _BUYING_SIGNAL.search(bio)
    if decides and signal:
        return "High", f"Decision maker whose bio mentions {signal.group(1)!r}."
    if decides or (influences and signal):
        return "Medium", "Authority, no buying signal." if decides else "Influencer with a buying signal."
    return "Low", "No authority and no buying signal in the profile."


# --- the server --------------------------------------------------------------------------------


class LLMServer:
    """Threaded fake of an OpenAI-compatible server; a context manager that starts and stops it."""

    def __init__(self, *, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0,
                 unsupported_formats: Iterable[str] = ()) -> None:
        """`unsupported_formats`: response_format types answered with a 400, like older servers do."""
        self.latency = latency
        self.unsupported_formats = set(unsupported_formats)
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._scripts: list[tuple[str | None, deque[Reply]]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # keep-alive handler threads must not block stop()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def completions(self) -> list[RecordedRequest]:
        """The chat completion requests received so far, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def script(self, *replies: Reply, when: str | None = None) -> None:
        """Queue replies for the next requests; `when` limits them to leads whose JSON contains it."""
        with self._lock:
            self._scripts.append((when, deque(replies)))

    def start(self) -> LLMServer:
        # A short poll interval so stop() returns promptly (the default 0.5 s adds up across tests).
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="llm-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers stalled in a delay
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    # -- used by the handler --------------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self, lead_text: str) -> Reply:
        with self._lock:
            for when, queue in self._scripts:
                if queue and (when is None or when in lead_text):
                    return queue.popleft()
        return Reply()

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def answer(self, body: Any) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one chat completion request."""
        messages = body.get("messages", []) if isinstance(body, dict) else []
        lead = lead_from_messages(messages)
        reply = self._next_reply(json.dumps(lead, ensure_ascii=False))
        self._pause(self.latency + reply.delay)
        headers = dict(reply.headers)
        if reply.body is not None:
            return reply.status, {"Content-Type": "application/json", **headers}, reply.body
        if not isinstance(body, dict) or not isinstance(messages, list):
            return _error(400, "Request body must be a JSON object with messages", headers)
        format_type = (body.get("response_format") or {}).get("type")
        if format_type in self.unsupported_formats:
            message = f"Invalid parameter: response_format of type '{format_type}' is not supported."
            return _error(400, message, headers, param="response_format")
        if reply.status >= 400:
            return _error(reply.status, reply.error, headers)
        if reply.content is None:
            intent, reasoning = judge(lead)
            content = json.dumps({"reasoning": reasoning, "intent": intent})
        else:
            content = reply.content
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages if isinstance(m, dict))
        completion = {
            "id": f"chatcmpl-{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "judge"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            # Roughly what a tokenizer would say: ~4 characters a token, a few per message.
            "usage": {"prompt_tokens": prompt_chars // 4 + 4 * len(messages),
                      "completion_tokens": max(1, len(content) // 4),
                      "total_tokens": prompt_chars // 4 + 4 * len(messages) + max(1, len(content) // 4)},
        }
        return reply.status, {"Content-Type": "application/json", **headers}, json.dumps(completion).encode()


def _error(status: int, message: str, headers: Mapping[str, str],
           param: str | None = None) -> tuple[int, dict[str, str], bytes]:
    kind = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}.get(status, "error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": kind}}
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _make_handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do; needs Content-Length
        timeout = 60  # idle keep-alive connections don't hold a thread forever
        disable_nagle_algorithm = True  # headers and body go out in two writes; avoid 40 ms stalls

        def do_GET(self) -> None:
            server._record(RecordedRequest("GET", self.path, _lower(self.headers), None))
            if self.path.rstrip("/").endswith("/models"):
                model = {"id": "judge", "object": "model", "owned_by": "leadscore"}
                models = {"object": "list", "data": [model]}
                self._send(200, {"Content-Type": "application/json"}, json.dumps(models).encode())
            else:
                self._send(*_error(404, f"No route for GET {self.path}", {}))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            server._record(RecordedRequest("POST", self.path, _lower(self.headers), body))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(*_error(404, f"No route for POST {self.path}", {}))
                return
            server._enter()
            try:
                self._send(*server.answer(body))
            finally:
                server._leave()

        def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client timed out and left; nothing to tell it

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests treat console noise as a failure

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible test server (deterministic judge).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every completion")
    args = parser.parse_args(argv)
    server = LLMServer(latency=args.latency_ms / 1000, host=args.host, port=args.port)
    print(f"LLM test server listening on {server.base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._httpd.server_close()


if __name__ == "__main__":
    main()
