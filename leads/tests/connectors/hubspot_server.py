"""A small HubSpot-compatible CRM server for tests: contacts, deals, pipelines, associations, search,
batch update and read, contact properties.

It binds 127.0.0.1 on a free port, so nothing reaches the internet, and answers the requests the
official `hubspot-api-client` makes, in HubSpot's shapes:

    GET  /crm/v3/objects/contacts?limit&after&properties        list, `after` cursors, limit <= 100
    POST /crm/v3/objects/contacts/search                        lastmodifieddate filters and sort,
                                                                limit <= 200, never past 10,000
    POST /crm/v3/objects/contacts/batch/update                  <= 100 inputs; bumps lastmodifieddate
    POST /crm/v3/properties/contacts/batch/read | batch/create  the custom properties (leadscore_*)
    GET  /crm/v3/objects/deals, POST /crm/v3/objects/deals/search   as for contacts (hs_lastmodifieddate)
    POST /crm/v3/objects/deals/batch/read                       <= 100 ids; 207 with errors for unknown ones
    GET  /crm/v3/pipelines/deals                                the default pipeline and any added
    POST /crm/v4/associations/{from}/{to}/batch/read            deals <-> contacts, `association_page` per
                                                                id with `after` cursors; 207 for ids
                                                                without associations

Every request needs `Authorization: Bearer <token>` (else 401, as HubSpot answers). Tests script
exceptions (429s with rate-limit headers, 500s) with `Reply` objects, add `rate_limit_headers` to
every success, and assert on `requests`. It is bounded: at most `max_requests` answers (then 500s,
and `overflowed` is set), bodies of at most 1 MB, and `stop()` ends it.

    with HubSpotServer(token="pat-test") as server:
        server.add_contact({"email": "ada@example.com", "firstname": "Ada"})
        server.script(Reply(429, headers={"Retry-After": "1"}))
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CONTACTS = "/crm/v3/objects/contacts"
SEARCH = "/crm/v3/objects/contacts/search"
BATCH_UPDATE = "/crm/v3/objects/contacts/batch/update"
PROPERTIES_READ = "/crm/v3/properties/contacts/batch/read"
PROPERTIES_CREATE = "/crm/v3/properties/contacts/batch/create"
DEALS = "/crm/v3/objects/deals"
DEALS_SEARCH = "/crm/v3/objects/deals/search"
DEALS_READ = "/crm/v3/objects/deals/batch/read"
PIPELINES = "/crm/v3/pipelines/deals"
ASSOCIATIONS = "/crm/v4/associations/{from_type}/{to_type}/batch/read"
#: HubSpot's association type ids for deal -> contact and contact -> deal.
ASSOCIATION_TYPES = {("deals", "contacts"): 3, ("contacts", "deals"): 4}
LIST_LIMIT_MAX = 100
SEARCH_LIMIT_MAX = 200
SEARCH_RESULTS_MAX = 10_000
BATCH_MAX = 100
BODY_MAX = 1024 * 1024
#: Properties HubSpot always returns.
DEFAULT_PROPERTIES = ("hs_object_id", "createdate", "lastmodifieddate")
DEAL_DEFAULT_PROPERTIES = ("hs_object_id", "createdate", "hs_lastmodifieddate")
#: HubSpot's default deal pipeline, as GET /crm/v3/pipelines/deals shows it.
DEFAULT_PIPELINE = ("default", "Sales Pipeline", [
    ("appointmentscheduled", "Appointment Scheduled", "false", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "false", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "false", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "false", "0.8"),
    ("contractsent", "Contract Sent", "false", "0.9"),
    ("closedwon", "Closed Won", "true", "1.0"),
    ("closedlost", "Closed Lost", "true", "0.0"),
])


@dataclass(frozen=True)
class Reply:
    """One scripted answer instead of the normal one."""

    status: int = 429
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    body: Any
    at: float  # time.monotonic() on arrival
    status: int = 0  # filled in by `answered`


def hubspot_time(moment: datetime) -> str:
    """HubSpot's ISO form: milliseconds and a Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: Any) -> datetime:
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _error(status: int, message: str, category: str, **extra: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category, **extra}
    return status, {}, body


class HubSpotServer:
    """Threaded fake of HubSpot's CRM API; a context manager that starts and stops it."""

    def __init__(self, *, token: str, host: str = "127.0.0.1", max_requests: int = 1000) -> None:
        self.token = token
        self.max_requests = max_requests
        self.contacts: dict[str, dict[str, Any]] = {}
        self.deals: dict[str, dict[str, Any]] = {}
        #: (deal id, contact id) pairs.
        self.associated: set[tuple[str, str]] = set()
        self.pipelines: list[tuple[str, str, list[tuple[str, str, str, str]]]] = [DEFAULT_PIPELINE]
        #: Associations per id and page (HubSpot's is 500).
        self.association_page = 500
        self.properties: dict[str, dict[str, Any]] = {}
        self.rate_limit_headers: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self.overflowed = False
        self._next_id = 1001
        self._scripts: list[tuple[str | None, deque[Reply]]] = []
        self._lock = threading.RLock()
        self._httpd = ThreadingHTTPServer((host, 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread: threading.Thread | None = None

    # --- life cycle -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubSpotServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="hubspot-server",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubSpotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test set-up ------------------------------------------------------------------------------

    def add_contact(self, properties: Mapping[str, Any], *, modified: datetime | None = None) -> str:
        """Store a contact (string values, like HubSpot's) and return its id."""
        with self._lock:
            contact_id = str(self._next_id)
            self._next_id += 1
            moment = modified or datetime.now(UTC) - timedelta(days=1)
            stamp = hubspot_time(moment)
            props = {key: None if value is None else str(value) for key, value in properties.items()}
            self.contacts[contact_id] = {
                "properties": {**props, "hs_object_id": contact_id, "createdate": stamp, "lastmodifieddate": stamp},
                "createdAt": stamp, "updatedAt": stamp}
            return contact_id

    def touch(self, contact_id: str, **properties: Any) -> None:
        """Change a contact as a HubSpot user would: new values, a new modification time."""
        with self._lock:
            self._write(contact_id, {key: None if value is None else str(value) for key, value in properties.items()})

    def add_deal(self, properties: Mapping[str, Any], *, contacts: Sequence[str] = (),
                 modified: datetime | None = None) -> str:
        """Store a deal (dealstage, pipeline, closedate, amount…) associated with `contacts`; returns its id."""
        with self._lock:
            deal_id = str(self._next_id)
            self._next_id += 1
            stamp = hubspot_time(modified or datetime.now(UTC) - timedelta(days=1))
            props = {"pipeline": "default", **{k: None if v is None else str(v) for k, v in properties.items()}}
            self.deals[deal_id] = {"properties": {**props, "hs_object_id": deal_id, "createdate": stamp,
                                                  "hs_lastmodifieddate": stamp}, "createdAt": stamp, "updatedAt": stamp}
            self.associated.update((deal_id, contact_id) for contact_id in contacts)
            return deal_id

    def touch_deal(self, deal_id: str, **properties: Any) -> None:
        """Change a deal as a HubSpot user would (move its stage…): a new modification time."""
        with self._lock:
            deal = self.deals[deal_id]
            now = max(datetime.now(UTC), _parse_time(deal["properties"]["hs_lastmodifieddate"])
                      + timedelta(milliseconds=1))
            deal["properties"].update({k: None if v is None else str(v) for k, v in properties.items()})
            deal["properties"]["hs_lastmodifieddate"] = deal["updatedAt"] = hubspot_time(now)

    def add_pipeline(self, pipeline_id: str, label: str, stages: list[tuple[str, str, str, str]]) -> None:
        """A custom pipeline: stages as (id, label, isClosed, probability), HubSpot's metadata strings."""
        with self._lock:
            self.pipelines.append((pipeline_id, label, stages))

    def script(self, *replies: Reply, when: str | None = None) -> None:
        """Answer the next requests (whose path and query contain `when`, if given) with `replies`."""
        with self._lock:
            self._scripts.append((when, deque(replies)))

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path and (method is None or r.method == method)]

    # --- answers ----------------------------------------------------------------------------------

    def _write(self, contact_id: str, properties: Mapping[str, str | None]) -> None:
        contact = self.contacts[contact_id]
        # Strictly later than before, even within one millisecond.
        now = max(datetime.now(UTC), _parse_time(contact["properties"]["lastmodifieddate"]) + timedelta(milliseconds=1))
        contact["properties"].update(properties)
        contact["properties"]["lastmodifieddate"] = contact["updatedAt"] = hubspot_time(now)

    def _object(self, contact_id: str, names: list[str] | None, *, deal: bool = False) -> dict[str, Any]:
        contact = (self.deals if deal else self.contacts)[contact_id]
        props = contact["properties"]
        wanted = [*DEAL_DEFAULT_PROPERTIES, *(names or ["dealname", "amount", "dealstage", "pipeline", "closedate"])] \
            if deal else [*DEFAULT_PROPERTIES, *(names or ["email", "firstname", "lastname"])]
        return {"id": contact_id, "properties": {name: props.get(name) for name in dict.fromkeys(wanted)},
                "createdAt": contact["createdAt"], "updatedAt": contact["updatedAt"], "archived": False}

    def _scripted(self, path: str) -> Reply | None:
        for when, replies in self._scripts:
            if replies and (when is None or when in path):
                return replies.popleft()
        return None

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               body: Any) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        """Status, extra headers and JSON body for one request (`target`: path and query)."""
        url = urlsplit(target)
        path, query = url.path, parse_qs(url.query)
        with self._lock:
            if len(self.requests) > self.max_requests:
                self.overflowed = True
                return _error(500, "Test server request limit reached", "TEST_LIMIT")
            if headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "Authentication credentials not found. This API supports OAuth 2.0 "
                                   "authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                              "INVALID_AUTHENTICATION")
            reply = self._scripted(target)
            if reply is not None:
                body_out = dict(reply.body) if reply.body is not None else (
                    {"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                     "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()),
                     "policyName": "TEN_SECONDLY_ROLLING"} if reply.status == 429 else
                    {"status": "error", "message": "Internal error", "correlationId": str(uuid.uuid4()),
                     "category": "INTERNAL_ERROR"})
                return reply.status, dict(reply.headers), body_out
            status, extra, answer = self._route(method, path, query, body)
            return status, {**self.rate_limit_headers, **extra} if status < 400 else extra, answer

    def _route(self, method: str, path: str, query: dict[str, list[str]],
               body: Any) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        if method == "GET" and path == CONTACTS:
            return self._list(query)
        if method == "POST" and path == SEARCH:
            return self._search(body)
        if method == "GET" and path == DEALS:
            return self._list(query, deal=True)
        if method == "POST" and path == DEALS_SEARCH:
            return self._search(body, deal=True)
        if method == "POST" and path == DEALS_READ:
            return self._deals_read(body)
        if method == "GET" and path == PIPELINES:
            return self._pipelines()
        parts = path.split("/")
        if method == "POST" and len(parts) == 8 and path == ASSOCIATIONS.format(from_type=parts[4], to_type=parts[5]):
            return self._associations(parts[4], parts[5], body)
        if method == "POST" and path == BATCH_UPDATE:
            return self._batch_update(body)
        if method == "POST" and path == PROPERTIES_READ:
            return self._properties_read(body)
        if method == "POST" and path == PROPERTIES_CREATE:
            return self._properties_create(body)
        return _error(404, f"No route for {method} {path}", "OBJECT_NOT_FOUND")

    def _list(self, query: dict[str, list[str]], *, deal: bool = False) -> tuple[int, dict[str, str], dict[str, Any]]:
        limit = int((query.get("limit") or ["10"])[0])
        if not 1 <= limit <= LIST_LIMIT_MAX:
            return _error(400, f"limit must be between 1 and {LIST_LIMIT_MAX}", "VALIDATION_ERROR")
        after = int((query.get("after") or ["0"])[0])
        names = [n for value in query.get("properties", []) for n in value.split(",") if n]
        ids = sorted(int(i) for i in (self.deals if deal else self.contacts) if int(i) >= after)
        page, rest = ids[:limit], ids[limit:]
        body: dict[str, Any] = {"results": [self._object(str(i), names, deal=deal) for i in page]}
        if rest:
            body["paging"] = {"next": {"after": str(rest[0]), "link": f"{DEALS if deal else CONTACTS}?after={rest[0]}"}}
        return 200, {}, body

    def _search(self, body: Any, *, deal: bool = False) -> tuple[int, dict[str, str], dict[str, Any]]:
        if not isinstance(body, dict):
            return _error(400, "Invalid input JSON", "VALIDATION_ERROR")
        limit = int(body.get("limit") or 10)
        after = int(body.get("after") or 0)
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            return _error(400, f"limit must be between 1 and {SEARCH_LIMIT_MAX}", "VALIDATION_ERROR")
        if after + limit > SEARCH_RESULTS_MAX:
            return _error(400, "Paging beyond 10,000 results is not supported", "VALIDATION_ERROR")
        store = self.deals if deal else self.contacts
        matches = [cid for cid in store if self._matches(store[cid]["properties"], body.get("filterGroups") or [])]
        for sort in reversed(body.get("sorts") or []):
            name, descending = (sort.get("propertyName"), sort.get("direction") == "DESCENDING") \
                if isinstance(sort, dict) else (str(sort).lstrip("-"), str(sort).startswith("-"))
            matches.sort(key=lambda cid, n=name: (store[cid]["properties"].get(n) or "", int(cid)),
                         reverse=descending)
        if not body.get("sorts"):
            matches.sort(key=int)
        page = matches[after:after + limit]
        answer: dict[str, Any] = {"total": len(matches),
                                  "results": [self._object(cid, body.get("properties"), deal=deal) for cid in page]}
        if after + limit < len(matches):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return 200, {}, answer

    def _matches(self, props: Mapping[str, Any], groups: list[dict[str, Any]]) -> bool:
        if not groups:
            return True
        for group in groups:  # groups are ORed, filters inside one ANDed
            ok = True
            for flt in group.get("filters") or []:
                name, operator, value = flt.get("propertyName"), flt.get("operator"), flt.get("value")
                current = props.get(name)
                if name in ("lastmodifieddate", "hs_lastmodifieddate", "createdate"):
                    left, right = _parse_time(current), _parse_time(value)
                else:
                    left, right = current, value
                ok = ok and current is not None and {
                    "EQ": left == right, "NEQ": left != right, "GT": left > right, "GTE": left >= right,
                    "LT": left < right, "LTE": left <= right}[operator]
            if ok:
                return True
        return False

    def _batch_update(self, body: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        inputs = (body or {}).get("inputs") or []
        if len(inputs) > BATCH_MAX:
            return _error(400, f"Batch input limit is {BATCH_MAX}, got {len(inputs)}", "VALIDATION_ERROR")
        custom_names = {name for item in inputs for name in (item.get("properties") or {})
                        if name.startswith("leadscore_")}
        missing = sorted(custom_names - set(self.properties))
        if missing:
            return _error(400, "Property values were not valid: " + json.dumps(
                [{"isValid": False, "message": f'Property "{name}" does not exist', "error": "PROPERTY_DOESNT_EXIST",
                  "name": name} for name in missing]), "VALIDATION_ERROR")
        started = hubspot_time(datetime.now(UTC))
        results, errors = [], []
        for item in inputs:
            contact_id = str(item.get("id"))
            if contact_id not in self.contacts:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Object not found",
                               "context": {"ids": [contact_id]}, "links": {}, "errors": []})
                continue
            self._write(contact_id, {k: (v if v != "" else None) for k, v in (item.get("properties") or {}).items()})
            results.append(self._object(contact_id, list(item.get("properties") or {})))
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                                  "completedAt": hubspot_time(datetime.now(UTC))}
        if errors:
            answer.update({"errors": errors, "numErrors": len(errors)})
            return 207, {}, answer
        return 200, {}, answer

    def _deals_read(self, body: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        inputs = (body or {}).get("inputs") or []
        if len(inputs) > BATCH_MAX:
            return _error(400, f"Batch input limit is {BATCH_MAX}, got {len(inputs)}", "VALIDATION_ERROR")
        stamp = hubspot_time(datetime.now(UTC))
        ids = [str(item.get("id")) for item in inputs]
        answer: dict[str, Any] = {"status": "COMPLETE", "startedAt": stamp, "completedAt": stamp, "results": [
            self._object(i, (body or {}).get("properties"), deal=True) for i in ids if i in self.deals]}
        missing = [i for i in ids if i not in self.deals]
        if missing:
            answer.update({"numErrors": 1, "errors": [{
                "status": "error", "category": "OBJECT_NOT_FOUND", "message": "Could not get some DEAL objects, "
                "they may be deleted or not exist. Check that ids are valid.", "context": {"ids": missing},
                "links": {}, "errors": []}]})
            return 207, {}, answer
        return 200, {}, answer

    def _pipelines(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        stamp = hubspot_time(datetime(2024, 1, 1, tzinfo=UTC))
        return 200, {}, {"results": [
            {"id": pipeline_id, "label": label, "displayOrder": order, "archived": False, "createdAt": stamp,
             "updatedAt": stamp, "stages": [
                 {"id": stage_id, "label": stage_label, "displayOrder": n, "archived": False, "createdAt": stamp,
                  "updatedAt": stamp, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                  "metadata": {"isClosed": closed, "probability": probability}}
                 for n, (stage_id, stage_label, closed, probability) in enumerate(stages)]}
            for order, (pipeline_id, label, stages) in enumerate(self.pipelines)]}

    def _associations(self, from_type: str, to_type: str, body: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        type_id = ASSOCIATION_TYPES.get((from_type, to_type))
        if type_id is None:
            return _error(400, f"Unknown association between {from_type} and {to_type}", "VALIDATION_ERROR")
        inputs = (body or {}).get("inputs") or []
        if len(inputs) > 1000:
            return _error(400, f"Batch input limit is 1000, got {len(inputs)}", "VALIDATION_ERROR")
        results, errors = [], []
        for item in inputs:
            from_id, after = str(item.get("id")), int(item.get("after") or 0)
            if from_type == "deals":
                linked = sorted(int(c) for d, c in self.associated if d == from_id)
            else:
                linked = sorted(int(d) for d, c in self.associated if c == from_id)
            if not linked:
                singular = {"deals": "deal", "contacts": "contact"}
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                               "message": f"No {singular[to_type]} is associated with {singular[from_type]} {from_id}.",
                               "context": {"fromObjectId": [from_id], "toObjectType": [to_type]},
                               "links": {}, "errors": []})
                continue
            page = [i for i in linked if i >= after][:self.association_page + 1]
            result: dict[str, Any] = {"from": {"id": from_id}, "to": [
                {"toObjectId": i, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id,
                                                         "label": None}]}
                for i in page[:self.association_page]]}
            if len(page) > self.association_page:
                result["paging"] = {"next": {"after": str(page[-1])}}
            results.append(result)
        stamp = hubspot_time(datetime.now(UTC))
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp}
        if errors:
            answer.update({"numErrors": len(errors), "errors": errors})
            return 207, {}, answer
        return 200, {}, answer

    def _property(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": definition["name"], "label": definition.get("label", definition["name"]),
                "type": definition.get("type", "string"), "fieldType": definition.get("fieldType", "text"),
                "description": definition.get("description", ""), "groupName": definition.get("groupName", ""),
                "options": [], "hidden": False, "formField": False, "calculated": False,
                "externalOptions": False, "hasUniqueValue": False}

    def _properties_read(self, body: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        names = [item.get("name") for item in (body or {}).get("inputs") or []]
        stamp = hubspot_time(datetime.now(UTC))
        return 200, {}, {"status": "COMPLETE", "results": [self.properties[n] for n in names if n in self.properties],
                         "startedAt": stamp, "completedAt": stamp}

    def _properties_create(self, body: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
        created = []
        for item in (body or {}).get("inputs") or []:
            if item.get("name") in self.properties:
                return _error(409, f"A property named '{item['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
            self.properties[item["name"]] = self._property(item)
            created.append(self.properties[item["name"]])
        stamp = hubspot_time(datetime.now(UTC))
        return 201, {}, {"status": "COMPLETE", "results": created, "startedAt": stamp, "completedAt": stamp}

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests) - 1

    def _answered(self, index: int, status: int) -> None:
        with self._lock:
            request = self.requests[index]
            self.requests[index] = RecordedRequest(request.method, request.path, request.query, request.headers,
                                                   request.body, request.at, status)


def _make_handler(server: HubSpotServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10  # an idle keep-alive connection does not hold a thread for ever
        disable_nagle_algorithm = True

        def _serve(self, method: str) -> None:
            at = time.monotonic()
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length > BODY_MAX:
                self.close_connection = True
                self._send(413, {}, {"status": "error", "message": "Request too large", "category": "TOO_LARGE"})
                return
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            headers = {name.lower(): value for name, value in self.headers.items()}
            index = server._record(RecordedRequest(method, url.path, parse_qs(url.query), headers, body, at))
            status, extra, answer = server.handle(method, self.path, headers, body)
            server._answered(index, status)
            self._send(status, extra, answer)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _send(self, status: int, headers: Mapping[str, str], body: Any) -> None:
            data = json.dumps(body).encode() if body is not None else b""
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass  # console noise is a failure

    return Handler
