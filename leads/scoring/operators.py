"""Rule conditions: one (operator, value) pair compiled into a cheap plain-Python predicate.

    predicate = compile_condition("in_list", ["Sofort", "Immediately"])
    predicate(lead_field_value, now)  # -> bool

Design:

* Compile once, call a million times. `compile_condition` validates the rule's own value and does
  all of its parsing and folding up front (folded needle, frozenset of folded items, compiled
  pattern, parsed numbers, a `timedelta`); the returned closure only looks at the field value.
  Invalid rules raise `RuleConfigError` with `field` ("operator" / "value") and a sentence from
  the module constants below, so the API can show it next to the right input.
* Pure: no ORM, settings or network, so the engine and the tests call it directly.
* Text is compared in `normalize.fold()` form (case, accents, punctuation and whitespace don't
  count). Field values are folded through an LRU cache, because the same industries, countries
  and tags repeat across a million leads.
* Missing is one notion everywhere (`is_empty_value`): None, blank, a placeholder ("N/A", "-",
  "unknown"), an empty container. A missing field never satisfies a positive operator, so every
  `not_*` operator is exactly the negation of its positive one and is True on a missing field.
* List fields (tags) match a text operator or `regex` when any element does; numeric and date
  operators read scalars only, a list never matches them.
* Numbers are read as people write them (`parse_number`: "50k €", "1.234,56", "51-200", "500+").
  Dates are read with `parse_datetime`; a bare number is never a date.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final

import regex

from leads.scoring.normalize import fold, is_placeholder

OPERATORS: tuple[str, ...] = (
    "equals", "not_equals", "contains", "not_contains", "starts_with", "in_list", "not_in_list", "regex",
    "greater_than", "less_than", "between", "is_empty", "is_not_empty", "within_days", "older_than_days",
)

Predicate = Callable[[object, datetime], bool]

# --- limits -----------------------------------------------------------------------------------

MAX_TEXT_LENGTH: Final = 200  # a rule's text value, a list item, a regex pattern
MAX_LIST_ITEMS: Final = 500
MAX_DAYS: Final = 36_500  # 100 years; also keeps `now - timedelta(days)` far from datetime.min
REGEX_TIMEOUT_SECONDS: Final = 0.05
REGEX_MAX_INPUT: Final = 10_000  # characters of a field value a regex sees
_CACHED_TEXT_LENGTH: Final = 200  # longer field values (bios) are folded uncached so they can't flush the cache
_MAX_NUMBER_TEXT: Final = 64  # nobody writes a number longer than this; skips parsing bios as numbers
_MAX_DATE_TEXT: Final = 40

# --- error messages (the API shows them as they are; tests assert them exactly) ------------------

UNKNOWN_OPERATOR: Final = "Unknown operator {operator!r}; use one of: {choices}."
VALUE_TEXT_REQUIRED: Final = "Enter the text to compare with; to match a missing value use is_empty."
VALUE_TOO_LONG: Final = f"Keep the value to {MAX_TEXT_LENGTH} characters or fewer."
PLACEHOLDER_VALUE: Final = (
    "Values like “N/A”, “unknown” or “-” count as missing and never match; use is_empty or is_not_empty instead."
)
LIST_REQUIRED: Final = (
    f"Enter a list of 1 to {MAX_LIST_ITEMS} values, each a number or a text of up to {MAX_TEXT_LENGTH} "
    "characters; a comma-separated text is not a list."
)
REGEX_REQUIRED: Final = "Enter a regular expression."
REGEX_INVALID: Final = "The regular expression doesn't compile: {error}."
NUMBER_REQUIRED: Final = "Enter a number, such as 500, 1.5 or 50k."
BETWEEN_REQUIRED: Final = "Enter two numbers as a list: [low, high]."
BETWEEN_ORDER: Final = "The low end must not be greater than the high end."
DAYS_REQUIRED: Final = f"Enter a number of days from 0 to {MAX_DAYS}."


class RuleConfigError(ValueError):
    """A rule that can't be compiled; `field` is "operator" or "value", `message` a sentence a person can act on."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- reading field values -----------------------------------------------------------------------

# The grammar of a number as written, applied to casefolded text with all whitespace removed (so
# "51 to 200" is "51to200" and "1 000 000" is "1000000"). Separators are sorted out afterwards in
# `_plain_digits`, because "1.500" vs "1.5" is a question of digit counts, not of syntax.
_HEDGE = r"about|approx(?:imately)?\.?|ca\.?|circa|around|roughly|over|above|under|below|morethan|lessthan|upto"
_CURRENCY = r"(?:[€$£¥]|eur|usd|gbp|chf)"
_SCALE_EXPONENT: Final = {
    "k": 3, "tsd": 3, "thousand": 3,
    "m": 6, "mm": 6, "mn": 6, "mio": 6, "million": 6, "millionen": 6,
    "b": 9, "bn": 9, "billion": 9, "mrd": 9, "milliarden": 9,
}
_SCALE = "|".join(sorted(_SCALE_EXPONENT, key=len, reverse=True))


def _amount(name: str) -> str:
    return rf"{_CURRENCY}?(?P<{name}>[.,]?\d+(?:[.,'’]\d+)*)(?P<{name}_scale>{_SCALE})?\.?{_CURRENCY}?"


_NUMBER_TEXT = regex.compile(
    rf"(?:{_HEDGE}|~|≈|[<>≤≥]=?)?(?P<sign>[-+])?{_amount('low')}(?:(?:-|–|—|to|bis){_amount('high')})?\+?%?"
)


def parse_number(raw: object) -> float | None:
    """A number as people write it, or None.

    Ranges read as their lower bound ("51-200" -> 51), so a company size band compares by its
    smallest member. Trap: bool is an int in Python but never a number here.
    """
    if isinstance(raw, str):
        return _parse_number_text(raw) if len(raw) <= _MAX_NUMBER_TEXT else None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        try:
            return float(raw)
        except OverflowError:
            return None
    if isinstance(raw, float):
        return raw if math.isfinite(raw) else None
    return None


@lru_cache(maxsize=100_000)
def _parse_number_text(text: str) -> float | None:
    compact = "".join(text.casefold().split()).replace("−", "-")
    match = _NUMBER_TEXT.fullmatch(compact)
    if match is None:
        return None
    low = _plain_digits(match["low"])
    if low is None:
        return None
    scale = match["low_scale"]
    if match["high"] is not None:
        high = _plain_digits(match["high"])
        if high is None:
            return None
        # "1-5M" means 1M to 5M; but in "500-1.5M" the 500 can't share the M.
        if scale is None and match["high_scale"] is not None and float(low) <= float(high):
            scale = match["high_scale"]
    exponent = _SCALE_EXPONENT[scale] if scale else 0
    # Scale via the exponent, not a multiplication: "1.1k" must be exactly 1100.0, not 1100.0000000000002.
    value = float(f"{match['sign'] or ''}{low}e{exponent}")
    return value if math.isfinite(value) else None


def _plain_digits(digits: str) -> str | None:
    """Digits with thousands separators dropped and a "." decimal point, or None when unreadable."""
    digits = digits.replace("'", "").replace("’", "")
    has_comma, has_dot = "," in digits, "." in digits
    if has_comma and has_dot:
        decimal = "," if digits.rfind(",") > digits.rfind(".") else "."
        if digits.count(decimal) > 1:
            return None
        return digits.replace("." if decimal == "," else ",", "").replace(decimal, ".")
    if not (has_comma or has_dot):
        return digits
    separator = "," if has_comma else "."
    if digits.count(separator) > 1:
        return digits.replace(separator, "")
    head, _, tail = digits.partition(separator)
    # "60.000" and "1,500" are thousands; "0.500", "1.5", "1234,567" are decimals.
    if len(tail) == 3 and 1 <= len(head) <= 3 and head.strip("0"):
        return head + tail
    return f"{head or '0'}.{tail}"


def parse_datetime(raw: object) -> datetime | None:
    """datetime (aware; naive is taken as UTC), date, or ISO-8601 string (date or datetime, 'Z' allowed) -> aware UTC
    datetime; else None. A date is midnight UTC."""
    moment = _moment(raw)
    if moment is None or isinstance(moment, datetime):
        return moment
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def _moment(raw: object) -> datetime | date | None:
    """Like `parse_datetime`, but a date-only value stays a `date`: it means a whole day, not its midnight."""
    if isinstance(raw, datetime):
        return _as_utc(raw)
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str) and len(raw) <= _MAX_DATE_TEXT:
        return _parse_moment_text(raw.strip())
    return None


@lru_cache(maxsize=100_000)
def _parse_moment_text(text: str) -> datetime | date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return _as_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):  # OverflowError: "0001-01-01T00:00+01:00" has no UTC equivalent
        return None


def _as_utc(moment: datetime) -> datetime | None:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return None


def is_empty_value(raw: object) -> bool:
    """None, blank, a placeholder ("N/A", "-", "unknown"), NaN, or a list/tuple/dict with nothing in it.

    A list of only blanks and placeholders (`["", "N/A"]`, as CSV imports produce) is empty too.
    """
    if raw is None:
        return True
    if isinstance(raw, str):
        return is_placeholder(raw)
    if isinstance(raw, (list, tuple)):
        return all(is_empty_value(item) for item in raw)
    if isinstance(raw, dict):
        return not raw
    if isinstance(raw, float):
        return math.isnan(raw)
    return False


def _field_fold(text: str) -> str:
    """The folded form of a field's text, "" when it is missing; no rule needle is "", so "" never matches."""
    if len(text) > _CACHED_TEXT_LENGTH:
        return "" if is_placeholder(text) else fold(text)
    return _field_fold_cached(text)


@lru_cache(maxsize=100_000)
def _field_fold_cached(text: str) -> str:
    return "" if is_placeholder(text) else fold(text)


def _scalar_fold(value: object) -> str:
    if isinstance(value, str):
        return _field_fold(value)
    text = _scalar_text(value)
    return _field_fold(text) if text is not None else ""


def _scalar_text(value: object) -> str | None:
    """A non-text scalar as text a person would type; None for containers and unknown types."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return None


def _number_text(number: int | float) -> str | None:
    if isinstance(number, float):
        if not math.isfinite(number):
            return None
        if number.is_integer():
            return str(int(number))  # 500.0 reads "500", like the 500 a person typed
    return repr(number)


def _any_folded(value: object, test: Callable[[str], bool]) -> bool:
    if isinstance(value, str):
        return test(_field_fold(value))
    if isinstance(value, (list, tuple)):
        return any(test(_scalar_fold(item)) for item in value)
    return test(_scalar_fold(value))


# --- compiling --------------------------------------------------------------------------------


def compile_condition(operator: str, value: object) -> Predicate:
    """Validate and compile; raises RuleConfigError for an unknown operator or a value that doesn't fit it."""
    compiler = _COMPILERS.get(operator) if isinstance(operator, str) else None
    if compiler is None:
        raise RuleConfigError("operator", UNKNOWN_OPERATOR.format(operator=operator, choices=", ".join(OPERATORS)))
    return compiler(value)


def _negate(predicate: Predicate) -> Predicate:
    def negated(value: object, now: datetime) -> bool:
        return not predicate(value, now)

    return negated


def _rule_text(value: object, *, reject_placeholder: bool) -> str:
    """The rule's text value, folded; the checks every text operator shares."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, (bool, int, float)):
        text = _scalar_text(value) or ""
    else:
        raise RuleConfigError("value", VALUE_TEXT_REQUIRED)
    if len(text) > MAX_TEXT_LENGTH:
        raise RuleConfigError("value", VALUE_TOO_LONG)
    # Only where an exact match is wanted: `contains "na"` is a fine substring, `equals "n/a"` can never hit.
    if reject_placeholder and is_placeholder(text):
        raise RuleConfigError("value", PLACEHOLDER_VALUE)
    folded = fold(text)
    if not folded:
        raise RuleConfigError("value", VALUE_TEXT_REQUIRED)
    return folded


def _compile_equals(value: object) -> Predicate:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = parse_number(value)
        if number is None:
            raise RuleConfigError("value", NUMBER_REQUIRED)

        def equals_number(field: object, now: datetime) -> bool:
            if isinstance(field, (list, tuple)):
                return any(parse_number(item) == number for item in field)
            return parse_number(field) == number

        return equals_number

    target = _rule_text(value, reject_placeholder=True)

    def equals_text(field: object, now: datetime) -> bool:
        return _any_folded(field, target.__eq__)

    return equals_text


def _compile_contains(value: object) -> Predicate:
    needle = _rule_text(value, reject_placeholder=False)

    def contains(field: object, now: datetime) -> bool:
        return _any_folded(field, lambda folded: needle in folded)

    return contains


def _compile_starts_with(value: object) -> Predicate:
    prefix = _rule_text(value, reject_placeholder=False)

    def starts_with(field: object, now: datetime) -> bool:
        return _any_folded(field, lambda folded: folded.startswith(prefix))

    return starts_with


def _compile_in_list(value: object) -> Predicate:
    # Explicit lists only: "a, b" might be one company name with a comma in it.
    if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_LIST_ITEMS:
        raise RuleConfigError("value", LIST_REQUIRED)
    items: set[str] = set()
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise RuleConfigError("value", LIST_REQUIRED)
        try:
            items.add(_rule_text(item, reject_placeholder=True))
        except RuleConfigError as error:
            # Keep the placeholder hint; every other item problem is the list's shape.
            message = error.message if error.message == PLACEHOLDER_VALUE else LIST_REQUIRED
            raise RuleConfigError("value", message) from None
    folded_items = frozenset(items)

    def in_list(field: object, now: datetime) -> bool:
        return _any_folded(field, folded_items.__contains__)

    return in_list


def _compile_regex(value: object) -> Predicate:
    if not isinstance(value, str) or not value.strip():
        raise RuleConfigError("value", REGEX_REQUIRED)
    if len(value) > MAX_TEXT_LENGTH:
        raise RuleConfigError("value", VALUE_TOO_LONG)
    try:
        pattern = regex.compile(value, regex.IGNORECASE)
    except regex.error as error:
        raise RuleConfigError("value", REGEX_INVALID.format(error=error)) from None

    def search(text: str) -> bool:
        # The raw text, not its folded form: a pattern author writes against what they see, and
        # folding would break patterns on punctuation ("^\+49"). A timeout is no match: a
        # pathological pattern (patterns are already capped in length, inputs in size) must cost at
        # most REGEX_TIMEOUT_SECONDS, never hang a scoring run.
        return pattern.search(text[:REGEX_MAX_INPUT], timeout=REGEX_TIMEOUT_SECONDS) is not None

    def matches(field: object, now: datetime) -> bool:
        if is_empty_value(field):
            return False
        try:
            if isinstance(field, str):
                return search(field)
            if isinstance(field, (list, tuple)):
                # One timeout ends the whole search, so a long tag list costs one timeout, not one per tag.
                return any(search(text) for text in map(_regex_text, field) if text)
            text = _regex_text(field)
            return text is not None and search(text)
        except TimeoutError:
            return False

    return matches


def _regex_text(value: object) -> str | None:
    if isinstance(value, str):
        return None if is_placeholder(value) else value
    return _scalar_text(value)


def _rule_number(value: object) -> float:
    number = parse_number(value)
    if number is None:
        raise RuleConfigError("value", NUMBER_REQUIRED)
    return number


def _compile_greater_than(value: object) -> Predicate:
    limit = _rule_number(value)

    def greater_than(field: object, now: datetime) -> bool:
        number = parse_number(field)
        return number is not None and number > limit

    return greater_than


def _compile_less_than(value: object) -> Predicate:
    limit = _rule_number(value)

    def less_than(field: object, now: datetime) -> bool:
        number = parse_number(field)
        return number is not None and number < limit

    return less_than


def _compile_between(value: object) -> Predicate:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise RuleConfigError("value", BETWEEN_REQUIRED)
    low, high = parse_number(value[0]), parse_number(value[1])
    if low is None or high is None:
        raise RuleConfigError("value", BETWEEN_REQUIRED)
    if low > high:
        raise RuleConfigError("value", BETWEEN_ORDER)

    def between(field: object, now: datetime) -> bool:
        number = parse_number(field)
        return number is not None and low <= number <= high

    return between


def _compile_is_empty(value: object) -> Predicate:
    # The value is meaningless here and deliberately ignored: forms send "" or leftovers.
    def is_empty(field: object, now: datetime) -> bool:
        return is_empty_value(field)

    return is_empty


def _rule_days(value: object) -> timedelta:
    days = parse_number(value)
    if days is None or not 0 <= days <= MAX_DAYS:
        raise RuleConfigError("value", DAYS_REQUIRED)
    return timedelta(days=days)


def _cutoff(now: datetime, age: timedelta) -> datetime:
    # A naive `now` is UTC, as for field values; comparing naive with aware would raise mid-run.
    return (now if now.tzinfo is not None else now.replace(tzinfo=UTC)) - age


def _compile_within_days(value: object) -> Predicate:
    age = _rule_days(value)

    def within_days(field: object, now: datetime) -> bool:
        """now - N days <= moment; future moments are within (a scheduled demo is recent enough)."""
        moment = _moment(field)
        if moment is None:
            return False
        cutoff = _cutoff(now, age)
        # A date is a whole day: "2026-11-01" is within 30 days of 2026-12-01 at any time of day.
        return moment >= cutoff if isinstance(moment, datetime) else moment >= cutoff.date()

    return within_days


def _compile_older_than_days(value: object) -> Predicate:
    age = _rule_days(value)

    def older_than_days(field: object, now: datetime) -> bool:
        """moment < now - N days: the exact complement of within_days on any readable moment."""
        moment = _moment(field)
        if moment is None:
            return False
        cutoff = _cutoff(now, age)
        return moment < cutoff if isinstance(moment, datetime) else moment < cutoff.date()

    return older_than_days


_COMPILERS: Final[dict[str, Callable[[object], Predicate]]] = {
    "equals": _compile_equals,
    "not_equals": lambda value: _negate(_compile_equals(value)),
    "contains": _compile_contains,
    "not_contains": lambda value: _negate(_compile_contains(value)),
    "starts_with": _compile_starts_with,
    "in_list": _compile_in_list,
    "not_in_list": lambda value: _negate(_compile_in_list(value)),
    "regex": _compile_regex,
    "greater_than": _compile_greater_than,
    "less_than": _compile_less_than,
    "between": _compile_between,
    "is_empty": _compile_is_empty,
    "is_not_empty": lambda value: _negate(_compile_is_empty(value)),
    "within_days": _compile_within_days,
    "older_than_days": _compile_older_than_days,
}