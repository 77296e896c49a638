"""Scoring models (rules table, add and edit a rule, test a rule on a lead, preview before saving)
and workflows with their executions."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from rest_framework import serializers

from leads import selectors
from leads.api.serializers import ScoringRuleSerializer, WorkflowSerializer
from leads.exceptions import LeadsError
from leads.models import ScoringModel, ScoringRule, Workflow
from leads.scoring.model import ALL_OPERATORS, RULE_GROUPS
from leads.services import automations, model_trials, scoring_models
from leads.services.scoring_models import RULE_FIELDS
from leads.web.base import form_errors, int_or_none, json_object, json_or_text, page, validated, web_page, workspace_of
from leads.web.lead_pages import _chosen_offer, _offers

PREVIEW_SAMPLE = 1000
EXECUTIONS_SHOWN = 50



def _model_or_404(request: HttpRequest, model_id: int) -> ScoringModel:
    model = selectors.scoring_model_list(workspace=workspace_of(request)).filter(pk=model_id).first()
    if model is None:
        raise LeadsError("Scoring model not found.", code="not_found", status_code=404)
    return model


def _rule_or_404(request: HttpRequest, rule_id: int) -> ScoringRule:
    rule = selectors.scoring_rule_list(workspace=workspace_of(request)).select_related("model").filter(
        pk=rule_id).first()
    if rule is None:
        raise LeadsError("Rule not found.", code="not_found", status_code=404)
    return rule


def _rule_data(post: QueryDict) -> dict[str, Any]:
    data: dict[str, Any] = {key: post.get(key, "") for key in ("name", "rule_type", "field_name", "operator",
                                                                 "points", "priority") if key in post}
    data["value"] = json_or_text(post.get("value", ""))
    data["is_active"] = bool(post.get("is_active"))
    data["knockout"] = bool(post.get("knockout"))
    if data.get("priority") == "":
        data.pop("priority")
    return data


def _rule_values(rule: ScoringRule | None, post: QueryDict | None = None) -> dict[str, Any]:
    """What the rule form shows: what was typed (after an error), else the rule, else the defaults."""
    if post is not None:
        values: dict[str, Any] = {key: post.get(key, "") for key in ("name", "rule_type", "field_name", "operator",
                                                                      "value", "points", "priority")}
        return {**values, "is_active": bool(post.get("is_active")), "knockout": bool(post.get("knockout"))}
    if rule is None:
        return {"name": "", "rule_type": "demographic", "field_name": "", "operator": "contains", "value": "",
                "points": "", "priority": 100, "is_active": True, "knockout": False}
    value = rule.value if isinstance(rule.value, str) else ("" if rule.value is None else json.dumps(rule.value))
    return {"name": rule.name, "rule_type": rule.rule_type, "field_name": rule.field_name, "operator": rule.operator,
            "value": value, "points": rule.points, "priority": rule.priority, "is_active": rule.is_active,
            "knockout": rule.knockout}


@require_GET
@web_page
def model_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    scoring_models.scoring_model_default(workspace=workspace)  # every workspace starts with one
    models = list(selectors.scoring_model_list(workspace=workspace).order_by("-is_default", "name", "id"))
    return page(request, "web/models.html", {"models": models})


def _model_context(request: HttpRequest, model: ScoringModel, **extra: Any) -> dict[str, Any]:
    workspace = workspace_of(request)
    return {"model": model, "rules": list(model.rules.order_by("priority", "id")), "operators": ALL_OPERATORS,
            "groups": RULE_GROUPS, "offers": _offers(workspace), "values": _rule_values(None), **extra}


@web_page
def model_detail(request: HttpRequest, model_id: int) -> HttpResponse:
    """The model's rules and the add-rule form; POST saves the rule (errors shown in the form)."""
    model = _model_or_404(request, model_id)
    if request.method == "POST":
        form = ScoringRuleSerializer(data=_rule_data(request.POST), context={"workspace": workspace_of(request)})
        try:
            data = validated(form)
            data.pop("model", None)
            scoring_models.scoring_rule_create(model=model, user=request.user, data=data)
        except (serializers.ValidationError, LeadsError) as exc:
            context = _model_context(request, model, errors=form_errors(exc), values=_rule_values(None, request.POST))
            return page(request, "web/model.html", context, status=400)
        return redirect("web:model", model_id=model.pk)
    return page(request, "web/model.html", _model_context(request, model))


@require_POST
@web_page
def model_preview(request: HttpRequest, model_id: int) -> HttpResponse:
    """The distribution the model would give with the form's rule added (or with a rule changed),
    nothing stored: the panel the add-rule and edit-rule forms ask for with htmx."""
    model = _model_or_404(request, model_id)
    workspace = workspace_of(request)
    offer = _chosen_offer(_offers(workspace), request.POST.get("offer"))
    context: dict[str, Any] = {"model": model}
    if offer is None:
        context["error"] = selectors.NO_OFFER
        return render(request, "web/_preview.html", context)
    proposed = _rule_data(request.POST)
    editing = int_or_none(request.POST.get("rule"))
    rules = []
    for rule in model.rules.order_by("priority", "id"):
        if rule.pk != editing:
            rules.append({"id": rule.pk, **{key: getattr(rule, key) for key in RULE_FIELDS}})
    rules.append({"id": editing, **proposed, "points": int_or_none(str(proposed.get("points", ""))) or 0})
    try:
        context["preview"] = model_trials.scoring_model_preview(model=model, offer=offer, settings=None, rules=rules,
                                                                sample_size=PREVIEW_SAMPLE)
    except LeadsError as exc:
        context["error"] = exc.message
    context["offer"] = offer
    if "preview" in context:
        context["buckets"] = list(zip(context["preview"]["current_distribution"]["buckets"],
                                      context["preview"]["proposed_distribution"]["buckets"], strict=True))
    return render(request, "web/_preview.html", context)


@web_page
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(request, rule_id)
    workspace = workspace_of(request)
    context: dict[str, Any] = {"rule": rule, "model": rule.model, "operators": ALL_OPERATORS, "groups": RULE_GROUPS,
                               "offers": _offers(workspace), "values": _rule_values(rule)}
    if request.method == "POST":
        if request.POST.get("delete"):
            scoring_models.scoring_rule_delete(rule=rule, user=request.user)
            return redirect("web:model", model_id=rule.model_id)
        form = ScoringRuleSerializer(rule, data=_rule_data(request.POST), partial=True,
                                     context={"workspace": workspace})
        try:
            scoring_models.scoring_rule_update(rule=rule, user=request.user, data=validated(form))
        except (serializers.ValidationError, LeadsError) as exc:
            rule.refresh_from_db()
            context.update(errors=form_errors(exc), values=_rule_values(rule, request.POST))
            return page(request, "web/rule.html", context, status=400)
        return redirect("web:model", model_id=rule.model_id)
    return page(request, "web/rule.html", context)


@require_POST
@web_page
def rule_test(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Whether the saved rule fires on one lead and what it read there (the htmx panel of the rule page)."""
    rule = _rule_or_404(request, rule_id)
    workspace = workspace_of(request)
    lead_id = int_or_none(request.POST.get("lead_id"))
    lead = selectors.lead_list(workspace=workspace).filter(pk=lead_id).first() if lead_id else None
    if lead is None:
        return render(request, "web/_rule_test.html", {"error": "No lead with that id in this workspace."},
                      status=404)
    offer = _chosen_offer(_offers(workspace), request.POST.get("offer"))
    result = model_trials.rule_test(rule=rule, lead=lead, offer=offer)
    return render(request, "web/_rule_test.html", {"result": result, "lead": lead})


# --- workflows -----------------------------------------------------------------------------------------


def _workflow_data(post: QueryDict) -> dict[str, Any]:
    data: dict[str, Any] = {"name": post.get("name", ""), "trigger_type": post.get("trigger_type", ""),
                            "action_type": post.get("action_type", ""),
                            "trigger_config": json_object(post.get("trigger_config", "")),
                            "action_config": json_object(post.get("action_config", "")),
                            "is_active": bool(post.get("is_active")), "offer": post.get("offer") or None}
    return data


@web_page
def workflow_list(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    context: dict[str, Any] = {"triggers": Workflow.Trigger.choices, "actions": Workflow.Action.choices,
                               "offers": _offers(workspace), "form": {"is_active": "on"}}
    status = 200
    if request.method == "POST":
        form = WorkflowSerializer(data=_workflow_data(request.POST), context={"workspace": workspace})
        try:
            workflow = automations.workflow_create(workspace=workspace, user=request.user, data=validated(form))
            return redirect(f"{request.path}?created={workflow.pk}")
        except (serializers.ValidationError, LeadsError) as exc:
            context.update(errors=form_errors(exc), form=request.POST)
            status = 400
    executions = selectors.execution_list(workspace=workspace)
    chosen = int_or_none(request.GET.get("workflow"))
    if chosen is not None:
        executions = executions.filter(workflow_id=chosen)
    context.update(workflows=list(selectors.workflow_list(workspace=workspace).select_related("offer")),
                   executions=list(executions[:EXECUTIONS_SHOWN]), chosen=chosen,
                   created=int_or_none(request.GET.get("created")),
                   statistics=automations.workflow_statistics(workspace=workspace))
    return page(request, "web/workflows.html", context, status=status)
