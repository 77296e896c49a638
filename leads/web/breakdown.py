"""A stored score breakdown as lines a person can add up: each rule, each group cap, each part, the
sum and the clamp to 0–100. Pure: a breakdown dict in, display rows out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PART_NAMES = {"rules": "Rules", "ai": "AI verdict", "engagement": "Engagement", "learned": "Learned model"}


@dataclass(frozen=True)
class Part:
    key: str
    name: str
    points: int
    capped_from: int | None
    detail: str = ""
    #: (label, points, note) for what the part adds up: rules, groups, event types.
    items: list[tuple[str, int, str]] = field(default_factory=list)
    groups: list[tuple[str, int, int | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Breakdown:
    parts: list[Part]
    total: int
    score: int
    capped_from: int | None
    knockout: str | None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def breakdown_of(breakdown: dict[str, Any], score: int) -> Breakdown:
    parts: list[Part] = []
    for component in breakdown.get("components") or []:
        key = str(component.get("part", "?"))
        capped = component.get("capped_from")
        items: list[tuple[str, int, str]] = []
        groups: list[tuple[str, int, int | None]] = []
        detail = ""
        if key == "rules":
            items = [(str(r.get("label", "")), _int(r.get("points")), str(r.get("group", "")))
                     for r in component.get("rules") or []]
            groups = [(str(g.get("group", "")), _int(g.get("points")),
                       _int(g["capped_from"]) if "capped_from" in g else None)
                      for g in component.get("groups") or []]
        elif key == "ai":
            detail = str(component.get("intent") or "")
        elif key == "learned":
            # round(probability × weight × blend): the numbers a person multiplies to check the points.
            detail = (f"{float(component.get('probability') or 0):.0%} likely to convert × "
                      f"{component.get('weight', 0)} points × blend {component.get('blend', 0):g}")
        elif key == "engagement":
            items = [(str(t.get("type", "")).replace("_", " "), _int(t.get("points")), f"×{t.get('events', 0)}")
                     for t in component.get("types") or []]
        parts.append(Part(key=key, name=PART_NAMES.get(key, key), points=_int(component.get("points")),
                          capped_from=_int(capped) if capped is not None else None, detail=detail,
                          items=items, groups=groups))
    knockout = breakdown.get("knockout")
    total = sum(part.points for part in parts)
    capped = breakdown.get("capped_from")
    return Breakdown(parts=parts, total=total, score=score, capped_from=_int(capped) if capped is not None else None,
                     knockout=str(knockout.get("label") if isinstance(knockout, dict) else knockout)
                     if knockout else None)
