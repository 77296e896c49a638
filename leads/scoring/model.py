"""A scoring model as plain data (`ModelSpec`) and compiled into callables (`CompiledModel`).

    compile_model(spec) -> CompiledModel      # once per (model, version); raises RuleConfigError

The spec is what a `ScoringModelVersion` snapshot stores: settings plus rules, JSON-ready. Compiling
turns each rule into a reader of its field and a predicate over the value read, built from the
operators of `operators.py` or one of the built-in matchers that carry the first stage's title and
industry analysis. Nothing is parsed or `eval`ed per lead: a compiled rule is two plain calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from leads.scoring.engagement import validate_engagement
from leads.scoring.facts import LeadFacts, Reader, field_reader, reads_attributes
from leads.scoring.operators import OPERATORS, RuleConfigError, compile_condition
from leads.scoring.rules import Authority, IndustryFit, classify_title, is_complete, offer_profile
from leads.scoring.types import INTENTS, OfferData

BUILTIN_MATCHERS = ("role_level", "industry_fit", "profile_complete")
ALL_OPERATORS = (*OPERATORS, *BUILTIN_MATCHERS)
RULE_GROUPS = ("demographic", "firmographic", "behavioral", "engagement")

ROLE_LEVELS = {"decision_maker": Authority.DECISION_MAKER, "influencer": Authority.INFLUENCER}
INDUSTRY_FITS = {"exact": IndustryFit.EXACT, "adjacent": IndustryFit.ADJACENT}

BAD_ROLE_LEVEL = "role_level takes decision_maker or influencer."
BAD_INDUSTRY_FIT = "industry_fit takes exact or adjacent."
BAD_RULE_MAX = "rule_max must be a whole number from 0 to 100."
BAD_THRESHOLDS = "medium_from and high_from must be whole numbers with 0 ≤ medium_from ≤ high_from ≤ 100."
BAD_AI_POINTS = "ai_points needs a whole number of points from -100 to 100 for each of High, Medium and Low."
BAD_GROUP_CAPS = ('group_caps maps a group to {"max_points": n, "min_points": n} with whole numbers from -100 to 100 '
                  "and min_points ≤ max_points.")
BAD_POINTS = "points must be a whole number from -100 to 100."
BAD_LEARNED_WEIGHT = "learned_weight must be a whole number of points from 0 to 100 (0 turns the learned part off)."


@dataclass(frozen=True, slots=True)
class RuleSpec:
    name: str
    operator: str
    points: int
    field_name: str = ""
    value: Any = None
    group: str = "demographic"
    priority: int = 100
    is_active: bool = True
    knockout: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    rules: tuple[RuleSpec, ...] = ()
    rule_max: int = 50
    group_caps: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    ai_enabled: bool = True
    ai_points: Mapping[str, int] = field(default_factory=lambda: {"High": 50, "Medium": 30, "Low": 10})
    engagement: Mapping[str, Any] = field(default_factory=dict)
    learned_weight: int = 0
    high_from: int = 70
    medium_from: int = 40
    id: int | None = None
    version: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rules"] = [asdict(rule) for rule in self.rules]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelSpec:
        values = dict(data)
        values["rules"] = tuple(RuleSpec(**rule) for rule in values.get("rules", ()))
        return cls(**values)


Matcher = Callable[[LeadFacts, OfferData], bool]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    spec: RuleSpec
    #: The value the rule looks at (what `test_rule` shows as `value_seen`).
    read: Reader
    #: Whether the rule matches: one closure composed at compile time, since it runs for every
    #: rule of every lead (a million leads under 20 rules is twenty million calls).
    fires: Matcher


@dataclass(frozen=True, slots=True)
class CompiledModel:
    spec: ModelSpec
    rules: tuple[CompiledRule, ...]
    knockouts: tuple[CompiledRule, ...]
    #: Whether any rule reads uploaded columns: services load `attributes` only then.
    needs_attributes: bool
    #: The engine's memo of rule parts per set of fired rules (see engine.evaluate).
    rule_parts: dict[tuple[int, ...], Any] = field(default_factory=dict, compare=False, repr=False)

    def knockout_for(self, facts: LeadFacts, offer: OfferData) -> CompiledRule | None:
        for rule in self.knockouts:
            if rule.fires(facts, offer):
                return rule
        return None


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _builtin(spec: RuleSpec) -> tuple[Reader, Matcher]:
    if spec.operator == "role_level":
        level = ROLE_LEVELS.get(str(spec.value))
        if level is None:
            raise RuleConfigError("value", BAD_ROLE_LEVEL)
        read = field_reader(spec.field_name or "role")
        if (spec.field_name or "role").strip().lower() in ("role", "title"):  # the common case, one call less
            return read, lambda f, o: classify_title(f.lead.role) is level
        return read, lambda f, o: classify_title(str(read(f) or "")) is level
    if spec.operator == "industry_fit":
        fit = INDUSTRY_FITS.get(str(spec.value))
        if fit is None:
            raise RuleConfigError("value", BAD_INDUSTRY_FIT)
        read = field_reader(spec.field_name or "industry")
        if (spec.field_name or "industry").strip().lower() == "industry":
            return read, lambda f, o: offer_profile(o).industry_fit(f.lead.industry) is fit
        return read, lambda f, o: offer_profile(o).industry_fit(str(read(f) or "")) is fit
    # profile_complete: the six profile fields hold real values (placeholders count as missing).
    return (lambda f: is_complete(f.lead)), lambda f, o: is_complete(f.lead)


def compile_rule(spec: RuleSpec) -> CompiledRule:
    """Compile one rule; raises RuleConfigError (field "operator", "value", "field_name" or "points")."""
    if not _whole(spec.points, -100, 100):
        raise RuleConfigError("points", BAD_POINTS)
    if spec.operator in BUILTIN_MATCHERS:
        try:
            read, fires = _builtin(spec)
        except ValueError as exc:
            if isinstance(exc, RuleConfigError):
                raise
            raise RuleConfigError("field_name", str(exc)) from None
        return CompiledRule(spec, read, fires)
    predicate = compile_condition(spec.operator, spec.value)
    try:
        read = field_reader(spec.field_name)
    except ValueError as exc:
        raise RuleConfigError("field_name", str(exc)) from None
    return CompiledRule(spec, read, lambda facts, offer: predicate(read(facts), facts.now))


def validate_settings(spec: ModelSpec) -> None:
    """Raise RuleConfigError for settings outside their ranges (field names as the API spells them)."""
    if not _whole(spec.rule_max, 0, 100):
        raise RuleConfigError("rule_max", BAD_RULE_MAX)
    if not (_whole(spec.medium_from, 0, 100) and _whole(spec.high_from, 0, 100)
            and spec.medium_from <= spec.high_from):
        raise RuleConfigError("high_from", BAD_THRESHOLDS)
    points = spec.ai_points
    if not isinstance(points, Mapping) or set(points) != set(INTENTS) or not all(
            _whole(points[intent], -100, 100) for intent in INTENTS):
        raise RuleConfigError("ai_points", BAD_AI_POINTS)
    if not _whole(spec.learned_weight, 0, 100):
        raise RuleConfigError("learned_weight", BAD_LEARNED_WEIGHT)
    try:
        validate_engagement(spec.engagement)
    except ValueError as exc:
        raise RuleConfigError("engagement", str(exc)) from None
    caps = spec.group_caps
    if not isinstance(caps, Mapping):
        raise RuleConfigError("group_caps", BAD_GROUP_CAPS)
    for group, cap in caps.items():
        if not (isinstance(group, str) and group.strip() and isinstance(cap, Mapping) and cap
                and set(cap) <= {"max_points", "min_points"}
                and all(_whole(v, -100, 100) for v in cap.values())
                and cap.get("min_points", -100) <= cap.get("max_points", 100)):
            raise RuleConfigError("group_caps", BAD_GROUP_CAPS)


def compile_model(spec: ModelSpec) -> CompiledModel:
    """Validate and compile a whole model; rules run in (priority, id) order, inactive ones dropped."""
    validate_settings(spec)
    active = sorted((rule for rule in spec.rules if rule.is_active),
                    key=lambda rule: (rule.priority, rule.id if rule.id is not None else 0))
    compiled = tuple(compile_rule(rule) for rule in active)
    return CompiledModel(
        spec=spec,
        rules=tuple(rule for rule in compiled if not rule.spec.knockout),
        knockouts=tuple(rule for rule in compiled if rule.spec.knockout),
        needs_attributes=any(reads_attributes(rule.spec.field_name) for rule in compiled
                             if rule.spec.operator != "profile_complete"),
    )
