"""Hostile bodies and headers: every one answers the JSON envelope with a 4xx, never a 500 or HTML."""

from __future__ import annotations

import io
import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from leads.api import parsers
from leads.api.parsers import JSON_MAX_DEPTH, NUL_IN_STRING, TOO_DEEP, BoundedJSONParser
from leads.exceptions import LeadsError
from leads.models import Lead, Offer
from leads.tests.conftest import Tenant


def nested(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


def deep_json(levels: int) -> str:
    return "[" * levels + '"x"' + "]" * levels


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error", "code", "details"}, body
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.mark.django_db
@pytest.mark.parametrize("levels", [1000, 100_000])
def test_deeply_nested_offer_is_400(api_client: APIClient, levels: int) -> None:
    body = '{"name": "Deep", "value_props": ' + deep_json(levels) + "}"
    response = api_client.post("/api/offer/", body, content_type="application/json")
    assert assert_envelope(response, 400, "parse_error")["error"] == TOO_DEEP
    assert not Offer.objects.exists()


@pytest.mark.django_db
def test_deeply_nested_lead_attributes_are_400(api_client: APIClient, tenant: Tenant) -> None:
    lead = Lead.objects.create(workspace=tenant.workspace, name="Ada", company="Acme")
    response = api_client.patch(f"/api/leads/{lead.pk}/", '{"attributes": {"a": ' + deep_json(1000) + "}}",
                                content_type="application/json")
    assert assert_envelope(response, 400, "parse_error")["error"] == TOO_DEEP
    lead.refresh_from_db()
    assert lead.attributes == {}


@pytest.mark.django_db
def test_depth_limit_is_exact(api_client: APIClient, tenant: Tenant) -> None:
    lead = Lead.objects.create(workspace=tenant.workspace, name="Ada", company="Acme")
    url = f"/api/leads/{lead.pk}/"
    # The body itself and "attributes" are two levels: the rest may nest up to the limit.
    ok = api_client.patch(url, {"attributes": {"a": nested(JSON_MAX_DEPTH - 3)}}, format="json")
    assert ok.status_code == 200, ok.content
    too_deep = api_client.patch(url, {"attributes": {"a": nested(JSON_MAX_DEPTH - 1)}}, format="json")
    assert_envelope(too_deep, 400, "parse_error")


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_400(api_client: APIClient, tenant: Tenant, number: str) -> None:
    lead = Lead.objects.create(workspace=tenant.workspace, name="Ada", company="Acme")
    response = api_client.patch(f"/api/leads/{lead.pk}/", '{"attributes": {"revenue": ' + number + "}}",
                                content_type="application/json")
    assert "numbers must be finite" in assert_envelope(response, 400, "parse_error")["error"]
    lead.refresh_from_db()
    assert lead.attributes == {}


@pytest.mark.django_db
def test_nul_in_json_keys_and_strings_is_400(api_client: APIClient, tenant: Tenant) -> None:
    lead = Lead.objects.create(workspace=tenant.workspace, name="Ada", company="Acme")
    for body in ('{"attributes": {"a\\u0000b": "x"}}', '{"attributes": {"a": ["ok", "x\\u0000"]}}'):
        response = api_client.patch(f"/api/leads/{lead.pk}/", body, content_type="application/json")
        assert assert_envelope(response, 400, "parse_error")["error"] == NUL_IN_STRING


@pytest.mark.django_db
def test_json_body_over_the_limit_is_413(api_client: APIClient) -> None:
    body = json.dumps({"name": "Big", "value_props": ["x" * 1000] * 11_000})
    assert len(body) > 10 * 1024 * 1024
    response = api_client.post("/api/offer/", body, content_type="application/json")
    body = assert_envelope(response, 413, "body_too_large")
    assert body["details"] == {"limit_bytes": 10 * 1024 * 1024}
    assert "10 MB" in body["error"]


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_parser_counts_what_it_reads() -> None:
    """A missing or short Content-Length does not get a big body past the limit."""
    body = json.dumps({"name": "Big", "value_props": ["x" * 100] * 20}).encode()
    with pytest.raises(LeadsError) as raised:
        BoundedJSONParser().parse(io.BytesIO(body))
    assert raised.value.status_code == 413
    assert BoundedJSONParser().parse(io.BytesIO(b'{"a": 1}')) == {"a": 1}


@pytest.mark.django_db
def test_bad_host_header_is_the_envelope(api_client: APIClient) -> None:
    response = api_client.get("/api/offer/", HTTP_HOST="evil.example")
    body = assert_envelope(response, 400, "bad_host")
    assert "evil.example" in body["error"]


@pytest.mark.django_db
def test_bad_host_on_a_page_is_plain_html(client) -> None:
    response = client.get("/admin/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["²", "١٢", "1²", "99999999999999999999999", "acme\x00", "\x1b[31m"])
def test_odd_workspace_header_is_403_not_500(api_client: APIClient, header: str) -> None:
    response = api_client.get("/api/offer/", HTTP_X_WORKSPACE=header)
    assert_envelope(response, 403, "unknown_workspace")


@pytest.mark.django_db
def test_workspace_header_by_id_and_name_still_work(api_client: APIClient, tenant: Tenant) -> None:
    assert api_client.get("/api/offer/", HTTP_X_WORKSPACE=str(tenant.workspace.pk)).status_code == 200
    assert api_client.get("/api/offer/", HTTP_X_WORKSPACE=tenant.workspace.name).status_code == 200


# Bodies where a fast JSON reader could part from json: each must parse to exactly json's value (the
# type too: 12345678901234567890123 stays an int), or be refused with json's message.
PARITY_BODIES = [
    '{"n": 12345678901234567890123, "m": -98765432109876543210}',
    '{"n": -9223372036854775809, "m": -9223372036854775808, "o": 9223372036854775807}',
    '{"n": 18446744073709551615, "f": 0.1, "g": 1e-400, "h": -0.0, "i": 1.7976931348623157e308}',
    '{"a": 1, "a": 2}',
    '{"s": "caf\\u00e9 \\ud83d\\ude00 ümlaut", "t": "tab\\there"}',
    '"\\ud800"',
    '[1e999]',
    '{"x": NaN}',
    '\ufeff[1]',
    '[1, 2,]',
    '{"k": "12345678901234567890123 in a string"}',
    ' [ true , false , null ] ',
    'null',
]


@pytest.mark.parametrize("body", PARITY_BODIES)
def test_the_fast_reader_reads_as_json_does(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def parsed() -> tuple[object, ...]:
        try:
            return ("ok", BoundedJSONParser().parse(io.BytesIO(body.encode("utf-8"))))
        except Exception as exc:  # the refusal itself is compared
            return ("refused", type(exc).__name__, str(exc))

    fast = parsed()
    monkeypatch.setattr(parsers, "_fast_loads", lambda raw, encoding: None)  # json alone, as before
    assert repr(fast) == repr(parsed())  # 1e-400 is 0.0, -0.0 keeps its sign, ints stay ints


def test_the_fast_reader_is_the_one_that_reads_plain_bodies() -> None:
    assert parsers._fast_loads(b'{"a": [1, 2.5, "x"]}', "utf-8") == {"a": [1, 2.5, "x"]}
    assert parsers._fast_loads(b'{"a": 12345678901234567890}', "utf-8") is None
    assert parsers._fast_loads('{"a": 1}'.encode("utf-16"), "utf-16") is None
