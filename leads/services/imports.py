"""Lead import: `import_job_create` checks and stores an upload, `import_job_run` streams it into leads.

Design
- Create is synchronous and cheap: it copies the upload in 1 MB chunks to MEDIA_ROOT/imports/<uuid>.csv
  while `csv_parsing.FileProbe` watches the bytes (binary sniff, size limit, encoding), then reads
  only the first KBs for the delimiter and header. File-level problems raise ImportFileError before
  any Job exists. The row limit is checked against a free upper bound (physical lines); only a file
  whose line count exceeds the limit pays for an exact count of its records. `upload_store` then
  keeps the file where the worker can read it (UPLOAD_STORAGE).
- Run streams the stored file (incremental decoding + the csv module) and writes rows in batches of
  IMPORT_BATCH_SIZE, each in one transaction together with the job's counters and errors. So a crash
  leaves whole batches only, the job says exactly how far it got, and a re-delivered task (a killed
  worker, acks_late) resumes after the last committed row instead of starting over.
- Strict mode is all-or-nothing without holding the file: a first pass validates every row, a second
  pass writes only if the first found nothing wrong.
- Writes go through `lead_upsert.LeadUpsert` (one lookup per batch, executemany inserts and updates),
  the same upsert `POST /api/leads/` uses.

Counting (every row that is not blank gets exactly one outcome; blank lines are not rows):
- rows are applied in file order, as if one by one. A row whose lead does not exist yet is `created`;
  a row that changes an existing lead (from the database, or from an earlier row of the same file)
  is `updated`; a row that changes nothing is `skipped` (unchanged); an invalid row is `failed` and
  reported. created + updated + skipped + failed == processed, and == total when the job finished.
  A duplicate row inside one file is therefore one lead: the later row wins.
- In a strict import that fails, nothing is stored: `failed` counts the invalid rows and `skipped`
  the valid rows that were not stored because of them.
- Matching and merging: see `lead_upsert` (by email, else name + company, also across leads that
  have an email; updates never erase, extra columns merge into `attributes`).
- Warnings: a row stored with a problem (an email that is not one) counts in `warned` and is listed
  in `warnings` with its line; it still counts as created, updated or unchanged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files import File
from django.db import reset_queries, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.exceptions import ImportFileError
from leads.metrics import LEADS_IMPORTED
from leads.models import Job, Lead, Workspace
from leads.queue import IMPORT, enqueue
from leads.services import csv_parsing as cp
from leads.services.jobs import errors_append, job_finish
from leads.services.lead_upsert import LeadUpsert, UpsertLead
from leads.services.leases import Lease, lease_free, lease_kept, lease_over
from leads.services.outcomes import OutcomeInput, outcome_column, outcomes_upsert, parse_outcome
from leads.services.upload_store import upload_discard, upload_keep, upload_local_path

logger = logging.getLogger(__name__)

COPY_CHUNK_BYTES = 1024 * 1024
LEAD_IDS_KEPT = 500
_MB = 1024 * 1024

FILE_TOO_LARGE = (
    "The file is larger than the import limit of {mb} MB ({limit:,} bytes): split it into smaller "
    "files and upload them one by one."
)
TOO_MANY_ROWS = (
    "The file has more than {limit:,} rows, the import limit: split it into files of at most "
    "{limit:,} rows and upload them one by one."
)
ROW_LIMIT_REACHED = (
    "The file has more than {limit:,} rows, the import limit: the first {processed:,} rows were "
    "processed ({created:,} created, {updated:,} updated, {skipped:,} unchanged, {failed:,} failed) "
    "and the rest was not imported. Upload the remaining rows as a separate file."
)
SUMMARY = (
    "Imported {processed:,} rows: {created:,} created, {updated:,} updated, {skipped:,} unchanged, "
    "{failed:,} failed."
)
SUMMARY_WARNINGS = " {warned:,} stored with a warning (see warnings)."
STRICT_FAILED = (
    "Nothing was imported: {failed:,} of {total:,} rows are invalid and strict mode is on. Fix the rows "
    "listed in errors and upload the file again."
)
CANCELLED = (
    "Cancelled after {processed:,} rows ({created:,} created, {updated:,} updated, {skipped:,} unchanged, "
    "{failed:,} failed); the rest of the file was not imported."
)
STOPPED = " The {processed:,} rows before it were processed and saved."
CRASHED = (
    "The import stopped after {processed:,} rows because of an unexpected error ({error}); every batch "
    "before it is saved. Upload the file again to import the rest: rows already stored will count as "
    "unchanged."
)
FILE_GONE = "The uploaded file is no longer on the server; upload it again."
INVALID_CSV = "invalid_csv"

_COUNTERS = ("processed", "created", "updated", "skipped", "failed", "warned")


# --- create ---------------------------------------------------------------------------------------
def import_job_create(*, workspace: Workspace, user: AbstractBaseUser | None, upload: File, filename: str,
                      strict: bool = False, inline: bool = False) -> Job:
    """Check the upload, store it and queue a Job for it; raises ImportFileError for file-level problems.

    Does not run the import: the caller enqueues `leads_import_task(job.pk)`, or, with `inline`,
    runs it in this process (so the upload stays on this disk whatever UPLOAD_STORAGE says).
    """
    limit = settings.IMPORT_MAX_BYTES
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise _file_too_large(limit)
    directory = Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.csv"
    try:
        probe = cp.FileProbe()
        with path.open("wb") as out:
            for chunk in upload.chunks(COPY_CHUNK_BYTES):
                probe.feed(chunk)
                if probe.size > limit:
                    raise _file_too_large(limit)
                out.write(chunk)
        encoding = probe.finish()
        delimiter = _sniff_delimiter(path, encoding)
        with _records(path, encoding, delimiter) as (columns, records):
            pass  # opening reads the header: raises for an empty file or missing columns
        row_estimate = probe.line_estimate - 1
        max_rows = settings.IMPORT_MAX_ROWS
        if row_estimate > max_rows and _count_rows(path, encoding, delimiter, stop_after=max_rows) > max_rows:
            raise ImportFileError(TOO_MANY_ROWS.format(limit=max_rows), status_code=413, code="too_many_rows",
                                  details={"limit_rows": max_rows})
        job = Job.objects.create(
            workspace=workspace, created_by=user if user is not None and user.is_authenticated else None,
            kind=Job.Kind.IMPORT, status=Job.Status.QUEUED, total=min(row_estimate, max_rows),
            params={
                "path": str(path), "filename": filename, "strict": bool(strict), "size": probe.size,
                "encoding": encoding, "delimiter": delimiter, "columns": columns.mapping,
                "row_estimate": row_estimate,
            },
        )
        if not inline:
            try:
                upload_keep(job=job, path=path)
            except BaseException:
                job.delete()
                raise
        return job
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _file_too_large(limit: int) -> ImportFileError:
    mb = f"{limit / _MB:.2f}".rstrip("0").rstrip(".")
    return ImportFileError(FILE_TOO_LARGE.format(mb=mb, limit=limit), status_code=413, code="file_too_large",
                           details={"limit_bytes": limit})


def _sniff_delimiter(path: Path, encoding: str) -> str:
    with path.open("rb") as raw, cp.open_text(raw, encoding) as text:
        sample = text.read(cp.SNIFF_CHARS)
    return cp.sniff_delimiter(sample, complete=len(sample) < cp.SNIFF_CHARS)


@contextmanager
def _records(path: Path, encoding: str,
             delimiter: str) -> Iterator[tuple[cp.ColumnMap, Iterator[tuple[int, list[str]]]]]:
    """The file's column map and its records after the header (leading blank lines skipped)."""
    with path.open("rb", buffering=COPY_CHUNK_BYTES) as raw, cp.open_text(raw, encoding) as text:
        records = cp.iter_records(text, delimiter)
        try:
            for _line, cells in records:
                if not cp.is_blank(cells):
                    break
            else:
                raise ImportFileError(cp.EMPTY_FILE, code="empty_file")
        except cp.CsvSyntaxError as exc:
            raise ImportFileError(exc.message, code=INVALID_CSV, details={"line": exc.line}) from exc
        yield cp.ColumnMap.from_header(cells), records


def _count_rows(path: Path, encoding: str, delimiter: str, *, stop_after: int) -> int:
    """Exact count of non-blank records, stopping once past `stop_after`."""
    rows = 0
    with _records(path, encoding, delimiter) as (_, records):
        for _line, cells in records:
            if not cp.is_blank(cells):
                rows += 1
                if rows > stop_after:
                    break
    return rows


# --- run ------------------------------------------------------------------------------------------
class LeaseLost(Exception):
    """This worker's lease on the job ran out and another worker took the job over."""


def import_job_run(job_id: int, *, progress: Callable[[Job], None] | None = None) -> None:
    """Do the import of a queued job. `progress(job)` is called at the start and after each committed batch.

    Does nothing for a finished job, or one another live worker holds (its lease). A job left "running"
    by a killed worker resumes after its last committed batch once that worker's lease has run out.
    Always ends the job with a status and a `message`, except when interrupted by a BaseException
    (KeyboardInterrupt, worker shutdown), which leaves it resumable.
    """
    try:
        job = Job.objects.get(pk=job_id, kind=Job.Kind.IMPORT)
    except Job.DoesNotExist:
        logger.warning("Import job %s does not exist; nothing to do", job_id)
        return
    if job.is_finished:
        upload_discard(job)
        return
    # Claim the job: queued, or running under a lease its worker stopped renewing (it died). One
    # UPDATE, so of two deliveries (a redelivered message, a sweep's) only one runs it.
    now = timezone.now()
    claimed = (Job.objects.filter(pk=job.pk)
               .filter(Q(status=Job.Status.QUEUED) | Q(lease_free(now=now), status=Job.Status.RUNNING))
               .update(status=Job.Status.RUNNING, started_at=Coalesce("started_at", Value(now)), heartbeat_at=now,
                       updated_at=now))
    if not claimed:
        logger.info("Import job %s is running elsewhere (a duplicate delivery); leaving it", job.pk)
        return
    job.refresh_from_db()
    path = upload_local_path(job)
    if path is None:
        _finish(job, Job.Status.FAILED, FILE_GONE)
        return
    resume_from = job.processed
    if resume_from:
        logger.info("Import job %s resumes after row %d", job.pk, resume_from)
    with lease_kept(Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING), now) as lease:
        run = _ImportRun(job, path, progress, resume_from, lease)
        try:
            run.execute()
        except cp.CsvSyntaxError as exc:
            _finish(job, Job.Status.FAILED, exc.message + STOPPED.format(processed=job.processed))
        except ImportFileError as exc:
            _finish(job, Job.Status.FAILED, exc.message)
        except LeaseLost:
            logger.warning("Import job %s was taken over by another worker; this one stops", job.pk)
            return
        except Exception as exc:
            logger.exception("Import job %s crashed after %d rows", job.pk, job.processed)
            _finish(job, Job.Status.FAILED, CRASHED.format(processed=job.processed, error=type(exc).__name__))
    if job.is_finished:
        upload_discard(job)


def import_jobs_resume(*, at_start: bool = False) -> int:
    """Queue again the import jobs a dead worker left: running ones whose lease ran out, and queued
    ones whose message may be lost (all of them when a worker starts, after a lease otherwise; each
    re-sent at most once a lease). Each claims its job before running, so a duplicate is a no-op."""
    now = timezone.now()
    waiting = Q(status=Job.Status.QUEUED) if at_start else Q(status=Job.Status.QUEUED, updated_at__lt=lease_over(now))
    jobs = Job.objects.filter(kind=Job.Kind.IMPORT).filter(
        waiting | Q(lease_free(now=now), status=Job.Status.RUNNING))
    job_ids = list(jobs.order_by("pk").values_list("pk", flat=True)[:10_000])
    Job.objects.filter(pk__in=job_ids, status=Job.Status.QUEUED).update(updated_at=now)
    for job_id in job_ids:
        enqueue(IMPORT, job_id)
    return len(job_ids)


def _finish(job: Job, status: str, message: str) -> None:
    if Job.objects.filter(pk=job.pk, status=Job.Status.CANCELLED).exists():
        # Cancelled meanwhile (which also removed the upload, so reading it may have failed): the
        # cancel's status stands, with the counts of what was stored.
        job.refresh_from_db(fields=["status", "finished_at"])
        job.message = CANCELLED.format(**_counts(job))
        job.save(update_fields=["message", *_COUNTERS, "total", "updated_at"])
        return
    job_finish(job=job, status=status, message=message, fields=["total"])


def _counts(job: Job) -> dict[str, int]:
    return {name: getattr(job, name) for name in (*_COUNTERS, "total")}


class _ImportRun:
    """One execution of an import job; holds the batch state so the loop stays flat."""

    def __init__(self, job: Job, path: Path, progress: Callable[[Job], None] | None, resume_from: int,
                 lease: Lease) -> None:
        self.job = job
        self.lease = lease
        self.path = path
        self.progress = progress
        self.resume_from = resume_from
        self.encoding: str = job.params["encoding"]
        self.delimiter: str = job.params["delimiter"]
        self.batch_size = max(settings.IMPORT_BATCH_SIZE, 1)
        self.max_rows = settings.IMPORT_MAX_ROWS
        self.max_errors = settings.IMPORT_MAX_ERRORS
        self.lead_ids: list[int] = list(job.params.get("lead_ids", []))
        self._lead_id_set = set(self.lead_ids)
        #: The extra column holding won/lost (Converted, Outcome, Status…), read from the header.
        self._outcome_column: tuple[str, bool] | None = None
        self.upsert = LeadUpsert(job.workspace_id)

    # The two passes -----------------------------------------------------------------------------
    def execute(self) -> None:
        job = self.job
        if progress := self.progress:
            progress(job)
        if job.params.get("strict") and not self._validate():
            return
        outcome = self._write()
        if outcome != "cancelled" and self._cancel_requested():
            outcome = "cancelled"
        counts = _counts(job)
        if outcome == "cancelled":
            job.refresh_from_db(fields=["status", "finished_at"])
            job.message = CANCELLED.format(**counts)
            if job.is_finished:  # job_cancel already set the status (and counted it)
                job.save(update_fields=["message", "updated_at"])
            else:
                _finish(job, Job.Status.CANCELLED, job.message)
        elif outcome == "row_limit":
            _finish(job, Job.Status.FAILED, ROW_LIMIT_REACHED.format(limit=self.max_rows, **counts))
        else:
            job.total = job.processed
            summary = SUMMARY.format(**_counts(job))
            if job.warned:
                summary += SUMMARY_WARNINGS.format(warned=job.warned)
            _finish(job, Job.Status.SUCCEEDED, summary)
        if progress:
            progress(job)

    def _validate(self) -> bool:
        """Strict mode's first pass: True when every row is valid; otherwise fail the job, store nothing."""
        job = self.job
        rows = failed = 0
        errors: list[dict[str, Any]] = []
        with _records(self.path, self.encoding, self.delimiter) as (columns, records):
            for line, cells in records:
                parsed = columns.parse(line, cells)
                if parsed is None:
                    continue
                rows += 1
                if rows > self.max_rows:
                    _finish(job, Job.Status.FAILED, TOO_MANY_ROWS.format(limit=self.max_rows))
                    return False
                if not isinstance(parsed, cp.ParsedRow):
                    failed += 1
                    if len(errors) <= self.max_errors:
                        errors.extend(_error_entries(line, parsed))
        job.total = rows
        if not failed:
            job.save(update_fields=["total", "updated_at"])
            return True
        job.processed, job.failed, job.skipped = rows, failed, rows - failed
        job.errors = []
        errors_append(job, errors, cap=self.max_errors)
        job.save(update_fields=[*_COUNTERS, "total", "errors", "errors_truncated", "updated_at"])
        _finish(job, Job.Status.FAILED, STRICT_FAILED.format(failed=failed, total=rows))
        return False

    def _write(self) -> str:
        """Stream rows into batches; returns "done", "cancelled" or "row_limit"."""
        batch: list[cp.ParsedRow | tuple[int, list[cp.RowProblem]]] = []
        rows = 0
        with _records(self.path, self.encoding, self.delimiter) as (columns, records):
            self._outcome_column = outcome_column(key for _, key in columns.extras)
            try:
                for line, cells in records:
                    parsed = columns.parse(line, cells)
                    if parsed is None:
                        continue
                    rows += 1
                    if rows <= self.resume_from:
                        continue
                    if rows > self.max_rows:
                        self._flush(batch)
                        return "row_limit"
                    batch.append(parsed if isinstance(parsed, cp.ParsedRow) else (line, parsed))
                    if len(batch) >= self.batch_size:
                        self._flush(batch)
                        batch = []
                        if self._cancel_requested():
                            return "cancelled"
                        if self.lease.lost:
                            raise LeaseLost
            except cp.CsvSyntaxError:
                self._flush(batch)  # the valid rows read before the broken line are kept
                raise
        self._flush(batch)
        return "done"

    def _cancel_requested(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()

    # One batch --------------------------------------------------------------------------------
    def _flush(self, batch: list[cp.ParsedRow | tuple[int, list[cp.RowProblem]]]) -> None:
        """Write one batch and the job's counters in one transaction: all of it or none of it."""
        if not batch:
            return
        job = self.job
        rows = [item for item in batch if isinstance(item, cp.ParsedRow)]
        errors = [entry for item in batch if not isinstance(item, cp.ParsedRow) for entry in _error_entries(*item)]
        warnings = [entry for row in rows for entry in _error_entries(row.line, list(row.warnings))]
        snapshot = (_counts(job), job.errors, job.errors_truncated, job.warnings, dict(job.params),
                    list(self.lead_ids))
        try:
            with transaction.atomic():
                rows, outcomes = self._take_outcomes(rows)
                outcome = self.upsert.apply(rows)
                self._remember_ids(outcome.touched)
                if outcomes:
                    self._record_outcomes(outcome.leads_by_line, outcomes)
                created, updated, skipped = outcome.created, outcome.updated, outcome.skipped
                failed = len(batch) - len(rows)
                job.processed += len(batch)
                job.created += created
                job.updated += updated
                job.skipped += skipped
                job.failed += failed
                job.warned += sum(1 for row in rows if row.warnings)
                job.total = max(job.total, job.processed)
                errors_append(job, errors, cap=self.max_errors)
                if warnings:
                    job.warnings = [*job.warnings, *warnings][:self.max_errors]
                job.params = {**job.params, "lead_ids": self.lead_ids}
                job.save(update_fields=[*_COUNTERS, "total", "errors", "errors_truncated", "warnings", "params",
                                        "updated_at"])
        except BaseException:
            # The batch was rolled back: so are the counters, which must keep matching the database.
            counts, job.errors, job.errors_truncated, job.warnings, job.params, self.lead_ids = snapshot
            for name, value in counts.items():
                setattr(job, name, value)
            self._lead_id_set = set(self.lead_ids)
            raise
        for outcome, count in (("created", created), ("updated", updated), ("skipped", skipped),
                               ("failed", failed)):
            if count:
                LEADS_IMPORTED.labels(outcome=outcome).inc(count)
        # With DEBUG on (make run), Django keeps every query's SQL — here each batch's IN list of
        # thousands of keys — until a request ends, and a long import is no request.
        reset_queries()
        if self.progress:
            self.progress(job)

    def _take_outcomes(self, rows: list[cp.ParsedRow]) -> tuple[list[cp.ParsedRow], dict[int, str]]:
        """Rows without their outcome cell (an outcome is not a lead attribute: kept there, a model
        would learn the answer from it), and the outcomes by line. A cell that reads as no outcome
        stays an attribute: under "Status" it is usually a CRM status."""
        if self._outcome_column is None:
            return rows, {}
        key, _ = self._outcome_column
        kept: list[cp.ParsedRow] = []
        outcomes: dict[int, str] = {}
        for row in rows:
            try:
                outcome = parse_outcome(row.attributes.get(key))
            except ValueError:
                outcome = None
            if outcome is not None:
                outcomes[row.line] = outcome
                row = row._replace(attributes={k: v for k, v in row.attributes.items() if k != key})
            kept.append(row)
        return kept, outcomes

    def _record_outcomes(self, leads_by_line: dict[int, UpsertLead], outcomes: dict[int, str]) -> None:
        """Store the batch's outcomes for the leads their rows went to (created ones found by key)."""
        wanted = {line: leads_by_line[line] for line in outcomes if line in leads_by_line}
        missing = [lead.key for lead in wanted.values() if lead.id is None]
        ids = dict(Lead.objects.filter(workspace_id=self.job.workspace_id, dedupe_key__in=missing)
                   .order_by().values_list("dedupe_key", "pk")) if missing else {}
        now = timezone.now()
        stored = outcomes_upsert(workspace_id=self.job.workspace_id, source="upload", outcomes=[
            OutcomeInput(lead.id if lead.id is not None else ids[lead.key], outcomes[line], now)
            for line, lead in wanted.items() if lead.id is not None or lead.key in ids])
        self.job.params = {**self.job.params, "outcomes": self.job.params.get("outcomes", 0) + stored}

    def _remember_ids(self, touched: list[UpsertLead]) -> None:
        """Keep the ids of the first LEAD_IDS_KEPT created-or-updated leads, in file order."""
        room = LEAD_IDS_KEPT - len(self.lead_ids)
        if room <= 0:
            return
        first: list[UpsertLead] = []
        seen: set[int] = set()
        for lead in touched:
            if id(lead) in seen or (lead.id is not None and lead.id in self._lead_id_set):
                continue
            seen.add(id(lead))
            first.append(lead)
            if len(first) == room:
                break
        missing = [lead.key for lead in first if lead.id is None]
        if missing:  # inserted by executemany, which returns no ids
            ids = dict(Lead.objects.filter(workspace_id=self.job.workspace_id, dedupe_key__in=missing)
                       .order_by().values_list("dedupe_key", "pk"))
            for lead in first:
                if lead.id is None:
                    lead.id = ids[lead.key]
        for lead in first:
            assert lead.id is not None
            self._lead_id_set.add(lead.id)
            self.lead_ids.append(lead.id)


def _error_entries(line: int, problems: list[cp.RowProblem]) -> list[dict[str, Any]]:
    return [{"line": line, "column": column, "reason": reason} for column, reason in problems]
