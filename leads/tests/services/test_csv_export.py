"""Export cells: spreadsheet formulas neutralised, everything else kept as stored."""

from __future__ import annotations

import pytest

from leads.services.csv_export import neutralise_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1 555", "'+1 555"), ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"), ("Jane = CEO", "Jane = CEO"),
        ("", ""), ("VP Sales", "VP Sales"), (42, 42), (None, None), ("'quoted", "'quoted"),
    ],
)
def test_neutralise_cell(value: object, expected: object) -> None:
    assert neutralise_cell(value) == expected
