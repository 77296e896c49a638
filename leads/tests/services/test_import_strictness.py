"""Import strictness and matching: a bad email keeps the lead with a warning, a row that is no one
is an error, names with control or bidi characters are refused, and a file without its email
column updates the leads that have one instead of making twins."""

from __future__ import annotations

import pytest

from leads.models import Lead, Workspace
from leads.services import csv_parsing as cp
from leads.services import imports
from leads.tests.services.test_imports import run_import


def _leads(workspace: Workspace, *fields: str) -> list[tuple]:
    return list(Lead.objects.filter(workspace=workspace).order_by("id").values_list(*fields))


@pytest.mark.django_db
class TestWarningsAndRowErrors:
    def test_a_malformed_email_keeps_the_lead_and_warns_with_the_line(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,company,Work Email\nAnn,Acme,ann(at)acme\nBob,Globex,bob@globex.io\n")
        assert (job.created, job.failed, job.warned) == (2, 0, 1)
        assert job.warnings == [{"line": 2, "column": "email", "reason": cp.WARN_BAD_EMAIL.format(
            header="Work Email", value="ann(at)acme", key="Work Email (invalid)")}]
        assert _leads(workspace, "name", "email", "attributes") == [
            ("Ann", "", {"Work Email (invalid)": "ann(at)acme"}), ("Bob", "bob@globex.io", {})]
        assert job.message.endswith(imports.SUMMARY_WARNINGS.format(warned=1))
        assert "2 created" in job.message and "0 failed" in job.message

    def test_an_email_with_a_bidi_override_is_not_an_email(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,email\nEve,eve\u202e@evil.io\n")
        assert (job.created, job.warned) == (1, 1)
        assert _leads(workspace, "email") == [("",)]

    def test_a_row_with_neither_name_nor_email_is_a_row_error(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,company,email,role\n,Acme,,CEO\nAnn,Acme,,\n,,carl@x.io,\n")
        assert (job.created, job.failed) == (2, 1)
        assert job.errors == [{"line": 2, "column": None, "reason": cp.ROW_NO_NAME_OR_EMAIL}]
        assert sorted(_leads(workspace, "name", "email")) == [("", "carl@x.io"), ("Ann", "")]

    @pytest.mark.parametrize("name", ["Eve\u202eevil", "Bell\x07", "Esc\x1b[31m"])
    def test_a_name_with_control_or_bidi_characters_is_refused(self, workspace: Workspace, name: str) -> None:
        job = run_import(workspace, f"name,company\n{name},Acme\nAnn,Acme\n")
        assert (job.created, job.failed) == (1, 1)
        assert job.errors[0]["line"] == 2 and job.errors[0]["column"] == "name"
        assert "U+" in job.errors[0]["reason"]

    def test_a_strict_import_stores_rows_with_warnings(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,email\nAnn,nope\n", strict=True)
        assert (job.status, job.created, job.warned) == ("succeeded", 1, 1)


@pytest.mark.django_db
class TestMatchingWithoutTheEmailColumn:
    def test_a_file_without_the_email_column_updates_the_lead_that_has_one(self, workspace: Workspace) -> None:
        run_import(workspace, "name,company,email\nT1,TC,t1@x.io\n")
        again = run_import(workspace, "name,company,role\nT1,TC,CTO\n")
        assert (again.created, again.updated) == (0, 1)
        assert _leads(workspace, "name", "company", "email", "role") == [("T1", "TC", "t1@x.io", "CTO")]

    def test_the_same_file_twice_is_unchanged(self, workspace: Workspace) -> None:
        run_import(workspace, "name,company,email\nT1,TC,t1@x.io\n")
        again = run_import(workspace, "name,company\nT1 , TC\n")
        assert (again.created, again.updated, again.skipped) == (0, 0, 1)
        assert Lead.objects.filter(workspace=workspace).count() == 1

    def test_within_one_batch_too(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,company,email,role\nT1,TC,t1@x.io,\nT1,TC,,CEO\n")
        assert (job.created, job.updated) == (1, 1)
        assert _leads(workspace, "email", "role") == [("t1@x.io", "CEO")]

    def test_across_batches(self, workspace: Workspace, settings) -> None:
        settings.IMPORT_BATCH_SIZE = 1
        job = run_import(workspace, "name,company,email,role\nT1,TC,t1@x.io,\nT1,TC,,CEO\nT1,TC,t1@x.io,CFO\n")
        assert (job.created, job.updated) == (1, 2)
        assert _leads(workspace, "email", "role") == [("t1@x.io", "CFO")]

    def test_several_leads_under_one_name_the_oldest_is_updated(self, workspace: Workspace) -> None:
        run_import(workspace, "name,company,email\nJo,Acme,jo1@acme.io\nJo,Acme,jo2@acme.io\n")
        again = run_import(workspace, "name,company,role\nJo,Acme,CEO\n")
        assert (again.created, again.updated) == (0, 1)
        assert _leads(workspace, "email", "role") == [("jo1@acme.io", "CEO"), ("jo2@acme.io", "")]

    def test_a_renamed_lead_is_found_under_its_new_name(self, workspace: Workspace, tenant) -> None:
        run_import(workspace, "name,company,email\nAda,Engines,ada@e.io\n")
        lead = Lead.objects.get(workspace=workspace)
        assert tenant.client.patch(f"/api/leads/{lead.pk}/", {"name": "Ada Lovelace"}, format="json"
                                   ).status_code == 200
        again = run_import(workspace, "name,company,role\nAda Lovelace,Engines,CTO\n")
        assert (again.created, again.updated) == (0, 1)
