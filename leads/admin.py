"""Admin pages: the columns, filters and searches an operator reaches for."""

import json
from dataclasses import replace
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Min, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.html import format_html

from leads.exceptions import LeadsError
from leads.models import (
    IntentCacheEntry,
    Job,
    JobChunk,
    Lead,
    Membership,
    Offer,
    Outcome,
    QualificationStage,
    Score,
    ScoreTransition,
    ScoringModel,
    ScoringModelVersion,
    ScoringRule,
    Task,
    TrainedModel,
    Workflow,
    WorkflowExecution,
    Workspace,
)
from leads.scoring.facts import field_reader
from leads.scoring.model import ALL_OPERATORS, ModelSpec, RuleSpec, compile_rule, validate_settings
from leads.scoring.operators import RuleConfigError
from leads.scoring.stages import DISQUALIFIED
from leads.services import automations, scoring_models


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "workspace", "scoring_model", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name"]
    date_hierarchy = "created_at"
    raw_id_fields = ["scoring_model"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the service writes (jobs, scores, caches): readable here, never added by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class IndustryFilter(admin.SimpleListFilter):
    """Industries as people read them: "FinTech", "fintech" and "Fintech" are one choice."""

    title = "industry"
    parameter_name = "industry"
    max_choices = 200

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        rows = (Lead.objects.exclude(industry="").annotate(folded=Lower("industry")).values("folded")
                .annotate(label=Min("industry")).order_by("folded")[:self.max_choices])
        return [(row["folded"], row["label"]) for row in rows]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(industry__iexact=value) if value else queryset


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "role", "company", "industry", "location", "email", "workspace", "created_at"]
    list_filter = ["workspace", IndustryFilter]
    search_fields = ["name", "company", "role", "email"]
    readonly_fields = ["dedupe_key", "name_key", "created_at", "updated_at"]
    show_full_result_count = False  # COUNT(*) over a million leads on every page is wasted work
    list_select_related = ["workspace"]

    def get_readonly_fields(self, request: HttpRequest, obj: Lead | None = None) -> list[str]:
        # A lead stays in its workspace: its scores, events, tasks and history carry that workspace,
        # and would stay behind, readable there, if the lead moved.
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "workspace"] if obj is not None else fields


class CurrentScoreFilter(admin.SimpleListFilter):
    """Current scores by default: history rows (every older score) only when asked for."""

    title = "scores"
    parameter_name = "current"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Current"), ("no", "History"), ("all", "All")]

    def value(self) -> str:
        return super().value() or "yes"

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset if value == "all" else queryset.filter(is_current=value == "yes")


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = ["id", "lead", "offer", "score", "intent", "stage", "score_change", "cause", "model_version",
                    "is_current", "created_at"]
    list_filter = [CurrentScoreFilter, "intent", "stage", "cause", "provider", "offer"]
    search_fields = ["lead__name", "lead__company"]
    raw_id_fields = ["lead", "offer", "job"]
    list_select_related = ["lead", "offer"]
    show_full_result_count = False


class JobChunkInline(admin.TabularInline):
    model = JobChunk
    extra = 0
    fields = ["index", "done", "scored", "failed", "finished_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False
    max_num = 0


# Job params an operator has no use for: where the upload sits on the server, and up to 500 lead ids.
JOB_PARAMS_HIDDEN = ("path", "lead_ids")


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "workspace", "offer", "total", "processed", "failed", "created_at",
                    "finished_at"]
    list_filter = ["kind", "status", "workspace"]
    search_fields = ["message"]
    readonly_fields = [f.name if f.name != "params" else "parameters" for f in Job._meta.fields]
    exclude = ["params"]
    date_hierarchy = "created_at"

    @admin.display(description="params")
    def parameters(self, job: Job) -> str:
        shown = {key: value for key, value in (job.params or {}).items() if key not in JOB_PARAMS_HIDDEN}
        if "lead_ids" in (job.params or {}):
            shown["leads kept for the answer"] = len(job.params["lead_ids"])
        return format_html("<pre>{}</pre>", json.dumps(shown, indent=2, ensure_ascii=False))


@admin.register(IntentCacheEntry)
class IntentCacheEntryAdmin(ReadOnlyAdmin):
    list_display = ["key", "intent", "provider", "model", "created_at"]
    list_filter = ["provider", "model", "intent"]
    readonly_fields = [f.name for f in IntentCacheEntry._meta.fields]


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ["lead", "outcome", "occurred_at", "value", "source", "offer", "workspace"]
    list_filter = ["outcome", "source", "workspace"]
    search_fields = ["lead__name", "lead__email", "lead__company"]
    raw_id_fields = ["lead", "offer"]
    date_hierarchy = "occurred_at"


@admin.register(TrainedModel)
class TrainedModelAdmin(ReadOnlyAdmin):
    """Models a training job stored: their metrics; the model itself is JSON for the scoring code."""

    list_display = ["__str__", "workspace", "offer", "n_won", "n_lost", "cv_auc", "holdout_auc", "trained_at"]
    list_filter = ["workspace"]
    exclude = ["model"]
    readonly_fields = [f.name for f in TrainedModel._meta.fields if f.name != "model"]


# --- scoring models, rules, stages ----------------------------------------------------------------
# Saves go through the services, as the API's do: a change bumps the model's version, keeps a
# snapshot and marks the affected scores stale; a rule that can't run is a form error here.


def _rule_errors(form: forms.ModelForm, data: dict[str, Any]) -> None:
    spec = RuleSpec(name=data.get("name") or "", operator=data.get("operator") or "", points=data.get("points") or 0,
                    field_name=data.get("field_name") or "", value=data.get("value"),
                    group=data.get("rule_type") or "", knockout=bool(data.get("knockout")))
    try:
        compile_rule(spec)
    except RuleConfigError as exc:
        field = exc.field if exc.field in form.fields else None
        form.add_error(field, exc.message)


class ScoringRuleForm(forms.ModelForm):
    operator = forms.ChoiceField(choices=[(op, op.replace("_", " ")) for op in ALL_OPERATORS])

    class Meta:
        model = ScoringRule
        fields = ["name", "rule_type", "field_name", "operator", "value", "points", "priority", "is_active",
                  "knockout"]
        help_texts = {"value": 'JSON: "text", 50000, ["a", "b"], [10, 20]; role_level: "decision_maker"; '
                               'industry_fit: "exact".'}
        widgets = {"value": forms.Textarea(attrs={"rows": 2, "cols": 36}),
                   "name": forms.TextInput(attrs={"size": 24}), "rule_type": forms.TextInput(attrs={"size": 12}),
                   "field_name": forms.TextInput(attrs={"size": 18}), "priority": forms.NumberInput(attrs={"size": 4}),
                   "points": forms.NumberInput(attrs={"size": 4})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            _rule_errors(self, data)
        return data


class ScoringRuleInline(admin.TabularInline):
    model = ScoringRule
    form = ScoringRuleForm
    extra = 1
    fields = ["priority", "name", "rule_type", "field_name", "operator", "value", "points", "knockout", "is_active"]
    ordering = ["priority", "id"]


class ScoringModelVersionInline(admin.TabularInline):
    model = ScoringModelVersion
    extra = 0
    fields = ["version", "created_at", "created_by"]
    readonly_fields = fields
    can_delete = False
    max_num = 0
    ordering = ["-version"]


class ScoringModelForm(forms.ModelForm):
    class Meta:
        model = ScoringModel
        fields = ["workspace", "name", "description", "is_default", "rule_max", "group_caps", "ai_enabled",
                  "ai_points", "high_from", "medium_from"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "group_caps": forms.Textarea(attrs={"rows": 3}),
                   "ai_points": forms.Textarea(attrs={"rows": 2})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.errors:
            base = ModelSpec(name=data.get("name") or "")
            settings = {key: data[key] for key in ("rule_max", "group_caps", "ai_enabled", "ai_points", "high_from",
                                                   "medium_from") if key in data}
            try:
                validate_settings(replace(base, **settings))
            except RuleConfigError as exc:
                self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


@admin.register(ScoringModel)
class ScoringModelAdmin(admin.ModelAdmin):
    form = ScoringModelForm
    list_display = ["id", "name", "workspace", "is_default", "version", "ai_enabled", "rule_max", "updated_at"]
    list_filter = ["workspace", "is_default", "ai_enabled"]
    search_fields = ["name"]
    readonly_fields = ["version", "template", "created_at", "updated_at"]
    inlines = [ScoringRuleInline, ScoringModelVersionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: ScoringModel | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "workspace"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: ScoringModel, form: forms.ModelForm, change: bool) -> None:
        data = {key: form.cleaned_data[key] for key in form.changed_data if key in scoring_models.MODEL_SETTINGS}
        if change:
            if form.cleaned_data.get("is_default"):
                data["is_default"] = True
            updated = scoring_models.scoring_model_update(model=ScoringModel.objects.get(pk=obj.pk),
                                                          user=request.user, data=data)
        else:
            updated = scoring_models.scoring_model_create(
                workspace=form.cleaned_data["workspace"], user=request.user,
                data={**data, "name": form.cleaned_data["name"], "is_default": form.cleaned_data["is_default"]})
        obj.pk, obj.version = updated.pk, updated.version

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not ScoringRule:
            return super().save_formset(request, form, formset, change)
        model = ScoringModel.objects.get(pk=form.instance.pk)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for rule_form in formset.forms:
            rule = rule_form.instance
            if rule_form in formset.deleted_forms:
                if rule.pk:
                    scoring_models.scoring_rule_delete(rule=ScoringRule.objects.get(pk=rule.pk), user=request.user)
                    formset.deleted_objects.append(rule)
            elif rule_form.has_changed():
                data = {key: rule_form.cleaned_data[key] for key in scoring_models.RULE_FIELDS
                        if key in rule_form.cleaned_data}
                if rule.pk:
                    saved = scoring_models.scoring_rule_update(rule=ScoringRule.objects.get(pk=rule.pk),
                                                               user=request.user, data=data)
                    formset.changed_objects.append((saved, rule_form.changed_data))
                else:
                    formset.new_objects.append(scoring_models.scoring_rule_create(model=model, user=request.user,
                                                                                  data=data))
        return None

    def delete_model(self, request: HttpRequest, obj: ScoringModel) -> None:
        scoring_models.scoring_model_delete(model=obj)


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    form = ScoringRuleForm
    list_display = ["id", "name", "model", "rule_type", "field_name", "operator", "points", "knockout", "is_active"]
    list_filter = ["workspace", "rule_type", "operator", "knockout", "is_active"]
    search_fields = ["name", "field_name"]
    list_select_related = ["model"]

    def get_fields(self, request: HttpRequest, obj: ScoringRule | None = None) -> list[str]:
        return ["model", *ScoringRuleForm.Meta.fields]

    def get_form(self, request: HttpRequest, obj: ScoringRule | None = None, change: bool = False,
                 **kwargs: Any) -> Any:
        kwargs["fields"] = ["model", *ScoringRuleForm.Meta.fields]
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: ScoringRule, form: forms.ModelForm, change: bool) -> None:
        data = {key: form.cleaned_data[key] for key in (*scoring_models.RULE_FIELDS, "model")
                if key in form.cleaned_data}
        if change:
            saved = scoring_models.scoring_rule_update(rule=ScoringRule.objects.get(pk=obj.pk), user=request.user,
                                                       data=data)
        else:
            model = data.pop("model")
            saved = scoring_models.scoring_rule_create(model=model, user=request.user, data=data)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: ScoringRule) -> None:
        scoring_models.scoring_rule_delete(rule=obj, user=request.user)


class QualificationStageForm(forms.ModelForm):
    class Meta:
        model = QualificationStage
        fields = ["workspace", "name", "stage", "order", "minimum_score", "required_fields", "required_actions",
                  "time_constraint_days", "forward_only", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("stage") == DISQUALIFIED:
            self.add_error("stage", scoring_models.RESERVED_STAGE)
        for name in data.get("required_fields") or []:
            try:
                field_reader(str(name))
            except ValueError as exc:
                self.add_error("required_fields", str(exc))
        return data


@admin.register(QualificationStage)
class QualificationStageAdmin(admin.ModelAdmin):
    form = QualificationStageForm
    list_display = ["id", "name", "stage", "workspace", "order", "minimum_score", "forward_only", "is_active"]
    list_filter = ["workspace", "is_active"]
    ordering = ["workspace", "order"]

    def save_model(self, request: HttpRequest, obj: QualificationStage, form: forms.ModelForm, change: bool) -> None:
        data = {key: form.cleaned_data[key] for key in scoring_models.STAGE_FIELDS if key in form.cleaned_data}
        if change:
            saved = scoring_models.stage_update(stage=QualificationStage.objects.get(pk=obj.pk), data=data)
        else:
            saved = scoring_models.stage_create(workspace=form.cleaned_data["workspace"], data=data)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: QualificationStage) -> None:
        scoring_models.stage_delete(stage=obj)


@admin.register(ScoreTransition)
class ScoreTransitionAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "lead", "offer", "previous_score", "score", "previous_stage", "stage", "field_name",
                    "cause", "created_at"]
    list_filter = ["kind", "cause", "workspace"]
    raw_id_fields = ["lead", "offer", "workspace"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- automations ----------------------------------------------------------------------------------


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "workspace", "trigger_type", "action_type", "is_active", "priority", "updated_at"]
    list_filter = ["workspace", "trigger_type", "action_type", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["managed_by_alerts", "last_run_at", "created_by", "created_at", "updated_at"]
    exclude = ["secret"]  # shown once by the API; never on a page

    def save_model(self, request: HttpRequest, obj: Workflow, form: forms.ModelForm, change: bool) -> None:
        data = {key: form.cleaned_data[key] for key in automations.WORKFLOW_FIELDS if key in form.cleaned_data}
        try:
            if change:
                saved = automations.workflow_update(workflow=Workflow.objects.get(pk=obj.pk), data=data)
            else:
                saved = automations.workflow_create(workspace=form.cleaned_data["workspace"], user=request.user,
                                                    data=data)
        except LeadsError as exc:  # validated like the API; shown as a message instead of a 500
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        obj.pk = saved.pk


@admin.action(description="Retry the selected failed executions")
def retry_executions(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    retried = 0
    for execution in queryset.filter(status=WorkflowExecution.Status.FAILED):
        automations.execution_retry(execution=execution)
        retried += 1
    modeladmin.message_user(request, f"{retried} execution(s) queued again.")


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "workflow", "lead", "status", "attempts", "next_attempt_at", "created_at", "finished_at"]
    list_filter = ["status", "workflow__action_type", "workspace"]
    search_fields = ["lead__name", "workflow__name", "error"]
    raw_id_fields = ["lead", "offer", "workflow", "workspace"]
    readonly_fields = [f.name for f in WorkflowExecution._meta.fields]
    actions = [retry_executions]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "lead", "assignee", "due", "priority", "done", "workspace"]
    list_filter = ["done", "priority", "workspace"]
    search_fields = ["title", "lead__name"]
    raw_id_fields = ["lead", "workflow"]
    readonly_fields = ["done_at", "created_by", "created_at", "updated_at"]


# --- connectors -----------------------------------------------------------------------------------
from leads.models import ExternalRecord, HubSpotConnector  # noqa: E402


class HubSpotConnectorForm(forms.ModelForm):
    """The token is write-only here too: an empty field keeps the stored one, nothing renders it."""

    new_access_token = forms.CharField(required=False, label="New access token", strip=True,
                                       widget=forms.PasswordInput(render_value=False),
                                       help_text="Leave empty to keep the current token.")

    class Meta:
        model = HubSpotConnector
        fields = ["workspace", "write_back", "offer", "extra_properties"]


@admin.register(HubSpotConnector)
class HubSpotConnectorAdmin(admin.ModelAdmin):
    form = HubSpotConnectorForm
    list_display = ["id", "workspace", "has_token", "write_back", "offer", "last_synced_at", "updated_at"]
    list_filter = ["write_back"]
    search_fields = ["workspace__name"]
    raw_id_fields = ["offer"]
    readonly_fields = ["has_token", "last_synced_at", "properties_ready", "created_at", "updated_at"]
    fields = ["workspace", "new_access_token", "has_token", "write_back", "offer", "extra_properties",
              "last_synced_at", "properties_ready", "created_at", "updated_at"]

    @admin.display(boolean=True, description="Token set")
    def has_token(self, obj: HubSpotConnector) -> bool:
        return obj.has_token

    def save_model(self, request: HttpRequest, obj: HubSpotConnector, form: forms.ModelForm, change: bool) -> None:
        token = form.cleaned_data.get("new_access_token")
        if token:
            obj.access_token, obj.properties_ready = token, False
        super().save_model(request, obj, form, change)


@admin.register(ExternalRecord)
class ExternalRecordAdmin(admin.ModelAdmin):
    list_display = ["id", "system", "external_id", "lead", "workspace", "synced_at", "written_at"]
    list_filter = ["system", "workspace"]
    search_fields = ["external_id", "lead__name", "lead__email"]
    raw_id_fields = ["lead", "workspace", "job"]
    readonly_fields = [f.name for f in ExternalRecord._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
