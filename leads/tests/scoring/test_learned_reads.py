"""Whether a learned model needs the leads' event aggregates: scoring reads them only then."""

from __future__ import annotations

import pytest

from leads.scoring.learned import FORMAT, LearnedModel


def _model(*keys: str) -> LearnedModel:
    columns = [{"key": key, "kind": "flag", "label": key, "coef": 0.5, "rate": 0.1} for key in keys]
    return LearnedModel.from_json({"format": FORMAT, "intercept": 0.0,
                                   "calibration": {"slope": 1.0, "intercept": 0.0}, "columns": columns})


@pytest.mark.parametrize(("keys", "expected"), [
    (("rule:Decision maker role", "attributes.budget"), False),
    (("events.email_open.count",), True),
    (("rule:x", "last_activity_days_ago"), True),
    ((), False),
])
def test_reads_engagement(keys: tuple[str, ...], expected: bool) -> None:
    assert _model(*keys).reads_engagement is expected
