"""The learned model at scoring time (leads/scoring/learned.py): value readings, features, and
predictions of a hand-written model checked against the formula. No database, no scikit-learn."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leads.scoring.facts import EngagementFacts, LeadFacts
from leads.scoring.learned import (
    FORMAT,
    MISSING,
    Factor,
    LearnedModel,
    ModelFormatError,
    category_key,
    decision_function,
    feature_label,
    featurize,
    predict,
    read_count,
    read_number,
    tag_keys,
    text_tokens,
)
from leads.scoring.types import LeadData


def slog(x: float) -> float:
    return math.copysign(math.log1p(abs(x)), x)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("50k", 50_000, id="50k"),
        pytest.param("1.2M", 1_200_000, id="1.2M"),
        pytest.param("51-200", 51, id="a range reads as its low end"),
        pytest.param("1,000", 1_000, id="thousands separator"),
        pytest.param("50k €", 50_000, id="currency"),
        pytest.param(12, 12, id="an int"),
        pytest.param(-3.5, -3.5, id="a negative float"),
        pytest.param("0", 0, id="zero"),
        pytest.param("N/A", None, id="placeholder"),
        pytest.param("", None, id="blank"),
        pytest.param("enterprise", None, id="a word"),
        pytest.param(True, None, id="a bool is not a number"),
        pytest.param(None, None, id="None"),
        pytest.param(["1"], None, id="a list"),
    ],
)
def test_read_number(raw: object, expected: float | None) -> None:
    assert read_number(raw) == (None if expected is None else slog(expected))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(3, math.log1p(3), id="count"),
        pytest.param(0, 0.0, id="zero"),
        pytest.param(None, 0.0, id="no events"),
        pytest.param(-2, 0.0, id="negative is none"),
        pytest.param("7", 0.0, id="text is not a count"),
        pytest.param(True, 0.0, id="bool is not a count"),
        pytest.param(float("inf"), 0.0, id="infinity is not a count"),
        pytest.param(float("nan"), 0.0, id="nan is not a count"),
    ],
)
def test_read_count(raw: object, expected: float) -> None:
    assert read_count(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("  B2B   SaaS ", "b2b saas", id="trimmed, casefolded, spaces collapsed"),
        pytest.param("N/A", MISSING, id="placeholder"),
        pytest.param("-", MISSING, id="dash"),
        pytest.param("", MISSING, id="blank"),
        pytest.param(None, MISSING, id="None"),
        pytest.param(42, "42", id="a number as text"),
        pytest.param(3.0, "3", id="a whole float is the int"),
        pytest.param(2.5, "2.5", id="a float"),
        pytest.param(True, "true", id="a bool"),
    ],
)
def test_category_key(raw: object, expected: str) -> None:
    assert category_key(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Budget owner, scaling B2B sales; a CEO.", {"budget", "owner", "scaling", "b2b", "sales", "ceo"},
                     id="punctuation, case, function words and single letters go"),
        pytest.param("Directrice générale à Paris", {"directrice", "générale", "paris"}, id="non-ASCII"),
        pytest.param("snake_case x2", {"snake", "case", "x2"}, id="underscore separates"),
        pytest.param("", set(), id="empty"),
        pytest.param(None, set(), id="None"),
    ],
)
def test_text_tokens(text: str | None, expected: set[str]) -> None:
    assert text_tokens(text) == expected


def test_tag_keys() -> None:
    assert tag_keys(("VIP", " vip ", "Newsletter", "N/A")) == {"vip", "newsletter"}
    assert tag_keys("Event") == {"event"}
    assert tag_keys(None) == set()


NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_featurize_reads_fields_attributes_engagement_bio_and_rules() -> None:
    facts = LeadFacts(
        lead=LeadData(name="Maya Chen", role="VP Sales", company="Acme", industry="SaaS", location="Austin",
                      linkedin_bio="Owns the budget."),
        now=NOW, email="maya@acme.example", status="contacted", owner="alice", tags=("VIP",),
        created_at=NOW - timedelta(days=10, hours=3),
        attributes={"budget": "50k", "Lead Source": "Webinar"},
        engagement=EngagementFacts(counts={"email_open": 4, "page_view": 2},
                                   last_activity=NOW - timedelta(days=2, hours=1)),
    )
    assert featurize(facts, ["Decision maker role", "Big budget"]) == {
        "industry": "SaaS", "role": "VP Sales", "location": "Austin", "status": "contacted", "owner": "alice",
        "tags": ("VIP",), "linkedin_bio": "Owns the budget.",
        "attributes.budget": "50k", "attributes.Lead Source": "Webinar",
        "events.email_open.count": 4, "events.page_view.count": 2,
        "last_activity_days_ago": 2, "days_since_creation": 10,
        "rule:Decision maker role": True, "rule:Big budget": True,
    }


def test_featurize_without_engagement_or_creation_date() -> None:
    features = featurize(LeadFacts(lead=LeadData(), now=NOW), [])
    assert features["last_activity_days_ago"] is None
    assert features["days_since_creation"] is None
    assert not any(key.startswith(("events.", "rule:", "attributes.")) for key in features)


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("industry", "industry"),
        ("attributes.lead_source", "attributes.lead_source"),
        ("linkedin_bio", "bio"),
        ("rule:Decision maker role", "rule 'Decision maker role'"),
        ("events.email_open.count", "email opens"),
        ("events.email_click.count", "email clicks"),
        ("events.page_view.count", "website visits"),
        ("events.demo_request.count", "demo request events"),
        ("last_activity_days_ago", "days since last activity"),
        ("days_since_creation", "days since creation"),
    ],
)
def test_feature_label(key: str, label: str) -> None:
    assert feature_label(key) == label


# A hand-written model: every number below is checked against the formula in the module docstring.
MODEL: dict[str, Any] = {
    "format": FORMAT,
    "intercept": -0.5,
    "calibration": {"slope": 0.8, "intercept": 0.1},
    "columns": [
        {"key": "attributes.budget", "kind": "numeric", "label": "attributes.budget", "mean": 10.0, "scale": 2.0,
         "coef": 0.6, "mean_z": 0.0, "edges": [9.0, 11.0], "bins": [[-0.2, 0.3], [0.0, 0.3], [0.4, 0.3]],
         "missing": [-0.1, 0.1]},
        {"key": "industry", "kind": "category", "label": "industry",
         "values": [["saas", 1.0, 0.4], ["retail", -0.5, 0.4], [MISSING, -0.3, 0.1]], "other": [0.2, 0.1]},
        {"key": "linkedin_bio", "kind": "words", "label": "bio", "split": "text",
         "vocabulary": [["budget", 0.9, 0.2], ["student", -1.2, 0.1], ["growth", 0.05, 0.5]]},
        {"key": "tags", "kind": "words", "label": "tags", "split": "tags", "vocabulary": [["vip", 0.7, 0.25]]},
        {"key": "events.email_open.count", "kind": "count", "label": "email opens", "mean": 1.0, "scale": 0.5,
         "coef": 0.3, "mean_z": 0.0},
        {"key": "rule:Decision maker role", "kind": "flag", "label": "rule 'Decision maker role'", "coef": 0.8,
         "rate": 0.25},
    ],
}
BIN_BASE = -0.2 * 0.3 + 0.0 * 0.3 + 0.4 * 0.3 + -0.1 * 0.1  # 0.05
CATEGORY_BASE = 1.0 * 0.4 - 0.5 * 0.4 - 0.3 * 0.1 + 0.2 * 0.1  # 0.19


def probability(decision: float) -> float:
    return 1.0 / (1.0 + math.exp(-(0.8 * decision + 0.1)))


@pytest.fixture(scope="module")
def model() -> LearnedModel:
    return LearnedModel.from_json(MODEL)


def test_predict_follows_the_formula(model: LearnedModel) -> None:
    budget = slog(200_000)  # 12.2: above the last edge, z = 1.1
    z_opens = (math.log1p(3) - 1.0) / 0.5
    features = {"attributes.budget": "200k", "industry": " SaaS", "linkedin_bio": "Owns the BUDGET for growth.",
                "tags": ("VIP",), "events.email_open.count": 3, "rule:Decision maker role": True}
    decision = (-0.5 + 0.6 * (budget - 10.0) / 2.0 + 0.4 + 1.0 + 0.9 + 0.05 + 0.7 + 0.3 * z_opens + 0.8)

    prediction = predict(model, features)

    assert decision_function(model, features) == pytest.approx(decision, abs=1e-12)
    assert prediction.probability == pytest.approx(probability(decision), abs=1e-12)
    assert prediction.up == (
        Factor("attributes.budget", "200k", pytest.approx(0.6 * (budget - 10.0) / 2.0 + 0.4 - BIN_BASE)),
        Factor("industry", " SaaS", pytest.approx(1.0 - CATEGORY_BASE)),
        Factor("bio word 'budget'", "present", pytest.approx(0.9 * 0.8)),
        Factor("rule 'Decision maker role'", "yes", pytest.approx(0.8 * 0.75)),
        Factor("tags", "vip", pytest.approx(0.7 * 0.75)),
    )
    assert prediction.down == ()


def test_unseen_category_missing_number_and_no_events(model: LearnedModel) -> None:
    features = {"attributes.budget": "N/A", "industry": "Aerospace", "linkedin_bio": "Student at a university"}
    decision = -0.5 + -0.1 + 0.2 - 1.2 + 0.3 * (0.0 - 1.0) / 0.5

    prediction = predict(model, features)

    assert prediction.probability == pytest.approx(probability(decision), abs=1e-12)
    assert prediction.down == (
        Factor("bio word 'student'", "present", pytest.approx(-1.2 * 0.9)),
        Factor("email opens", "0", pytest.approx(0.3 * -2.0)),
        Factor("rule 'Decision maker role'", "no", pytest.approx(-0.8 * 0.25)),
        Factor("attributes.budget", MISSING, pytest.approx(-0.1 - BIN_BASE)),
    )
    assert prediction.up == (Factor("industry", "Aerospace", pytest.approx(0.2 - CATEGORY_BASE)),)


@pytest.mark.parametrize(
    "features",
    [
        pytest.param({}, id="no features at all"),
        pytest.param({"industry": ["a", "list"], "attributes.budget": {"a": 1}, "linkedin_bio": 12,
                      "tags": "vip", "events.email_open.count": "many"}, id="values of the wrong type"),
        pytest.param({"industry": None, "attributes.budget": None, "linkedin_bio": None, "tags": None}, id="None"),
    ],
)
def test_odd_values_never_crash(model: LearnedModel, features: dict[str, object]) -> None:
    prediction = predict(model, features)
    assert 0.0 < prediction.probability < 1.0
    assert len(prediction.up) <= 5 and len(prediction.down) <= 5


def test_placeholder_category_is_missing_not_other(model: LearnedModel) -> None:
    factors = {factor.feature: factor for factor in predict(model, {"industry": "n/a"}).down}
    assert factors["industry"] == Factor("industry", MISSING, pytest.approx(-0.3 - CATEGORY_BASE))


def test_at_most_five_factors_each_way_largest_first() -> None:
    columns = [{"key": f"rule:r{i}", "kind": "flag", "label": f"rule 'r{i}'", "coef": (i - 6) / 10, "rate": 0.0}
               for i in range(13)]
    model = LearnedModel.from_json({**MODEL, "columns": columns})
    prediction = predict(model, {f"rule:r{i}": True for i in range(13)})
    assert [factor.feature for factor in prediction.up] == ["rule 'r12'", "rule 'r11'", "rule 'r10'", "rule 'r9'",
                                                            "rule 'r8'"]
    assert [factor.feature for factor in prediction.down] == ["rule 'r0'", "rule 'r1'", "rule 'r2'", "rule 'r3'",
                                                              "rule 'r4'"]


def test_repeated_values_give_the_same_answer_after_caching(model: LearnedModel) -> None:
    features = {"industry": "Retail", "attributes.budget": "5k"}
    assert predict(model, features) == predict(model, features)


def test_json_round_trip(model: LearnedModel) -> None:
    again = LearnedModel.from_json(json.loads(json.dumps(model.to_json())))
    features = {"attributes.budget": "1.2M", "industry": "Retail", "linkedin_bio": "growth"}
    assert again.to_json() == MODEL
    assert predict(again, features) == predict(model, features)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({**MODEL, "format": "pickle"}, id="other format"),
        pytest.param([], id="not an object"),
        pytest.param({key: value for key, value in MODEL.items() if key != "calibration"}, id="no calibration"),
        pytest.param({**MODEL, "columns": [{**MODEL["columns"][0], "edges": [1.0]}]}, id="bins do not fit edges"),
        pytest.param({**MODEL, "columns": [{**MODEL["columns"][5], "kind": "pickle"}]}, id="unknown kind"),
        pytest.param({**MODEL, "intercept": "high"}, id="not a number"),
    ],
)
def test_from_json_refuses_what_is_not_a_model(data: Any) -> None:
    with pytest.raises(ModelFormatError):
        LearnedModel.from_json(data)


def test_bools_and_numbers_are_not_confused_by_the_value_cache() -> None:
    columns = [
        {"key": "attributes.flag", "kind": "category", "label": "attributes.flag",
         "values": [["true", 0.5, 0.5], ["1", -0.5, 0.5]], "other": [0.0, 0.0]},
        {"key": "attributes.size", "kind": "numeric", "label": "attributes.size", "mean": 0.0, "scale": 1.0,
         "coef": 1.0, "mean_z": 0.0, "edges": [], "bins": [[0.0, 1.0]], "missing": [-2.0, 0.0]},
    ]
    model = LearnedModel.from_json({**MODEL, "intercept": 0.0, "columns": columns})
    one = decision_function(model, {"attributes.flag": 1, "attributes.size": 1})
    true = decision_function(model, {"attributes.flag": True, "attributes.size": True})
    assert one == pytest.approx(-0.5 + slog(1))
    assert true == pytest.approx(0.5 - 2.0)  # True is no number: the size is missing
    assert decision_function(model, {"attributes.flag": 1.0}) == decision_function(model, {"attributes.flag": "1"})
