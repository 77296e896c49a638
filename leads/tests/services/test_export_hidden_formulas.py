"""Formulas hidden behind invisible characters are neutralised; control and bidi characters never
reach an exported cell (CSV or XLSX); the stored lead keeps what it had."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from leads.models import Offer
from leads.services.csv_export import neutralise_cell
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory


@pytest.mark.parametrize(("value", "expected"), [
    ("\u200b=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"),
    ("\ufeff@SUM(A1)", "'@SUM(A1)"),
    ("\u202e=1+1", "'=1+1"),
    ("\u2066\u200d+1 555", "'+1 555"),
    ("  =1+1", "'=1+1"),
    ("\x1b[31mred\x07", "[31mred"),
    ("a\x00b\x7fc\x85d", "abcd"),
    ("left\u202eright", "leftright"),
    ("line\nbreak\ttab", "line\nbreak\ttab"),   # text may hold these: kept
    ("Zoë \u200bMüller", "Zoë \u200bMüller"),   # invisible but harmless inside the text
    ("\u200bplain", "\u200bplain"),
    ("Jane = CEO", "Jane = CEO"),
])
def test_hidden_formulas_and_unsafe_characters(value: str, expected: str) -> None:
    assert neutralise_cell(value) == expected


@pytest.mark.django_db
def test_both_exports_clean_what_the_stored_lead_keeps(tenant: Tenant) -> None:
    Offer.objects.create(workspace=tenant.workspace, name="Offer", ideal_use_cases=["B2B SaaS"])
    lead = LeadFactory(workspace=tenant.workspace, role="\u200b=HYPERLINK(\"http://evil\")",
                       attributes={"note": "\ufeff@SUM(A1)\x07"})
    assert tenant.client.post("/api/leads/score/", {}, format="json").status_code == 200

    text = b"".join(tenant.client.get("/api/leads/export_csv/").streaming_content).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(text)))[:2]
    assert row[header.index("role")] == "'=HYPERLINK(\"http://evil\")"
    assert row[header.index("note")] == "'@SUM(A1)"

    book = load_workbook(io.BytesIO(b"".join(
        tenant.client.get("/api/leads/export_csv/?format=xlsx").streaming_content)))
    rows = list(book["Results"].iter_rows(values_only=True))
    assert rows[1][rows[0].index("note")] == "\ufeff@SUM(A1)"  # text cell: no ' needed, the control char gone

    lead.refresh_from_db()
    assert lead.attributes == {"note": "\ufeff@SUM(A1)\x07"}
