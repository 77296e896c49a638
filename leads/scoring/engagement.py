"""The engagement part of a scoring model: points per event type that fade with a half-life. Pure.

    engagement_points(config, engagement, now) -> (points, per-type details)

Config (a scoring model's `engagement`):
`{"email_open": {"points": 5, "half_life_days": 14, "max_points": 20}, ..., "horizon_days": 180,
"max_points": 40}`. An event of a type is worth `points × 0.5 ^ (age in days / half_life_days)`: an
open is worth 5 today and 2.5 after 14 days; one older than `horizon_days` counts for nothing.
Each type is capped at its `max_points`, the part at `max_points` when given. The ages come from
the lead's per-day counts (LeadEngagement.daily), so a lead costs at most one term per day with
events in the horizon, never a read of its events.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leads.scoring.facts import EngagementFacts

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_HORIZON_DAYS = 180
MAX_HORIZON_DAYS = 730
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
SETTINGS_KEYS = ("horizon_days", "max_points")

BAD_ENGAGEMENT = ('engagement maps event types to {"points": -100…100, "half_life_days": 0.1…3650, '
                  '"max_points": 0…100 (optional)}, plus optional "horizon_days" (1…730) and "max_points" (0…100).')


def day_number(moment: datetime) -> int:
    return (moment - EPOCH).days


def _number(value: object, low: float, high: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def validate_engagement(config: object) -> None:
    """Raise ValueError(BAD_ENGAGEMENT) for a config the engine can't use."""
    if not isinstance(config, Mapping):
        raise ValueError(BAD_ENGAGEMENT)
    for key, value in config.items():
        if key == "horizon_days":
            ok = _number(value, 1, MAX_HORIZON_DAYS)
        elif key == "max_points":
            ok = _number(value, 0, 100)
        else:
            ok = (isinstance(key, str) and bool(EVENT_TYPE.match(key)) and isinstance(value, Mapping)
                  and set(value) <= {"points", "half_life_days", "max_points"}
                  and _number(value.get("points"), -100, 100) and _number(value.get("half_life_days"), 0.1, 3650)
                  and ("max_points" not in value or _number(value["max_points"], 0, 100)))
        if not ok:
            raise ValueError(BAD_ENGAGEMENT)


def engagement_points(config: Mapping[str, Any], engagement: EngagementFacts,
                      now: datetime) -> tuple[int, list[dict[str, Any]]]:
    """The part's points and, per type that scored, {type, events, points, capped_from?}."""
    horizon = config.get("horizon_days", DEFAULT_HORIZON_DAYS)
    today = day_number(now)
    details: list[dict[str, Any]] = []
    total = 0
    for event_type, rule in config.items():
        if event_type in SETTINGS_KEYS:
            continue
        buckets = engagement.daily.get(event_type)
        if buckets:
            # A day ahead of the clock (ingest allows a day of skew) counts as today.
            terms = [(count, max(today - day, 0)) for day, count in buckets.items() if today - day < horizon]
        else:
            # Without day counts, the type's events are taken at the age of its latest one (an upper
            # bound on their worth; aggregates written by ingest always have day counts).
            last = engagement.last_at.get(event_type)
            count = engagement.counts.get(event_type, 0)
            terms = [(count, (now - last).days)] if last is not None and count and (now - last).days < horizon else []
        if not terms:
            continue
        half_life = rule["half_life_days"]
        raw = sum(count * rule["points"] * 0.5 ** (max(age, 0) / half_life) for count, age in terms)
        points = math.floor(raw + 0.5)  # halves up, as people round (round() would take 2.5 to 2)
        entry: dict[str, Any] = {"type": event_type, "events": sum(count for count, _ in terms), "points": points}
        cap = rule.get("max_points")
        if cap is not None and points > cap:
            entry["capped_from"], entry["points"] = points, cap
        if entry["points"]:
            details.append(entry)
            total += entry["points"]
    return total, details
