"""`python -m bench.agreement [FIXTURE ...]`: how the local intent provider agrees with hand labels.

For each labelled set (default: the tuning set and the held-out set in leads/tests/fixtures/) it
prints overall agreement, recall per label, the confusion matrix (rows: the hand label, columns: the
provider's verdict), the share of High<->Low confusions, and the Pearson correlation between the
rule layer's points (role, industry, completeness) and the AI layer's points: a high correlation
means the AI part re-counts what the rules already scored. Last, the agreement of the final intent
(rule points + AI points, High from 70, Medium from 40: the built-in default model) with the labels.
No database, no network.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from leads.scoring.engine import intent_for
from leads.scoring.intent.base import AI_POINTS
from leads.scoring.intent.local import LocalIntentProvider
from leads.scoring.rules import completeness_rule, industry_rule, role_rule
from leads.scoring.types import INTENTS, IntentResult, LeadData, OfferData

FIXTURES = Path(__file__).absolute().parent.parent / "leads" / "tests" / "fixtures"
DEFAULT_SETS = (FIXTURES / "labelled_leads.json", FIXTURES / "labelled_leads_holdout.json")
LEAD_FIELDS = ("name", "role", "company", "industry", "location", "linkedin_bio")


def load(path: Path) -> tuple[dict[str, OfferData], list[dict[str, Any]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    offers = {
        key: OfferData(spec["name"], tuple(spec["value_props"]), tuple(spec["ideal_use_cases"]),
                       tuple(spec.get("adjacent_industries", ())))
        for key, spec in data["offers"].items()
    }
    return offers, data["leads"]


def measure(path: Path) -> dict[str, Any]:
    offers, rows = load(path)
    provider = LocalIntentProvider()
    confusion: Counter[tuple[str, str]] = Counter()
    rule_points: list[float] = []
    ai_points: list[float] = []
    final_agreed = 0
    for row in rows:
        lead = LeadData(**{name: row[name] for name in LEAD_FIELDS})
        offer = offers[row["offer"]]
        result = provider.classify_many([lead], offer)[0]
        assert isinstance(result, IntentResult), result
        confusion[row["label"], result.intent] += 1
        hits = [hit for rule in (role_rule, industry_rule, completeness_rule) if (hit := rule(lead, offer))]
        rule_points.append(sum(hit.points for hit in hits))
        ai_points.append(AI_POINTS[result.intent])
        final_agreed += intent_for(int(rule_points[-1] + ai_points[-1])) == row["label"]
    total = len(rows)
    agreed = sum(confusion[label, label] for label in INTENTS)
    per_label = {
        label: (confusion[label, label], sum(confusion[label, other] for other in INTENTS)) for label in INTENTS
    }
    high_low = confusion["High", "Low"] + confusion["Low", "High"]
    return {
        "set": path.name, "leads": total, "agreed": agreed, "agreement": agreed / total,
        "per_label": per_label, "confusion": confusion, "high_low": high_low,
        "correlation": statistics.correlation(rule_points, ai_points), "final_agreed": final_agreed,
    }


def render(result: dict[str, Any]) -> str:
    lines = [f"{result['set']}: {result['agreed']}/{result['leads']} agree ({result['agreement']:.1%})"]
    lines.append("  recall: " + ", ".join(
        f"{label} {hit}/{n} ({hit / n:.0%})" for label, (hit, n) in result["per_label"].items() if n))
    lines.append("  confusion (label -> verdict):  " + "  ".join(f"{v:>6}" for v in INTENTS))
    for label in INTENTS:
        lines.append(f"  {label:>28}:  " + "  ".join(f"{result['confusion'][label, v]:>6}" for v in INTENTS))
    lines.append(f"  High<->Low confusions: {result['high_low']} ({result['high_low'] / result['leads']:.1%})")
    lines.append(f"  correlation of rule points and AI points: {result['correlation']:.2f}")
    lines.append(f"  final intent (rules + AI, default model) agrees: {result['final_agreed']}/{result['leads']} "
                 f"({result['final_agreed'] / result['leads']:.1%})")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv] or [path for path in DEFAULT_SETS if path.exists()]
    for path in paths:
        print(render(measure(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
