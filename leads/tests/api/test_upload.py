"""POST /api/leads/upload/ through the HTTP client: summaries, refused files and the error envelope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from leads.models import Job, Lead
from leads.services import csv_parsing as cp
from leads.services import imports
from leads.tests.conftest import Tenant

URL = "/api/leads/upload/"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
JOB_FIELDS = {"id", "url", "kind", "status", "total", "processed", "created", "updated", "skipped", "failed",
              "errors", "errors_truncated", "message"}
LEAD_FIELDS = {"id", "name", "role", "company", "industry", "location", "linkedin_bio", "email", "attributes",
               "created_at", "updated_at", "status", "owner", "owner_name", "tags", "engagement_summary",
               "outcome"}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client: APIClient, data: bytes | str, *, name: str = "leads.csv", **form: Any) -> Any:
    if isinstance(data, str):
        data = data.encode()
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **form},
                       format="multipart")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_requires_authentication(anon_client: APIClient) -> None:
    response = upload(anon_client, "name\nAnn\n")
    assert response.status_code == 401
    assert set(response.json()) == {"error", "code", "details"}
    assert Job.objects.count() == 0


def test_small_file_answers_201_with_the_summary_and_the_leads(tenant: Tenant) -> None:
    response = upload(tenant.client, "name,role,company,notes\nAnn,CEO,Acme,vip\nBob,CTO,Globex,\n,,,\n")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"job", "created", "updated", "skipped", "failed", "errors", "warned", "warnings", "leads"}
    assert (body["created"], body["updated"], body["skipped"], body["failed"], body["errors"]) == (2, 0, 0, 0, [])
    job = body["job"]
    assert set(job) >= JOB_FIELDS
    assert (job["kind"], job["status"], job["total"], job["processed"]) == ("import", "succeeded", 2, 2)
    assert job["message"] == imports.SUMMARY.format(processed=2, created=2, updated=0, skipped=0, failed=0)
    assert response["Location"] == job["url"]
    assert [set(lead) for lead in body["leads"]] == [LEAD_FIELDS, LEAD_FIELDS]
    assert [(lead["name"], lead["role"], lead["company"], lead["attributes"]) for lead in body["leads"]] == [
        ("Ann", "CEO", "Acme", {"notes": "vip"}), ("Bob", "CTO", "Globex", {})]
    assert Lead.objects.filter(workspace=tenant.workspace).count() == 2


def test_row_errors_are_reported_and_valid_rows_stored(tenant: Tenant) -> None:
    response = upload(tenant.client, fixture("ragged.csv"))
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["failed"]) == (3, 1)
    assert body["errors"] == [{"line": 3, "column": None,
                               "reason": cp.ROW_TOO_MANY_CELLS.format(cells=4, columns=3)}]
    assert body["job"]["errors"] == body["errors"]


def test_reupload_updates_and_skips(tenant: Tenant) -> None:
    upload(tenant.client, "name,company,role\nAnn,Acme,CEO\nBob,Globex,CTO\n")
    body = upload(tenant.client, "name,company,role\nAnn,Acme,Founder\nBob,Globex,CTO\nCarol,Initech,VP\n").json()
    assert (body["created"], body["updated"], body["skipped"], body["failed"]) == (1, 1, 1, 0)
    assert [lead["name"] for lead in body["leads"]] == ["Ann", "Carol"]
    assert Lead.objects.filter(workspace=tenant.workspace).count() == 3


def test_other_workspaces_are_untouched(tenant: Tenant, other_tenant: Tenant) -> None:
    upload(other_tenant.client, "name,company\nAnn,Acme\n")
    body = upload(tenant.client, "name,company\nAnn,Acme\n").json()
    assert body["created"] == 1
    assert Lead.objects.filter(workspace=other_tenant.workspace).count() == 1


def test_strict_upload_with_invalid_rows_is_400_and_stores_nothing(tenant: Tenant) -> None:
    response = upload(tenant.client, fixture("ragged.csv"), strict="true")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], set(body["details"])) == ("invalid_rows", {"job", "errors"})
    assert body["details"]["errors"] == [{"line": 3, "column": None,
                                          "reason": cp.ROW_TOO_MANY_CELLS.format(cells=4, columns=3)}]
    assert body["details"]["job"]["status"] == "failed"
    assert body["details"]["job"]["message"] == imports.STRICT_FAILED.format(failed=1, total=4)
    assert Lead.objects.count() == 0


def test_strict_upload_of_a_valid_file(tenant: Tenant) -> None:
    response = upload(tenant.client, "name,company\nAnn,Acme\n", strict="true")
    assert response.status_code == 201
    assert response.json()["created"] == 1


@pytest.mark.parametrize(("name", "status", "code", "message"), [
    ("zip_renamed.csv", 415, "unsupported_media_type",
     cp.NOT_CSV.format(kind="a ZIP archive (an Excel .xlsx workbook is one)")),
    ("binary_nul.csv", 415, "unsupported_media_type", cp.NOT_CSV.format(kind=cp.BINARY_KIND)),
    ("whitespace_only.csv", 400, "empty_file", cp.EMPTY_FILE),
    ("missing_columns.csv", 400, "missing_columns", cp.MISSING_COLUMNS.format(found="email, role, notes")),
])
def test_refused_files_answer_the_envelope(tenant: Tenant, name: str, status: int, code: str,
                                           message: str) -> None:
    response = upload(tenant.client, fixture(name))
    assert response.status_code == status
    body = response.json()
    assert (body["error"], body["code"]) == (message, code)
    assert Job.objects.count() == 0


def test_missing_columns_name_the_missing_and_the_found(tenant: Tenant) -> None:
    body = upload(tenant.client, fixture("missing_columns.csv")).json()
    assert body["details"] == {"missing": ["name", "company"], "found": ["email", "role", "notes"]}


def test_empty_file(tenant: Tenant) -> None:
    """A zero-byte upload gets the import's own sentence, not a generic form error."""
    response = upload(tenant.client, b"")
    assert response.status_code == 400
    assert response.json()["code"] == "empty_file"
    assert response.json()["error"] == cp.EMPTY_FILE


def test_too_large(tenant: Tenant, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    response = upload(tenant.client, "name\n" + "Ann\n" * 300_000)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "file_too_large"
    assert "1 MB" in body["error"]


def test_too_many_rows(tenant: Tenant, settings: Any) -> None:
    settings.IMPORT_MAX_ROWS = 2
    response = upload(tenant.client, "name\nA\nB\nC\n")
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_rows"
    assert response.json()["error"] == imports.TOO_MANY_ROWS.format(limit=2)


def test_no_file_field(tenant: Tenant) -> None:
    response = tenant.client.post(URL, {"strict": "true"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_legacy_encoding_and_semicolons_through_http(tenant: Tenant) -> None:
    body = upload(tenant.client, fixture("cp1252.csv")).json()
    assert body["created"] == 2
    assert [lead["company"] for lead in body["leads"]] == ["Müller & Söhne", "Café €uro"]


def test_alias_path(tenant: Tenant) -> None:
    response = tenant.client.post("/leads/upload/", {"file": SimpleUploadedFile("x.csv", b"name\nAnn\n")},
                                  format="multipart")
    assert response.status_code == 201
    assert response.json()["created"] == 1


def test_a_file_that_outlasts_the_wait_budget_answers_202_and_the_job_reports_progress(
        tenant: Tenant, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # queued on commit, which the test transaction never reaches
    settings.JOB_WAIT_SECONDS = 0.05
    response = upload(tenant.client, "name,company\nAnn,Acme\nBob,Globex\n")
    assert response.status_code == 202
    body = response.json()
    assert (body["kind"], body["status"], body["processed"]) == ("import", "queued", 0)
    assert response["Location"] == body["url"]
    assert Lead.objects.count() == 0

    imports.import_job_run(body["id"])  # what the worker does with the queued task
    job = tenant.client.get(response["Location"]).json()
    assert (job["status"], job["processed"], job["created"], job["progress"]) == ("succeeded", 2, 2, 1.0)
    assert Lead.objects.filter(workspace=tenant.workspace).count() == 2


def test_oversized_body_is_refused_before_it_is_read(tenant: Tenant, settings: Any) -> None:
    settings.IMPORT_MAX_BYTES = 10
    response = tenant.client.generic("POST", URL, b"x", content_type="multipart/form-data; boundary=zz",
                                     HTTP_CONTENT_LENGTH="999999999", CONTENT_LENGTH="999999999")
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert Job.objects.count() == 0
