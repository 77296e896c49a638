"""How well scores ranked leads whose outcome is known: pure arithmetic over (score, won) pairs.

    auc([80, 20, 55], [True, False, True]) -> 1.0
    backtest_summary(scores, won, intents) -> {"auc", "buckets", "intents", "top_decile"}

AUC is the probability that a random won lead scores above a random lost one (ties count half),
computed from ranks (Mann–Whitney), so a million pairs cost a sort, not a million squared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BUCKETS = ((0, 19), (20, 39), (40, 59), (60, 79), (80, 100))


def auc(scores: Sequence[float], won: Sequence[bool]) -> float | None:
    """Area under the ROC curve; None when either class is missing (no ranking to judge)."""
    n_won = sum(1 for w in won if w)
    n_lost = len(won) - n_won
    if n_won == 0 or n_lost == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mid_rank = (i + j) / 2 + 1  # ties share the average of their ranks
        rank_sum += mid_rank * sum(1 for k in range(i, j + 1) if won[order[k]])
        i = j + 1
    return round((rank_sum - n_won * (n_won + 1) / 2) / (n_won * n_lost), 4)


def _rate(won: int, leads: int) -> float | None:
    return round(won / leads, 4) if leads else None


def backtest_summary(scores: Sequence[int], won: Sequence[bool], intents: Sequence[str]) -> dict[str, Any]:
    """AUC, conversion per score bucket and per intent, and the lift of the top 10 % by score."""
    total = len(scores)
    wins = sum(1 for w in won if w)
    buckets = []
    for low, high in BUCKETS:
        inside = [w for s, w in zip(scores, won, strict=True) if low <= s <= high]
        buckets.append({"range": f"{low}-{high}", "min": low, "max": high, "leads": len(inside),
                        "won": sum(inside), "conversion_rate": _rate(sum(inside), len(inside))})
    by_intent = {}
    for intent in ("High", "Medium", "Low"):
        inside = [w for i, w in zip(intents, won, strict=True) if i == intent]
        by_intent[intent] = {"leads": len(inside), "won": sum(inside),
                             "conversion_rate": _rate(sum(inside), len(inside))}
    top_n = max(total // 10, 1) if total else 0
    # Best first; among equal scores, the order of the input (not the outcome) decides.
    top = sorted(range(total), key=lambda i: -scores[i])[:top_n]
    top_won = sum(1 for i in top if won[i])
    base_rate = _rate(wins, total)
    top_rate = _rate(top_won, top_n)
    return {
        "leads": total, "won": wins, "lost": total - wins, "conversion_rate": base_rate,
        "auc": auc(scores, won), "buckets": buckets, "intents": by_intent,
        "top_decile": {"leads": top_n, "won": top_won, "conversion_rate": top_rate,
                       "lift": round(top_rate / base_rate, 3) if base_rate and top_rate is not None else None},
    }
