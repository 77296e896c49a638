"""The file formats the results export speaks: CSV for every program, XLSX for spreadsheets."""

from __future__ import annotations

from leads.exceptions import LeadsError

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
UNKNOWN_FORMAT = "format must be csv or xlsx; got {value!r}."


def export_format(raw: str | None) -> str:
    """The format a request asks for (default csv); anything else is a 400 naming the allowed ones."""
    value = (raw or "csv").strip().lower()
    if value not in FORMATS:
        raise LeadsError(UNKNOWN_FORMAT.format(value=raw), code="invalid_parameter",
                         details={"format": [raw], "allowed": list(FORMATS)})
    return value
