"""The learned model at scoring time: features of one lead in, a calibrated probability and its top
factors out. Pure Python (no scikit-learn, numpy or Django): the model is plain data, trained by
`leads.services.training` and stored as JSON, never as a pickle.

    features = featurize(facts, fired_rules)        # raw values, one dict per lead
    model = LearnedModel.from_json(stored_json)     # all parsing and lookup tables built here, once
    prediction = predict(model, features)           # .probability, .up, .down (Factor lists)

JSON format (`format` is "leadscore.learned/1"); every number is a float, every name a string:

    {"format": "leadscore.learned/1",
     "intercept": -0.41,                                  # of the logistic regression
     "calibration": {"slope": 0.93, "intercept": -1.2},   # Platt: p = 1 / (1 + exp(-(slope*d + intercept)))
     "columns": [                                         # d = intercept + sum of coef * feature value
       {"key": "attributes.budget", "kind": "numeric", "label": "attributes.budget",
        "mean": 9.1, "scale": 2.2, "coef": 0.5, "mean_z": 0.0,  # z = (slog(x) - mean) / scale, 0 if missing
        "edges": [7.6, 9.3],                              # slog(x) bin edges: bin = bisect_right(edges, slog(x))
        "bins": [[-0.1, 0.3], [0.0, 0.4], [0.2, 0.3]],    # [coef, training rate] per bin, len(edges) + 1
        "missing": [-0.3, 0.1]},                          # [coef, rate] of the missing indicator
       {"key": "industry", "kind": "category", "label": "industry",
        "values": [["saas", 0.8, 0.31], ["(missing)", -0.2, 0.1]], "other": [0.1, 0.05]},  # [key, coef, rate]
       {"key": "linkedin_bio", "kind": "words", "label": "bio", "split": "text",
        "vocabulary": [["budget", 0.7, 0.12]]},           # binary presence; "split": "tags" for tag lists
       {"key": "events.email_open.count", "kind": "count", "label": "email opens",
        "mean": 0.9, "scale": 1.1, "coef": 0.4, "mean_z": 0.0},   # z = (log1p(count) - mean) / scale
       {"key": "rule:Decision maker role", "kind": "flag", "label": "rule 'Decision maker role'",
        "coef": 0.6, "rate": 0.2}]}

Value readings shared with training (so a value means the same at both ends): numbers as people
write them (`operators.parse_number`: "50k", "1.2M", "51-200" -> 51, "1,000") through
slog(x) = sign(x) * log1p(|x|); categories trimmed and casefolded, placeholders ("N/A", "-") being
"(missing)", values unseen or rare at training "(other)"; text as lowercase word tokens.

A factor's effect is its contribution to the log-odds compared with an average training lead:
coef * (value - training mean), summed over the features of one column (one word for text; words
a lead lacks are not factors). A column a model lacks is ignored; a key a lead lacks is missing.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final

from leads.scoring.facts import LeadFacts
from leads.scoring.normalize import is_placeholder
from leads.scoring.operators import parse_number

FORMAT: Final = "leadscore.learned/1"
MISSING: Final = "(missing)"
OTHER: Final = "(other)"
MAX_FACTORS: Final = 5
KINDS: Final = ("numeric", "category", "words", "count", "flag")
#: Lead fields a model may learn from; name, email and company are identities, not traits.
LEAD_FIELDS: Final = ("industry", "role", "location", "status", "owner")
RULE_PREFIX: Final = "rule:"
EVENTS_PREFIX: Final = "events."
EVENTS_SUFFIX: Final = ".count"
BIO_KEY: Final = "linkedin_bio"

BAD_FORMAT: Final = "Not a learned model of format {expected!r}: {detail}."

_TOKEN = re.compile(r"[^\W_]{2,}")
# ASCII text goes through a byte table (lowercase letters and digits kept, the rest a space)
# instead of the regex: a million bios; single characters are dropped through the stop words, so
# both paths give the same tokens.
_ASCII_WORDS: Final = bytes(ord(chr(code).lower()) if chr(code).isalnum() else 32 for code in range(128)) \
    + b" " * 128
# Function words only: they say nothing about a lead and would crowd a bounded vocabulary.
_STOP_WORDS_TEXT: Final = """
    a about after all also am an and any are as at be been being but by can could did do does for from had
    has have he her here his how i if in into is it its just me my no nor not of on or our out over she so
    than that the their them then there these they this those to too up us very was we were what when where
    which while who will with would you your
"""
STOP_WORDS: Final = frozenset(_STOP_WORDS_TEXT.split())
_DROPPED: Final = STOP_WORDS | frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_EVENT_LABELS: Final = {"email_open": "email opens", "email_click": "email clicks", "page_view": "website visits"}
_EFFECT: Final = itemgetter(0)
# Raw values remembered per column. The caches are the only state that changes after from_json;
# dict operations are atomic, so one model can serve several threads.
_CACHE_LIMIT: Final = 4096


# --- value readings (training uses the same functions) --------------------------------------------------


def read_number(value: object) -> float | None:
    """The number a value stands for, as slog(x) = sign(x) * log1p(|x|), or None when it isn't one."""
    if value is None or isinstance(value, bool):
        return None
    number = parse_number(value) if isinstance(value, str | int | float) else None
    if number is None:
        return None
    return math.copysign(math.log1p(abs(number)), number)


def read_count(value: object) -> float:
    """log1p of an event count; anything that isn't a count is 0 events."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        return 0.0
    return math.log1p(value)


def category_key(value: object) -> str:
    """The category a value falls in: trimmed and casefolded text, or MISSING."""
    if value is None:
        return MISSING
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 3.0 and 3 are one category, as "3" is
    text = value if isinstance(value, str) else str(value)
    if is_placeholder(text):
        return MISSING
    return " ".join(text.casefold().split())


def text_tokens(value: object) -> set[str]:
    """The distinct lowercase word tokens of a text (two characters or more, no function words)."""
    if not value:
        return set()
    tokens = set(_words_of(value))
    tokens -= _DROPPED
    return tokens


def tag_keys(value: object) -> set[str]:
    """The distinct tags of a list value, each as a category key; a single text is one tag."""
    if value is None:
        return set()
    items = value if isinstance(value, list | tuple | set | frozenset) else (value,)
    keys = {category_key(item) for item in items}
    keys.discard(MISSING)
    return keys


def is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return is_placeholder(value)
    if isinstance(value, list | tuple | set | frozenset | dict):
        return not value
    return False


# --- features -------------------------------------------------------------------------------------------


def featurize(facts: LeadFacts, fired_rules: Iterable[str]) -> dict[str, object]:
    """The raw feature values of one lead: lead fields, uploaded columns, engagement, bio, rule hits.

    Keys: the lead fields in LEAD_FIELDS, "tags", "attributes.<column>", "events.<type>.count",
    "last_activity_days_ago", "days_since_creation", "linkedin_bio" and "rule:<rule name>" (True
    for each rule that fired; rules that didn't are absent).
    """
    lead = facts.lead
    features: dict[str, object] = {
        "industry": lead.industry, "role": lead.role, "location": lead.location,
        "status": facts.status, "owner": facts.owner, "tags": facts.tags, BIO_KEY: lead.linkedin_bio,
    }
    for column, value in facts.attributes.items():
        features[f"attributes.{column}"] = value
    engagement = facts.engagement
    for event_type, count in engagement.counts.items():
        features[f"{EVENTS_PREFIX}{event_type}{EVENTS_SUFFIX}"] = count
    now = facts.now
    features["last_activity_days_ago"] = (
        None if engagement.last_activity is None else max((now - engagement.last_activity).days, 0))
    features["days_since_creation"] = None if facts.created_at is None else max((now - facts.created_at).days, 0)
    for name in fired_rules:
        features[f"{RULE_PREFIX}{name}"] = True
    return features


def feature_label(key: str) -> str:
    """The name a person reads for a feature key ("rule 'Decision maker role'", "email opens")."""
    if key.startswith(RULE_PREFIX):
        return f"rule '{key[len(RULE_PREFIX):]}'"
    if key.startswith(EVENTS_PREFIX) and key.endswith(EVENTS_SUFFIX):
        event_type = key[len(EVENTS_PREFIX):-len(EVENTS_SUFFIX)]
        return _EVENT_LABELS.get(event_type, f"{event_type.replace('_', ' ')} events")
    return {BIO_KEY: "bio", "last_activity_days_ago": "days since last activity",
            "days_since_creation": "days since creation"}.get(key, key)


# --- the model ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Factor:
    """One reason for a probability: `effect` is its log-odds contribution against an average lead."""

    feature: str
    value: str
    effect: float
    #: The factor as a score breakdown stores it, effect to 3 decimals. Built once with the factor:
    #: the same factors repeat across a million leads (and round() costs a microsecond a call).
    #: Breakdowns share this dict, so nobody mutates it.
    as_json: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _shown_factor(feature: str, value: str, effect: float) -> Factor:
    return Factor(feature, value, effect, {"feature": feature, "value": value, "effect": round(effect, 3)})


@dataclass(frozen=True, slots=True)
class Prediction:
    probability: float
    up: tuple[Factor, ...]
    down: tuple[Factor, ...]


class ModelFormatError(ValueError):
    """Stored JSON that isn't a learned model of this format."""


Shown = str | None  # a factor's value text, None for "the lead's own value"
Entry = tuple[float, float, Shown]  # (contribution to d, effect against average, shown)
Candidate = tuple[float, Factor]  # (effect, the factor): what predict ranks


@dataclass(frozen=True, slots=True)
class _Numeric:
    mean: float
    scale: float
    coef: float
    edges: tuple[float, ...]
    bin_coefs: tuple[float, ...]
    bin_rel: tuple[float, ...]  # effect of landing in a bin: bin and missing parts against average
    missing: Entry
    z_offset: float  # coef * training mean of z (0 when missing rows were imputed at the mean)

    def entry(self, raw: object) -> Entry:
        value = read_number(raw)
        if value is None:
            return self.missing
        z = (value - self.mean) / self.scale
        index = bisect_right(self.edges, value)
        return self.coef * z + self.bin_coefs[index], self.coef * z - self.z_offset + self.bin_rel[index], None


@dataclass(frozen=True, slots=True)
class _Category:
    entries: dict[str, tuple[float, float]]  # category key -> (coef, effect against average)
    other: tuple[float, float]

    def entry(self, raw: object) -> Entry:
        key = category_key(raw)
        if key in self.entries:
            coef, effect = self.entries[key]
            return coef, effect, MISSING if key == MISSING else None
        coef, effect = self.other
        return coef, effect, MISSING if key == MISSING else None


@dataclass(frozen=True, slots=True)
class _Count:
    mean: float
    scale: float
    coef: float
    z_offset: float

    def entry(self, raw: object) -> Entry:
        z = (read_count(raw) - self.mean) / self.scale
        return self.coef * z, self.coef * z - self.z_offset, None if raw else "0"


@dataclass(frozen=True, slots=True)
class _Scalar:
    """A column with one value per lead (numeric, category, count); entries are remembered per raw
    value, because the same industries, sizes and counts repeat across a million leads."""

    key: str
    label: str
    reader: _Numeric | _Category | _Count
    cache: dict[object, tuple[float, Candidate]]  # raw value -> (contribution, factor candidate)


@dataclass(frozen=True, slots=True)
class _Words:
    key: str
    label: str
    tags: bool
    coefs: dict[str, float]
    vocabulary: frozenset[str]
    # Each word's factor, built once; its effect is coef * (1 - rate), and absent words are not factors.
    candidates: dict[str, Candidate]


@dataclass(frozen=True, slots=True)
class _Flag:
    key: str
    label: str
    contribution: float  # when the rule fired (0 when it didn't)
    fired: Candidate
    not_fired: Candidate


@dataclass(frozen=True)
class LearnedModel:
    """A trained model as plain data; `from_json` precomputes every lookup `predict` needs."""

    intercept: float
    calibration_slope: float
    calibration_intercept: float
    columns: tuple[dict[str, Any], ...]
    _scalars: tuple[_Scalar, ...] = field(default=(), repr=False, compare=False)
    _words: tuple[_Words, ...] = field(default=(), repr=False, compare=False)
    _flags: tuple[_Flag, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LearnedModel:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ModelFormatError(BAD_FORMAT.format(expected=FORMAT, detail="missing or other format"))
        try:
            calibration = data["calibration"]
            columns = tuple(dict(column) for column in data["columns"])
            return _compile(float(data["intercept"]), float(calibration["slope"]),
                            float(calibration["intercept"]), columns)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFormatError(BAD_FORMAT.format(expected=FORMAT, detail=repr(error))) from error

    @property
    def reads_engagement(self) -> bool:
        """Whether any column reads the lead's event aggregates (scoring loads them only then)."""
        return any(str(column.get("key", "")).startswith(EVENTS_PREFIX) or column.get("key") == "last_activity_days_ago"
                   for column in self.columns)

    @property
    def lead_columns_read(self) -> frozenset[str]:
        """The facts beyond a lead's profile fields its columns read, by the names scoring loads
        them under ("status", "owner", "tags", "created_at", "attributes")."""
        keys = {str(column.get("key", "")) for column in self.columns}
        read = {name for name in ("status", "owner", "tags") if name in keys}
        if "days_since_creation" in keys:
            read.add("created_at")
        if any(key.startswith("attributes.") for key in keys):
            read.add("attributes")
        return frozenset(read)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "intercept": self.intercept,
                "calibration": {"slope": self.calibration_slope, "intercept": self.calibration_intercept},
                "columns": [dict(column) for column in self.columns]}


def _pair(value: Any) -> tuple[float, float]:
    coef, rate = value
    return float(coef), float(rate)


def _numeric(column: dict[str, Any]) -> _Numeric:
    bins = [_pair(item) for item in column["bins"]]
    edges = tuple(float(edge) for edge in column["edges"])
    if len(bins) != len(edges) + 1:
        raise ValueError(f"{column['key']}: {len(edges)} edges need {len(edges) + 1} bins")
    missing_coef, missing_rate = _pair(column["missing"])
    bin_base = sum(coef * rate for coef, rate in bins) + missing_coef * missing_rate
    coef = float(column["coef"])
    z_offset = coef * float(column.get("mean_z", 0.0))
    return _Numeric(float(column["mean"]), float(column["scale"]) or 1.0, coef, edges,
                    tuple(coef_ for coef_, _ in bins), tuple(coef_ - bin_base for coef_, _ in bins),
                    (missing_coef, missing_coef - bin_base - z_offset, MISSING), z_offset)


def _category(column: dict[str, Any]) -> _Category:
    values = [(str(value), float(coef), float(rate)) for value, coef, rate in column["values"]]
    other_coef, other_rate = _pair(column["other"])
    base = sum(coef * rate for _, coef, rate in values) + other_coef * other_rate
    return _Category({value: (coef, coef - base) for value, coef, _ in values}, (other_coef, other_coef - base))


def _compile(intercept: float, slope: float, calibration_intercept: float,
             columns: tuple[dict[str, Any], ...]) -> LearnedModel:
    scalars: list[_Scalar] = []
    words: list[_Words] = []
    flags: list[_Flag] = []
    for column in columns:
        kind, key, label = column["kind"], str(column["key"]), str(column["label"])
        if kind == "numeric":
            scalars.append(_Scalar(key, label, _numeric(column), {}))
        elif kind == "category":
            scalars.append(_Scalar(key, label, _category(column), {}))
        elif kind == "count":
            coef = float(column["coef"])
            reader = _Count(float(column["mean"]), float(column["scale"]) or 1.0, coef,
                            coef * float(column.get("mean_z", 0.0)))
            scalars.append(_Scalar(key, label, reader, {}))
        elif kind == "words":
            vocabulary = [(str(token), float(coef), float(rate)) for token, coef, rate in column["vocabulary"]]
            coefs = {token: coef for token, coef, _ in vocabulary}
            effects = {token: coef * (1.0 - rate) for token, coef, rate in vocabulary}
            tags = column["split"] == "tags"
            candidates = {token: (effect, _shown_factor(label, token, effect) if tags else
                                  _shown_factor(f"{label} word '{token}'", "present", effect))
                          for token, effect in effects.items()}
            words.append(_Words(key, label, tags, coefs, frozenset(coefs), candidates))
        elif kind == "flag":
            coef, rate = float(column["coef"]), float(column["rate"])
            fired, not_fired = coef * (1.0 - rate), -coef * rate
            flags.append(_Flag(key, label, coef, (fired, _shown_factor(label, "yes", fired)),
                               (not_fired, _shown_factor(label, "no", not_fired))))
        else:
            raise ValueError(f"{key}: unknown kind {kind!r}")
    return LearnedModel(intercept, slope, calibration_intercept, columns, tuple(scalars), tuple(words), tuple(flags))


def predict(model: LearnedModel, features: Mapping[str, object]) -> Prediction:
    """The calibrated probability of winning for one lead's features, with its top factors."""
    candidates: list[Candidate] = []
    decision = _evaluate(model, features, candidates)
    candidates.sort(key=_EFFECT)
    up = tuple(factor for effect, factor in candidates[: -MAX_FACTORS - 1: -1] if effect > 0)
    down = tuple(factor for effect, factor in candidates[:MAX_FACTORS] if effect < 0)
    return Prediction(_calibrated(model, decision), up, down)


def decision_function(model: LearnedModel, features: Mapping[str, object]) -> float:
    """The logistic regression's log-odds before calibration (what an AUC ranks by)."""
    return _evaluate(model, features, None)


def probability(model: LearnedModel, features: Mapping[str, object]) -> float:
    """`predict(...).probability` without ranking factors (backtests score every outcome)."""
    return _calibrated(model, _evaluate(model, features, None))


def _evaluate(model: LearnedModel, features: Mapping[str, object], candidates: list[Candidate] | None) -> float:
    """d = intercept + sum of coef * feature value; with `candidates`, also each column's factor."""
    decision = model.intercept
    get = features.get
    append = candidates.append if candidates is not None else None
    for column in model._scalars:
        raw = get(column.key)
        try:
            if raw is True or raw is False:  # a dict would take True for 1 and False for 0
                raise TypeError
            contribution, item = column.cache[raw]
        except KeyError:
            contribution, item = entry = _scalar_entry(column, raw)
            if len(column.cache) < _CACHE_LIMIT:
                column.cache[raw] = entry
        except TypeError:  # a bool, or an unhashable value (a list where a text was expected)
            contribution, item = _scalar_entry(column, raw)
        decision += contribution
        if append is not None:
            append(item)
    for words in model._words:
        raw = get(words.key)
        if not raw:
            continue
        # Intersecting with the vocabulary drops function words too: training never keeps them.
        present = words.vocabulary.intersection(tag_keys(raw) if words.tags else _words_of(raw))
        if not present:
            continue
        decision += sum(map(words.coefs.__getitem__, present))
        if append is not None:
            if len(present) <= 2 * MAX_FACTORS:
                candidates.extend(map(words.candidates.__getitem__, present))
            else:  # only the strongest either way can be among the top factors
                ranked = sorted(map(words.candidates.__getitem__, present), key=_EFFECT)
                candidates.extend(ranked[:MAX_FACTORS] + ranked[-MAX_FACTORS:])
    for flag in model._flags:
        if get(flag.key):
            decision += flag.contribution
            if append is not None:
                append(flag.fired)
        elif append is not None:
            append(flag.not_fired)
    return decision


def _scalar_entry(column: _Scalar, raw: object) -> tuple[float, Candidate]:
    contribution, effect, shown = column.reader.entry(raw)
    if shown is None:
        shown = ", ".join(str(part) for part in raw) if isinstance(raw, tuple | list) else str(raw)
    return contribution, (effect, _shown_factor(column.label, shown, effect))


def _words_of(value: object) -> list[str]:
    """A text's lowercase words before function words are dropped (predict intersects instead)."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    return _TOKEN.findall(text.lower())


def _calibrated(model: LearnedModel, decision: float) -> float:
    logit = model.calibration_slope * decision + model.calibration_intercept
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    odds = math.exp(logit)
    return odds / (1.0 + odds)

