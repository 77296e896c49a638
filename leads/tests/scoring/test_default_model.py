"""The built-in default scoring model reproduces the first stage's fixed formula exactly.

The golden file was recorded from the fixed formula before scoring models existed (see its
`_about`); every case must come out with the same score, labels, reasoning and breakdown fields.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leads.scoring.engine import DEFAULT_MODEL, evaluate
from leads.scoring.facts import LeadFacts
from leads.scoring.model import compile_model
from leads.scoring.templates import TEMPLATES
from leads.scoring.types import IntentResult, LeadData, OfferData

GOLDEN = json.loads((Path(__file__).parent.parent / "fixtures" / "default_model_golden.json").read_text("utf-8"))
OFFERS = {key: OfferData(o["name"], tuple(o["value_props"]), tuple(o["ideal_use_cases"]),
                         tuple(o.get("adjacent_industries", ()))) for key, o in GOLDEN["offers"].items()}
NOW = datetime(2026, 12, 1, tzinfo=UTC)
FIRST_STAGE_KEYS = ("rule_score", "ai_score", "ai_intent", "rules", "ai")


def with_ai_points(recorded: dict) -> dict:  # type: ignore[type-arg]
    """The recording with the one deliberate change since: the AI part of the reasoning opens with
    the verdict and its points ("[AI: High (+50): …]", as each rule shows its own), and a verdict
    that began with its own label ("High: …") is not labelled twice. Everything else is as recorded."""
    head, separator, ai = recorded["reasoning"].partition("] [AI: ")
    assert separator and ai.endswith("]"), recorded["reasoning"]
    ai, intent = ai[:-1], recorded["ai_intent"]
    if ai.startswith(f"{intent}: "):
        ai = ai[len(intent) + 2:]
    return {**recorded, "reasoning": f"{head}{separator}{intent} ({recorded['ai_score']:+d}): {ai}]"}


def _result(model, case):  # type: ignore[no-untyped-def]
    verdict = IntentResult(**case["verdict"])
    return evaluate(model, LeadFacts(lead=LeadData(*case["lead"]), now=NOW), OFFERS[case["offer"]], verdict)


@pytest.mark.parametrize("model", [DEFAULT_MODEL, compile_model(TEMPLATES["default"].spec)],
                         ids=["built-in", "template copy"])
def test_every_golden_case_is_reproduced(model) -> None:  # type: ignore[no-untyped-def]
    mismatches = []
    for case in GOLDEN["cases"]:
        result = _result(model, case)
        expected = with_ai_points(case["expected"])
        got = {"rule_score": result.rule_score, "ai_score": result.ai_score, "score": result.score,
               "intent": result.intent, "ai_intent": result.ai_intent, "reasoning": result.reasoning,
               "breakdown": {key: result.breakdown[key] for key in FIRST_STAGE_KEYS}}
        if got != expected:
            mismatches.append((case["lead"], got, expected))
    assert len(GOLDEN["cases"]) == 687
    assert mismatches == []


def test_new_breakdown_fields_add_up_to_the_old_ones() -> None:
    for case in GOLDEN["cases"][:200]:
        result = _result(DEFAULT_MODEL, case)
        parts = {c["part"]: c for c in result.breakdown["components"]}
        assert parts["rules"]["points"] == result.rule_score == sum(r["points"] for r in parts["rules"]["rules"])
        assert parts["ai"]["points"] == result.ai_score
        assert sum(c["points"] for c in result.breakdown["components"]) == result.score
        assert [r["label"] for r in parts["rules"]["rules"]] == [r["label"] for r in result.breakdown["rules"]]
        assert {r["group"] for r in parts["rules"]["rules"]} <= {"demographic", "firmographic"}
