"""Outcomes: how people write won and lost, recording them (one, a list, a CSV, the lead upload),
one outcome per lead, and workspaces kept apart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.exceptions import ImportFileError
from leads.models import Lead, Outcome, Workspace
from leads.services.engagement import NO_LEAD
from leads.services.outcomes import (
    BAD_OUTCOME,
    BAD_TIME,
    BAD_VALUE,
    OUTCOME_CSV_COLUMNS,
    UNKNOWN_LEAD,
    outcome_column,
    outcomes_record,
    outcomes_record_csv,
    parse_outcome,
)
from leads.tests.conftest import Tenant
from leads.tests.factories import LeadFactory


@pytest.mark.parametrize(("raw", "expected"), [
    ("1", "won"), ("0", "lost"), (1, "won"), (0, "lost"), (1.0, "won"), (True, "won"), (False, "lost"),
    ("won", "won"), ("Won", "won"), (" WON ", "won"), ("lost", "lost"), ("LOST", "lost"),
    ("yes", "won"), ("Yes", "won"), ("y", "won"), ("no", "lost"), ("N", "lost"),
    ("true", "won"), ("TRUE", "won"), ("false", "lost"), ("converted", "won"), ("Not converted", "lost"),
    ("not-converted", "lost"), ("Closed Won", "won"), ("closedwon", "won"), ("closed_lost", "lost"),
    ("Customer", "won"), ("churned", "lost"), ("Sí", "won"), ("Não", "lost"), ("gewonnen", "won"),
    ("1.0", "won"), ("0.0", "lost"),
    ("", None), ("   ", None), (None, None),
])
def test_outcomes_are_read_as_people_write_them(raw: object, expected: str | None) -> None:
    assert parse_outcome(raw) == expected


@pytest.mark.parametrize("raw", ["maybe", "2", 2, -1, 0.5, "won!", "pending", [1], {"won": 1}])
def test_anything_else_is_not_an_outcome(raw: object) -> None:
    with pytest.raises(ValueError, match="outcome must be won or lost"):
        parse_outcome(raw)


@pytest.mark.parametrize(("header", "expected"), [
    (["notes", "Converted"], ("Converted", True)),
    (["Outcome", "Status"], ("Outcome", True)),   # the better name wins
    (["status"], ("status", False)),              # Status only counts where its value reads as one
    (["Deal Outcome"], ("Deal Outcome", True)),
    (["notes", "budget"], None),
])
def test_the_outcome_column_of_a_lead_upload(header: list[str], expected: tuple[str, bool] | None) -> None:
    assert outcome_column(header) == expected


@pytest.mark.django_db
def test_record_by_id_and_email_with_date_and_value(workspace: Workspace) -> None:
    ann = LeadFactory(workspace=workspace, email="ann@acme.io")
    bob = LeadFactory(workspace=workspace)
    result = outcomes_record(workspace=workspace, items=[
        {"email": "ANN@acme.io", "outcome": "won", "occurred_at": "2026-11-02", "value": "12,500.50"},
        {"lead": bob.pk, "outcome": 0, "occurred_at": "2026-11-03T10:00:00+01:00"},
    ])
    assert (result.accepted, result.rejected, result.errors) == (2, 0, [])
    stored = {o.lead_id: o for o in Outcome.objects.all()}
    assert stored[ann.pk].outcome == "won"
    assert stored[ann.pk].occurred_at == datetime(2026, 11, 2, tzinfo=UTC)
    assert stored[ann.pk].value == Decimal("12500.50")
    assert stored[bob.pk].outcome == "lost"
    assert stored[bob.pk].occurred_at == datetime(2026, 11, 3, 9, tzinfo=UTC)


@pytest.mark.django_db
def test_a_newer_outcome_replaces_the_old_one(workspace: Workspace) -> None:
    lead = LeadFactory(workspace=workspace)
    outcomes_record(workspace=workspace, items=[{"lead": lead.pk, "outcome": "lost", "value": 100}])
    outcomes_record(workspace=workspace, items=[{"lead": lead.pk, "outcome": "won"}])
    assert list(Outcome.objects.values_list("lead_id", "outcome", "value")) == [(lead.pk, "won", Decimal("100.00"))]


@pytest.mark.django_db
def test_bad_items_are_reported_with_their_index_and_the_rest_stored(workspace: Workspace) -> None:
    lead = LeadFactory(workspace=workspace)
    result = outcomes_record(workspace=workspace, items=[
        {"lead": lead.pk, "outcome": "won"},
        {"outcome": "won"},
        {"lead": lead.pk, "outcome": "perhaps"},
        {"lead": lead.pk, "outcome": "won", "occurred_at": "yesterday"},
        {"lead": lead.pk, "outcome": "won", "value": "a lot"},
        {"lead": 999_999, "outcome": "lost"},
        {"email": "nobody@x.io", "outcome": "lost"},
        "won",
    ])
    assert result.accepted == 1
    assert result.errors == [
        {"index": 1, "reason": NO_LEAD}, {"index": 2, "reason": BAD_OUTCOME}, {"index": 3, "reason": BAD_TIME},
        {"index": 4, "reason": BAD_VALUE}, {"index": 5, "reason": UNKNOWN_LEAD.format(what="id")},
        {"index": 6, "reason": UNKNOWN_LEAD.format(what="email")}, {"index": 7, "reason": "Each outcome is an object."},
    ]


@pytest.mark.django_db
def test_another_workspaces_lead_is_unknown(tenant: Tenant, other_tenant: Tenant) -> None:
    theirs = LeadFactory(workspace=other_tenant.workspace, email="t@x.io")
    result = outcomes_record(workspace=tenant.workspace, items=[{"lead": theirs.pk, "outcome": "won"},
                                                                 {"email": "t@x.io", "outcome": "won"}])
    assert (result.accepted, result.rejected) == (0, 2)
    assert not Outcome.objects.exists()


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("outcomes.csv", text.encode("utf-8"), content_type="text/csv")


@pytest.mark.django_db
def test_csv_of_outcomes_with_row_errors_by_line(workspace: Workspace) -> None:
    ann = LeadFactory(workspace=workspace, email="ann@acme.io")
    bob = LeadFactory(workspace=workspace)
    result = outcomes_record_csv(workspace=workspace, upload=_csv(
        f"Email;Lead ID;Converted;Close Date;Amount\nann@acme.io;;Yes;2026-10-01;5000\n;{bob.pk};No;;\n"
        ";;yes;;\n;123456789;1;;\n"))
    assert result.accepted == 2
    assert result.errors == [{"line": 4, "reason": NO_LEAD}, {"line": 5, "reason": UNKNOWN_LEAD.format(what="id")}]
    assert dict(Outcome.objects.values_list("lead_id", "outcome")) == {ann.pk: "won", bob.pk: "lost"}


@pytest.mark.django_db
def test_csv_without_an_outcome_column_is_refused(workspace: Workspace) -> None:
    with pytest.raises(ImportFileError, match="outcome column") as error:
        outcomes_record_csv(workspace=workspace, upload=_csv("email,notes\na@b.io,x\n"))
    assert error.value.message == OUTCOME_CSV_COLUMNS


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.mark.django_db
def test_the_lead_upload_reads_a_converted_column_as_outcomes(tenant: Tenant, media_root: Path) -> None:
    body = "name,company,email,Converted,notes\nAnn,Acme,ann@acme.io,1,vip\nBob,Globex,,0,\nCy,Initech,,,\n"
    response = tenant.client.post("/api/leads/upload/", {"file": _csv(body)}, format="multipart")
    assert response.status_code == 201, response.json()
    leads = {lead.name: lead for lead in Lead.objects.filter(workspace=tenant.workspace)}
    assert dict(Outcome.objects.values_list("lead__name", "outcome")) == {"Ann": "won", "Bob": "lost"}
    assert {o.source for o in Outcome.objects.all()} == {"upload"}
    # The outcome is not kept as an attribute: a model trained on it would learn the answer.
    assert leads["Ann"].attributes == {"notes": "vip"}
    assert leads["Bob"].attributes == {}
    assert response.json()["job"]["id"]
    lead = tenant.client.get(f"/api/leads/{leads['Ann'].pk}/").json()
    assert lead["outcome"]["outcome"] == "won"
    assert tenant.client.get(f"/api/leads/{leads['Cy'].pk}/").json()["outcome"] is None


@pytest.mark.django_db
def test_a_status_column_counts_only_where_it_reads_as_an_outcome(tenant: Tenant, media_root: Path) -> None:
    body = "name,company,Status\nAnn,Acme,Closed Won\nBob,Globex,contacted\n"
    response = tenant.client.post("/api/leads/upload/", {"file": _csv(body)}, format="multipart")
    assert response.status_code == 201, response.json()
    assert dict(Outcome.objects.values_list("lead__name", "outcome")) == {"Ann": "won"}
    assert Lead.objects.get(name="Bob").attributes == {"Status": "contacted"}
    assert Lead.objects.get(name="Ann").attributes == {}
