"""Outgoing webhooks: where they may go, how they are signed, how they are sent.

Signing follows Standard Webhooks (https://www.standardwebhooks.com): each request carries
`webhook-id` (the same on every retry of one message, so a receiver can drop repeats),
`webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` over
`"{id}.{timestamp}.{body}"`, keyed with the workflow's secret (`whsec_` + base64 of the key).
A receiver verifies like this (Python; any language with HMAC-SHA256 does the same):

    import base64, hashlib, hmac, time
    def verify(secret: str, headers: dict, body: bytes) -> bool:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
        if abs(time.time() - int(ts)) > 300:
            return False                      # too old: a replay
        signed = f"{msg_id}.{ts}.".encode() + body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return any(hmac.compare_digest(f"v1,{expected}", sig) for sig in headers["webhook-signature"].split())

Targets: http(s) only, and never a private, loopback, link-local or otherwise internal address
(checked when the workflow is saved and again, on every address the name resolves to, before each
send) unless WEBHOOK_ALLOW_PRIVATE is set: a workflow must not be a way into the server's own
network. Redirects are not followed, for the same reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
TIMEOUT_SECONDS = 10.0
RESPONSE_KEEP_CHARS = 2000
USER_AGENT = "Leadscore-Webhooks/1"

BAD_URL = "The URL must be an http:// or https:// address with a host name."
PRIVATE_TARGET = ("{host} is a private, loopback or internal address; webhooks only go to public hosts "
                  "(an operator can allow private ones with WEBHOOK_ALLOW_PRIVATE).")
UNRESOLVABLE = "{host} could not be resolved."


class TargetRefused(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, message_id: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, message_id, timestamp, body)}


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_target(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """The URL's host if a webhook may go there, else TargetRefused. `resolve` looks the name up (at
    send time); on save a literal internal address is refused and a name only has to parse."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(BAD_URL)
    host = parts.hostname
    if allow_private:
        return host
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None or host.lower() in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        if literal is None or _is_internal(str(literal)):
            raise TargetRefused(PRIVATE_TARGET.format(host=host))
        return host
    if resolve:
        try:
            infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80),
                                       proto=socket.IPPROTO_TCP)
        except OSError:
            raise TargetRefused(UNRESOLVABLE.format(host=host)) from None
        if any(_is_internal(str(info[4][0])) for info in infos):
            raise TargetRefused(PRIVATE_TARGET.format(host=host))
    return host


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    status: int | None
    body: str
    #: Worth trying again (a timeout, 408, 429, 5xx), and how long the receiver asked us to wait.
    retry: bool
    retry_after: float | None = None
    error: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float = TIMEOUT_SECONDS) -> Delivery:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            text = response.read(RESPONSE_KEEP_CHARS).decode("utf-8", "replace")
            return Delivery(ok=True, status=response.status, body=text, retry=False)
    except urllib.error.HTTPError as exc:
        text = exc.read(RESPONSE_KEEP_CHARS).decode("utf-8", "replace") if exc.fp else ""
        retry = exc.code in (408, 409, 425, 429) or exc.code >= 500
        return Delivery(ok=False, status=exc.code, body=text, retry=retry,
                        retry_after=retry_after_seconds(exc.headers.get("Retry-After")),
                        error=f"HTTP {exc.code} from the receiver")
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Delivery(ok=False, status=None, body="", retry=True, error=f"Could not deliver: {reason}")
