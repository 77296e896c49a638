"""Does a transition fire a workflow? Pure: a transition and a trigger config in, yes or no out.

    fires(trigger_type, trigger_config, transition) -> bool
    validate_trigger(trigger_type, trigger_config) -> cleaned config   # raises TriggerConfigError

- `score_threshold` `{"score": 75, "direction": "up"}`: fires when a score *crosses* the threshold:
  the previous score below it (or no previous score: a lead's first score counts as rising from
  nothing) and the new one at or above it. `"direction": "down"` fires on the way back below. An
  unchanged score never crosses, so rescoring a lead that didn't move fires nothing; falling below
  and rising again fires again.
- `stage_change` `{"stage": "sql"}`: the lead entered that stage (any stage when none is given).
- `intent_change` `{"intent": "High"}`: the intent became that label (any change when none is given).
- `field_update` `{"field": "status", "value": "qualified"}`: a person changed that lead field (to
  that value when given).
- A change an automation made (a status, a tag, a stage it set) fires no workflow at all, so two
  workflows can never feed each other for ever.
- `scheduled` `{"every_hours": 24, "min_score": 70, "stage": "sql"}` and `manual` are not fired by
  transitions: the scheduler and `POST /api/workflows/{id}/run/` start them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

INTENTS = ("High", "Medium", "Low")
WORKFLOW_CAUSE = "workflow"
TRANSITION_TRIGGERS = ("score_threshold", "stage_change", "intent_change", "field_update")
FIELD_TRIGGER_FIELDS = ("name", "role", "company", "industry", "location", "linkedin_bio", "email", "status",
                        "owner", "tags", "attributes")

THRESHOLD_REQUIRED = "score_threshold needs {\"score\": a whole number from 0 to 100}."
BAD_DIRECTION = 'direction is "up" (crossing upwards, the default) or "down".'
BAD_STAGE = "stage must be a stage key such as \"sql\"."
BAD_INTENT = "intent must be High, Medium or Low."
BAD_FIELD = "field must be one of: " + ", ".join(FIELD_TRIGGER_FIELDS) + "."
BAD_EVERY = "scheduled needs {\"every_hours\": a whole number from 1 to 720}."
BAD_MIN_SCORE = "min_score must be a whole number from 0 to 100."
UNKNOWN_KEYS = "Unknown settings for {trigger}: {keys}."


class TriggerConfigError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class TransitionFacts:
    kind: str  # "score" or "field"
    cause: str
    previous_score: int | None = None
    score: int | None = None
    previous_intent: str = ""
    intent: str = ""
    previous_stage: str = ""
    stage: str = ""
    field_name: str = ""
    new_value: Any = None


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


_ALLOWED_KEYS = {
    "score_threshold": {"score", "direction"},
    "stage_change": {"stage"},
    "intent_change": {"intent"},
    "field_update": {"field", "value"},
    "scheduled": {"every_hours", "min_score", "stage"},
    "manual": set(),
}


def validate_trigger(trigger_type: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with its defaults, or TriggerConfigError with a sentence naming what to fix."""
    unknown = set(config) - _ALLOWED_KEYS.get(trigger_type, set())
    if unknown:
        raise TriggerConfigError(UNKNOWN_KEYS.format(trigger=trigger_type, keys=", ".join(sorted(unknown))))
    cleaned = dict(config)
    if trigger_type == "score_threshold":
        if not _whole(config.get("score"), 0, 100):
            raise TriggerConfigError(THRESHOLD_REQUIRED)
        cleaned["direction"] = config.get("direction", "up")
        if cleaned["direction"] not in ("up", "down"):
            raise TriggerConfigError(BAD_DIRECTION)
    elif trigger_type in ("stage_change", "scheduled") and "stage" in config and (
            not isinstance(config["stage"], str) or not config["stage"].strip()):
        raise TriggerConfigError(BAD_STAGE)
    if trigger_type == "intent_change" and "intent" in config and config["intent"] not in INTENTS:
        raise TriggerConfigError(BAD_INTENT)
    if trigger_type == "field_update" and config.get("field") not in FIELD_TRIGGER_FIELDS:
        raise TriggerConfigError(BAD_FIELD)
    if trigger_type == "scheduled":
        if not _whole(config.get("every_hours"), 1, 720):
            raise TriggerConfigError(BAD_EVERY)
        if "min_score" in config and not _whole(config["min_score"], 0, 100):
            raise TriggerConfigError(BAD_MIN_SCORE)
    return cleaned


def fires(trigger_type: str, config: Mapping[str, Any], t: TransitionFacts) -> bool:
    if t.cause == WORKFLOW_CAUSE:
        return False  # what an automation changed fires no workflow: two can't feed each other for ever
    if t.kind == "field":
        return (trigger_type == "field_update" and t.field_name == config.get("field")
                and ("value" not in config or t.new_value == config["value"]))
    if trigger_type == "score_threshold":
        if t.score is None:
            return False
        threshold = config["score"]
        if config.get("direction", "up") == "down":
            return t.previous_score is not None and t.previous_score >= threshold > t.score
        return (t.previous_score is None or t.previous_score < threshold) and t.score >= threshold
    if trigger_type == "stage_change":
        wanted = config.get("stage")
        return t.stage != t.previous_stage and (wanted is None or t.stage == wanted)
    if trigger_type == "intent_change":
        wanted = config.get("intent")
        return t.intent != t.previous_intent and (wanted is None or t.intent == wanted)
    return False
