"""Excel export: the rows of the CSV export as a workbook whose text cells are text.

A CSV has no types, so a spreadsheet guesses: `+1 415 555 0101` becomes a formula or a number
unless the CSV export prefixes it with `'`, which then shows in the column a sales team dials.
A workbook says what each cell is: text stays exactly as stored, numbers are numbers, and no cell
is ever a formula — openpyxl writes a str as a text cell, except one starting with "=", which it
makes a formula: those get their type set to string explicitly.

openpyxl's write-only mode writes rows to a temporary file as they come, so memory stays flat
whatever the size; the finished workbook (a zip, complete only at the end) is then streamed from it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from leads.models import Score
from leads.services.csv_export import clean_text, export_header, export_rows

# Excel's last row is 1,048,576; one is the header.
XLSX_MAX_ROWS = 1_048_575
# Excel's limit for the text of one cell.
XLSX_CELL_MAX_CHARS = 32_767
SHEET_TITLE = "Results"
READ_CHUNK_BYTES = 1024 * 1024


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A plain str is written as a text cell already; only one starting with "=" needs a cell object
    (a cell per value, with a style, made the export ten times slower)."""
    if not isinstance(value, str):
        return value
    value = clean_text(value)[:XLSX_CELL_MAX_CHARS]
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # never "f"
    return cell


def leads_export_xlsx(scores: QuerySet[Score], *, attribute_keys: Sequence[str] = (),
                      offer_name: str = "") -> Iterator[bytes]:
    """Yield the workbook's bytes (built in a temporary file first: a zip is only complete at its end)."""
    with tempfile.TemporaryFile() as out:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(SHEET_TITLE)
        sheet.append([_cell(sheet, name) for name in export_header(attribute_keys)])
        for cells in export_rows(scores, attribute_keys=attribute_keys, offer_name=offer_name):
            sheet.append([_cell(sheet, value) for value in cells])
        workbook.save(out)
        out.seek(0)
        while chunk := out.read(READ_CHUNK_BYTES):
            yield chunk
