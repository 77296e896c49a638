"""Slack incoming-webhook messages for lead alerts, sent with the official `slack_sdk`.

`WebhookClient` gets slack_sdk's own retry handlers for 429 (it waits for Retry-After) and 5xx,
once each; what still fails goes back to the delivery task, which retries with backoff.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from leads.integrations.webhooks import TIMEOUT_SECONDS, Delivery, retry_after_seconds

SLACK_TEXT_MAX = 3000


def _clip(text: str, limit: int = SLACK_TEXT_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape(text: str) -> str:
    # Slack's mrkdwn reads <, > and & as markup: a lead named "<!channel>" must not ping anyone.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def lead_alert(payload: dict[str, Any], *, title: str) -> dict[str, Any]:
    """`{"text", "blocks"}` for one lead: who, company, score (and its move), stage, top reasons, a link."""
    lead = payload.get("lead") or {}
    who = _escape(lead.get("name") or "A lead")
    company = _escape(lead.get("company") or "")
    role = _escape(lead.get("role") or "")
    score, previous = payload.get("score"), payload.get("previous_score")
    move = f" (was {previous})" if previous is not None and previous != score else ""
    stage = payload.get("stage") or "none"
    reasons = [_escape(reason) for reason in payload.get("reasons") or []][:3]
    headline = f"{_escape(title)}: {who}" + (f" at {company}" if company else "")
    text = f"{headline} scored {score}{move}, stage {stage}."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(f"*{headline}*" + (f"\n{role}" if role else ""))}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Score*\n{score}{move}"},
            {"type": "mrkdwn", "text": f"*Stage*\n{_escape(stage)}"},
            {"type": "mrkdwn", "text": f"*Intent*\n{_escape(payload.get('intent') or '')}"},
            {"type": "mrkdwn", "text": f"*Offer*\n{_escape((payload.get('offer') or {}).get('name') or '')}"},
        ]},
    ]
    if reasons:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(
            "*Top reasons*\n" + "\n".join(f"• {reason}" for reason in reasons))}})
    if lead.get("url"):
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the lead"}, "url": lead["url"]}]})
    return {"text": _clip(text), "blocks": blocks}


class _ShortRateLimitRetry(RateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, for waits up to `max_wait` only: a delivery holds a lease
    (AUTOMATION_LEASE_SECONDS), and sleeping past it would let another worker take the execution
    over and post the message twice. A longer wait goes back to the delivery task's schedule."""

    def __init__(self, *, max_wait: float) -> None:
        super().__init__(max_retry_count=1)
        self.max_wait = max_wait

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        headers = {key.lower(): value for key, value in (response.headers or {}).items()}
        after = headers.get("retry-after")
        wait = retry_after_seconds(after[0] if isinstance(after, list) else after)
        # slack_sdk sleeps Retry-After plus up to a second (1 s when there is none).
        return (wait if wait is not None else 1.0) + 1.0 <= self.max_wait


def send(url: str, message: dict[str, Any], *, max_inline_wait: float = 5.0) -> Delivery:
    """Post `message`; a 429 whose wait fits in `max_inline_wait` seconds is retried here once."""
    client = WebhookClient(url, timeout=int(TIMEOUT_SECONDS), retry_handlers=[
        _ShortRateLimitRetry(max_wait=max_inline_wait), ServerErrorRetryHandler(max_retry_count=1)])
    try:
        response = client.send(text=message["text"], blocks=message["blocks"])
    except OSError as exc:  # connection refused, timeout: slack_sdk lets these through
        return Delivery(ok=False, status=None, body="", retry=True, error=f"Could not reach Slack: {exc}")
    body = (response.body or "")[:2000]
    if response.status_code == 200:
        return Delivery(ok=True, status=200, body=body, retry=False)
    retry = response.status_code == 429 or response.status_code >= 500
    headers = {key.lower(): value for key, value in (response.headers or {}).items()}
    after = headers.get("retry-after")
    after = after[0] if isinstance(after, list) else after
    return Delivery(ok=False, status=response.status_code, body=body, retry=retry,
                    retry_after=retry_after_seconds(after),
                    error=f"Slack answered {response.status_code}: {body[:200]}")
