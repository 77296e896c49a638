"""When a transition fires a workflow, and what a trigger config may say (leads/automation/triggers.py). No DB."""

from __future__ import annotations

from typing import Any

import pytest

from leads.automation.triggers import (
    BAD_DIRECTION,
    BAD_EVERY,
    BAD_FIELD,
    BAD_INTENT,
    BAD_MIN_SCORE,
    BAD_STAGE,
    THRESHOLD_REQUIRED,
    UNKNOWN_KEYS,
    TransitionFacts,
    TriggerConfigError,
    fires,
    validate_trigger,
)


def score(previous: int | None, new: int | None, *, previous_intent: str = "", intent: str = "",
          previous_stage: str = "", stage: str = "", cause: str = "rescore") -> TransitionFacts:
    return TransitionFacts(kind="score", cause=cause, previous_score=previous, score=new,
                           previous_intent=previous_intent, intent=intent, previous_stage=previous_stage, stage=stage)


def field(name: str, value: Any, *, cause: str = "manual") -> TransitionFacts:
    return TransitionFacts(kind="field", cause=cause, field_name=name, new_value=value)


UP_70 = {"score": 70, "direction": "up"}
DOWN_50 = {"score": 50, "direction": "down"}

THRESHOLD_CASES = [
    # (case, config, transition, fires?)
    ("below to above", UP_70, score(50, 80), True),
    ("above to above", UP_70, score(80, 90), False),
    ("above to above, lower", UP_70, score(90, 75), False),
    ("equal score rescored", UP_70, score(80, 80), False),
    ("equal score below", UP_70, score(40, 40), False),
    ("exactly at the threshold from below", UP_70, score(69, 70), True),
    ("from the threshold upwards", UP_70, score(70, 71), False),
    ("first score above", UP_70, score(None, 85), True),
    ("first score exactly at", UP_70, score(None, 70), True),
    ("first score below", UP_70, score(None, 69), False),
    ("above to below does not fire up", UP_70, score(80, 60), False),
    ("no direction means up", {"score": 70}, score(50, 80), True),
    ("no direction, going down", {"score": 70}, score(80, 50), False),
    ("no new score", UP_70, score(50, None), False),
    ("threshold 0, first score 0", {"score": 0}, score(None, 0), True),
    ("threshold 100 reached", {"score": 100}, score(99, 100), True),
    ("down: above to below", DOWN_50, score(60, 40), True),
    ("down: from exactly at to below", DOWN_50, score(50, 49), True),
    ("down: to exactly at is not below", DOWN_50, score(60, 50), False),
    ("down: below to below", DOWN_50, score(40, 30), False),
    ("down: rising", DOWN_50, score(40, 60), False),
    ("down: first score below", DOWN_50, score(None, 10), False),
    ("down: knockout to 0", DOWN_50, score(85, 0, stage="disqualified", previous_stage="sql"), True),
    ("up: knockout to 0", UP_70, score(85, 0), False),
    ("fell below (down fires)", DOWN_50, score(80, 20), True),
    ("then rose again (up fires again)", {"score": 50, "direction": "up"}, score(20, 80), True),
    ("what a workflow moved fires nothing (no loops)", UP_70, score(50, 80, cause="workflow"), False),
    ("field transitions never fire thresholds", UP_70, field("status", "qualified"), False),
]


@pytest.mark.parametrize(("case", "config", "transition", "expected"), THRESHOLD_CASES,
                         ids=[c[0] for c in THRESHOLD_CASES])
def test_score_threshold(case: str, config: dict[str, Any], transition: TransitionFacts, expected: bool) -> None:
    assert fires("score_threshold", config, transition) is expected, (case, config, transition)


def test_falling_below_and_rising_again_fires_each_crossing() -> None:
    """A sequence of scores: the up-70 threshold fires on each rise through 70, never in between."""
    sequence = [None, 50, 80, 85, 60, 60, 75, 100, 0, 70]
    fired = [fires("score_threshold", UP_70, score(a, b)) for a, b in zip(sequence, sequence[1:], strict=False)]
    assert fired == [False, True, False, False, False, True, False, False, True]


OTHER_CASES = [
    ("stage_change", {"stage": "sql"}, score(60, 75, previous_stage="mql", stage="sql"), True),
    ("stage_change", {"stage": "sql"}, score(None, 80, stage="sql"), True),
    ("stage_change", {"stage": "sql"}, score(60, 65, previous_stage="", stage="mql"), False),
    ("stage_change", {"stage": "sql"}, score(75, 90, previous_stage="sql", stage="sql"), False),
    ("stage_change", {}, score(60, 65, previous_stage="", stage="mql"), True),
    ("stage_change", {}, score(45, 75, previous_stage="mql", stage="sql"), True),
    ("stage_change", {}, score(45, 55, previous_stage="mql", stage="mql"), False),
    ("stage_change", {}, score(None, 10), False),
    ("stage_change", {"stage": "disqualified"}, score(80, 0, previous_stage="sql", stage="disqualified"), True),
    ("stage_change", {}, field("status", "qualified"), False),
    ("intent_change", {"intent": "High"}, score(60, 75, previous_intent="Medium", intent="High"), True),
    ("intent_change", {"intent": "High"}, score(None, 90, intent="High"), True),
    ("intent_change", {"intent": "High"}, score(75, 90, previous_intent="High", intent="High"), False),
    ("intent_change", {"intent": "High"}, score(30, 50, previous_intent="Low", intent="Medium"), False),
    ("intent_change", {"intent": "Low"}, score(80, 10, previous_intent="High", intent="Low"), True),
    ("intent_change", {}, score(30, 50, previous_intent="Low", intent="Medium"), True),
    ("intent_change", {}, score(30, 35, previous_intent="Low", intent="Low"), False),
    ("field_update", {"field": "status"}, field("status", "working"), True),
    ("field_update", {"field": "status", "value": "qualified"}, field("status", "qualified"), True),
    ("field_update", {"field": "status", "value": "qualified"}, field("status", "working"), False),
    ("field_update", {"field": "status"}, field("owner", "alice"), False),
    ("field_update", {"field": "status"}, field("status", "qualified", cause="workflow"), False),
    ("field_update", {"field": "status", "value": "qualified"}, field("status", "qualified", cause="workflow"),
     False),
    ("field_update", {"field": "owner", "value": "alice"}, field("owner", "alice"), True),
    ("field_update", {"field": "tags"}, field("tags", ["hot"]), True),
    ("field_update", {"field": "status"}, score(50, 80), False),
    ("scheduled", {"every_hours": 24}, score(50, 80, previous_stage="mql", stage="sql"), False),
    ("scheduled", {"every_hours": 24}, field("status", "qualified"), False),
    ("manual", {}, score(None, 100, intent="High", stage="sql"), False),
    ("manual", {}, field("status", "qualified"), False),
    ("unknown_trigger", {}, score(None, 100, intent="High", stage="sql"), False),
]


@pytest.mark.parametrize(("trigger", "config", "transition", "expected"), OTHER_CASES)
def test_other_triggers(trigger: str, config: dict[str, Any], transition: TransitionFacts, expected: bool) -> None:
    assert fires(trigger, config, transition) is expected, (trigger, config, transition)


VALID_CONFIGS = [
    ("score_threshold", {"score": 75}, {"score": 75, "direction": "up"}),
    ("score_threshold", {"score": 0, "direction": "down"}, {"score": 0, "direction": "down"}),
    ("score_threshold", {"score": 100, "direction": "up"}, {"score": 100, "direction": "up"}),
    ("stage_change", {}, {}),
    ("stage_change", {"stage": "sql"}, {"stage": "sql"}),
    ("intent_change", {}, {}),
    ("intent_change", {"intent": "Medium"}, {"intent": "Medium"}),
    ("field_update", {"field": "status"}, {"field": "status"}),
    ("field_update", {"field": "attributes", "value": {"tier": "a"}}, {"field": "attributes", "value": {"tier": "a"}}),
    ("scheduled", {"every_hours": 1}, {"every_hours": 1}),
    ("scheduled", {"every_hours": 720, "min_score": 0, "stage": "sql"}, {"every_hours": 720, "min_score": 0,
                                                                          "stage": "sql"}),
    ("manual", {}, {}),
]


@pytest.mark.parametrize(("trigger", "config", "cleaned"), VALID_CONFIGS)
def test_valid_configs(trigger: str, config: dict[str, Any], cleaned: dict[str, Any]) -> None:
    assert validate_trigger(trigger, config) == cleaned


INVALID_CONFIGS = [
    ("score_threshold", {}, THRESHOLD_REQUIRED),
    ("score_threshold", {"score": "75"}, THRESHOLD_REQUIRED),
    ("score_threshold", {"score": 75.5}, THRESHOLD_REQUIRED),
    ("score_threshold", {"score": True}, THRESHOLD_REQUIRED),
    ("score_threshold", {"score": -1}, THRESHOLD_REQUIRED),
    ("score_threshold", {"score": 101}, THRESHOLD_REQUIRED),
    ("score_threshold", {"score": None}, THRESHOLD_REQUIRED),
    ("score_threshold", {"score": 70, "direction": "sideways"}, BAD_DIRECTION),
    ("score_threshold", {"score": 70, "direction": None}, BAD_DIRECTION),
    ("score_threshold", {"score": 70, "stage": "sql"}, UNKNOWN_KEYS.format(trigger="score_threshold", keys="stage")),
    ("stage_change", {"stage": ""}, BAD_STAGE),
    ("stage_change", {"stage": "   "}, BAD_STAGE),
    ("stage_change", {"stage": 3}, BAD_STAGE),
    ("stage_change", {"stage": None}, BAD_STAGE),
    ("stage_change", {"stage": "sql", "score": 1, "intent": "High"},
     UNKNOWN_KEYS.format(trigger="stage_change", keys="intent, score")),
    ("intent_change", {"intent": "high"}, BAD_INTENT),
    ("intent_change", {"intent": "Hot"}, BAD_INTENT),
    ("intent_change", {"intent": None}, BAD_INTENT),
    ("field_update", {}, BAD_FIELD),
    ("field_update", {"field": "score"}, BAD_FIELD),
    ("field_update", {"field": "Status"}, BAD_FIELD),
    ("field_update", {"field": "status", "to": "x"}, UNKNOWN_KEYS.format(trigger="field_update", keys="to")),
    ("scheduled", {}, BAD_EVERY),
    ("scheduled", {"every_hours": 0}, BAD_EVERY),
    ("scheduled", {"every_hours": 721}, BAD_EVERY),
    ("scheduled", {"every_hours": "24"}, BAD_EVERY),
    ("scheduled", {"every_hours": 1.5}, BAD_EVERY),
    ("scheduled", {"every_hours": 24, "min_score": 101}, BAD_MIN_SCORE),
    ("scheduled", {"every_hours": 24, "min_score": "70"}, BAD_MIN_SCORE),
    ("scheduled", {"every_hours": 24, "min_score": False}, BAD_MIN_SCORE),
    ("scheduled", {"every_hours": 24, "stage": ""}, BAD_STAGE),
    ("scheduled", {"every_hours": 24, "score": 70}, UNKNOWN_KEYS.format(trigger="scheduled", keys="score")),
    ("manual", {"score": 70}, UNKNOWN_KEYS.format(trigger="manual", keys="score")),
]


@pytest.mark.parametrize(("trigger", "config", "message"), INVALID_CONFIGS)
def test_invalid_configs(trigger: str, config: dict[str, Any], message: str) -> None:
    with pytest.raises(TriggerConfigError) as caught:
        validate_trigger(trigger, config)
    assert caught.value.message == message
    assert str(caught.value) == message


def test_error_texts() -> None:
    """The sentences a client sees, exactly."""
    assert THRESHOLD_REQUIRED == 'score_threshold needs {"score": a whole number from 0 to 100}.'
    assert BAD_DIRECTION == 'direction is "up" (crossing upwards, the default) or "down".'
    assert BAD_STAGE == 'stage must be a stage key such as "sql".'
    assert BAD_INTENT == "intent must be High, Medium or Low."
    assert BAD_FIELD == ("field must be one of: name, role, company, industry, location, linkedin_bio, email, "
                         "status, owner, tags, attributes.")
    assert BAD_EVERY == 'scheduled needs {"every_hours": a whole number from 1 to 720}.'
    assert BAD_MIN_SCORE == "min_score must be a whole number from 0 to 100."
    assert UNKNOWN_KEYS.format(trigger="manual", keys="a, b") == "Unknown settings for manual: a, b."


def test_validation_does_not_change_the_input() -> None:
    config = {"score": 80}
    assert validate_trigger("score_threshold", config) == {"score": 80, "direction": "up"}
    assert config == {"score": 80}
