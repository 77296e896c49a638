"""CSV export: rows streamed from a cursor, cells a spreadsheet would execute neutralised.

The neutralising happens here, on the way out; the stored lead is never altered. After the fixed
columns come the leads' extra columns from their upload (`attributes`: phone, lead source...), one
column per name, so the file a sales team opens has what they uploaded plus the scores.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.db.models import QuerySet

from leads.models import Score

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Control characters (all but tab, line feed and carriage return, which text may hold) and the bidi
# embeddings, overrides and isolates, which make a cell read differently from what it holds
# ("\u202e=1+1"): neither belongs in a lead's text, so the export drops them.
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Characters that show nothing but can stand in front of a formula ("\u200b=HYPERLINK(...)",
# "\ufeff@SUM(...)"): zero-width spaces and joiners, marks, the BOM, a soft hyphen; plus spaces.
INVISIBLE_LEADING = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u061c\u180e \u00a0"
# Extra columns exported at most (selectors.lead_attribute_keys picks which).
EXPORT_MAX_ATTRIBUTE_COLUMNS = 100

EXPORT_COLUMNS = [
    ("id", "lead_id"), ("name", "lead__name"), ("role", "lead__role"), ("company", "lead__company"),
    ("industry", "lead__industry"), ("location", "lead__location"), ("email", "lead__email"),
    ("linkedin_bio", "lead__linkedin_bio"), ("intent", "intent"), ("score", "score"), ("rule_score", "rule_score"),
    ("ai_score", "ai_score"), ("ai_intent", "ai_intent"), ("rules", "score_breakdown"), ("ai_provider", "provider"),
    ("ai_model", "model"), ("reasoning", "reasoning"), ("scored_at", "created_at"),
]
# After the fixed columns: the offer the scores are for, the same on every row.
OFFER_COLUMN = "offer"


def clean_text(value: str) -> str:
    """The text without control and bidi characters (the stored lead keeps them)."""
    return UNSAFE_CHARACTERS.sub("", value) if not value.isascii() or not value.isprintable() else value


def neutralise_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading `'` (OWASP CSV injection advice),
    also when invisible characters stand in front of it: those are dropped, so the `'` comes first.
    Control and bidi characters are dropped from every cell."""
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    visible = value.lstrip(INVISIBLE_LEADING)
    if len(visible) != len(value) and visible.startswith(FORMULA_TRIGGERS):
        return "'" + visible
    return value


def _rules_cell(breakdown: dict[str, Any] | str | None) -> str:
    if isinstance(breakdown, str):  # some backends hand JSON back as text from values_list
        breakdown = json.loads(breakdown)
    rules = (breakdown or {}).get("rules", [])
    return "; ".join(f"{r['label']} (+{r['points']})" for r in rules)


class _Echo:
    """A write-only file whose write returns the line, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


def attribute_headers(keys: Sequence[str]) -> list[str]:
    """Header names for the extra columns: a name taken by a fixed column (say `score`, from a
    re-imported export) is marked as the lead's own."""
    taken = {name.casefold() for name, _ in EXPORT_COLUMNS} | {OFFER_COLUMN}
    headers = []
    for key in keys:
        header = key
        while header.casefold() in taken:
            header = f"{header} (attribute)"
        taken.add(header.casefold())
        headers.append(header)
    return headers


def _attribute_cell(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def export_header(attribute_keys: Sequence[str]) -> list[str]:
    return [name for name, _ in EXPORT_COLUMNS] + [OFFER_COLUMN] + attribute_headers(attribute_keys)


def export_rows(scores: QuerySet[Score], *, attribute_keys: Sequence[str] = (), offer_name: str = "",
                chunk_size: int = 2000) -> Iterable[list[Any]]:
    """The rows of `export_header`, values as stored (neutralising is the file format's business)."""
    rules_index = [name for name, _ in EXPORT_COLUMNS].index("rules")
    scored_at_index = [name for name, _ in EXPORT_COLUMNS].index("scored_at")
    sources = [source for _, source in EXPORT_COLUMNS]
    if attribute_keys:
        sources.append("lead__attributes")
    for row in scores.values_list(*sources).iterator(chunk_size=chunk_size):
        cells = list(row)
        cells[rules_index] = _rules_cell(cells[rules_index])
        cells[scored_at_index] = cells[scored_at_index].isoformat()
        attributes = cells.pop() if attribute_keys else None
        cells.append(offer_name)
        if attribute_keys:
            if isinstance(attributes, str):  # some backends hand JSON back as text from values_list
                attributes = json.loads(attributes)
            attributes = attributes or {}
            cells.extend(_attribute_cell(attributes.get(key)) for key in attribute_keys)
        yield cells


def leads_export_csv(scores: QuerySet[Score], *, attribute_keys: Sequence[str] = (), offer_name: str = "",
                     rows_per_piece: int = 500) -> Iterator[str]:
    """Yield the CSV in pieces of a few hundred rows: one write per row would dominate the cost."""
    writer = csv.writer(_Echo())
    header = export_header(attribute_keys)
    # BOM: Excel reads UTF-8 right. Extra column names come from uploads, so they are neutralised too.
    yield "\ufeff" + writer.writerow([neutralise_cell(name) for name in header])
    piece: list[str] = []
    for cells in export_rows(scores, attribute_keys=attribute_keys, offer_name=offer_name):
        piece.append(writer.writerow([neutralise_cell(c) for c in cells]))
        if len(piece) >= rows_per_piece:
            yield "".join(piece)
            piece.clear()
    if piece:
        yield "".join(piece)
