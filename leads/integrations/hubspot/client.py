"""The HubSpot CRM API through the official `hubspot-api-client`, with HubSpot's rate limits honoured.

    client = HubSpotClient(access_token=…, host=settings.HUBSPOT_API_BASE, page_size=100)
    for page in client.contacts_pages(properties=[…], modified_since=None):   # lists of Contact
        …
    result = client.contacts_update({"501": {"leadscore_score": "87"}, …})     # at most 100
    for page in client.deals_pages(properties=[…], modified_since=since): …     # lists of Deal
    client.deal_stages()                                   # every pipeline's stages and their metadata
    client.associations("deals", "contacts", ["9001", …])  # {deal id: [contact ids]} (associations v4)
    client.deals_read(["9001", …], properties=[…])         # batch read, 100 a call

Design
- One `hubspot.Client` per sync, its API objects built once (each access to `client.crm.contacts.
  basic_api` builds a new connection pool). `host` replaces https://api.hubapi.com, which is how
  the tests reach their HubSpot-compatible server on 127.0.0.1.
- Every call goes through `_call`: a 429 waits for `Retry-After`, else for the window that
  `X-HubSpot-RateLimit-Interval-Milliseconds` announces when `X-HubSpot-RateLimit-Remaining` is 0,
  else backs off; 5xx and connection failures back off too. Attempts are bounded and so is each
  wait, so a sync can never hang. A used-up daily limit is not retried. After a success, a
  response saying the window is used up (`…-Remaining: 0`, `…-Secondly-Remaining: 0`) makes the
  next call wait instead of earning a 429.
- Pages, never the account: contacts come a page at a time (`after` cursors). A first sync lists
  them (GET /crm/v3/objects/contacts); an incremental one searches for `lastmodifieddate >= since`
  sorted ascending, and restarts its window from the last time seen before the search API's
  10,000-result ceiling. Deals page the same way (`hs_lastmodifieddate`); associations are read in
  batches of 100 ids, each id following its own `after` cursor.
- Failures become `HubSpotError` with a sentence a person can act on. Messages never include the
  token (the SDK's own exception text carries response headers and bodies, not request headers,
  but we do not pass it on anyway). Never turn on the SDK's `debug`: it makes http.client print
  every request header, the token's included, to stdout.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3
from hubspot import Client
from hubspot.crm import contacts as contacts_models
from hubspot.crm import deals as deals_models
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from hubspot.crm.properties import BatchInputPropertyCreate, BatchReadInputPropertyName, PropertyCreate, PropertyName
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.util.retry import Retry

from leads.integrations.webhooks import retry_after_seconds

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 5
#: The longest we wait for one retry (Retry-After or a rate-limit window); HubSpot's windows are 1–10 s.
MAX_WAIT_SECONDS = 20.0
BACKOFF_SECONDS = 0.5
#: (connect, read) seconds per request.
TIMEOUT = (5.0, 30.0)
#: HubSpot's list endpoint answers at most 100 objects a page, its search endpoint at most 200.
LIST_PAGE_MAX = 100
BATCH_MAX = 100
#: The search endpoint never pages beyond its 10,000th result.
SEARCH_WINDOW = 10_000

UNAUTHORIZED = ("HubSpot refused the access token (401): check the private app's token and send it again "
                "with POST /api/connectors/hubspot/.")
FORBIDDEN = ("HubSpot denied access (403): the private app needs the scopes crm.objects.contacts.read, "
             "crm.objects.contacts.write and crm.schemas.contacts.write (and crm.objects.deals.read for deals).")
DAILY_LIMIT = "HubSpot's daily API limit for this account is used up; run the sync again tomorrow."
RATE_LIMITED = "HubSpot kept answering 429 (rate limited) after {attempts} attempts; run the sync again later."
SERVER_ERROR = "HubSpot answered {status} after {attempts} attempts; run the sync again later."
UNREACHABLE = "HubSpot could not be reached at {host} ({reason}) after {attempts} attempts; run the sync again later."
REJECTED = "HubSpot rejected the request ({status}): {message}"
SEARCH_STUCK = ("More than 10,000 {what} share one modification time, which HubSpot's search cannot page "
                "through; run a full sync instead.")


#: Each API package of the SDK has its own ApiException class.
_API_EXCEPTIONS = (ApiException, PropertiesApiException, DealsApiException, AssociationsApiException,
                   PipelinesApiException)


class HubSpotError(Exception):
    """A HubSpot call failed for good; `code` is stable, `message` says what to do."""

    def __init__(self, message: str, *, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    properties: dict[str, str | None]
    updated_at: datetime | None = None


#: A deal is read like a contact: an id and its properties.
Deal = Contact


@dataclass(frozen=True, slots=True)
class DealStage:
    pipeline: str
    id: str
    label: str
    #: HubSpot's stage metadata: {"isClosed": "true", "probability": "1.0"} for a closed-won stage.
    metadata: dict[str, str]


@dataclass
class BatchResult:
    written: list[str] = field(default_factory=list)
    #: [{"contact": id, "reason": text}]
    errors: list[dict[str, str]] = field(default_factory=list)


def _headers(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    items = raw.items() if hasattr(raw, "items") else raw
    return {str(name).lower(): str(value) for name, value in items}


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def _error_message(body: Any) -> str:
    """HubSpot's own sentence from an error body (JSON with `message`), shortened."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        data = {}
    message = data.get("message") if isinstance(data, dict) else None
    return str(message or body or "no details")[:300]


def _daily_limit(headers: Mapping[str, str], body: Any) -> bool:
    """A 429 for the day's quota (policy DAILY, or no daily calls left): waiting seconds won't help."""
    if _number(headers, "x-hubspot-ratelimit-daily-remaining") == 0:
        return True
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body) if body else {}
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("policyName") == "DAILY"


def rate_limit_wait(headers: Mapping[str, str], *, attempt: int, backoff: float) -> float:
    """Seconds to wait after a 429: Retry-After, else the announced window when it is used up, else backoff."""
    retry_after = retry_after_seconds(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    interval = _number(headers, "x-hubspot-ratelimit-interval-milliseconds")
    if _number(headers, "x-hubspot-ratelimit-remaining") == 0 and interval is not None:
        return interval / 1000
    if _number(headers, "x-hubspot-ratelimit-secondly-remaining") == 0:
        return 1.0
    return backoff * 2 ** (attempt - 1)


def pacing_wait(headers: Mapping[str, str]) -> float:
    """Seconds to wait before the next call after a success whose headers say the window is used up."""
    if _number(headers, "x-hubspot-ratelimit-remaining") == 0:
        interval = _number(headers, "x-hubspot-ratelimit-interval-milliseconds")
        return interval / 1000 if interval is not None else 1.0
    if _number(headers, "x-hubspot-ratelimit-secondly-remaining") == 0:
        return 1.0
    return 0.0


def _epoch_ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def parse_hubspot_time(value: str | None) -> datetime | None:
    """A HubSpot date-time property: ISO 8601 ("2026-11-30T14:05:00.000Z") or epoch milliseconds."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class HubSpotClient:
    """The few HubSpot calls a sync makes (see the module docstring)."""

    def __init__(self, *, access_token: str, host: str, page_size: int = LIST_PAGE_MAX,
                 max_attempts: int = MAX_ATTEMPTS, max_wait: float = MAX_WAIT_SECONDS,
                 backoff: float = BACKOFF_SECONDS, search_window: int = SEARCH_WINDOW,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.host = host.rstrip("/")
        self.page_size = min(max(int(page_size), 1), LIST_PAGE_MAX)
        self.max_attempts = max(max_attempts, 1)
        self.max_wait = max_wait
        self.backoff = backoff
        self.search_window = search_window
        self._sleep = sleep
        self._not_before = 0.0  # monotonic time before which the next call waits (pacing)
        # Retries are ours (_call): urllib3 must not retry or sleep behind our back.
        client = Client.create(access_token=access_token, host=self.host, retry=Retry(total=0, redirect=0))
        contacts = client.crm.contacts
        self._basic = contacts.basic_api
        self._search = contacts.search_api
        self._batch = contacts.batch_api
        self._properties = client.crm.properties.batch_api
        deals = client.crm.deals
        self._deals_basic = deals.basic_api
        self._deals_search = deals.search_api
        self._deals_batch = deals.batch_api
        self._associations = client.crm.associations.v4.batch_api
        self._pipelines = client.crm.pipelines.pipelines_api

    # --- contacts ---------------------------------------------------------------------------------

    def contacts_pages(self, *, properties: list[str], modified_since: datetime | None) -> Iterator[list[Contact]]:
        """Every contact (or those modified at or after `modified_since`), a page at a time."""
        if modified_since is None:
            yield from self._list_pages(self._basic, properties)
        else:
            yield from self._search_pages(self._search, contacts_models, "lastmodifieddate", properties,
                                          modified_since, what="contacts")

    def _list_pages(self, basic: Any, properties: list[str]) -> Iterator[list[Contact]]:
        after: str | None = None
        while True:
            page = self._call(basic, basic.get_page, limit=self.page_size, after=after,
                              properties=properties, archived=False, _request_timeout=TIMEOUT)
            yield [_contact(item) for item in page.results or []]
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return

    def _search_pages(self, search: Any, models: Any, modified: str, properties: list[str], since: datetime, *,
                      what: str) -> Iterator[list[Contact]]:
        window_start, after, seen = _epoch_ms(since), None, 0
        last_modified = window_start
        while True:
            request = models.PublicObjectSearchRequest(
                filter_groups=[models.FilterGroup(filters=[
                    models.Filter(property_name=modified, operator="GTE", value=window_start)])],
                sorts=[{"propertyName": modified, "direction": "ASCENDING"}],
                properties=properties, limit=self.page_size, after=after)
            page = self._call(search, search.do_search, request, _request_timeout=TIMEOUT)
            objects = [_contact(item) for item in page.results or []]
            yield objects
            seen += len(objects)
            for item in objects:
                moment = parse_hubspot_time(item.properties.get(modified))
                if moment is not None:
                    last_modified = _epoch_ms(moment)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return
            if seen + self.page_size > self.search_window:
                # The ceiling is near: start a new window at the last time seen (objects at that very
                # time come again; the sync recognises them as unchanged).
                if last_modified == window_start:
                    raise HubSpotError(SEARCH_STUCK.format(what=what), code="search_window")
                window_start, after, seen = last_modified, None, 0

    # --- deals -----------------------------------------------------------------------------------

    def deals_pages(self, *, properties: list[str], modified_since: datetime | None) -> Iterator[list[Deal]]:
        """Every deal (or those modified at or after `modified_since`), a page at a time."""
        if modified_since is None:
            yield from self._list_pages(self._deals_basic, properties)
        else:
            yield from self._search_pages(self._deals_search, deals_models, "hs_lastmodifieddate", properties,
                                          modified_since, what="deals")

    def deals_read(self, ids: Sequence[str], *, properties: list[str]) -> list[Deal]:
        """These deals (BATCH_MAX per call); ids HubSpot no longer has are left out."""
        deals: list[Deal] = []
        for start in range(0, len(ids), BATCH_MAX):
            body = deals_models.BatchReadInputSimplePublicObjectId(
                properties=properties, properties_with_history=[],
                inputs=[deals_models.SimplePublicObjectId(id=i) for i in ids[start:start + BATCH_MAX]])
            response = self._call(self._deals_batch, self._deals_batch.read, body, archived=False,
                                  _request_timeout=TIMEOUT)
            deals.extend(_contact(item) for item in response.results or [])
        return deals

    def deal_stages(self) -> list[DealStage]:
        """Every stage of every deal pipeline, with its metadata (isClosed, probability)."""
        answer = self._call(self._pipelines, self._pipelines.get_all, "deals", _request_timeout=TIMEOUT)
        return [DealStage(pipeline=str(pipeline.id), id=str(stage.id), label=str(stage.label or ""),
                          metadata=dict(stage.metadata or {}))
                for pipeline in answer.results or [] for stage in pipeline.stages or []]

    def associations(self, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """{from id: [to ids]} through the associations v4 batch read, following each id's own
        `after` cursor; ids without associations map to []."""
        linked: dict[str, list[str]] = {i: [] for i in ids}
        pending: list[tuple[str, str | None]] = [(i, None) for i in ids]
        while pending:
            chunk, pending = pending[:BATCH_MAX], pending[BATCH_MAX:]
            body = BatchInputPublicFetchAssociationsBatchRequest(inputs=[
                PublicFetchAssociationsBatchRequest(id=i, after=after) if after else
                PublicFetchAssociationsBatchRequest(id=i) for i, after in chunk])
            response = self._call(self._associations, self._associations.get_page, from_type, to_type, body,
                                  _request_timeout=TIMEOUT)
            for result in response.results or []:
                from_id = str(result._from.id)
                linked.setdefault(from_id, []).extend(str(to.to_object_id) for to in result.to or [])
                if result.paging and result.paging.next and result.paging.next.after:
                    pending.append((from_id, str(result.paging.next.after)))
            # Per-id errors (HubSpot's 207 for an id with no associations) leave that id at [].
        return {key: list(dict.fromkeys(values)) for key, values in linked.items()}

    def contacts_update(self, values: Mapping[str, Mapping[str, str]]) -> BatchResult:
        """Write properties to at most BATCH_MAX contacts in one call; per-contact errors are reported."""
        if len(values) > BATCH_MAX:
            raise ValueError(f"At most {BATCH_MAX} contacts per batch, got {len(values)}.")
        body = BatchInputSimplePublicObjectBatchInput(inputs=[
            SimplePublicObjectBatchInput(id=contact_id, properties=dict(props))
            for contact_id, props in values.items()])
        response = self._call(self._batch, self._batch.update, body, _request_timeout=TIMEOUT)
        result = BatchResult()
        failed: set[str] = set()
        for error in getattr(response, "errors", None) or []:
            ids = [str(i) for i in ((error.context or {}).get("ids") or [])]
            for contact_id in ids or ["?"]:
                failed.add(contact_id)
                result.errors.append({"contact": contact_id, "reason": str(error.message)[:300]})
        written = {str(item.id) for item in response.results or []}
        result.written = [contact_id for contact_id in values if contact_id in written and contact_id not in failed]
        return result

    # --- properties ------------------------------------------------------------------------------

    def contact_properties_ensure(self, definitions: list[dict[str, str]]) -> list[str]:
        """Create the contact properties among `definitions` that the portal lacks; returns their names."""
        names = [d["name"] for d in definitions]
        read = self._call(self._properties, self._properties.read, "contacts",
                          BatchReadInputPropertyName(archived=False, inputs=[PropertyName(name=n) for n in names]),
                          _request_timeout=TIMEOUT)
        existing = {item.name for item in read.results or []}
        missing = [d for d in definitions if d["name"] not in existing]
        if missing:
            self._call(self._properties, self._properties.create, "contacts",
                       BatchInputPropertyCreate(inputs=[PropertyCreate(**d) for d in missing]),
                       _request_timeout=TIMEOUT)
        return [d["name"] for d in missing]

    # --- every call ------------------------------------------------------------------------------

    def _call(self, api: Any, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`method(*args, **kwargs)` with HubSpot's rate limits honoured and bounded retries."""
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_window()
            try:
                result = method(*args, **kwargs)
            except _API_EXCEPTIONS as exc:
                headers = _headers(exc.headers)
                status = int(exc.status or 0)
                daily = status == 429 and _daily_limit(headers, exc.body)
                wait = None if daily else self._failure_wait(status, headers, attempt)
                logger.warning("HubSpot answered %s (attempt %d of %d)%s", status, attempt, self.max_attempts,
                               f", retrying in {wait:.1f} s" if wait is not None else "")
                if daily:
                    raise HubSpotError(DAILY_LIMIT, code="rate_limited", status=status) from None
                if wait is None:
                    raise self._error(status, exc.body, attempt) from None
                self._sleep(wait)
                continue
            except urllib3.exceptions.HTTPError as exc:
                reason = type(getattr(exc, "reason", None) or exc).__name__
                logger.warning("HubSpot unreachable at %s: %s (attempt %d of %d)", self.host, reason, attempt,
                               self.max_attempts)
                if attempt >= self.max_attempts:
                    raise HubSpotError(UNREACHABLE.format(host=self.host, reason=reason, attempts=attempt),
                                       code="unavailable") from None
                self._sleep(min(self.backoff * 2 ** (attempt - 1), self.max_wait))
                continue
            response = getattr(api.api_client, "last_response", None)
            if response is not None:
                pause = pacing_wait(_headers(response.getheaders()))
                if pause > 0:
                    self._not_before = time.monotonic() + min(pause, self.max_wait)
            return result

    def _failure_wait(self, status: int, headers: Mapping[str, str], attempt: int) -> float | None:
        """Seconds before the next attempt, or None when this failure is final."""
        if attempt >= self.max_attempts:
            return None
        if status == 429:
            return min(rate_limit_wait(headers, attempt=attempt, backoff=self.backoff), self.max_wait)
        if status >= 500 or status == 0:
            return min(self.backoff * 2 ** (attempt - 1), self.max_wait)
        return None

    def _error(self, status: int, body: Any, attempts: int) -> HubSpotError:
        if status == 401:
            return HubSpotError(UNAUTHORIZED, code="unauthorized", status=status)
        if status == 403:
            return HubSpotError(FORBIDDEN, code="forbidden", status=status)
        if status == 429:
            return HubSpotError(RATE_LIMITED.format(attempts=attempts), code="rate_limited", status=status)
        if status >= 500 or status == 0:
            return HubSpotError(SERVER_ERROR.format(status=status, attempts=attempts), code="unavailable",
                                status=status)
        return HubSpotError(REJECTED.format(status=status, message=_error_message(body)), code="rejected",
                            status=status)

    def _wait_for_window(self) -> None:
        pause = self._not_before - time.monotonic()
        if pause > 0:
            self._sleep(pause)
        self._not_before = 0.0


def _contact(item: Any) -> Contact:
    return Contact(id=str(item.id), properties=dict(item.properties or {}), updated_at=item.updated_at)
