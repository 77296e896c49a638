"""OpenAI-compatible intent provider: the official SDK, bounded concurrency, our own retries.

Why not the SDK's retries: they can't count the HTTP requests a lead cost (Usage.requests), their
backoff base is a fixed 0.5 s (tests want milliseconds), and a failure comes back without saying
how many attempts were made. So the client runs with `max_retries=0` and `_send` retries 408, 409,
429, 5xx, timeouts and connection errors with exponential backoff and jitter, honouring
`retry-after-ms` and `Retry-After` (seconds or an HTTP date). 401/403/404 and other 4xx are final.

A batch runs on a thread pool of `concurrency` workers created per call, so the provider works the
same from a Celery worker thread or a Django request thread (no event loop involved). Every lead's
outcome is its own: an unusable reply gets one re-ask, then an `IntentProviderError` in its slot,
never an invented verdict. Nothing is cached here; the service caches by `version`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from leads.exceptions import IntentProviderError
from leads.scoring.intent import prompts
from leads.scoring.types import Intent as IntentLabel
from leads.scoring.types import IntentResult, LeadData, OfferData, Usage

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MAX_REASONING_CHARS = 1000

# Error texts (tests assert them exactly).
TIMEOUT_ERROR = "AI provider timed out after {attempts} attempts"
CONNECTION_ERROR = "AI provider could not be reached after {attempts} attempts"
RATE_LIMIT_ERROR = "AI provider kept rate-limiting (HTTP 429) after {attempts} attempts"
SERVER_ERROR = "AI provider kept failing (HTTP {status}) after {attempts} attempts"
RETRY_AFTER_TOO_LONG_ERROR = (
    "AI provider asked to wait {seconds:.0f} s before retrying, more than the {limit:.0f} s allowed"
)
AUTH_ERROR = "AI provider rejected the API key (HTTP {status}); check OPENAI_API_KEY"
MODEL_NOT_FOUND_ERROR = (
    "AI provider answered 404 for model {model!r}; check OPENAI_MODEL and OPENAI_BASE_URL"
)
REJECTED_ERROR = "AI provider rejected the request (HTTP {status}): {detail}"
UNUSABLE_REPLY_ERROR = "AI provider gave no usable verdict in {replies} replies: {problem}"
UNEXPECTED_ERROR = "AI provider call failed unexpectedly: {error}"

# Problems with a reply (fed back to the model in the re-ask, and into the final error).
NOT_JSON = "no JSON object found"
NO_INTENT = "missing or invalid 'intent' (must be High, Medium or Low)"
NO_REASONING = "missing 'reasoning'"
EMPTY_REPLY = "empty reply"
BAD_BODY = "the response body was not a chat completion"

RETRYABLE_STATUSES = frozenset({408, 409, 429})

# Response formats, most to least structured; a server that rejects one moves us down for good.
FORMATS: tuple[dict[str, Any] | None, ...] = (prompts.JSON_SCHEMA_FORMAT, prompts.JSON_OBJECT_FORMAT, None)
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output")


class ReplyError(ValueError):
    """A reply that carries no usable verdict; `problem` says why, in words the model can act on."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# --- reply parsing -----------------------------------------------------------------------------

_INTENT_WORD = re.compile(r"^(high|medium|med|low)(?:\s+(?:intent|buying intent|priority))?$")
_LABELS: dict[str, IntentLabel] = {"high": "High", "medium": "Medium", "med": "Medium", "low": "Low"}
_INTENT_KEYS = ("intent", "buying_intent", "intent_label", "label", "rating")
_REASONING_KEYS = ("reasoning", "reason", "rationale", "explanation", "justification")


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object embedded in `text`, in order: handles ```json fences and prose around it."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    pos = text.find("{")
    while pos != -1:
        try:
            value, end = decoder.raw_decode(text, pos)
        except ValueError:
            pos = text.find("{", pos + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        pos = text.find("{", end)
    return found


def _normalise_intent(value: object) -> IntentLabel | None:
    if not isinstance(value, str):
        return None
    match = _INTENT_WORD.match(" ".join(value.strip().strip(".!\"'").lower().replace("_", " ").split()))
    if not match:
        return None  # "high or medium", "maybe": ambiguous, never guessed at
    return _LABELS[match.group(1)]


def _lookup(obj: Mapping[str, Any], keys: tuple[str, ...]) -> object:
    folded = {str(k).strip().lower().replace(" ", "_").replace("-", "_"): v for k, v in obj.items()}
    return next((folded[k] for k in keys if k in folded), None)


def parse_verdict(content: str | None) -> tuple[IntentLabel, str]:
    """(intent, reasoning) from a model reply, tolerant of servers without structured output.

    Accepts JSON inside fences or prose, any key casing ("Intent"), labels in any case and "medium
    intent"; raises `ReplyError` rather than guess when the intent or the reasoning is missing.
    """
    if not content or not content.strip():
        raise ReplyError(EMPTY_REPLY)
    objects = _json_objects(content)
    if not objects:
        raise ReplyError(NOT_JSON)
    # Some models wrap the answer ({"result": {...}}); look one level down too.
    candidates = objects + [v for o in objects for v in o.values() if isinstance(v, dict)]
    problem = NO_INTENT
    for obj in candidates:
        intent = _normalise_intent(_lookup(obj, _INTENT_KEYS))
        if intent is None:
            continue
        reasoning = _lookup(obj, _REASONING_KEYS)
        if isinstance(reasoning, str) and reasoning.strip():
            return intent, prompts.truncate(reasoning, MAX_REASONING_CHARS)
        problem = NO_REASONING
    raise ReplyError(problem)


# --- Retry-After -------------------------------------------------------------------------------


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The server's requested wait: `retry-after-ms`, else `Retry-After` as seconds or HTTP date.

    `headers` must be case-insensitive (httpx headers are). None when absent or unreadable.
    """
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            continue
        if seconds == seconds and seconds >= 0:  # not NaN
            return seconds
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are UTC anyway
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --- the provider ------------------------------------------------------------------------------


@dataclass
class _LeadCall:
    """Mutable per-lead bookkeeping: what this lead cost so far."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def usage(self) -> Usage:
        return Usage(self.requests, self.prompt_tokens, self.completion_tokens)

    def error(self, message: str, **details: Any) -> IntentProviderError:
        usage = {"requests": self.requests, "prompt_tokens": self.prompt_tokens,
                 "completion_tokens": self.completion_tokens}
        return IntentProviderError(message, details={**details, "usage": usage})


@dataclass
class _Batch:
    """State shared by one classify_many call: a fatal error (bad key, unknown model) stops the rest."""

    fatal: IntentProviderError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Failed(Exception):
    """Internal: the lead is done, with this error."""

    def __init__(self, error: IntentProviderError, *, fatal: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.fatal = fatal


class OpenAIIntentProvider:
    """Classifies leads with any OpenAI-compatible chat completions server (OpenAI, Azure, vLLM...)."""

    name = "openai"

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        concurrency: int = 16,
        timeout: float = 30.0,
        max_retries: int = 2,
        temperature: float | None = 0.0,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """`timeout` bounds each HTTP attempt (connect/read/write, as httpx counts it);
        `max_retries` counts retries after the first attempt.

        A `Retry-After` longer than `max_retry_wait` fails the lead at once (a later run picks it
        up) rather than parking a worker. `temperature=None` omits it, for models that reject it.
        `backoff_base`/`backoff_max` shape the exponential backoff; `sleep` is a seam for tests.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.model = model
        self.version = prompts.PROMPT_VERSION
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.temperature = temperature
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        # Explicit key and base URL so the SDK never falls back to reading the environment; local
        # servers (Ollama, vLLM) ignore the key but the SDK insists on one.
        self._client = openai.OpenAI(
            api_key=api_key or "not-needed",
            base_url=base_url or DEFAULT_BASE_URL,
            timeout=openai.Timeout(timeout, connect=min(timeout, 5.0)),
            max_retries=0,
        )
        self._lock = threading.Lock()
        self._format_index = 0  # into FORMATS; only ever moves down
        self._send_temperature = temperature is not None
        self._paused_until = 0.0  # monotonic; set by a 429 so all workers back off together

    # -- public ---------------------------------------------------------------------------------

    def classify_many(
        self, leads: Sequence[LeadData], offer: OfferData
    ) -> list[IntentResult | IntentProviderError]:
        """One result per lead, in order; at most `concurrency` requests in flight."""
        if not leads:
            return []
        batch = _Batch()
        workers = min(self.concurrency, len(leads))
        if workers == 1:
            return [self._classify_guarded(lead, offer, batch) for lead in leads]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="intent-llm") as pool:
            return list(pool.map(lambda lead: self._classify_guarded(lead, offer, batch), leads))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIIntentProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one lead -------------------------------------------------------------------------------

    def _classify_guarded(
        self, lead: LeadData, offer: OfferData, batch: _Batch
    ) -> IntentResult | IntentProviderError:
        call = _LeadCall()
        if batch.fatal is not None:  # same cause, no request made: a fresh error, zero usage
            return call.error(batch.fatal.message, status=batch.fatal.details.get("status"))
        try:
            return self._classify(lead, offer, call)
        except _Failed as failed:
            if failed.fatal:
                with batch.lock:
                    batch.fatal = batch.fatal or failed.error
            return failed.error
        except Exception as exc:  # one lead's bug must not sink the batch
            logger.exception("Intent classification failed unexpectedly")
            return call.error(UNEXPECTED_ERROR.format(error=exc))

    def _classify(self, lead: LeadData, offer: OfferData, call: _LeadCall) -> IntentResult:
        messages = prompts.build_messages(lead, offer)
        problem = ""
        for reply_number in (1, 2):  # the first reply, then at most one re-ask
            completion = self._complete(messages, call)
            content = _content(completion)
            try:
                if content is None:
                    raise ReplyError(BAD_BODY)
                intent, reasoning = parse_verdict(content)
            except ReplyError as exc:
                problem = exc.problem
                logger.info("Unusable intent reply (%s), reply %d of 2", problem, reply_number)
                messages = messages + prompts.reask_messages(content or "", problem)
                continue
            return IntentResult(intent, reasoning, self.name, self.model, call.usage())
        raise _Failed(call.error(UNUSABLE_REPLY_ERROR.format(replies=2, problem=problem)))

    def _complete(self, messages: list[dict[str, str]], call: _LeadCall) -> object:
        """One completion, stepping down response formats / dropping temperature when rejected."""
        while True:
            response_format, send_temperature = self._request_options()
            try:
                return self._send(messages, response_format, send_temperature, call)
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status in (400, 422) and self._step_down(exc, response_format, send_temperature):
                    continue  # resend the simpler request; the rejected one still counted as a request
                error = _status_error(exc, self.model, call)
                raise _Failed(error, fatal=status in (401, 403, 404)) from exc

    def _request_options(self) -> tuple[dict[str, Any] | None, bool]:
        with self._lock:
            return FORMATS[self._format_index], self._send_temperature

    def _step_down(self, exc: openai.APIStatusError, response_format: dict[str, Any] | None,
                   send_temperature: bool) -> bool:
        """Remember that the server rejected our response_format (or temperature); True to resend."""
        detail = _error_detail(exc).lower()
        with self._lock:
            if response_format is not None and any(word in detail for word in _FORMAT_WORDS):
                # Another worker may have stepped down already; never skip a level because of a race.
                current = FORMATS.index(response_format)
                self._format_index = max(self._format_index, current + 1)
                fallback = FORMATS[self._format_index]
                logger.warning("Server rejected response_format %s; using %s from now on",
                               response_format["type"], fallback["type"] if fallback else "plain text")
                return True
            if send_temperature and "temperature" in detail:
                self._send_temperature = False
                logger.warning("Server rejected temperature; omitting it from now on")
                return True
        return False

    # -- one HTTP exchange, with retries --------------------------------------------------------

    def _send(self, messages: list[dict[str, str]], response_format: dict[str, Any] | None,
              send_temperature: bool, call: _LeadCall) -> object:
        """POST /chat/completions with retries; raises `_Failed` or a non-retryable APIStatusError."""
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if response_format is not None:
            kwargs["response_format"] = response_format
        if send_temperature:
            kwargs["temperature"] = self.temperature
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            self._wait_for_pause()
            call.requests += 1
            try:
                completion = self._client.chat.completions.create(**kwargs)
            except openai.APITimeoutError as exc:
                failure, headers, status = exc, None, None
                message = TIMEOUT_ERROR.format(attempts=attempts)
            except openai.APIConnectionError as exc:
                failure, headers, status = exc, None, None
                message = CONNECTION_ERROR.format(attempts=attempts)
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status not in RETRYABLE_STATUSES and status < 500:
                    raise
                failure, headers = exc, exc.response.headers
                message = (RATE_LIMIT_ERROR.format(attempts=attempts) if status == 429
                           else SERVER_ERROR.format(status=status, attempts=attempts))
            except ValueError as exc:
                # The SDK hands back a JSON decode error for a 200 whose body isn't JSON.
                logger.info("Unreadable response body: %s", exc)
                return None
            else:
                _count_tokens(completion, call)
                return completion

            if attempt == attempts:
                raise _Failed(call.error(message, status=status)) from failure
            delay = self._retry_delay(attempt, headers)
            if delay is None:
                wanted = retry_after_seconds(headers or {}) or 0.0
                raise _Failed(call.error(RETRY_AFTER_TOO_LONG_ERROR.format(
                    seconds=wanted, limit=self.max_retry_wait), status=status)) from failure
            logger.info("AI provider request failed (%s); retry %d of %d in %.2f s",
                        type(failure).__name__ if status is None else f"HTTP {status}",
                        attempt, self.max_retries, delay)
            if status == 429:
                # A rate limit is shared by every worker on this key: all of them pause, not just
                # this one, instead of burning their retries against a server that said wait.
                with self._lock:
                    self._paused_until = max(self._paused_until, time.monotonic() + delay)
            else:
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _retry_delay(self, attempt: int, headers: Mapping[str, str] | None) -> float | None:
        """Seconds to wait before retry `attempt` (1-based); None when the server wants too long."""
        wanted = retry_after_seconds(headers) if headers is not None else None
        if wanted is not None:
            return None if wanted > self.max_retry_wait else wanted
        # Exponential backoff with "equal jitter": half fixed, half random.
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _wait_for_pause(self) -> None:
        """Sleep out a rate-limit pause; the jitter keeps paused workers from returning in lockstep."""
        with self._lock:
            remaining = self._paused_until - time.monotonic()
        if remaining > 0:
            self._sleep(remaining + random.uniform(0, min(0.5, remaining * 0.1)))


# --- helpers -----------------------------------------------------------------------------------


def _content(completion: object) -> str | None:
    """The first choice's text, or None if the body wasn't a usable chat completion.

    The SDK doesn't validate bodies strictly: a 200 with a non-JSON content type comes back as a
    str, and a JSON body without `choices` as a half-built model, so check defensively.
    """
    if not isinstance(completion, ChatCompletion):
        return None
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return None
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else ""


def _count_tokens(completion: object, call: _LeadCall) -> None:
    usage = getattr(completion, "usage", None)
    for attr in ("prompt_tokens", "completion_tokens"):
        value = getattr(usage, attr, None)
        if isinstance(value, int) and value > 0:
            setattr(call, attr, getattr(call, attr) + value)


def _error_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message or f"HTTP {exc.status_code}"


def _status_error(exc: openai.APIStatusError, model: str, call: _LeadCall) -> IntentProviderError:
    status = exc.status_code
    if status in (401, 403):
        message = AUTH_ERROR.format(status=status)
    elif status == 404:
        message = MODEL_NOT_FOUND_ERROR.format(model=model)
    else:
        message = REJECTED_ERROR.format(status=status, detail=prompts.truncate(_error_detail(exc), 300))
    return call.error(message, status=status)
