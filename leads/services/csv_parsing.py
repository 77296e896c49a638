"""Pure CSV reading for lead import: bytes in, validated lead fields (or per-row errors) out. No ORM.

The import reads a file twice at most and never holds it in memory, so every step here streams:

1. `FileProbe` is fed the raw bytes chunk by chunk while the upload is copied to disk. It refuses
   binary content early (NUL bytes, zip/gzip/xlsx/pdf magic), counts bytes and physical lines (an
   upper bound on records, used for the row limit and as a progress estimate) and decides the
   encoding: a BOM wins (UTF-8 or UTF-16); otherwise strict UTF-8 is tried over the whole stream
   with an incremental decoder, and a file that is not UTF-8 is read as Windows-1252 (Excel's
   "CSV" on Western systems; a superset of latin-1's printable range) unless it clearly is not
   (bytes cp1252 leaves undefined, UTF-8 mixed with something else, or charset-normalizer seeing
   a multi-byte Asian encoding) — then it is refused with a sentence saying how to re-save it.
2. `sniff_delimiter` picks `,` `;` tab or `|` from a text sample. csv.Sniffer is easily fooled by
   quoted bios full of commas, so each candidate is scored instead by how many header cells it turns
   into known columns, then by how consistently the sample's rows have the header's width.
3. `ColumnMap.from_header` matches headers case-, space-, underscore- and punctuation-insensitively
   against aliases; every other column is kept (original header as key) in `attributes`.
4. `iter_records` yields (physical line where the record starts, cells); `ColumnMap.parse` turns cells
   into a `ParsedRow` or a list of `(column, reason)` problems. It is the hot loop of a million-row
   import, so it is plain index arithmetic over precomputed tuples — no per-row regex except for
   emails, no objects beyond one tuple and one dict.

Row rules: values are trimmed, otherwise stored verbatim (a cell like `=HYPERLINK(...)` is data;
the export neutralises formulas, the import does not). A row needs a name or an email: a lead is a
person. A name holding control or bidi characters is refused (it would read differently from what it
is); an email that is not one (bidi and control characters included) does not lose the lead: it is
stored without an email, the value kept in `attributes` under "<column> (invalid)", with a warning.
Rows whose cells are all blank (empty lines, `,,,,` lines) are not rows: they are skipped silently
and not counted. Fewer cells than the header means the missing trailing cells are blank
(spreadsheets drop trailing empties); more cells than the header is an error unless the surplus
cells are all blank (a trailing delimiter adds no data).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from leads.exceptions import ImportFileError
from leads.services import lead_attributes as la

# --- Limits (mirrors leads.models; this module must not import the ORM) -------------------------
NAME_MAX = 255
BIO_MAX = 200_000
EMAIL_MAX = 254
# The csv module's limit on one cell (its default, 131,072, stopped the whole import at a long bio).
# Far above every field's limit, so a long value is one row's error; beyond it the file is unreadable
# (in practice an unclosed quote swallowing the rest of the file), and memory stays bounded.
CELL_MAX_CHARS = 1_000_000
csv.field_size_limit(CELL_MAX_CHARS)

LEAD_FIELDS: tuple[str, ...] = ("name", "role", "company", "industry", "location", "linkedin_bio", "email")
NAME, ROLE, COMPANY, INDUSTRY, LOCATION, BIO, EMAIL = range(len(LEAD_FIELDS))
FIELD_LIMITS: tuple[int, ...] = (NAME_MAX, NAME_MAX, NAME_MAX, NAME_MAX, NAME_MAX, BIO_MAX, EMAIL_MAX)

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
SNIFF_CHARS = 64 * 1024
HEAD_BYTES = 8 * 1024

# --- File-level messages (ImportFileError) --------------------------------------------------------
EMPTY_FILE = (
    "The file is empty: upload a CSV file with a header row (for example name,role,company) "
    "and one lead per line."
)
NOT_CSV = (
    "This file looks like {kind}, not a CSV file: open it in your spreadsheet app, save it as "
    "\"CSV UTF-8\" and upload that file."
)
UNDECODABLE = (
    "The file's text encoding could not be read ({reason}): save it as \"CSV UTF-8\" "
    "(in Excel: File > Save As > CSV UTF-8) and upload it again."
)
MISSING_COLUMNS = (
    "The file needs a name or a company column; the header row has: {found}. Add a header row "
    "naming the columns (for example name,role,company,industry,location,linkedin_bio)."
)
CSV_SYNTAX = (
    "The file could not be read from line {line} on ({reason}): this usually means a double quote "
    "that is never closed. Check the quotes around line {line} and upload the file again."
)

# --- Row-level messages (one entry per problem in Job.errors) ------------------------------------
ROW_NO_NAME_OR_EMAIL = "The row has neither a name nor an email; a lead needs at least one of them."
ROW_UNSAFE_NAME = (
    'The value in column "{header}" holds control or text-direction characters ({found}); remove them.'
)
WARN_BAD_EMAIL = (
    'The value in column "{header}" is not an email address: "{value}". The lead was stored without an '
    'email; the value is kept in attributes["{key}"].'
)
ROW_TOO_LONG = 'The value in column "{header}" is {length:,} characters long; the limit is {limit:,}.'
ROW_ATTRIBUTES_TOO_LONG = (
    "The row's extra columns add up to {length:,} characters; the limit is {limit:,} per lead."
)
TOO_MANY_COLUMNS = (
    "The file has {count:,} columns that are not lead fields; at most {limit:,} are kept per lead (as "
    "attributes). Remove the columns you do not need and upload the file again."
)
BAD_COLUMN_NAME = "Column {column:,} of the header can't be kept: {reason}"
ROW_TOO_MANY_CELLS = (
    "The row has {cells} cells but the header has {columns}: a value containing the delimiter "
    "must be wrapped in double quotes."
)

# Magic numbers of files people upload by mistake; names say what to do instead.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"PK\x05\x06", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or Word document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
BINARY_KIND = "binary data"

_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Bytes Windows-1252 leaves undefined: real cp1252/latin-1 text never contains them.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
# Encodings charset-normalizer may name for a file that is not single-byte Western text.
_MULTIBYTE_GUESSES = frozenset({
    "big5", "big5hkscs", "cp932", "cp949", "cp950", "euc_jis_2004", "euc_jisx0213", "euc_jp", "euc_kr",
    "gb18030", "gb2312", "gbk", "hz", "iso2022_jp", "iso2022_kr", "johab", "shift_jis", "shift_jis_2004",
    "shift_jisx0213", "utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le",
})

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
# Control characters (C0 but tab, line feed and carriage return; DEL; C1) and the bidi embeddings,
# overrides and isolates ("\u202e" shows text backwards): no name or email has any business with them.
UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_HEADER_JUNK = re.compile(r"[\W_]+")

# Header aliases per lead field, best first: when two columns match one field, the better alias wins
# (ties: the leftmost column) and the other column is kept in attributes.
ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "fullname", "contactname", "leadname", "personname", "contact"),
    "role": ("role", "jobtitle", "title", "position", "jobrole", "designation", "headline"),
    "company": ("company", "companyname", "organisation", "organization", "organisationname",
                "organizationname", "org", "account", "accountname", "employer", "business", "firm"),
    "industry": ("industry", "sector", "vertical", "companyindustry"),
    "location": ("location", "city", "region", "country", "geo", "geography"),
    "linkedin_bio": ("linkedinbio", "bio", "linkedinsummary", "summary", "about", "linkedinabout",
                     "profile"),
    "email": ("email", "emailaddress", "workemail", "businessemail", "mail", "emailid"),
}
# Combined into `name` only when the file has no full-name column.
FIRST_NAME_ALIASES: tuple[str, ...] = ("firstname", "givenname", "forename", "first")
LAST_NAME_ALIASES: tuple[str, ...] = ("lastname", "surname", "familyname", "last")
REQUIRED_ANY_OF: tuple[str, ...] = ("name", "company")

RowProblem = tuple[str | None, str]  # (lead field or None, reason)


class ParsedRow(NamedTuple):
    """One valid row: the seven lead fields (blank = the row gives no value) plus extra columns,
    and what was wrong but did not stop it from being stored.

    A NamedTuple rather than a dataclass: a million of them are made per import.
    """

    line: int
    values: tuple[str, ...]
    attributes: dict[str, str]
    warnings: tuple[RowProblem, ...] = ()


class CsvSyntaxError(Exception):
    """The csv module gave up at a line (in practice: an unclosed quote swallowing the file)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(CSV_SYNTAX.format(line=line, reason=reason))
        self.line = line
        self.message = str(self)


def normalise_header(value: str) -> str:
    """"LinkedIn Bio", "linkedin_bio", " E-mail " -> "linkedinbio", "email"."""
    return _HEADER_JUNK.sub("", unicodedata.normalize("NFKC", value).casefold())


def sniff_binary(head: bytes) -> None:
    """Refuse what is obviously not text, from the first KBs: archives, documents, NUL bytes."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise ImportFileError(NOT_CSV.format(kind=kind), status_code=415, code="unsupported_media_type",
                                  details={"detected": kind})
    if not head.startswith(_UTF16_BOMS) and b"\x00" in head:
        raise ImportFileError(NOT_CSV.format(kind=BINARY_KIND), status_code=415, code="unsupported_media_type",
                              details={"detected": BINARY_KIND})


class FileProbe:
    """Watches the raw bytes of an upload as they are copied; `finish()` names the encoding.

    Costs one pass of C-speed checks per chunk (ASCII test, byte counts, an incremental decode of
    non-ASCII chunks), so it rides along with the copy instead of reading the file again.
    """

    def __init__(self) -> None:
        self.size = 0
        self.newlines = 0
        self.carriage_returns = 0
        self.crlf = 0
        self._last_byte = b""
        self.encoding: str | None = None
        self.has_bom = False
        self._decoder: codecs.IncrementalDecoder | None = None
        self._utf8_failed_at: int | None = None
        self._utf8_mixed = False
        self._non_ascii_seen = False
        self._cp1252_undefined = False
        self._nul = False
        self._sample = b""
        self._problem: str | None = None

    def feed(self, chunk: bytes) -> None:
        """Look at the next chunk; raises ImportFileError (415) at once for binary content."""
        if not chunk:
            return
        if self.size == 0:
            sniff_binary(chunk[:HEAD_BYTES])
            self.has_bom = chunk.startswith((_UTF8_BOM, *_UTF16_BOMS))
            # "utf-8-sig" also reads BOM-less UTF-8 and drops a BOM that would glue onto the first header.
            self.encoding = "utf-16" if chunk.startswith(_UTF16_BOMS) else "utf-8-sig"
            # Validate with plain UTF-8 (a BOM is valid UTF-8) so error offsets count from the first byte.
            self._decoder = codecs.getincrementaldecoder("utf-8" if self.encoding == "utf-8-sig" else "utf-16")()
        decoder = self._decoder
        assert decoder is not None
        offset = self.size
        self.size += len(chunk)
        self.newlines += chunk.count(b"\n")
        self.carriage_returns += chunk.count(b"\r")
        self.crlf += chunk.count(b"\r\n") + (self._last_byte == b"\r" and chunk[:1] == b"\n")
        self._last_byte = chunk[-1:]
        if self.encoding == "utf-16":
            if self._problem is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    self._problem = f"invalid UTF-16 at byte {offset + exc.start + 1:,}"
            return
        if not self._nul and b"\x00" in chunk:
            self._nul = True
        if not self._cp1252_undefined and _CP1252_UNDEFINED.search(chunk):
            self._cp1252_undefined = True
        if self._utf8_failed_at is not None:
            return
        if chunk.isascii() and not decoder.getstate()[0]:
            return  # ASCII is UTF-8: no decode needed (most chunks of most files)
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            self._utf8_failed_at = offset + exc.start + 1  # 1-based, as people count
            # Valid multi-byte UTF-8 before the bad byte means two encodings glued into one file.
            self._utf8_mixed = self._non_ascii_seen or not chunk[:exc.start].isascii()
            self._sample = chunk[max(exc.start - 2048, 0): exc.start + 32 * 1024]
            return
        self._non_ascii_seen = True

    def finish(self) -> str:
        """The encoding to read the stored file with; raises ImportFileError when there is none."""
        if self.size == 0 or self._decoder is None:
            raise ImportFileError(EMPTY_FILE, code="empty_file")
        if self._problem:
            raise _undecodable(self._problem)
        if self.encoding == "utf-16":
            return self.encoding
        if self._nul:
            raise ImportFileError(NOT_CSV.format(kind=BINARY_KIND), status_code=415,
                                  code="unsupported_media_type", details={"detected": BINARY_KIND})
        if self._utf8_failed_at is None:
            try:
                self._decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise _undecodable("the file ends in the middle of a UTF-8 character") from None
            return "utf-8-sig"
        where = f"byte {self._utf8_failed_at:,}"
        if self.has_bom:
            raise _undecodable(f"the file says it is UTF-8 but is not, at {where}")
        if self._utf8_mixed:
            raise _undecodable(f"the file mixes UTF-8 with another encoding, first at {where}")
        if self._cp1252_undefined:
            raise _undecodable(f"it is neither UTF-8 nor Windows-1252/latin-1; first non-UTF-8 {where}")
        guess = _guess_encoding(self._sample)
        if guess in _MULTIBYTE_GUESSES:
            raise _undecodable(f"it looks like {guess}, which is not supported")
        self.encoding = "cp1252"
        return self.encoding

    @property
    def line_estimate(self) -> int:
        """Physical lines, an upper bound on records (header included): line ends are "\\n", "\\r\\n", "\\r"."""
        return self.newlines + self.carriage_returns - self.crlf + 1


def _guess_encoding(sample: bytes) -> str | None:
    from charset_normalizer import from_bytes  # imported lazily: only non-UTF-8 files need it

    best = from_bytes(sample).best()
    return best.encoding if best is not None else None


def _undecodable(reason: str) -> ImportFileError:
    return ImportFileError(UNDECODABLE.format(reason=reason), code="undecodable_file", details={"reason": reason})


def open_text(binary: BinaryIO, encoding: str) -> io.TextIOWrapper:
    """Incremental decoding over a binary file; newline="" as the csv module requires."""
    return io.TextIOWrapper(binary, encoding=encoding, errors="strict", newline="")


def iter_records(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (1-based physical line where the record starts, cells), header included.

    Quoted fields may span lines, so the start line is one past where the previous record ended.
    """
    reader = csv.reader(text, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvSyntaxError(start, str(exc)) from exc
        yield start, cells
        start = reader.line_num + 1


def header_and_rows(text: Iterable[str], delimiter: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """A small CSV's header and its non-blank rows with their line numbers (blank lines before the
    header are skipped, as in lead uploads); EMPTY_FILE when there is no header at all."""
    records = iter_records(text, delimiter)
    for _, cells in records:
        if not is_blank(cells):
            return cells, ((line, row) for line, row in records if not is_blank(row))
    raise ImportFileError(EMPTY_FILE, code="empty_file")


def is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def sniff_delimiter(sample: str, *, complete: bool) -> str:
    """The delimiter among `DELIMITERS` that best explains the header and the first rows.

    `complete` says whether the sample is the whole file; if not, its last record may be cut off
    and is ignored.
    """
    best: tuple[int, float, int, int] | None = None
    chosen = DELIMITERS[0]
    for priority, delimiter in enumerate(DELIMITERS):
        try:
            records = [cells for _, cells in iter_records(io.StringIO(sample, newline=""), delimiter)
                       if not is_blank(cells)]
        except CsvSyntaxError:
            continue
        if not complete and len(records) > 1:
            records = records[:-1]
        if not records:
            continue
        header, rows = records[0], records[1:51]
        known = sum(1 for cell in header if _header_field(normalise_header(cell)) is not None)
        consistency = sum(1 for row in rows if len(row) == len(header)) / len(rows) if rows else 1.0
        score = (known, consistency if len(header) > 1 else 0.0, min(len(header), 2), -priority)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def _header_field(normalised: str) -> tuple[str, int] | None:
    """(lead field or "first"/"last", alias rank) for a normalised header, or None."""
    for lead_field, aliases in ALIASES.items():
        if normalised in aliases:
            return lead_field, aliases.index(normalised)
    if normalised in FIRST_NAME_ALIASES:
        return "first", FIRST_NAME_ALIASES.index(normalised)
    if normalised in LAST_NAME_ALIASES:
        return "last", LAST_NAME_ALIASES.index(normalised)
    return None


@dataclass(frozen=True)
class ColumnMap:
    """How one file's columns become lead fields; built once from the header, used for every row."""

    header: tuple[str, ...]
    # Per lead field, the column index it reads, or `width` (a padding cell that is always "").
    field_index: tuple[int, ...]
    extras: tuple[tuple[int, str], ...]  # (column index, attributes key)
    first_index: int | None
    last_index: int | None

    @property
    def width(self) -> int:
        return len(self.header)

    @property
    def mapping(self) -> dict[str, str]:
        """Lead field -> the header it was read from (for messages and the job's params)."""
        found = {f: self.header[i] for f, i in zip(LEAD_FIELDS, self.field_index, strict=True) if i < self.width}
        if "name" not in found and (self.first_index is not None or self.last_index is not None):
            parts = [self.header[i] for i in (self.first_index, self.last_index) if i is not None]
            found["name"] = " + ".join(parts)
        return found

    @classmethod
    def from_header(cls, cells: list[str]) -> ColumnMap:
        header = tuple(cell.strip() for cell in cells)
        width = len(header)
        best: dict[str, tuple[int, int]] = {}  # field -> (alias rank, column)
        for column, cell in enumerate(header):
            match = _header_field(normalise_header(cell))
            if match is None:
                continue
            lead_field, rank = match
            if lead_field not in best or rank < best[lead_field][0]:
                best[lead_field] = (rank, column)
        has_name = "name" in best
        first = best.get("first")
        last = best.get("last")
        used = {column for lead_field, (_, column) in best.items()
                if lead_field in LEAD_FIELDS or not has_name}
        if not (has_name or first or last or "company" in best):
            found = [cell for cell in header if cell]
            raise ImportFileError(
                MISSING_COLUMNS.format(found=", ".join(found) if found else "no column names"),
                code="missing_columns", details={"missing": list(REQUIRED_ANY_OF), "found": found},
            )
        extras: list[tuple[int, str]] = []
        keys: set[str] = set()
        for column, cell in enumerate(header):
            if column in used:
                continue
            key = cell or f"column {column + 1}"
            candidate, n = key, 2
            while candidate in keys:  # two extra columns with one header keep both values
                candidate, n = f"{key} ({n})", n + 1
            keys.add(candidate)
            extras.append((column, candidate))
        if len(extras) > la.ATTRIBUTES_MAX_KEYS:
            raise ImportFileError(TOO_MANY_COLUMNS.format(count=len(extras), limit=la.ATTRIBUTES_MAX_KEYS),
                                  code="too_many_columns",
                                  details={"columns": len(extras), "limit": la.ATTRIBUTES_MAX_KEYS})
        for column, key in extras:
            if reason := la.key_problem(key):
                raise ImportFileError(BAD_COLUMN_NAME.format(column=column + 1, reason=reason),
                                      code="bad_column_name", details={"column": column + 1})
        return cls(
            header=header,
            field_index=tuple(best[f][1] if f in best else width for f in LEAD_FIELDS),
            extras=tuple(extras),
            first_index=None if has_name or first is None else first[1],
            last_index=None if has_name or last is None else last[1],
        )

    def parse(self, line: int, cells: list[str]) -> ParsedRow | list[RowProblem] | None:
        """A valid row, its problems, or None for a blank row (which is not a row at all)."""
        width = len(self.header)
        n = len(cells)
        if n > width:
            if any(cell.strip() for cell in cells[width:]):
                return [(None, ROW_TOO_MANY_CELLS.format(cells=n, columns=width))]
            del cells[width:]
            n = width
        if n < width:
            cells.extend([""] * (width - n))
        cells.append("")  # the cell at index `width`: what absent fields read
        values = [cells[i].strip() for i in self.field_index]
        if self.first_index is not None or self.last_index is not None:
            parts = [cells[i].strip() for i in (self.first_index, self.last_index) if i is not None]
            values[NAME] = " ".join(part for part in parts if part)
        attributes = {key: value for column, key in self.extras if (value := cells[column].strip())}
        if not values[NAME] and not values[EMAIL] and not attributes and not any(values):
            return None
        return check_lead_values(line, values, attributes, header_for=self._header_for)

    def _header_for(self, index: int) -> str:
        return self.mapping.get(LEAD_FIELDS[index], LEAD_FIELDS[index])


def _header_as_is(index: int) -> str:
    return LEAD_FIELDS[index]


def check_lead_values(line: int, values: list[str], attributes: dict[str, str], *,
                      header_for: Callable[[int], str] = _header_as_is) -> ParsedRow | list[RowProblem]:
    """The rules every new lead's values pass, from a file or from the API: trimmed `values` (the
    seven LEAD_FIELDS) in, a ParsedRow (maybe with warnings) or the row's problems out."""
    problems: list[RowProblem] | None = None
    warnings: tuple[RowProblem, ...] = ()
    if max(map(len, values)) > EMAIL_MAX:  # the smallest limit: most rows skip the per-field loop
        for index, (value, limit) in enumerate(zip(values, FIELD_LIMITS, strict=True)):
            if len(value) > limit:
                problems = problems or []
                problems.append((LEAD_FIELDS[index], ROW_TOO_LONG.format(
                    header=header_for(index), length=len(value), limit=limit)))
    name = values[NAME]
    if not (name.isascii() and name.isprintable()) and (found := UNSAFE_TEXT.findall(name)):
        problems = problems or []
        problems.append(("name", ROW_UNSAFE_NAME.format(
            header=header_for(NAME), found=", ".join(sorted({f"U+{ord(c):04X}" for c in found})))))
    email = values[EMAIL]
    if email and len(email) <= EMAIL_MAX and (not _EMAIL.fullmatch(email) or UNSAFE_TEXT.search(email)):
        header = header_for(EMAIL)
        key = f"{header} (invalid)"
        warnings = (("email", WARN_BAD_EMAIL.format(header=header, value=email[:100], key=key)),)
        attributes = {**attributes, key: email}
        values[EMAIL] = email = ""
    if attributes:
        longest = max(map(len, attributes.values()))
        if longest > la.ATTRIBUTE_VALUE_MAX:
            problems = problems or []
            problems.extend((None, ROW_TOO_LONG.format(header=key, length=len(value), limit=la.ATTRIBUTE_VALUE_MAX))
                            for key, value in attributes.items() if len(value) > la.ATTRIBUTE_VALUE_MAX)
        elif ((longest + la.ATTRIBUTE_KEY_MAX) * len(attributes) > la.ATTRIBUTES_MAX_CHARS
              and (total := la.total_length(attributes)) > la.ATTRIBUTES_MAX_CHARS):
            problems = problems or []
            problems.append((None, ROW_ATTRIBUTES_TOO_LONG.format(length=total, limit=la.ATTRIBUTES_MAX_CHARS)))
    if not name and not email:
        problems = problems or []
        problems.insert(0, (None, ROW_NO_NAME_OR_EMAIL))
    if problems:
        return problems
    return ParsedRow(line, tuple(values), attributes, warnings)
