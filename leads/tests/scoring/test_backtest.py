"""Backtest arithmetic: AUC against its definition (every won/lost pair), ties, missing classes,
buckets, intents and the top-decile lift."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from leads.scoring.backtest import auc, backtest_summary


def _auc_by_pairs(scores: list[int], won: list[bool]) -> float:
    pairs = [(w, lo) for w, lo in itertools.product(
        [s for s, x in zip(scores, won, strict=True) if x], [s for s, x in zip(scores, won, strict=True) if not x])]
    return sum(1.0 if w > lo else 0.5 if w == lo else 0.0 for w, lo in pairs) / len(pairs)


@given(st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=2, max_size=60))
def test_auc_is_the_share_of_won_lost_pairs_ranked_right(pairs: list[tuple[int, bool]]) -> None:
    scores = [s for s, _ in pairs]
    won = [w for _, w in pairs]
    if all(won) or not any(won):
        assert auc(scores, won) is None
    else:
        assert auc(scores, won) == round(_auc_by_pairs(scores, won), 4)


def test_auc_cases_a_person_checks_by_hand() -> None:
    assert auc([90, 80, 10, 5], [True, True, False, False]) == 1.0
    assert auc([10, 5, 90, 80], [True, True, False, False]) == 0.0
    assert auc([50, 50], [True, False]) == 0.5
    assert auc([1, 2, 3], [True, True, True]) is None


def test_summary_buckets_intents_and_lift() -> None:
    scores = [95, 85, 70, 65, 50, 45, 30, 20, 10, 5]
    won = [True, True, False, True, False, False, False, False, False, False]
    intents = ["High", "High", "High", "Medium", "Medium", "Medium", "Low", "Low", "Low", "Low"]
    summary = backtest_summary(scores, won, intents)
    assert (summary["leads"], summary["won"], summary["lost"], summary["conversion_rate"]) == (10, 3, 7, 0.3)
    assert [(b["range"], b["leads"], b["won"]) for b in summary["buckets"]] == [
        ("0-19", 2, 0), ("20-39", 2, 0), ("40-59", 2, 0), ("60-79", 2, 1), ("80-100", 2, 2)]
    assert summary["buckets"][4]["conversion_rate"] == 1.0
    assert summary["buckets"][0]["conversion_rate"] == 0.0
    assert summary["intents"]["High"] == {"leads": 3, "won": 2, "conversion_rate": 0.6667}
    assert summary["intents"]["Low"]["conversion_rate"] == 0.0
    # Top 10 % of 10 leads: the best one, won, against a 30 % base rate.
    assert summary["top_decile"] == {"leads": 1, "won": 1, "conversion_rate": 1.0, "lift": 3.333}


def test_an_empty_backtest_has_no_rates() -> None:
    summary = backtest_summary([], [], [])
    assert (summary["auc"], summary["conversion_rate"], summary["top_decile"]["lift"]) == (None, None, None)
    assert all(bucket["conversion_rate"] is None for bucket in summary["buckets"])
