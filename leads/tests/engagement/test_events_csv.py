"""POST /api/events/upload/: event CSVs in the encodings and shapes people export, row errors by line.

DESIGN "Engagement" (CSV ingest). Files in leads/tests/fixtures/events/ (bytes matter there).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from leads.models import Event, Lead, LeadEngagement
from leads.services import csv_parsing as cp
from leads.services.engagement import (
    BAD_TIME,
    BAD_TYPE,
    CSV_TOO_LARGE,
    CSV_TOO_MANY_ROWS,
    EVENT_CSV_COLUMNS,
    UNKNOWN_LEAD,
)
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "events"
URL = reverse("event-upload")
UNKNOWN_EMAIL = UNKNOWN_LEAD.format(what="email")
UNKNOWN_ID = UNKNOWN_LEAD.format(what="id")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def upload(client: APIClient, data: bytes | str, *, name: str = "events.csv", **form: Any) -> Any:
    if isinstance(data, str):
        data = data.encode()
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **form},
                       format="multipart")


def body(accepted: int = 0, duplicates: int = 0, rejected: int = 0, errors: list[dict[str, Any]] | None = None,
         created_leads: int = 0, leads: int = 0) -> dict[str, Any]:
    errors = errors or []
    return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected, "errors": errors,
            "errors_truncated": rejected > len(errors), "created_leads": created_leads, "leads": leads}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def stored(tenant: Tenant) -> list[tuple[Any, ...]]:
    """(lead email, type, occurred_at, source, external_id, properties), oldest first."""
    return list(Event.objects.filter(workspace=tenant.workspace).order_by("occurred_at", "id").values_list(
        "lead__email", "type", "occurred_at", "source", "external_id", "properties"))


@pytest.fixture
def people(tenant: Tenant) -> tuple[Lead, Lead]:
    return (LeadFactory(workspace=tenant.workspace, email="ann@example.com"),
            LeadFactory(workspace=tenant.workspace, email="bob@example.com"))


# --- encodings, delimiters, headers -----------------------------------------------------------------


def test_utf8_with_a_bom_and_crlf(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    response = upload(tenant.client, fixture("utf8_bom.csv"))
    assert response.status_code == 201, response.json()
    assert response.json() == body(accepted=2, leads=2)
    assert stored(tenant) == [("ann@example.com", "email_open", at(5, 10), "api", "o-1", {}),
                              ("bob@example.com", "page_view", at(6, 11, 30), "api", "v-1", {})]


def test_cp1252_with_semicolons_and_header_aliases(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    """Excel's legacy encoding: "Event Type", "Email Address", "Timestamp"; the unknown column is a property."""
    response = upload(tenant.client, fixture("cp1252.csv"))
    assert response.status_code == 201, response.json()
    assert response.json() == body(accepted=2, leads=2)
    assert stored(tenant) == [
        ("ann@example.com", "email_open", at(5, 10), "api", "", {"Notes": "Zoë – café €5"}),
        ("bob@example.com", "meeting", at(6, 9, 15), "api", "", {"Notes": "Müller & Söhne"})]


def test_utf16_with_tabs(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    response = upload(tenant.client, fixture("utf16.csv"))
    assert response.status_code == 201, response.json()
    assert response.json() == body(accepted=2, leads=2)
    rows = sorted(Event.objects.values_list("lead__email", "type", "external_id", "properties"))
    assert rows == [("ann@example.com", "email_click", "c-1", {"campaign": "Spring – Zoë"}),
                    ("bob@example.com", "email_open", "c-2", {})]


def test_semicolon_delimiter_with_source_and_external_id(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    response = upload(tenant.client, fixture("semicolon.csv"))
    assert response.status_code == 201, response.json()
    assert response.json() == body(accepted=2, leads=2)
    assert stored(tenant) == [("ann@example.com", "email_reply", at(7, 8), "gmail", "r-1", {}),
                              ("bob@example.com", "call", at(7, 9), "aircall", "a-1", {})]


def test_header_aliases_and_extra_columns_into_properties(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    """Event Type, Timestamp, Email Address, Event ID; Campaign and Subject become properties (empty ones don't)."""
    response = upload(tenant.client, fixture("aliases.csv"))
    assert response.status_code == 201, response.json()
    assert response.json() == body(accepted=2, leads=1)
    assert stored(tenant) == [
        ("ann@example.com", "email_open", at(5, 10), "api", "evt-1", {"Campaign": "Spring", "Subject": "Hello, Ann"}),
        ("ann@example.com", "email_click", at(5, 10, 5), "api", "evt-2", {"Campaign": "Spring"})]
    engagement = LeadEngagement.objects.get(lead=people[0])
    assert engagement.counts == {"email_open": 1, "email_click": 1}


def test_the_same_file_twice_is_all_duplicates(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    upload(tenant.client, fixture("aliases.csv"))
    response = upload(tenant.client, fixture("aliases.csv"))
    assert (response.status_code, response.json()) == (201, body(duplicates=2))
    assert Event.objects.count() == 2


def test_leads_by_id_column(tenant: Tenant, people: tuple[Lead, Lead], other_tenant: Tenant) -> None:
    ann, bob = people
    theirs = LeadFactory(workspace=other_tenant.workspace, email="eve@example.com")
    text = f"Lead ID,Event\n{ann.pk},email_open\n{bob.pk},page_view\n{theirs.pk},email_open\nx{ann.pk},call\n"
    response = upload(tenant.client, text)
    assert response.status_code == 201, response.json()
    result = response.json()
    result["errors"].sort(key=lambda error: error["line"])
    assert result == body(accepted=2, rejected=2, leads=2, errors=[
        {"line": 4, "reason": UNKNOWN_ID}, {"line": 5, "reason": "lead must be a lead id."}])
    assert not Event.objects.filter(lead=theirs).exists()


def test_create_leads_from_the_form(tenant: Tenant) -> None:
    response = upload(tenant.client, "type,email\nform_submit,new@example.com\nemail_open,NEW@example.com\n",
                      create_leads="true")
    assert (response.status_code, response.json()) == (201, body(accepted=2, created_leads=1, leads=1))
    lead = Lead.objects.get(workspace=tenant.workspace)
    assert (lead.email, lead.name) == ("new@example.com", "new")
    assert upload(tenant.client, "type,email\nform_submit,other@example.com\n").json() == body(
        rejected=1, errors=[{"line": 2, "reason": UNKNOWN_EMAIL}])


def test_a_time_without_an_offset_is_utc(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    """Spreadsheets write "2026-06-05 10:00:00": UTC, as every time here."""
    response = upload(tenant.client, fixture("naive_times.csv"))
    assert (response.status_code, response.json()) == (201, body(accepted=1, leads=1))
    assert Event.objects.get().occurred_at == at(5, 10)


# --- row errors by line -------------------------------------------------------------------------------


def test_row_errors_carry_their_line_and_the_good_rows_go_in(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    """Line 2's note spans lines 2–3, so the bad type is on line 4, the unknown email on 5, the
    whitespace-only line 6 and the empty cells of line 8 are skipped, the bad time is on line 7."""
    response = upload(tenant.client, fixture("row_errors.csv"))
    assert response.status_code == 201, response.json()
    result = response.json()
    result["errors"].sort(key=lambda error: error["line"])
    assert result == body(accepted=2, rejected=3, leads=2, errors=[
        {"line": 4, "reason": BAD_TYPE}, {"line": 5, "reason": UNKNOWN_EMAIL}, {"line": 7, "reason": BAD_TIME}])
    assert stored(tenant) == [
        ("ann@example.com", "email_open", at(5, 10), "api", "", {"note": "first line\nsecond line, with a comma"}),
        ("bob@example.com", "meeting", at(6, 9), "api", "", {"note": 'a "quoted" note'})]


def test_leading_blank_lines_are_skipped_and_counted(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    """As in lead uploads: blank lines before the header are no header; lines still count from the top."""
    response = upload(tenant.client, fixture("leading_blank_lines.csv"))
    assert response.status_code == 201, response.json()
    assert response.json() == body(accepted=1, rejected=1, leads=1, errors=[{"line": 6, "reason": BAD_TYPE}])


def test_a_header_only_file_stores_nothing(tenant: Tenant, people: tuple[Lead, Lead]) -> None:
    response = upload(tenant.client, fixture("header_only.csv"))
    assert (response.status_code, response.json()) == (201, body())


# --- files refused whole --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "header"),
    [("no_type_column.csv", ["email", "occurred_at", "note"]), ("no_lead_column.csv", ["type", "occurred_at"])],
)
def test_a_file_without_the_needed_columns_is_a_400(tenant: Tenant, name: str, header: list[str]) -> None:
    response = upload(tenant.client, fixture(name))
    assert response.status_code == 400
    assert response.json() == {"error": EVENT_CSV_COLUMNS, "code": "missing_columns", "details": {"header": header}}
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("binary_nul.csv", cp.BINARY_KIND), ("zip_renamed.csv", "a ZIP archive (an Excel .xlsx workbook is one)")],
)
def test_a_binary_file_is_a_415(tenant: Tenant, people: tuple[Lead, Lead], name: str, kind: str) -> None:
    response = upload(tenant.client, fixture(name))
    assert response.status_code == 415
    assert response.json() == {"error": cp.NOT_CSV.format(kind=kind), "code": "unsupported_media_type",
                               "details": {"detected": kind}}
    assert not Event.objects.exists()


def test_an_empty_file_is_a_400(tenant: Tenant) -> None:
    response = upload(tenant.client, fixture("empty.csv"))
    assert (response.status_code, response.json()) == (400, {"error": cp.EMPTY_FILE, "code": "empty_file",
                                                              "details": {}})


def test_a_request_without_a_file_is_a_400(tenant: Tenant) -> None:
    response = tenant.client.post(URL, {"create_leads": "true"}, format="multipart")
    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["details"])) == ("invalid", ["file"])


def test_a_file_over_the_byte_limit_is_a_413(tenant: Tenant, people: tuple[Lead, Lead], settings: Any) -> None:
    data = fixture("utf8_bom.csv")
    settings.EVENTS_UPLOAD_MAX_BYTES = len(data) - 1
    response = upload(tenant.client, data)
    assert response.status_code == 413
    assert response.json() == {"error": CSV_TOO_LARGE.format(mb=0), "code": "file_too_large",
                               "details": {"limit_bytes": len(data) - 1}}
    settings.EVENTS_UPLOAD_MAX_BYTES = len(data)
    assert upload(tenant.client, data).status_code == 201


def test_a_file_over_the_row_limit_is_a_413_and_stores_nothing(tenant: Tenant, people: tuple[Lead, Lead],
                                                                settings: Any) -> None:
    settings.EVENTS_UPLOAD_MAX_ROWS = 1
    response = upload(tenant.client, fixture("semicolon.csv"))
    assert response.status_code == 413
    assert response.json() == {"error": CSV_TOO_MANY_ROWS.format(rows=1), "code": "too_many_rows", "details": {}}
    assert not Event.objects.exists()
    settings.EVENTS_UPLOAD_MAX_ROWS = 2
    assert upload(tenant.client, fixture("semicolon.csv")).json() == body(accepted=2, leads=2)


def test_a_failure_after_a_full_batch_stores_nothing_of_the_file(tenant: Tenant, people: tuple[Lead, Lead],
                                                                  settings: Any) -> None:
    """10,000 rows are ingested as one batch before row 10,002 breaks the limit: the file is one transaction."""
    settings.EVENTS_UPLOAD_MAX_ROWS = 10_001
    text = "type,email\n" + "email_open,ann@example.com\n" * 10_002
    response = upload(tenant.client, text)
    assert (response.status_code, response.json()["code"]) == (413, "too_many_rows")
    assert not Event.objects.exists()
    assert not LeadEngagement.objects.exists()
