"""The import service against the real (SQLite) database: nasty files, exact counts, batches, crashes."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from leads.exceptions import ImportFileError
from leads.models import Job, Lead, Workspace
from leads.services import csv_parsing as cp
from leads.services import imports
from leads.services.imports import import_job_create, import_job_run
from leads.services.leads import lead_dedupe_key

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
LEAD_VALUES = ("name", "role", "company", "industry", "location", "linkedin_bio", "email", "attributes")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def create(workspace: Workspace, data: bytes | str, *, strict: bool = False, filename: str = "leads.csv") -> Job:
    if isinstance(data, str):
        data = data.encode()
    return import_job_create(workspace=workspace, user=None, upload=ContentFile(data, name=filename),
                             filename=filename, strict=strict)


def run_import(workspace: Workspace, data: bytes | str, *, strict: bool = False,
               progress: Callable[[Job], None] | None = None) -> Job:
    job = create(workspace, data, strict=strict)
    import_job_run(job.pk, progress=progress)
    job.refresh_from_db()
    return job


def counts(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in ("status", "total", "processed", "created", "updated",
                                                  "skipped", "failed")}


def outcome(status: str = "succeeded", *, created: int = 0, updated: int = 0, skipped: int = 0,
            failed: int = 0) -> dict[str, Any]:
    rows = created + updated + skipped + failed
    return {"status": status, "total": rows, "processed": rows, "created": created, "updated": updated,
            "skipped": skipped, "failed": failed}


def leads(workspace: Workspace, *fields: str) -> list[tuple[Any, ...]]:
    return list(Lead.objects.filter(workspace=workspace).order_by("id").values_list(*(fields or LEAD_VALUES)))


def stored_files(media_root: Path) -> list[Path]:
    return sorted((media_root / "imports").glob("*")) if (media_root / "imports").exists() else []


def error(line: int, column: str | None, reason: str) -> dict[str, Any]:
    return {"line": line, "column": column, "reason": reason}


class TestFiles:
    def test_plain_file(self, workspace: Workspace, media_root: Path) -> None:
        """Six columns in another order plus email: stored as given, summary message, file removed."""
        job = run_import(workspace, "linkedin_bio,location,industry,company,role,name,email\n"
                                    "Builds things,Paris,SaaS,Acme,CEO,Ann Lee,ann@acme.com\n")
        assert counts(job) == outcome(created=1)
        assert job.message == imports.SUMMARY.format(processed=1, created=1, updated=0, skipped=0, failed=0)
        assert job.errors == []
        assert job.started_at and job.finished_at
        assert leads(workspace) == [("Ann Lee", "CEO", "Acme", "SaaS", "Paris", "Builds things", "ann@acme.com", {})]
        assert job.params["lead_ids"] == [Lead.objects.get().pk]
        assert stored_files(media_root) == []

    def test_utf8_bom(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("utf8_bom.csv"))
        assert counts(job) == outcome(created=1)
        assert leads(workspace, "name", "role", "company", "attributes") == [("Zoë Kravitz", "CEO", "Müller GmbH", {})]

    def test_cp1252(self, workspace: Workspace) -> None:
        """Excel's legacy encoding decodes without mojibake: ë, ü, é, –, €, ñ, ã."""
        job = run_import(workspace, fixture("cp1252.csv"))
        assert job.params["encoding"] == "cp1252"
        assert counts(job) == outcome(created=2)
        assert leads(workspace, "name", "role", "company", "location") == [
            ("Zoë Dubois", "Directrice générale", "Müller & Söhne", "Zürich"),
            ("José Núñez", "CFO – Finance", "Café €uro", "São Paulo"),
        ]

    def test_utf16(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("utf16.csv"))
        assert counts(job) == outcome(created=1)
        assert leads(workspace, "name", "company") == [("Zoë", "Müller")]

    def test_quoted_newlines_and_commas(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("quoted_multiline.csv"))
        assert counts(job) == outcome(created=3)
        assert leads(workspace, "name", "company", "linkedin_bio") == [
            ("Smith, Ann", "Acme", 'Line one\nline two, with a comma\nand "quotes"'),
            ("Bob", "", ""),
            ("Carol", "Initech", "ok"),
        ]

    def test_line_numbers_after_multiline_records(self, workspace: Workspace) -> None:
        job = run_import(workspace, 'name,company,bio\n"A\nB",Acme,"x\ny"\n,,bio only\nC,D,"\n\n"\n,,again\n')
        assert counts(job) == outcome(created=2, failed=2)
        assert job.errors == [error(5, None, cp.ROW_NO_NAME_OR_EMAIL), error(9, None, cp.ROW_NO_NAME_OR_EMAIL)]

    def test_formula_looking_cells_are_stored_verbatim(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("formulas.csv"))
        assert counts(job) == outcome(created=2)
        assert leads(workspace, "name", "company", "role", "attributes") == [
            ('=HYPERLINK("http://evil.example","click")', "Acme", "+1234", {"notes": "@SUM(A1:A9)"}),
            ("-Dash", "=1+2", "Tabbed", {"notes": "=cmd|' /C calc'!A0"}),
        ]

    def test_bio_at_its_limit_is_fine_one_more_is_an_error(self, workspace: Workspace) -> None:
        ok, too_long = "b" * cp.BIO_MAX, "b" * (cp.BIO_MAX + 1)
        job = run_import(workspace, f"name,company,LinkedIn Bio\nAnn,Acme,{ok}\nBob,Acme,{too_long}\n")
        assert counts(job) == outcome(created=1, failed=1)
        reason = cp.ROW_TOO_LONG.format(header="LinkedIn Bio", length=cp.BIO_MAX + 1, limit=cp.BIO_MAX)
        assert job.errors == [error(3, "linkedin_bio", reason)]
        assert leads(workspace, "name", "linkedin_bio") == [("Ann", ok)]

    def test_extra_headers_are_kept_in_attributes(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("extra_headers.csv"))
        assert counts(job) == outcome(created=2)
        assert leads(workspace, "name", "attributes") == [
            ("Ann", {"Favourite Colour": "blue", "LinkedIn URL": "https://linkedin.com/in/ann", "column 5": "x",
                     "Favourite Colour (2)": "green"}),
            ("Bob", {}),
        ]

    def test_aliases_and_first_last_name(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("first_last.csv"))
        assert counts(job) == outcome(created=2)
        assert job.params["columns"] == {"name": "First Name + Last Name", "company": "Organisation",
                                         "industry": "Sector", "location": "City", "linkedin_bio": "LinkedIn Bio",
                                         "email": "E-mail"}
        assert leads(workspace, "name", "company", "industry", "location", "linkedin_bio", "email") == [
            ("Ann Lee", "Acme", "SaaS", "Paris", "Builder", "ANN@acme.com"),
            ("Solo", "Globex", "", "", "", ""),
        ]

    def test_ragged_rows(self, workspace: Workspace) -> None:
        """More cells than the header is an error with its line; fewer cells are blanks."""
        job = run_import(workspace, fixture("ragged.csv"))
        assert counts(job) == outcome(created=3, failed=1)
        assert job.errors == [error(3, None, cp.ROW_TOO_MANY_CELLS.format(cells=4, columns=3))]
        assert leads(workspace, "name", "role", "company") == [("Ann", "CEO", "Acme"), ("Carol", "", ""),
                                                              ("Dan", "VP", "Initech")]

    def test_empty_lines_are_not_rows(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("empty_lines.csv"))
        assert counts(job) == outcome(created=2)
        assert leads(workspace, "name", "company") == [("Ann", "Acme"), ("Bob", "Globex")]

    def test_error_lines_count_leading_blank_lines(self, workspace: Workspace) -> None:
        job = run_import(workspace, "\n\nname,company\n\n,\nAnn,Acme,x\n")
        assert job.errors == [error(6, None, cp.ROW_TOO_MANY_CELLS.format(cells=3, columns=2))]

    @pytest.mark.parametrize(("name", "delimiter"), [("semicolon.csv", ";"), ("tab.tsv", "\t"), ("pipe.csv", "|")])
    def test_delimiters(self, workspace: Workspace, name: str, delimiter: str) -> None:
        job = run_import(workspace, fixture(name))
        assert job.params["delimiter"] == delimiter
        assert job.status == "succeeded"
        assert job.failed == 0
        assert leads(workspace, "name")[0] == ("Ann",)

    def test_semicolon_file_values(self, workspace: Workspace) -> None:
        run_import(workspace, fixture("semicolon.csv"))
        assert leads(workspace, "name", "company", "linkedin_bio") == [
            ("Ann", "Acme", "Likes commas, lots, of them"), ("Bob", "Globex", "x")]

    def test_header_only_file(self, workspace: Workspace) -> None:
        job = run_import(workspace, fixture("header_only.csv"))
        assert counts(job) == outcome()
        assert job.message == imports.SUMMARY.format(processed=0, created=0, updated=0, skipped=0, failed=0)

    def test_invalid_email_keeps_the_lead_with_a_warning(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,email\nAnn,not-an-email\n")
        assert job.errors == []
        assert job.warnings == [error(2, "email", cp.WARN_BAD_EMAIL.format(header="email", value="not-an-email",
                                                                            key="email (invalid)"))]
        assert counts(job) == outcome(created=1)
        assert job.warned == 1
        assert leads(workspace, "name", "email", "attributes") == [("Ann", "", {"email (invalid)": "not-an-email"})]
        assert job.message == imports.SUMMARY.format(processed=1, created=1, updated=0, skipped=0, failed=0) + (
            imports.SUMMARY_WARNINGS.format(warned=1))


class TestRefusedFiles:
    """File-level problems: an ImportFileError before any Job exists, and nothing left on disk."""

    @pytest.mark.parametrize(("name", "status", "code", "message"), [
        ("empty.csv", 400, "empty_file", cp.EMPTY_FILE),
        ("whitespace_only.csv", 400, "empty_file", cp.EMPTY_FILE),
        ("zip_renamed.csv", 415, "unsupported_media_type",
         cp.NOT_CSV.format(kind="a ZIP archive (an Excel .xlsx workbook is one)")),
        ("pdf_renamed.csv", 415, "unsupported_media_type", cp.NOT_CSV.format(kind="a PDF document")),
        ("binary_nul.csv", 415, "unsupported_media_type", cp.NOT_CSV.format(kind=cp.BINARY_KIND)),
        ("missing_columns.csv", 400, "missing_columns", cp.MISSING_COLUMNS.format(found="email, role, notes")),
    ])
    def test_refused(self, workspace: Workspace, media_root: Path, name: str, status: int, code: str,
                     message: str) -> None:
        with pytest.raises(ImportFileError) as caught:
            create(workspace, fixture(name))
        assert (caught.value.status_code, caught.value.code, caught.value.message) == (status, code, message)
        assert Job.objects.count() == 0
        assert stored_files(media_root) == []

    def test_missing_columns_details(self, workspace: Workspace) -> None:
        with pytest.raises(ImportFileError) as caught:
            create(workspace, fixture("missing_columns.csv"))
        assert caught.value.details == {"missing": ["name", "company"], "found": ["email", "role", "notes"]}

    def test_too_large(self, workspace: Workspace, settings: Any, media_root: Path) -> None:
        settings.IMPORT_MAX_BYTES = 3 * 1024 * 1024
        with pytest.raises(ImportFileError) as caught:
            create(workspace, "name\n" + "Ann\n" * (1024 * 1024))
        assert (caught.value.status_code, caught.value.code) == (413, "file_too_large")
        assert caught.value.message == imports.FILE_TOO_LARGE.format(mb="3", limit=3 * 1024 * 1024)
        assert stored_files(media_root) == []

    def test_too_large_without_a_declared_size(self, workspace: Workspace, settings: Any) -> None:
        """A source that does not know its size is cut off while copying."""
        settings.IMPORT_MAX_BYTES = 100

        class Unsized(ContentFile):
            size = None  # type: ignore[assignment]

        with pytest.raises(ImportFileError) as caught:
            import_job_create(workspace=workspace, user=None, upload=Unsized(b"name\n" + b"Ann\n" * 50),
                              filename="x.csv")
        assert caught.value.code == "file_too_large"

    def test_too_many_rows(self, workspace: Workspace, settings: Any) -> None:
        settings.IMPORT_MAX_ROWS = 3
        with pytest.raises(ImportFileError) as caught:
            create(workspace, "name\nA\nB\nC\nD\n")
        assert (caught.value.status_code, caught.value.code) == (413, "too_many_rows")
        assert caught.value.message == imports.TOO_MANY_ROWS.format(limit=3)

    def test_blank_lines_do_not_count_towards_the_row_limit(self, workspace: Workspace, settings: Any) -> None:
        """More physical lines than the limit, but no more rows: the exact count lets it through."""
        settings.IMPORT_MAX_ROWS = 3
        job = run_import(workspace, 'name,bio\nA,"x\n\n\n"\n\n\nB,y\n\nC,z\n')
        assert counts(job) == outcome(created=3)

    def test_undecodable(self, workspace: Workspace) -> None:
        with pytest.raises(ImportFileError) as caught:
            create(workspace, b"name\nAnn\x81\x8d\n")
        assert caught.value.code == "undecodable_file"
        assert caught.value.status_code == 400


class TestDeduplication:
    def test_identical_duplicate_in_one_file(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,company,role\nAnn,Acme,CEO\nAnn,Acme,CEO\n")
        assert counts(job) == outcome(created=1, skipped=1)
        assert leads(workspace, "name", "company") == [("Ann", "Acme")]

    def test_duplicate_spelled_differently_is_the_same_lead(self, workspace: Workspace) -> None:
        """Name and company match case- and punctuation-insensitively; the later spelling wins."""
        job = run_import(workspace, "name,company,role\nAnn,Acme,CEO\nann , ACME!,CEO\n")
        assert counts(job) == outcome(created=1, updated=1)
        assert leads(workspace, "name", "company") == [("ann", "ACME!")]

    def test_later_duplicate_wins(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,company,role,industry\nAnn,Acme,CEO,\nAnn,Acme,CTO,SaaS\nAnn,Acme,,\n")
        assert counts(job) == outcome(created=1, updated=1, skipped=1)
        assert leads(workspace, "name", "company", "role", "industry") == [("Ann", "Acme", "CTO", "SaaS")]
        assert job.params["lead_ids"] == [Lead.objects.get().pk]

    def test_reupload_unchanged_is_all_skipped(self, workspace: Workspace) -> None:
        data = fixture("quoted_multiline.csv")
        run_import(workspace, data)
        before = leads(workspace, "id", "updated_at")
        job = run_import(workspace, data)
        assert counts(job) == outcome(skipped=3)
        assert leads(workspace, "id", "updated_at") == before
        assert job.params["lead_ids"] == []

    def test_reupload_updates_instead_of_twins(self, workspace: Workspace) -> None:
        run_import(workspace, "name,company,role,notes\nAnn,Acme,CEO,a\nBob,Globex,CTO,b\n")
        ann = Lead.objects.get(name="Ann")
        job = run_import(workspace, "Full Name,Company,Job Title,Colour\nANN,acme,Founder,red\nCarol,Initech,VP,\n")
        assert counts(job) == outcome(created=1, updated=1)
        assert leads(workspace, "id", "name", "role", "attributes") == [
            (ann.pk, "ANN", "Founder", {"notes": "a", "Colour": "red"}),
            (ann.pk + 1, "Bob", "CTO", {"notes": "b"}),
            (ann.pk + 2, "Carol", "VP", {}),
        ]
        assert job.params["lead_ids"] == [ann.pk, ann.pk + 2]

    def test_blank_cells_and_missing_columns_never_erase(self, workspace: Workspace) -> None:
        run_import(workspace, "name,company,role,industry\nAnn,Acme,CEO,SaaS\n")
        job = run_import(workspace, "name,company,role\nAnn,Acme,\n")
        assert counts(job) == outcome(skipped=1)
        assert leads(workspace, "role", "industry") == [("CEO", "SaaS")]

    def test_email_match_wins_over_name_and_company(self, workspace: Workspace) -> None:
        run_import(workspace, "name,company,email\nAnn Lee,Acme,ann@acme.com\n")
        job = run_import(workspace, "name,company,email\nAnn Smith,Globex,ANN@ACME.COM\n")
        assert counts(job) == outcome(updated=1)
        assert leads(workspace, "name", "company", "email") == [("Ann Smith", "Globex", "ANN@ACME.COM")]

    def test_different_emails_are_different_leads(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,company,email\nAnn,Acme,a@acme.com\nAnn,Acme,b@acme.com\n")
        assert counts(job) == outcome(created=2)

    def test_an_email_claims_the_lead_stored_without_one(self, workspace: Workspace) -> None:
        run_import(workspace, "name,company\nAnn Lee,\"Acme, Inc\"\n")
        job = run_import(workspace, "name,company,email\nann lee,ACME INC,ann@acme.com\nann lee,acme inc,\n")
        assert counts(job) == outcome(updated=1, created=1)
        assert leads(workspace, "name", "email", "dedupe_key") == [
            ("ann lee", "ann@acme.com", "e:ann@acme.com"), ("ann lee", "", "n:ann lee|acme inc")]

    def test_in_file_claim_by_email(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name,company,email\nAnn,Acme,\nAnn,Acme,ann@acme.com\nAnn,Acme,ann@acme.com\n")
        assert counts(job) == outcome(created=1, updated=1, skipped=1)
        assert leads(workspace, "email") == [("ann@acme.com",)]

    def test_other_workspaces_are_never_matched(self, workspace: Workspace) -> None:
        other = Workspace.objects.create(name="other")
        run_import(other, "name,company\nAnn,Acme\n")
        job = run_import(workspace, "name,company\nAnn,Acme\n")
        assert counts(job) == outcome(created=1)
        assert Lead.objects.count() == 2


class TestBatches:
    def test_counts_are_exact_across_batch_boundaries(self, workspace: Workspace, settings: Any) -> None:
        """Batch size 2: duplicates straddle batches, errors land in several batches."""
        settings.IMPORT_BATCH_SIZE = 2
        seen: list[int] = []
        data = "name,company,role\nA,X,1\nB,X,1\nA,X,2\n,,\nC,X,1\n,,role only\nB,X,1\nD,X,1,extra\nA,X,2\n"
        job = run_import(workspace, data, progress=lambda job: seen.append(job.processed))
        assert counts(job) == outcome(created=3, updated=1, skipped=2, failed=2)
        assert [e["line"] for e in job.errors] == [7, 9]
        assert leads(workspace, "name", "role") == [("A", "2"), ("B", "1"), ("C", "1")]
        assert seen == [0, 2, 4, 6, 8, 8]
        assert job.params["lead_ids"] == list(Lead.objects.order_by("id").values_list("id", flat=True))

    def test_errors_are_capped(self, workspace: Workspace, settings: Any) -> None:
        settings.IMPORT_MAX_ERRORS = 2
        settings.IMPORT_BATCH_SIZE = 2
        job = run_import(workspace, "name,email,notes\n" + ",,no name nor email\n" * 5 + "Bob,bob@x.io,\n")
        assert counts(job) == outcome(created=1, failed=5)
        assert [e["line"] for e in job.errors] == [2, 3]
        assert job.errors_truncated is True

    def test_lead_ids_keep_the_first_500_in_file_order(self, workspace: Workspace, settings: Any) -> None:
        settings.IMPORT_BATCH_SIZE = 300
        run_import(workspace, "name\nkeep\n")
        job = run_import(workspace, "name,role\n" + "".join(f"n{i},r\n" for i in range(600)) + "keep,boss\n")
        assert job.created == 600
        ids = list(Lead.objects.exclude(name="keep").order_by("id").values_list("id", flat=True))
        assert job.params["lead_ids"] == ids[:500]

    def test_cancel_between_batches(self, workspace: Workspace, settings: Any, media_root: Path) -> None:
        settings.IMPORT_BATCH_SIZE = 2

        def cancel_after_first_batch(job: Job) -> None:
            if job.processed == 2:
                Job.objects.filter(pk=job.pk).update(cancel_requested=True)

        job = run_import(workspace, "name\nA\nB\nC\nD\nE\n", progress=cancel_after_first_batch)
        assert (job.status, job.processed, job.created) == ("cancelled", 2, 2)
        assert job.message == imports.CANCELLED.format(processed=2, created=2, updated=0, skipped=0, failed=0)
        assert leads(workspace, "name") == [("A",), ("B",)]
        assert stored_files(media_root) == []

    def test_cancelled_before_it_ran(self, workspace: Workspace, media_root: Path) -> None:
        job = create(workspace, "name\nA\n")
        Job.objects.filter(pk=job.pk).update(cancel_requested=True, status="cancelled")
        import_job_run(job.pk)
        assert Lead.objects.count() == 0
        assert stored_files(media_root) == []

    def test_row_limit_reached_while_running(self, workspace: Workspace, settings: Any) -> None:
        """A limit lowered after the upload was accepted: stop at it and say so."""
        job = create(workspace, "name\nA\nB\nC\nD\n")
        settings.IMPORT_MAX_ROWS = 3
        import_job_run(job.pk)
        job.refresh_from_db()
        assert (job.status, job.processed, job.created) == ("failed", 3, 3)
        assert job.message == imports.ROW_LIMIT_REACHED.format(limit=3, processed=3, created=3, updated=0,
                                                               skipped=0, failed=0)
        assert Lead.objects.count() == 3

    def test_finished_job_is_not_run_again(self, workspace: Workspace) -> None:
        job = run_import(workspace, "name\nA\n")
        Lead.objects.all().delete()
        import_job_run(job.pk)
        assert Lead.objects.count() == 0

    def test_file_gone(self, workspace: Workspace) -> None:
        job = create(workspace, "name\nA\n")
        Path(job.params["path"]).unlink()
        import_job_run(job.pk)
        job.refresh_from_db()
        assert (job.status, job.message) == ("failed", imports.FILE_GONE)

    def test_unclosed_quote_fails_the_job_and_keeps_the_rows_before(self, workspace: Workspace) -> None:
        job = run_import(workspace, 'name,bio\nAnn,ok\nBob,"never closed\n' + "x" * (cp.CELL_MAX_CHARS + 1) + "\n")
        assert (job.status, job.processed, job.created) == ("failed", 1, 1)
        assert job.message.startswith(cp.CSV_SYNTAX.format(line=3, reason="field larger than field limit")[:60])
        assert job.message.endswith(imports.STOPPED.format(processed=1))


@pytest.fixture
def abort_on_boom() -> Any:
    """A real database failure in the middle of a batch: SQLite aborts inserting a lead named Boom."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TRIGGER boom BEFORE INSERT ON leads_lead WHEN NEW.name = 'Boom' "
                       "BEGIN SELECT RAISE(ABORT, 'boom'); END")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS boom")


class TestCrashes:
    @pytest.mark.usefixtures("abort_on_boom")
    def test_crash_leaves_whole_batches_only(self, workspace: Workspace, settings: Any, media_root: Path) -> None:
        settings.IMPORT_BATCH_SIZE = 3
        job = run_import(workspace, "name\nA\nB\nC\nD\nBoom\nE\nF\n")
        assert (job.status, job.processed, job.created) == ("failed", 3, 3)
        assert job.message == imports.CRASHED.format(processed=3, error="IntegrityError")
        # D was written before Boom in the same batch: rolled back with it.
        assert leads(workspace, "name") == [("A",), ("B",), ("C",)]
        assert stored_files(media_root) == []

    def test_killed_worker_resumes_after_the_last_committed_batch(self, workspace: Workspace,
                                                                  settings: Any) -> None:
        """An interrupt (not an Exception) leaves the job running; running it again finishes the rest."""
        settings.IMPORT_BATCH_SIZE = 2

        def kill_after_second_batch(job: Job) -> None:
            if job.processed == 4:
                raise KeyboardInterrupt

        job = create(workspace, "name,role\nA,1\nB,1\nA,2\n,\nC,1\nbad,1,1\nD,1\nA,2\n")
        with pytest.raises(KeyboardInterrupt):
            import_job_run(job.pk, progress=kill_after_second_batch)
        job.refresh_from_db()
        assert (job.status, job.processed) == ("running", 4)
        assert Path(job.params["path"]).exists()
        import_job_run(job.pk)  # a duplicate delivery while the job still looks alive: left alone
        job.refresh_from_db()
        assert (job.status, job.processed) == ("running", 4)

        Job.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS + 1))
        assert imports.import_jobs_resume() == 1  # what the jobs sweep does once the lease ran out (eager here)
        job.refresh_from_db()
        assert counts(job) == outcome(created=4, updated=1, skipped=1, failed=1)
        assert leads(workspace, "name", "role") == [("A", "2"), ("B", "1"), ("C", "1"), ("D", "1")]


class TestStrict:
    def test_any_invalid_row_stores_nothing(self, workspace: Workspace, settings: Any) -> None:
        settings.IMPORT_BATCH_SIZE = 2
        job = run_import(workspace, "name,company\nA,X\nB,X\n,\nC,X,extra\nD,X\n", strict=True)
        assert counts(job) == {**outcome("failed", skipped=3, failed=1)}
        assert job.errors == [error(5, None, cp.ROW_TOO_MANY_CELLS.format(cells=3, columns=2))]
        assert job.message == imports.STRICT_FAILED.format(failed=1, total=4)
        assert Lead.objects.count() == 0

    def test_all_valid_rows_are_stored(self, workspace: Workspace, settings: Any) -> None:
        settings.IMPORT_BATCH_SIZE = 2
        job = run_import(workspace, "name,company\nA,X\nB,X\nA,X\nC,X\n", strict=True)
        assert counts(job) == outcome(created=3, skipped=1)
        assert Lead.objects.count() == 3


class TestMetricsAndCommand:
    def test_leads_imported_counter(self, workspace: Workspace) -> None:
        def value(outcome: str) -> float:
            return REGISTRY.get_sample_value("leadscore_leads_imported_total", {"outcome": outcome}) or 0.0

        before = {name: value(name) for name in ("created", "updated", "skipped", "failed")}
        run_import(workspace, "name\nA\nA\n,\nB\nbad,1\n")
        after = {name: value(name) - before[name] for name in before}
        assert after == {"created": 2, "updated": 0, "skipped": 1, "failed": 1}

    def test_command(self, workspace: Workspace, tmp_path: Path) -> None:
        path = tmp_path / "leads.csv"
        path.write_bytes(fixture("ragged.csv"))
        out, err = io.StringIO(), io.StringIO()
        call_command("import_leads", str(path), workspace=workspace.name, no_progress=True, stdout=out, stderr=err)
        job = Job.objects.get()
        assert out.getvalue() == f"Job {job.pk} succeeded: {job.message}\n"
        assert "line 3: " + cp.ROW_TOO_MANY_CELLS.format(cells=4, columns=3) in err.getvalue()
        assert Lead.objects.filter(workspace=workspace).count() == 3

    def test_command_refused_file_and_unknown_workspace(self, workspace: Workspace, tmp_path: Path) -> None:
        path = tmp_path / "leads.csv"
        path.write_bytes(fixture("zip_renamed.csv"))
        with pytest.raises(CommandError, match="ZIP archive"):
            call_command("import_leads", str(path), workspace=workspace.name, no_progress=True)
        with pytest.raises(CommandError, match="No workspace named 'nope'"):
            call_command("import_leads", str(path), workspace="nope", no_progress=True)

    def test_command_strict_failure_exits_non_zero(self, workspace: Workspace, tmp_path: Path) -> None:
        path = tmp_path / "leads.csv"
        path.write_bytes(fixture("ragged.csv"))
        with pytest.raises(CommandError, match="ended failed"):
            call_command("import_leads", str(path), workspace="new-one", create_workspace=True, strict=True,
                         no_progress=True, stdout=io.StringIO(), stderr=io.StringIO())
        assert Workspace.objects.filter(name="new-one").exists()


# --- Properties ------------------------------------------------------------------------------------
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
long_text = st.one_of(text, st.text(alphabet="ab,\"\n", min_size=250, max_size=260))


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(long_text, text, long_text, text), min_size=0, max_size=12),
       batch_size=st.integers(1, 5))
def test_every_row_is_stored_exactly_or_reported(rows: list[tuple[str, str, str, str]], batch_size: int,
                                                  settings: Any) -> None:
    """Random text with commas, quotes and newlines: each row is stored with exactly its (trimmed) values
    or reported at its line, and the counts add up."""
    settings.IMPORT_BATCH_SIZE = batch_size
    workspace = Workspace.objects.create(name=uuid.uuid4().hex)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["name", "role", "company", "notes", "email"])
    lines, line = [], 2
    for index, (name, role, company, notes) in enumerate(rows):
        record = io.StringIO(newline="")
        csv.writer(record).writerow([name, role, company, notes, f"p{index}@example.com"])
        lines.append(line)
        line += len(io.StringIO(record.getvalue(), newline="").readlines())
        out.write(record.getvalue())
    job = run_import(workspace, out.getvalue())
    stored = {email: (name, role, company, attributes) for name, role, company, attributes, email
              in leads(workspace, "name", "role", "company", "attributes", "email")}
    reported = {e["line"] for e in job.errors}
    for index, (name, role, company, notes) in enumerate(rows):
        name, role, company, notes = name.strip(), role.strip(), company.strip(), notes.strip()
        valid = len(name) <= 255 and len(company) <= 255 and not cp.UNSAFE_TEXT.search(name)
        if valid:
            assert stored[f"p{index}@example.com"] == (name, role, company, {"notes": notes} if notes else {})
        else:
            assert lines[index] in reported
    assert job.status == "succeeded"
    assert job.created + job.updated + job.skipped + job.failed == job.processed == job.total == len(rows)
    assert job.created == len(stored) and job.failed == len(reported)


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(["Ann", "ann ", "Bob", "", "B.o.b"]),
                               st.sampled_from(["Acme", "ACME", "Globex", ""]),
                               st.sampled_from(["", "CEO", "CTO"])), max_size=15),
       batch_size=st.integers(1, 4))
def test_duplicates_become_one_lead_and_counts_add_up(rows: list[tuple[str, str, str]], batch_size: int,
                                                      settings: Any) -> None:
    settings.IMPORT_BATCH_SIZE = batch_size
    workspace = Workspace.objects.create(name=uuid.uuid4().hex)
    out = io.StringIO(newline="")
    csv.writer(out).writerows([["name", "company", "role"], *rows])
    job = run_import(workspace, out.getvalue())
    again = run_import(workspace, out.getvalue())
    # A lead needs a name (there is no email column): a row with only a company or a role is reported.
    keys = {lead_dedupe_key(name=n.strip(), company=c.strip(), email="") for n, c, _ in rows if n.strip()}
    blank = sum(1 for row in rows if not any(cell.strip() for cell in row))
    invalid = sum(1 for n, c, r in rows if not n.strip() and (c.strip() or r))
    assert job.created == len(keys) == Lead.objects.filter(workspace=workspace).count()
    assert job.failed == invalid
    assert job.created + job.updated + job.skipped + job.failed == job.processed == len(rows) - blank
    assert (again.created, again.failed) == (0, invalid)
    assert again.created + again.updated + again.skipped + again.failed == again.processed == job.processed
    assert Lead.objects.filter(workspace=workspace).count() == len(keys)
    # A file that spells one lead two ways re-applies both spellings in order on every upload; any
    # other file is all unchanged the second time.
    spellings: dict[str, set[tuple[int, str]]] = {}
    for n, c, r in rows:
        if n.strip():
            key = lead_dedupe_key(name=n.strip(), company=c.strip(), email="")
            spellings.setdefault(key, set()).update((i, v.strip()) for i, v in enumerate((n, c, r)) if v.strip())
    if all(len({i for i, _ in values}) == len(values) for values in spellings.values()):
        assert again.updated == 0
