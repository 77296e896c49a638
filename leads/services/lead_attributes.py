"""Limits on a lead's `attributes` (the extra columns), shared by the CSV import and the API. Pure.

Without them one upload with a million-column header became a 16 MB blob per lead, and a page of
`GET /api/leads/` grew a web worker by 400 MB. The limits are generous for real CRM exports.
"""

from __future__ import annotations

import json
import re
from typing import Any

ATTRIBUTES_MAX_KEYS = 200  # extra columns per upload, keys per lead
ATTRIBUTE_KEY_MAX = 200  # characters of a column name / key
ATTRIBUTE_VALUE_MAX = 10_000  # characters of one value (non-text values: of its JSON)
ATTRIBUTES_MAX_CHARS = 100_000  # all keys and values of one lead, as JSON

TOO_MANY_KEYS = "A lead keeps at most {limit:,} extra columns (attributes); this has {count:,}."
KEY_TOO_LONG = "The column name {key!r}… is {length:,} characters long; the limit is {limit:,}."
KEY_CONTROL = "The column name {key!r} contains a control character (NUL, tab, newline…): rename the column."
KEY_BLANK = "An attribute name may not be blank."
VALUE_TOO_LONG = 'The value of "{key}" is {length:,} characters long; the limit is {limit:,}.'
TOTAL_TOO_LONG = "The extra columns (attributes) add up to {length:,} characters; the limit is {limit:,}."

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def key_problem(key: str) -> str | None:
    if len(key) > ATTRIBUTE_KEY_MAX:
        return KEY_TOO_LONG.format(key=key[:40], length=len(key), limit=ATTRIBUTE_KEY_MAX)
    if _CONTROL.search(key):
        return KEY_CONTROL.format(key=key[:40])
    if not key.strip():
        return KEY_BLANK
    return None


def value_length(value: Any) -> int:
    return len(value) if isinstance(value, str) else len(json.dumps(value, ensure_ascii=False))


def attributes_problems(attributes: dict[str, Any]) -> list[str]:
    """Every limit the attributes break, as sentences (empty: they are fine)."""
    if len(attributes) > ATTRIBUTES_MAX_KEYS:
        return [TOO_MANY_KEYS.format(limit=ATTRIBUTES_MAX_KEYS, count=len(attributes))]
    problems = [problem for key in attributes if (problem := key_problem(key))]
    for key, value in attributes.items():
        if (length := value_length(value)) > ATTRIBUTE_VALUE_MAX:
            problems.append(VALUE_TOO_LONG.format(key=key[:40], length=length, limit=ATTRIBUTE_VALUE_MAX))
    if not problems and (length := total_length(attributes)) > ATTRIBUTES_MAX_CHARS:
        problems.append(TOTAL_TOO_LONG.format(length=length, limit=ATTRIBUTES_MAX_CHARS))
    return problems


def total_length(attributes: dict[str, Any]) -> int:
    return sum(len(key) + value_length(value) for key, value in attributes.items())
