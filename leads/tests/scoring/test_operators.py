"""Rule operators: compiled predicates, numbers and dates as people write them (leads/scoring/operators.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from leads.scoring import operators
from leads.scoring.operators import (
    BETWEEN_ORDER,
    BETWEEN_REQUIRED,
    DAYS_REQUIRED,
    LIST_REQUIRED,
    NUMBER_REQUIRED,
    OPERATORS,
    PLACEHOLDER_VALUE,
    REGEX_REQUIRED,
    VALUE_TEXT_REQUIRED,
    VALUE_TOO_LONG,
    RuleConfigError,
    compile_condition,
    is_empty_value,
    parse_datetime,
    parse_number,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
TAGS = ["VIP", "Messe München", "newsletter"]

# --- parse_number -------------------------------------------------------------------------------

NUMBERS: list[tuple[object, float]] = [
    # already numbers
    (500, 500.0),
    (-3, -3.0),
    (1.5, 1.5),
    (0, 0.0),
    # plain and signed text
    ("500", 500.0),
    ("  42 ", 42.0),
    ("-5", -5.0),
    ("−5", -5.0),
    ("+5", 5.0),
    ("0", 0.0),
    # open-ended, percentages
    ("500+", 500.0),
    ("10%", 10.0),
    ("12.5 %", 12.5),
    # ranges read as their lower bound
    ("51-200", 51.0),
    ("51–200", 51.0),
    ("51 to 200", 51.0),
    ("51 - 200", 51.0),
    ("5 bis 10", 5.0),
    ("1-5M", 1_000_000.0),
    ("500-1.5M", 500.0),
    ("$50k-$100k", 50_000.0),
    ("1,000-5,000", 1000.0),
    # currencies
    ("€500", 500.0),
    ("$1,200", 1200.0),
    ("£99", 99.0),
    ("¥1000", 1000.0),
    ("EUR 50.000", 50_000.0),
    ("500 USD", 500.0),
    ("GBP 12", 12.0),
    ("CHF 1'000'000", 1_000_000.0),
    # magnitude suffixes
    ("50k", 50_000.0),
    ("50K", 50_000.0),
    ("50k €", 50_000.0),
    ("1.1k", 1100.0),
    ("1.2M", 1_200_000.0),
    ("3 mm", 3_000_000.0),
    ("2 Mio.", 2_000_000.0),
    ("2 mio", 2_000_000.0),
    ("4 million", 4_000_000.0),
    ("€1.5bn", 1.5e9),
    ("2B", 2e9),
    ("1 billion", 1e9),
    ("3 Mrd", 3e9),
    ("3 mrd.", 3e9),
    ("50 Tsd.", 50_000.0),
    ("50tsd", 50_000.0),
    # separators
    ("1,234.56", 1234.56),
    ("1.234,56", 1234.56),
    ("1,000,000", 1_000_000.0),
    ("1.000.000", 1_000_000.0),
    ("1.234.567,89", 1_234_567.89),
    ("60.000", 60_000.0),
    ("1,500", 1500.0),
    ("1.5", 1.5),
    ("1,5", 1.5),
    ("0.500", 0.5),
    ("1234,567", 1234.567),
    ("1'000'000", 1_000_000.0),
    ("1 000 000", 1_000_000.0),
    ("1\u00a0000", 1000.0),
    ("1\u2009000", 1000.0),
    ("1\u202f000", 1000.0),
    (".5", 0.5),
    # hedges
    ("> 500", 500.0),
    ("<10", 10.0),
    ("ca. 50k", 50_000.0),
    ("~1M", 1_000_000.0),
    ("about 300", 300.0),
    ("approx. 20", 20.0),
    ("over 1,000", 1000.0),
    ("up to 500", 500.0),
]

NOT_NUMBERS: list[object] = [
    "", "   ", "fifty", "N/A", "n/a", "-", "approx", "k", "unknown", "500 employees", "1e5", "1..2", "12/2026",
    "1,234.567.8", "5 apples", "€", "1" * 65,
    True, False, None, float("nan"), float("inf"), 10**400, [1], {"a": 1}, date(2026, 1, 1),
]


@pytest.mark.parametrize(("raw", "expected"), NUMBERS, ids=[repr(raw) for raw, _ in NUMBERS])
def test_parse_number_reads_numbers_as_written(raw: object, expected: float) -> None:
    assert parse_number(raw) == expected


@pytest.mark.parametrize("raw", NOT_NUMBERS, ids=[repr(raw)[:30] for raw in NOT_NUMBERS])
def test_parse_number_rejects_non_numbers(raw: object) -> None:
    assert parse_number(raw) is None


# --- parse_datetime -----------------------------------------------------------------------------

DATETIMES: list[tuple[object, datetime | None]] = [
    (datetime(2026, 11, 5, 10, 30, tzinfo=UTC), datetime(2026, 11, 5, 10, 30, tzinfo=UTC)),
    (datetime(2026, 11, 5, 12, 0, tzinfo=timezone(timedelta(hours=2))), datetime(2026, 11, 5, 10, 0, tzinfo=UTC)),
    (datetime(2026, 11, 5, 10, 30), datetime(2026, 11, 5, 10, 30, tzinfo=UTC)),
    (date(2026, 11, 5), datetime(2026, 11, 5, tzinfo=UTC)),
    ("2026-11-05", datetime(2026, 11, 5, tzinfo=UTC)),
    (" 2026-11-05 ", datetime(2026, 11, 5, tzinfo=UTC)),
    ("2026-11-05T10:30:00Z", datetime(2026, 11, 5, 10, 30, tzinfo=UTC)),
    ("2026-11-05T10:30:00+02:00", datetime(2026, 11, 5, 8, 30, tzinfo=UTC)),
    ("2026-11-05 10:30", datetime(2026, 11, 5, 10, 30, tzinfo=UTC)),
    ("2026-11-05T10:30:00.123456", datetime(2026, 11, 5, 10, 30, 0, 123456, tzinfo=UTC)),
    ("yesterday", None),
    ("2026-13-01", None),
    ("05/11/2026", None),
    ("", None),
    ("0001-01-01T00:00:00+01:00", None),
    (1_764_547_200, None),
    (2026.5, None),
    (True, None),
    (None, None),
    (["2026-11-05"], None),
]


@pytest.mark.parametrize(("raw", "expected"), DATETIMES, ids=[repr(raw) for raw, _ in DATETIMES])
def test_parse_datetime(raw: object, expected: datetime | None) -> None:
    parsed = parse_datetime(raw)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)


# --- is_empty_value -----------------------------------------------------------------------------

EMPTINESS: list[tuple[object, bool]] = [
    (None, True),
    ("", True),
    ("   \t", True),
    ("N/A", True),
    ("unknown", True),
    ("-", True),
    ([], True),
    ((), True),
    ({}, True),
    (["", "N/A"], True),
    (float("nan"), True),
    ("Unknown Pleasures", False),
    ("0", False),
    (0, False),
    (False, False),
    (["vip"], False),
    ({"a": 1}, False),
    (date(2026, 1, 1), False),
]


@pytest.mark.parametrize(("raw", "expected"), EMPTINESS, ids=[repr(raw) for raw, _ in EMPTINESS])
def test_is_empty_value(raw: object, expected: bool) -> None:
    assert is_empty_value(raw) is expected


# --- compiled conditions ------------------------------------------------------------------------

CONDITIONS: list[tuple[str, object, object, bool]] = [
    # equals: folded text
    ("equals", "zurich", "Zürich", True),
    ("equals", "Zürich", "ZURICH", True),
    ("equals", "Sales & Ops", "sales and ops", True),
    ("equals", "VP, Sales", "vp sales", True),
    ("equals", "zurich", "Zurich West", False),
    ("equals", "zurich", None, False),
    ("equals", "zurich", "", False),
    ("equals", "zurich", "N/A", False),
    ("equals", "vip", TAGS, True),
    ("equals", "messe munchen", TAGS, True),
    ("equals", "messe", TAGS, False),
    ("equals", "vip", [], False),
    ("equals", "true", True, True),
    ("equals", True, "TRUE", True),
    ("equals", "500", 500, True),
    ("equals", "500", 500.0, True),
    ("equals", "zurich", {"city": "zurich"}, False),
    # equals: numeric rule value compares numbers
    ("equals", 500, "500", True),
    ("equals", 500, 500.0, True),
    ("equals", 500, "500.00", True),
    ("equals", 1500, "1,500", True),
    ("equals", 1.5, "1,5", True),
    ("equals", 500, "501", False),
    ("equals", 500, "five hundred", False),
    ("equals", 1, True, False),
    ("equals", 500, None, False),
    ("equals", 500, ["12", "500"], True),
    ("equals", 500, ["12", "13"], False),
    # not_equals: the negation, True on missing
    ("not_equals", "zurich", "Zürich", False),
    ("not_equals", "zurich", "Basel", True),
    ("not_equals", "zurich", None, True),
    ("not_equals", "zurich", "unknown", True),
    ("not_equals", "vip", TAGS, False),
    ("not_equals", "gold", TAGS, True),
    ("not_equals", 500, "500", False),
    ("not_equals", 500, "600", True),
    ("not_equals", 500, None, True),
    # contains: plain folded substring
    ("contains", "sales", "Head of Sales-Ops", True),
    ("contains", "SALES OPS", "head of sales, ops", True),
    ("contains", "munchen", "Messe MÜNCHEN 2026", True),
    ("contains", "sale", "Wholesale", True),
    ("contains", "marketing", "Head of Sales", False),
    ("contains", "na", "N/A", False),
    ("contains", "sales", None, False),
    ("contains", "news", TAGS, True),
    ("contains", "gold", TAGS, False),
    ("contains", 42, "Room 42b", True),
    ("contains", "2026-11", date(2026, 11, 5), True),
    # not_contains
    ("not_contains", "sales", "Head of Sales", False),
    ("not_contains", "sales", "Head of Marketing", True),
    ("not_contains", "sales", None, True),
    ("not_contains", "sales", "", True),
    ("not_contains", "news", TAGS, False),
    ("not_contains", "gold", TAGS, True),
    ("not_contains", "gold", [], True),
    # starts_with: folded prefix
    ("starts_with", "head of", "Head-of Sales", True),
    ("starts_with", "ecole", "École Polytechnique", True),
    ("starts_with", "sales", "Head of Sales", False),
    ("starts_with", "+49", "+49 30 1234", True),
    ("starts_with", "mess", TAGS, True),
    ("starts_with", "head", None, False),
    ("starts_with", "head", "-", False),
    # in_list: folded membership, any element of a list
    ("in_list", ["sofort"], "SOFORT", True),
    ("in_list", ["Zürich", "Basel"], "zurich", True),
    ("in_list", ["Zürich", "Basel"], "Bern", False),
    ("in_list", ["a", "b"], "a, b", False),
    ("in_list", [500, "600"], 500, True),
    ("in_list", [500, "600"], "600", True),
    ("in_list", [500, 1.5], 1.5, True),
    ("in_list", ("gold", "vip"), TAGS, True),
    ("in_list", ["gold"], TAGS, False),
    ("in_list", ["vip"], None, False),
    ("in_list", ["vip"], "N/A", False),
    # not_in_list
    ("not_in_list", ["sofort"], "Sofort", False),
    ("not_in_list", ["sofort"], "später", True),
    ("not_in_list", ["sofort"], None, True),
    ("not_in_list", ["sofort"], "", True),
    ("not_in_list", ["vip"], TAGS, False),
    ("not_in_list", ["gold"], TAGS, True),
    # regex: raw text, IGNORECASE, any element of a list
    ("regex", r"^\+49", "+49 30 1234", True),
    ("regex", r"^\+49", "0049 30 1234", False),
    ("regex", r"gmbh$", "Acme GMBH", True),
    ("regex", r"z(u|ü)rich", "ZÜRICH", True),
    ("regex", r"^\d{5}$", 10115, True),
    ("regex", r"^\d{5}$", "1011", False),
    ("regex", r"^vip$", TAGS, True),
    ("regex", r"^gold$", TAGS, False),
    ("regex", r".*", None, False),
    ("regex", r".*", "N/A", False),
    ("regex", r"^$", "", False),
    ("regex", r"needle", "x" * 10_000 + "needle", False),
    ("regex", r"needle", "x" * 9_990 + "needle", True),
    ("regex", r"city", {"city": "x"}, False),
    # greater_than / less_than: strict, numbers as written
    ("greater_than", 50, "51", True),
    ("greater_than", 50, 50, False),
    ("greater_than", "50k", "60.000 €", True),
    ("greater_than", "50k", "50,000", False),
    ("greater_than", 50, "51-200", True),
    ("greater_than", 50, "lots", False),
    ("greater_than", 50, None, False),
    ("greater_than", 0, True, False),
    ("greater_than", 50, ["100"], False),
    ("greater_than", -1, "0", True),
    ("less_than", 10, "9", True),
    ("less_than", 10, 10, False),
    ("less_than", "1M", "€999k", True),
    ("less_than", 10, "", False),
    ("less_than", 10, "N/A", False),
    # between: inclusive both ends
    ("between", [10, 20], 10, True),
    ("between", [10, 20], "20", True),
    ("between", [10, 20], 15.5, True),
    ("between", [10, 20], 9.99, False),
    ("between", [10, 20], "21", False),
    ("between", ["1k", "5k"], "2,500", True),
    ("between", [5, 5], "5", True),
    ("between", [10, 20], None, False),
    # is_empty / is_not_empty: the value is ignored
    ("is_empty", None, None, True),
    ("is_empty", "", "N/A", True),
    ("is_empty", None, [], True),
    ("is_empty", None, "Acme", False),
    ("is_empty", "leftover", 0, False),
    ("is_not_empty", None, "Acme", True),
    ("is_not_empty", None, TAGS, True),
    ("is_not_empty", None, "  ", False),
    ("is_not_empty", None, {}, False),
    # within_days (NOW = 2026-12-01T00:00Z; 30 days back is 2026-11-01T00:00Z)
    ("within_days", 30, "2026-11-15", True),
    ("within_days", 30, "2026-11-01", True),
    ("within_days", 30, "2026-10-31", False),
    ("within_days", 30, datetime(2026, 11, 1, tzinfo=UTC), True),
    ("within_days", 30, datetime(2026, 10, 31, 23, 59, tzinfo=UTC), False),
    ("within_days", 30, datetime(2026, 11, 20, 8, 0), True),
    ("within_days", 30, date(2026, 11, 2), True),
    ("within_days", "30", "2026-11-20T08:00:00Z", True),
    ("within_days", 30, "2026-11-01T01:00:00+02:00", False),
    ("within_days", 30, "2027-01-15", True),
    ("within_days", 0, "2026-12-01", True),
    ("within_days", 30, "soon", False),
    ("within_days", 30, 20261115, False),
    ("within_days", 30, None, False),
    # older_than_days
    ("older_than_days", 30, "2026-10-31", True),
    ("older_than_days", 30, "2026-11-01", False),
    ("older_than_days", 30, datetime(2026, 10, 31, 23, 59), True),
    ("older_than_days", 30, date(2025, 1, 1), True),
    ("older_than_days", 30, "2027-01-15", False),
    ("older_than_days", 30, "not a date", False),
    ("older_than_days", 30, 5, False),
    ("older_than_days", 30, "", False),
]


def _condition_id(case: tuple[str, object, object, bool]) -> str:
    operator, value, field, expected = case
    return f"{operator}({value!r})[{field!r}]->{expected}"[:120]


@pytest.mark.parametrize(("operator", "value", "field", "expected"), CONDITIONS, ids=map(_condition_id, CONDITIONS))
def test_condition(operator: str, value: object, field: object, expected: bool) -> None:
    assert compile_condition(operator, value)(field, NOW) is expected


def test_date_only_value_is_a_whole_day_whatever_the_time_of_now() -> None:
    afternoon = NOW + timedelta(hours=15)
    assert compile_condition("within_days", 30)("2026-11-01", afternoon) is True
    assert compile_condition("within_days", 30)(datetime(2026, 11, 1, tzinfo=UTC), afternoon) is False
    assert compile_condition("older_than_days", 30)("2026-11-01", afternoon) is False


def test_naive_now_is_taken_as_utc() -> None:
    assert compile_condition("within_days", 30)("2026-11-15T00:00:00Z", datetime(2026, 12, 1)) is True


MOMENTS = ["2026-11-01", "2026-10-31", "2026-11-01T00:00:00Z", "2026-10-31T23:59:59Z", date(2026, 11, 1), "2030-01-01"]


@pytest.mark.parametrize("moment", MOMENTS, ids=map(repr, MOMENTS))
def test_within_and_older_than_are_complements(moment: object) -> None:
    within = compile_condition("within_days", 30)(moment, NOW)
    older = compile_condition("older_than_days", 30)(moment, NOW)
    assert within is not older


VALID_VALUES: dict[str, object] = {
    "equals": "x", "not_equals": "x", "contains": "x", "not_contains": "x", "starts_with": "x",
    "in_list": ["x"], "not_in_list": ["x"], "regex": "x", "greater_than": 1, "less_than": 1, "between": [1, 2],
    "is_empty": None, "is_not_empty": None, "within_days": 1, "older_than_days": 1,
}


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_operator_compiles_to_a_predicate(operator: str) -> None:
    predicate = compile_condition(operator, VALID_VALUES[operator])
    assert predicate(None, NOW) in (True, False)


def test_operators_are_the_documented_fifteen() -> None:
    assert set(OPERATORS) == set(VALID_VALUES)
    assert len(OPERATORS) == 15


# --- rule errors --------------------------------------------------------------------------------

ERRORS: list[tuple[str, object, str]] = [
    ("equals", None, VALUE_TEXT_REQUIRED),
    ("equals", ["a"], VALUE_TEXT_REQUIRED),
    ("equals", "N/A", PLACEHOLDER_VALUE),
    ("equals", "", PLACEHOLDER_VALUE),
    ("not_equals", "unknown", PLACEHOLDER_VALUE),
    ("equals", float("nan"), NUMBER_REQUIRED),
    ("equals", "x" * 201, VALUE_TOO_LONG),
    ("contains", "", VALUE_TEXT_REQUIRED),
    ("contains", "!!!", VALUE_TEXT_REQUIRED),
    ("not_contains", {"a": 1}, VALUE_TEXT_REQUIRED),
    ("starts_with", None, VALUE_TEXT_REQUIRED),
    ("in_list", "a, b", LIST_REQUIRED),
    ("in_list", [], LIST_REQUIRED),
    ("in_list", None, LIST_REQUIRED),
    ("in_list", ["ok", ""], PLACEHOLDER_VALUE),
    ("in_list", ["ok", "!!!"], PLACEHOLDER_VALUE),
    ("in_list", ["ok", None], LIST_REQUIRED),
    ("in_list", ["ok", True], LIST_REQUIRED),
    ("in_list", ["ok", ["nested"]], LIST_REQUIRED),
    ("in_list", ["x" * 201], LIST_REQUIRED),
    ("in_list", [str(n) for n in range(501)], LIST_REQUIRED),
    ("not_in_list", ["N/A"], PLACEHOLDER_VALUE),
    ("regex", "", REGEX_REQUIRED),
    ("regex", "   ", REGEX_REQUIRED),
    ("regex", 5, REGEX_REQUIRED),
    ("regex", "a" * 201, VALUE_TOO_LONG),
    ("greater_than", "fifty", NUMBER_REQUIRED),
    ("greater_than", None, NUMBER_REQUIRED),
    ("less_than", True, NUMBER_REQUIRED),
    ("between", [1], BETWEEN_REQUIRED),
    ("between", [1, 2, 3], BETWEEN_REQUIRED),
    ("between", "1-5", BETWEEN_REQUIRED),
    ("between", [1, "lots"], BETWEEN_REQUIRED),
    ("between", [20, 10], BETWEEN_ORDER),
    ("within_days", -1, DAYS_REQUIRED),
    ("within_days", "a week", DAYS_REQUIRED),
    ("within_days", None, DAYS_REQUIRED),
    ("older_than_days", 36_501, DAYS_REQUIRED),
    ("older_than_days", False, DAYS_REQUIRED),
]


@pytest.mark.parametrize(
    ("operator", "value", "message"), ERRORS, ids=[f"{op}({value!r})"[:60] for op, value, _ in ERRORS]
)
def test_invalid_value_is_a_rule_config_error(operator: str, value: object, message: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        compile_condition(operator, value)
    assert caught.value.field == "value"
    assert caught.value.message == message
    assert str(caught.value) == message


def test_error_messages_tell_the_limits() -> None:
    assert VALUE_TOO_LONG == "Keep the value to 200 characters or fewer."
    assert DAYS_REQUIRED == "Enter a number of days from 0 to 36500."
    assert "1 to 500 values" in LIST_REQUIRED


@pytest.mark.parametrize("operator", ["Equals", "eq", "", None], ids=repr)
def test_unknown_operator(operator: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        compile_condition(operator, "x")
    assert caught.value.field == "operator"
    assert caught.value.message == (
        f"Unknown operator {operator!r}; use one of: equals, not_equals, contains, not_contains, starts_with, "
        "in_list, not_in_list, regex, greater_than, less_than, between, is_empty, is_not_empty, within_days, "
        "older_than_days."
    )


@pytest.mark.parametrize(
    ("pattern", "compiler_says"),
    [
        ("(", "missing ) at position 1"),
        ("[a-", "unterminated character set at position 3"),
        ("*a", "nothing to repeat at position 0"),
    ],
    ids=repr,
)
def test_invalid_regex_reports_the_compiler_message(pattern: str, compiler_says: str) -> None:
    with pytest.raises(RuleConfigError) as caught:
        compile_condition("regex", pattern)
    assert caught.value.field == "value"
    assert caught.value.message == f"The regular expression doesn't compile: {compiler_says}."


def test_rule_config_error_is_a_value_error() -> None:
    assert issubclass(RuleConfigError, ValueError)


# --- regex safety -------------------------------------------------------------------------------


def test_catastrophic_regex_finishes_as_no_match() -> None:
    predicate = compile_condition("regex", r"(a+)+$")
    assert predicate("a" * 5000 + "!", NOW) is False


class _TimingOutPattern:
    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def search(self, text: str, *, timeout: float) -> object:
        self.calls.append((len(text), timeout))
        raise TimeoutError("regex timed out")


def test_regex_timeout_is_no_match_and_ends_the_search(monkeypatch: pytest.MonkeyPatch) -> None:
    pattern = _TimingOutPattern()
    monkeypatch.setattr(operators.regex, "compile", lambda *args, **kwargs: pattern)
    predicate = compile_condition("regex", "anything")
    assert predicate(["one", "two", "three"], NOW) is False
    assert pattern.calls == [(3, 0.05)]  # one timeout, not one per tag
    assert predicate("x" * 20_000, NOW) is False
    assert pattern.calls[-1] == (10_000, 0.05)
