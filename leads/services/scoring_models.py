"""Writes to scoring models, their rules and the qualification stages; and the compiled model a
score is made with.

Every change to a model or one of its rules bumps the model's `version`, stores a snapshot of the
whole model (`ScoringModelVersion`) and marks the current scores it made stale, in one
transaction: history is never rewritten, and the next run picks exactly the affected scores up.
Rules are compiled on save, so a rule that can't run is a 400 here and never an error while
scoring.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from leads.exceptions import ConflictError, LeadsError
from leads.models import (
    Offer,
    QualificationStage,
    Score,
    ScoreCause,
    ScoringModel,
    ScoringModelVersion,
    ScoringRule,
    Workspace,
)
from leads.scoring.model import CompiledModel, ModelSpec, RuleSpec, compile_model, compile_rule, validate_settings
from leads.scoring.operators import RuleConfigError
from leads.scoring.stages import DISQUALIFIED, CompiledStage, StageSpec, compile_stages
from leads.scoring.templates import TEMPLATES

UNKNOWN_TEMPLATE = "Unknown template {key!r}: use one of {keys}."
DEFAULT_NOT_DELETABLE = "The workspace's default scoring model can't be deleted: make another model the default first."
DUPLICATE_MODEL_NAME = "This workspace already has a scoring model with this name."
DUPLICATE_STAGE = "This workspace already has a stage with this key."
RESERVED_STAGE = f"The stage key {DISQUALIFIED!r} is reserved for leads a knockout rule disqualified."

MODEL_SETTINGS = ("name", "description", "rule_max", "group_caps", "ai_enabled", "ai_points", "engagement",
                  "learned_weight", "high_from", "medium_from")
# Settings whose change changes no score (the name and description are labels only).
_LABEL_SETTINGS = frozenset({"name", "description"})
RULE_FIELDS = ("name", "rule_type", "field_name", "operator", "value", "points", "priority", "is_active", "knockout")
STAGE_FIELDS = ("name", "stage", "order", "minimum_score", "required_fields", "required_actions",
                "time_constraint_days", "forward_only", "is_active")
DEFAULT_STAGES = (
    {"name": "Marketing qualified lead (MQL)", "stage": "mql", "order": 10, "minimum_score": 40},
    {"name": "Sales qualified lead (SQL)", "stage": "sql", "order": 20, "minimum_score": 70},
)


def _invalid(error: RuleConfigError) -> LeadsError:
    return LeadsError(str(error.message), code="invalid", details={error.field: [error.message]})


# --- specs and compiled models ----------------------------------------------------------------


def rule_spec(rule: ScoringRule) -> RuleSpec:
    return RuleSpec(name=rule.name, operator=rule.operator, points=rule.points, field_name=rule.field_name,
                    value=rule.value, group=rule.rule_type, priority=rule.priority, is_active=rule.is_active,
                    knockout=rule.knockout, id=rule.pk)


def model_spec(model: ScoringModel, *, rules: list[ScoringRule] | None = None) -> ModelSpec:
    """The model as the engine sees it, from its rows (or with `rules` instead of the stored ones)."""
    if rules is None:
        rules = list(model.rules.order_by("priority", "id"))
    return ModelSpec(
        name=model.name, rules=tuple(rule_spec(rule) for rule in rules), rule_max=model.rule_max,
        group_caps=model.group_caps or {}, ai_enabled=model.ai_enabled, ai_points=model.ai_points,
        engagement=model.engagement or {}, learned_weight=model.learned_weight, high_from=model.high_from,
        medium_from=model.medium_from, id=model.pk, version=model.version,
    )


@lru_cache(maxsize=64)
def _compiled(spec_json: str) -> CompiledModel:
    return compile_model(ModelSpec.from_json(json.loads(spec_json)))


def compiled_model(model: ScoringModel) -> CompiledModel:
    """The model compiled at `model.version`: once per distinct snapshot per process.

    Keyed on the snapshot's content, not on (id, version): a test database hands the same ids out
    again after each rollback, and a restored backup could too, so an id alone could answer with
    another model. Reading the snapshot is one small query per scoring chunk.
    """
    spec = ScoringModelVersion.objects.values_list("spec", flat=True).get(model_id=model.pk, version=model.version)
    return _compiled(json.dumps(spec, sort_keys=True, separators=(",", ":")))


def _snapshot(model: ScoringModel, user: AbstractBaseUser | None) -> None:
    spec = model_spec(model)
    compile_model(spec)  # every rule was validated on its own; this checks the whole once more
    ScoringModelVersion.objects.create(model=model, version=model.version, spec=spec.to_json(),
                                       created_by=user if user is not None and user.is_authenticated else None)


def _offers_scored_by(model: ScoringModel) -> Q:
    offers = Q(offer__scoring_model=model)
    if model.is_default:
        offers |= Q(offer__scoring_model__isnull=True)
    return offers


def scores_mark_stale(*, workspace: Workspace, cause: str, scope: Q | None = None) -> int:
    """Mark the workspace's current scores in `scope` (all when None) stale with `cause`; a score
    already stale keeps its first cause. Returns how many were marked."""
    scores = Score.objects.filter(workspace=workspace, is_current=True, stale_cause="")
    if scope is not None:
        scores = scores.filter(scope)
    return scores.update(stale_cause=cause)


def _bump(model: ScoringModel, user: AbstractBaseUser | None, *, stale: bool = True) -> ScoringModel:
    ScoringModel.objects.filter(pk=model.pk).update(version=F("version") + 1)
    model.refresh_from_db(fields=["version", "updated_at"])
    _snapshot(model, user)
    if stale:
        scores_mark_stale(workspace=model.workspace, cause=ScoreCause.MODEL_CHANGE, scope=_offers_scored_by(model))
    return model


# --- models -------------------------------------------------------------------------------------


def check_settings(data: dict[str, Any], base: ModelSpec) -> None:
    settings = {key: data[key] for key in MODEL_SETTINGS if key in data and key != "description"}
    try:
        validate_settings(replace(base, **settings))
    except RuleConfigError as exc:
        raise _invalid(exc) from None


def _create_from_spec(*, workspace: Workspace, spec: ModelSpec, name: str, description: str, template: str,
                      is_default: bool, user: AbstractBaseUser | None) -> ScoringModel:
    model = ScoringModel.objects.create(
        workspace=workspace, name=name, description=description, template=template, is_default=is_default,
        rule_max=spec.rule_max, group_caps=dict(spec.group_caps), ai_enabled=spec.ai_enabled,
        ai_points=dict(spec.ai_points), engagement=dict(spec.engagement), learned_weight=spec.learned_weight,
        high_from=spec.high_from, medium_from=spec.medium_from,
    )
    ScoringRule.objects.bulk_create([
        ScoringRule(workspace=workspace, model=model, name=rule.name, rule_type=rule.group,
                    field_name=rule.field_name, operator=rule.operator, value=rule.value, points=rule.points,
                    priority=rule.priority, is_active=rule.is_active, knockout=rule.knockout)
        for rule in spec.rules
    ])
    _snapshot(model, user)
    return model


def scoring_model_default(*, workspace: Workspace) -> ScoringModel:
    """The workspace's default model; the first call makes it (the built-in default) and the
    default stages, so every workspace starts with both."""
    model = ScoringModel.objects.filter(workspace=workspace, is_default=True).first()
    if model is not None:
        return model
    template = TEMPLATES["default"]
    try:
        with transaction.atomic():
            model = _create_from_spec(workspace=workspace, spec=template.spec, name=template.name,
                                      description=template.description, template=template.key, is_default=True,
                                      user=None)
            if not QualificationStage.objects.filter(workspace=workspace).exists():
                QualificationStage.objects.bulk_create(
                    [QualificationStage(workspace=workspace, **stage) for stage in DEFAULT_STAGES])
    except IntegrityError:  # another request made it first
        return ScoringModel.objects.get(workspace=workspace, is_default=True)
    return model


def scoring_model_for_offer(offer: Offer) -> ScoringModel:
    if offer.scoring_model_id is not None:
        return offer.scoring_model  # type: ignore[return-value]
    return scoring_model_default(workspace=offer.workspace)


@transaction.atomic
def scoring_model_create(*, workspace: Workspace, user: AbstractBaseUser | None, data: dict[str, Any]) -> ScoringModel:
    """A new model: a copy of `data["template"]` (default: the built-in default) with `data`'s settings."""
    key = data.get("template") or "default"
    template = TEMPLATES.get(key)
    if template is None:
        raise LeadsError(UNKNOWN_TEMPLATE.format(key=key, keys=", ".join(TEMPLATES)), code="invalid",
                         details={"template": [f"Unknown template {key!r}."]})
    scoring_model_default(workspace=workspace)
    check_settings(data, template.spec)
    spec = replace(template.spec, **{k: data[k] for k in MODEL_SETTINGS if k in data and k not in _LABEL_SETTINGS})
    try:
        with transaction.atomic():
            model = _create_from_spec(workspace=workspace, spec=spec, name=data["name"],
                                      description=data.get("description", template.description), template=key,
                                      is_default=False, user=user)
    except IntegrityError:
        raise ConflictError(DUPLICATE_MODEL_NAME, code="duplicate_name") from None
    if data.get("is_default"):
        model = scoring_model_make_default(model=model, user=user)
    return model


@transaction.atomic
def scoring_model_make_default(*, model: ScoringModel, user: AbstractBaseUser | None) -> ScoringModel:
    previous = ScoringModel.objects.select_for_update().filter(workspace=model.workspace, is_default=True).first()
    if previous is not None and previous.pk == model.pk:
        return model
    if previous is not None:
        ScoringModel.objects.filter(pk=previous.pk).update(is_default=False)
        # Offers without a model of their own were scored by the old default.
        scores_mark_stale(workspace=model.workspace, cause=ScoreCause.MODEL_CHANGE,
                          scope=Q(offer__scoring_model__isnull=True))
    ScoringModel.objects.filter(pk=model.pk).update(is_default=True)
    model.refresh_from_db()
    return model


@transaction.atomic
def scoring_model_update(*, model: ScoringModel, user: AbstractBaseUser | None, data: dict[str, Any]) -> ScoringModel:
    model = ScoringModel.objects.select_for_update().get(pk=model.pk)
    changed = [key for key in MODEL_SETTINGS if key in data and getattr(model, key) != data[key]]
    if changed:
        check_settings(data, model_spec(model))
        for key in changed:
            setattr(model, key, data[key])
        try:
            with transaction.atomic():
                model.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            raise ConflictError(DUPLICATE_MODEL_NAME, code="duplicate_name") from None
        _bump(model, user, stale=not set(changed) <= _LABEL_SETTINGS)
    if data.get("is_default") and not model.is_default:
        model = scoring_model_make_default(model=model, user=user)
    return model


@transaction.atomic
def scoring_model_delete(*, model: ScoringModel) -> None:
    if model.is_default:
        raise ConflictError(DEFAULT_NOT_DELETABLE, code="default_model")
    # Its offers fall back to the default model: their scores no longer say how they'd score now.
    scores_mark_stale(workspace=model.workspace, cause=ScoreCause.MODEL_CHANGE, scope=Q(offer__scoring_model=model))
    model.delete()


# --- rules --------------------------------------------------------------------------------------


def _validated_rule(rule: ScoringRule) -> None:
    try:
        compile_rule(rule_spec(rule))
    except RuleConfigError as exc:
        raise _invalid(exc) from None
    rule.full_clean(exclude=["workspace", "model"])


@transaction.atomic
def scoring_rule_create(*, model: ScoringModel, user: AbstractBaseUser | None, data: dict[str, Any]) -> ScoringRule:
    rule = ScoringRule(workspace=model.workspace, model=model, **{k: data[k] for k in RULE_FIELDS if k in data})
    _validated_rule(rule)
    rule.save()
    _bump(model, user)
    return rule


@transaction.atomic
def scoring_rule_update(*, rule: ScoringRule, user: AbstractBaseUser | None, data: dict[str, Any]) -> ScoringRule:
    changed = [key for key in RULE_FIELDS if key in data and getattr(rule, key) != data[key]]
    new_model = data.get("model")
    moved = new_model is not None and new_model.pk != rule.model_id
    if not changed and not moved:
        return rule
    old_model = rule.model
    for key in changed:
        setattr(rule, key, data[key])
    if moved:
        rule.model = new_model
    _validated_rule(rule)
    rule.save(update_fields=[*changed, *(["model"] if moved else []), "updated_at"])
    _bump(rule.model, user)
    if moved:
        _bump(old_model, user)
    return rule


@transaction.atomic
def scoring_rule_delete(*, rule: ScoringRule, user: AbstractBaseUser | None) -> None:
    model = rule.model
    rule.delete()
    _bump(model, user)


# --- stages -------------------------------------------------------------------------------------


def stage_spec(stage: QualificationStage) -> StageSpec:
    return StageSpec(key=stage.stage, name=stage.name, order=stage.order, minimum_score=stage.minimum_score,
                     required_fields=tuple(stage.required_fields or ()),
                     required_actions=tuple(stage.required_actions or ()),
                     time_constraint_days=stage.time_constraint_days, forward_only=stage.forward_only)


def stages_compiled(*, workspace_id: int) -> tuple[CompiledStage, ...]:
    stages = QualificationStage.objects.filter(workspace_id=workspace_id, is_active=True)
    return compile_stages([stage_spec(stage) for stage in stages])


def _validated_stage(stage: QualificationStage) -> None:
    if stage.stage == DISQUALIFIED:
        raise LeadsError(RESERVED_STAGE, code="invalid", details={"stage": [RESERVED_STAGE]})
    try:
        compile_stages([stage_spec(stage)])
    except ValueError as exc:
        raise LeadsError(str(exc), code="invalid", details={"required_fields": [str(exc)]}) from None
    stage.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)


def _save_stage(stage: QualificationStage, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            stage.save(**kwargs)
    except IntegrityError:
        raise ConflictError(DUPLICATE_STAGE, code="duplicate_stage") from None


@transaction.atomic
def stage_create(*, workspace: Workspace, data: dict[str, Any]) -> QualificationStage:
    stage = QualificationStage(workspace=workspace, **{k: data[k] for k in STAGE_FIELDS if k in data})
    _validated_stage(stage)
    _save_stage(stage)
    scores_mark_stale(workspace=workspace, cause=ScoreCause.MODEL_CHANGE)
    return stage


@transaction.atomic
def stage_update(*, stage: QualificationStage, data: dict[str, Any]) -> QualificationStage:
    changed = [key for key in STAGE_FIELDS if key in data and getattr(stage, key) != data[key]]
    if not changed:
        return stage
    for key in changed:
        setattr(stage, key, data[key])
    _validated_stage(stage)
    _save_stage(stage, update_fields=[*changed, "updated_at"])
    if set(changed) != {"name"}:
        scores_mark_stale(workspace=stage.workspace, cause=ScoreCause.MODEL_CHANGE)
    return stage


@transaction.atomic
def stage_delete(*, stage: QualificationStage) -> None:
    workspace = stage.workspace
    stage.delete()
    scores_mark_stale(workspace=workspace, cause=ScoreCause.MODEL_CHANGE)
