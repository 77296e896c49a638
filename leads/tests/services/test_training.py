"""Training the learned model (leads/services/training.py) on generated rows with a known signal.
Pure: no database; the fit is scikit-learn's, the prediction is leads/scoring/learned.py's."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest

from leads.scoring.learned import MISSING, LearnedModel, predict
from leads.services.training import (
    LENGTHS_DIFFER,
    ColumnPlan,
    NotEnoughOutcomes,
    TrainingResult,
    fit_learned_model,
    plan_columns,
)

INDUSTRIES = ("SaaS", "Retail", "Manufacturing", "Finance", "Education")
BIO_WORDS = ["growth", "pipeline", "revenue", "hiring", "outbound", "marketing", "sales", "cloud", "analytics",
             "strategy", "leader"]
SIGNAL = {"industry", "bio word 'budget'", "attributes.budget", "rule 'Decision maker role'"}
NOISE = {"attributes.noise", "attributes.colour", "email opens"}


def generated(n: int, *, seed: int, base: float = -2.0) -> tuple[list[dict[str, object]], list[bool]]:
    """Leads whose odds of winning depend on industry, a bio word, budget and one rule, nothing else."""
    rng = random.Random(seed)
    rows, won = [], []
    for i in range(n):
        industry = "Aerospace" if i in (3, 4) else rng.choice(INDUSTRIES)  # rare: two rows only
        budget = rng.choice([5_000, 20_000, 50_000, 200_000, 1_200_000])
        says_budget = rng.random() < 0.3
        fired = rng.random() < 0.3
        words = rng.sample(BIO_WORDS, 6) + (["budget"] if says_budget else [])
        rng.shuffle(words)
        logit = (base + 2.0 * (industry == "SaaS") + 1.5 * says_budget + 0.5 * math.log10(budget / 5_000)
                 + 1.0 * fired)
        row: dict[str, object] = {
            "industry": industry, "linkedin_bio": " ".join(words).capitalize() + ".",
            "attributes.budget": rng.choice([f"{budget // 1000}k", f"{budget:,}", f"{budget / 1e6:g}M"]),
            "attributes.noise": f"{rng.random():.3f}", "attributes.colour": rng.choice(["red", "green", "blue"]),
            "events.email_open.count": rng.randrange(6),
            "attributes.size": rng.choice(["1-10", "11-50", "51-200", "N/A"]),
        }
        if fired:
            row["rule:Decision maker role"] = True
        rows.append(row)
        won.append(rng.random() < 1.0 / (1.0 + math.exp(-logit)))
    return rows, won


@pytest.fixture(scope="module")
def data() -> tuple[list[dict[str, object]], list[bool]]:
    return generated(1500, seed=1)


@pytest.fixture(scope="module")
def trained(data: tuple[list[dict[str, object]], list[bool]]) -> TrainingResult:
    return fit_learned_model(*data, seed=0)


def test_the_known_signal_is_recovered(trained: TrainingResult) -> None:
    assert trained.holdout_auc > 0.75
    assert trained.cv_auc > 0.75
    assert trained.cv_auc == pytest.approx(sum(trained.cv_fold_aucs) / 5)
    assert len(trained.cv_fold_aucs) == 5


def test_top_factors_name_the_signal_and_noise_does_not_dominate(trained: TrainingResult) -> None:
    top = trained.top_factors
    assert {factor.feature for factor in top[:4]} <= SIGNAL
    assert {(factor.feature, factor.value) for factor in top[:2]} == {("industry", "saas"),
                                                                      ("bio word 'budget'", "present")}
    assert all(factor.effect > 0 for factor in top[:4])
    strongest_noise = max((abs(factor.effect) for factor in top if factor.feature in NOISE), default=0.0)
    assert strongest_noise < 0.5 * abs(top[0].effect)
    assert [abs(factor.effect) for factor in top] == sorted((abs(factor.effect) for factor in top), reverse=True)


def test_counts(trained: TrainingResult, data: tuple[list[dict[str, object]], list[bool]]) -> None:
    won = data[1]
    assert (trained.n_won, trained.n_lost) == (sum(won), len(won) - sum(won))


def test_json_round_trip_gives_scikit_learn_probabilities(
        trained: TrainingResult, data: tuple[list[dict[str, object]], list[bool]]) -> None:
    rows = [*data[0][:300], {}, {"industry": "Zoology", "attributes.budget": "lots", "linkedin_bio": "Budget!"},
            {"industry": None, "attributes.noise": None, "tags": ("new",), "attributes.unknown_column": 5}]
    stored = json.loads(json.dumps(trained.model.to_json()))
    model = LearnedModel.from_json(stored)

    ours = np.array([predict(model, row).probability for row in rows])
    theirs = trained.estimator.predict_proba(rows)

    assert np.max(np.abs(ours - theirs)) < 1e-9
    assert stored == trained.model.to_json()


def test_rare_and_unseen_categories_share_other(trained: TrainingResult) -> None:
    industry = next(column for column in trained.model.columns if column["key"] == "industry")
    assert "aerospace" not in {value for value, _, _ in industry["values"]}
    base = {"linkedin_bio": "Growth leader", "attributes.budget": "50k"}
    rare = predict(trained.model, {**base, "industry": "Aerospace"})
    unseen = predict(trained.model, {**base, "industry": "Zoology"})
    assert rare.probability == unseen.probability
    shown = {factor.value for factor in (*unseen.up, *unseen.down) if factor.feature == "industry"}
    assert shown <= {"Zoology"}


def test_missing_values_have_their_own_features(trained: TrainingResult) -> None:
    size = next(column for column in trained.model.columns if column["key"] == "attributes.size")
    assert size["kind"] == "numeric" and size["missing"][1] == pytest.approx(0.25, abs=0.05)
    prediction = predict(trained.model, {"attributes.size": "N/A", "attributes.budget": None})
    budget = [factor for factor in (*prediction.up, *prediction.down) if factor.feature == "attributes.budget"]
    assert all(factor.value == MISSING for factor in budget)
    assert 0.0 < prediction.probability < 1.0


def test_calibrated_probabilities_match_the_base_rate() -> None:
    rows, won = generated(2000, seed=5, base=-3.5)
    result = fit_learned_model(rows, won, seed=0)
    mean_probability = np.mean([predict(result.model, row).probability for row in rows])
    assert 0.05 < np.mean(won) < 0.25  # imbalanced on purpose
    assert mean_probability == pytest.approx(np.mean(won), abs=0.02)


def test_deterministic_for_a_seed(data: tuple[list[dict[str, object]], list[bool]], trained: TrainingResult) -> None:
    again = fit_learned_model(*data, seed=0)
    assert again.model.to_json() == trained.model.to_json()
    assert (again.holdout_auc, again.cv_fold_aucs) == (trained.holdout_auc, trained.cv_fold_aucs)


@pytest.mark.parametrize(
    ("won", "lost", "message"),
    [
        pytest.param(12, 80, "Training needs at least 50 won and 50 lost outcomes: 12 won and 80 lost so far — "
                             "38 more won needed.", id="won short"),
        pytest.param(60, 49, "Training needs at least 50 won and 50 lost outcomes: 60 won and 49 lost so far — "
                             "1 more lost needed.", id="lost short"),
        pytest.param(3, 0, "Training needs at least 50 won and 50 lost outcomes: 3 won and 0 lost so far — "
                           "47 more won and 50 more lost needed.", id="both short"),
        pytest.param(0, 0, "Training needs at least 50 won and 50 lost outcomes: 0 won and 0 lost so far — "
                           "50 more won and 50 more lost needed.", id="nothing"),
    ],
)
def test_too_little_data_is_refused(won: int, lost: int, message: str) -> None:
    rows = [{"industry": "SaaS"}] * (won + lost)
    with pytest.raises(NotEnoughOutcomes) as caught:
        fit_learned_model(rows, [True] * won + [False] * lost)
    error = caught.value
    assert (error.won, error.lost, error.needed_won, error.needed_lost) == (won, lost, 50, 50)
    assert str(error) == error.message == message
    assert isinstance(error, ValueError)


def test_min_each_is_the_threshold() -> None:
    rows, won = generated(400, seed=2, base=-1.0)
    fewest = min(sum(won), len(won) - sum(won))
    with pytest.raises(NotEnoughOutcomes):
        fit_learned_model(rows, won, min_each=fewest + 1)
    assert fit_learned_model(rows, won, min_each=fewest).n_won == sum(won)


def test_rows_and_outcomes_must_pair_up() -> None:
    with pytest.raises(ValueError, match="same length") as caught:
        fit_learned_model([{}] * 3, [True, False])
    assert str(caught.value) == LENGTHS_DIFFER.format(rows=3, won=2)


def test_column_kinds_are_read_from_the_values() -> None:
    rng = random.Random(3)
    rows = [{
        "attributes.employees": rng.choice(["50k", "1.2M", "51-200", "1,000", "N/A"]),
        "attributes.source": rng.choice(["Webinar", "Referral", "Ads"]),
        "attributes.notes": " ".join(rng.sample(BIO_WORDS, 5)),
        "role": f"Head of {rng.choice(BIO_WORDS)} {i}",  # too varied to be a category: words
        "tags": ("vip",) if i % 2 else (),
        "linkedin_bio": "Short.",
        "events.page_view.count": i % 4,
        "rule:Big budget": i % 3 == 0,
        "rule:Rarely fires": i == 0,  # fewer rows than a column needs
        "days_since_creation": i,
        "attributes.empty": "",
    } for i in range(300)]
    assert plan_columns(rows) == [
        ColumnPlan("attributes.employees", "numeric"),
        ColumnPlan("attributes.notes", "words", "text"),
        ColumnPlan("attributes.source", "category"),
        ColumnPlan("days_since_creation", "numeric"),
        ColumnPlan("events.page_view.count", "count"),
        ColumnPlan("linkedin_bio", "words", "text"),
        ColumnPlan("role", "words", "text"),
        ColumnPlan("rule:Big budget", "flag"),
        ColumnPlan("tags", "words", "tags"),
    ]


def test_a_sampled_cross_validation_calibrates_on_the_hold_out(
        data: tuple[list[dict[str, object]], list[bool]]) -> None:
    rows, won = data
    result = fit_learned_model(rows, won, cv_max_rows=600)
    probabilities = [predict(result.model, row).probability for row in rows]
    assert len(result.cv_fold_aucs) == 5 and result.cv_auc > 0.7 and result.holdout_auc > 0.75
    assert np.mean(probabilities) == pytest.approx(np.mean(won), abs=0.03)
    assert np.max(np.abs(np.array(probabilities) - result.estimator.predict_proba(rows))) < 1e-9
