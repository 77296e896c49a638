"""Qualification stages: which stage a freshly scored lead is in. Pure.

    stage_for(stages, score=…, facts=…, previous=…, knocked_out=…) -> stage key or ""

A lead is in the furthest active stage (highest `order`) whose criteria all hold: the score reaches
`minimum_score`, every `required_fields` field has a value, and every `required_actions` event
type happened (within `time_constraint_days` when set). Stages move forward only: a lead keeps a
stage it reached earlier when a later score would put it lower, unless that stage says otherwise
(`forward_only` off). A knockout puts the lead in `disqualified`; a stage a person chose stays
until a person changes it (the service never calls this for those).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from leads.scoring.facts import LeadFacts, Reader, field_reader
from leads.scoring.operators import is_empty_value

DISQUALIFIED = "disqualified"


@dataclass(frozen=True, slots=True)
class StageSpec:
    key: str
    name: str
    order: int
    minimum_score: int = 0
    required_fields: tuple[str, ...] = ()
    required_actions: tuple[str, ...] = ()
    time_constraint_days: int | None = None
    forward_only: bool = True


@dataclass(frozen=True, slots=True)
class CompiledStage:
    spec: StageSpec
    readers: tuple[Reader, ...]

    def holds(self, score: int, facts: LeadFacts) -> bool:
        spec = self.spec
        if score < spec.minimum_score:
            return False
        if any(is_empty_value(read(facts)) for read in self.readers):
            return False
        engagement = facts.engagement
        for action in spec.required_actions:
            if spec.time_constraint_days is None:
                if engagement.counts.get(action, 0) <= 0:
                    return False
            else:
                last = engagement.last_at.get(action)
                if last is None or last < facts.now - timedelta(days=spec.time_constraint_days):
                    return False
        return True


def compile_stages(specs: Sequence[StageSpec]) -> tuple[CompiledStage, ...]:
    """Furthest first; raises ValueError for a required field that can't be a field."""
    ordered = sorted(specs, key=lambda spec: spec.order, reverse=True)
    return tuple(CompiledStage(spec, tuple(field_reader(name) for name in spec.required_fields)) for spec in ordered)


def stage_for(stages: Sequence[CompiledStage], *, score: int, facts: LeadFacts, previous: str = "",
              knocked_out: bool = False) -> str:
    if knocked_out:
        return DISQUALIFIED
    reached = next((stage for stage in stages if stage.holds(score, facts)), None)
    if previous and previous != DISQUALIFIED:
        held = next((stage for stage in stages if stage.spec.key == previous), None)
        if held is not None and held.spec.forward_only and (reached is None or held.spec.order > reached.spec.order):
            return previous
    return reached.spec.key if reached is not None else ""
