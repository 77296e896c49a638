"""Limits on a lead's extra columns and on long cells, through the upload and PATCH endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from leads.models import Lead
from leads.services import csv_parsing as cp
from leads.services import lead_attributes as la
from leads.tests.conftest import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client: APIClient, text: str) -> Any:
    return client.post("/api/leads/upload/", {"file": SimpleUploadedFile("leads.csv", text.encode(), "text/csv")},
                       format="multipart")


def test_header_with_too_many_extra_columns_is_refused(api_client: APIClient) -> None:
    extra = [f"c{i}" for i in range(la.ATTRIBUTES_MAX_KEYS + 1)]
    response = upload(api_client, "name,company," + ",".join(extra) + "\nAnn,Acme," + ",".join("v" * len(extra)) + "\n")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "error": cp.TOO_MANY_COLUMNS.format(count=len(extra), limit=la.ATTRIBUTES_MAX_KEYS),
        "code": "too_many_columns", "details": {"columns": len(extra), "limit": la.ATTRIBUTES_MAX_KEYS}}
    assert not Lead.objects.exists()


def test_a_million_columns_are_refused_quickly(api_client: APIClient) -> None:
    response = upload(api_client, "name," + ",".join(f"c{i}" for i in range(1_000_000)) + "\nAnn\n")
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_columns"


def test_extra_columns_at_the_limit_are_kept(api_client: APIClient) -> None:
    extra = [f"c{i}" for i in range(la.ATTRIBUTES_MAX_KEYS)]
    response = upload(api_client, "name,company," + ",".join(extra) + "\nAnn,Acme," + ",".join(extra) + "\n")
    assert response.status_code == 201, response.content
    assert len(Lead.objects.get().attributes) == la.ATTRIBUTES_MAX_KEYS


def test_overlong_column_name_is_refused(api_client: APIClient) -> None:
    key = "k" * (la.ATTRIBUTE_KEY_MAX + 1)
    response = upload(api_client, f"name,{key}\nAnn,x\n")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_column_name"
    assert body["error"] == cp.BAD_COLUMN_NAME.format(column=2, reason=la.key_problem(key))


def test_too_long_extra_value_is_one_rows_error(api_client: APIClient) -> None:
    long = "n" * (la.ATTRIBUTE_VALUE_MAX + 1)
    response = upload(api_client, f"name,notes\nAnn,ok\nBob,{long}\nCid,fine\n")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 1)
    assert body["errors"] == [{"line": 3, "column": None, "reason": cp.ROW_TOO_LONG.format(
        header="notes", length=la.ATTRIBUTE_VALUE_MAX + 1, limit=la.ATTRIBUTE_VALUE_MAX)}]


def test_extra_values_adding_up_past_the_limit_are_one_rows_error(api_client: APIClient) -> None:
    columns = la.ATTRIBUTES_MAX_CHARS // la.ATTRIBUTE_VALUE_MAX + 1
    header = ",".join(f"c{i}" for i in range(columns))
    row = ",".join(["v" * la.ATTRIBUTE_VALUE_MAX] * columns)
    body = upload(api_client, f"name,{header}\nAnn,{row}\nBob,{','.join('x' * columns)}\n").json()
    assert (body["created"], body["failed"]) == (1, 1)
    assert body["errors"][0]["line"] == 2
    assert body["errors"][0]["reason"].startswith("The row's extra columns add up to")


def test_cell_over_the_csv_modules_default_is_one_rows_error_and_the_rest_imports(api_client: APIClient) -> None:
    """A 140,000-character name used to stop the import half-way, blaming a double quote."""
    huge = "n" * 140_000
    text = f"name,company\nA1,X\nA2,X\nA3,X\n{huge},X\nA5,X\nA6,X\n"
    body = upload(api_client, text).json()
    assert (body["job"]["status"], body["created"], body["failed"]) == ("succeeded", 5, 1)
    assert body["errors"] == [{"line": 5, "column": "name", "reason": cp.ROW_TOO_LONG.format(
        header="name", length=140_000, limit=cp.NAME_MAX)}]
    assert sorted(Lead.objects.values_list("name", flat=True)) == ["A1", "A2", "A3", "A5", "A6"]


def test_a_150_kb_bio_imports(api_client: APIClient) -> None:
    bio = ("Scaling our outbound team, evaluating tools. " * 3400)[:150_000]
    response = upload(api_client, f'name,company,LinkedIn Bio\nAnn,Acme,"{bio}"\nBob,Acme,short\n')
    assert response.status_code == 201, response.content[:300]
    assert response.json()["created"] == 2
    assert Lead.objects.get(name="Ann").linkedin_bio == bio.strip()


def test_cell_past_the_reader_limit_keeps_the_rows_before(api_client: APIClient) -> None:
    text = f'name,bio\nAnn,ok\nBob,"never closed\n{"x" * (cp.CELL_MAX_CHARS + 1)}\n'
    body = upload(api_client, text).json()
    assert body["code"] == "import_failed"
    assert body["details"]["job"]["created"] == 1
    assert "line 3" in body["error"]


# --- PATCH -------------------------------------------------------------------------------------------

@pytest.fixture
def lead(tenant: Tenant) -> Lead:
    return Lead.objects.create(workspace=tenant.workspace, name="Ada", company="Acme", attributes={"phone": "1"})


@pytest.mark.parametrize(("attributes", "message"), [
    ({f"k{i}": "v" for i in range(la.ATTRIBUTES_MAX_KEYS + 1)},
     la.TOO_MANY_KEYS.format(limit=la.ATTRIBUTES_MAX_KEYS, count=la.ATTRIBUTES_MAX_KEYS + 1)),
    ({"k" * 201: "v"}, la.KEY_TOO_LONG.format(key="k" * 40, length=201, limit=la.ATTRIBUTE_KEY_MAX)),
    ({"a\tb": "v"}, la.KEY_CONTROL.format(key="a\tb")),
    ({" ": "v"}, la.KEY_BLANK),
    ({"notes": "x" * 10_001}, la.VALUE_TOO_LONG.format(key="notes", length=10_001, limit=la.ATTRIBUTE_VALUE_MAX)),
    ({"list": ["x" * 5000, "y" * 5000]}, la.VALUE_TOO_LONG.format(key="list", length=10_008,
                                                                  limit=la.ATTRIBUTE_VALUE_MAX)),
    ({f"k{i}": "v" * 9000 for i in range(12)}, la.TOTAL_TOO_LONG.format(length=12 * 9000 + 26,
                                                                       limit=la.ATTRIBUTES_MAX_CHARS)),
])
def test_patch_attributes_limits(api_client: APIClient, lead: Lead, attributes: dict, message: str) -> None:
    response = api_client.patch(f"/api/leads/{lead.pk}/", {"attributes": attributes}, format="json")
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid"
    assert body["details"]["attributes"] == [message]
    lead.refresh_from_db()
    assert lead.attributes == {"phone": "1"}


def test_patch_a_10_mb_value_is_refused(api_client: APIClient, lead: Lead) -> None:
    response = api_client.patch(f"/api/leads/{lead.pk}/", {"attributes": {"a": "x" * 9_000_000}}, format="json")
    assert response.status_code == 400
    assert response.json()["details"]["attributes"][0].startswith('The value of "a" is 9,000,000 characters')


def test_patch_attributes_within_limits(api_client: APIClient, lead: Lead) -> None:
    attributes = {f"k{i}": "v" * 400 for i in range(la.ATTRIBUTES_MAX_KEYS)}
    response = api_client.patch(f"/api/leads/{lead.pk}/", {"attributes": attributes}, format="json")
    assert response.status_code == 200, response.content[:300]
    lead.refresh_from_db()
    assert len(lead.attributes) == la.ATTRIBUTES_MAX_KEYS
