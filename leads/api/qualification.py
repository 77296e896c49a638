"""The qualification engine's endpoints: scoring models, rules, stages and lead scores.

Thin like the rest of the API: a serializer validates, a selector reads within the request's
workspace (another workspace's ids are 404), one service writes.
"""

from __future__ import annotations

from typing import Any

from drf_yasg import openapi
from drf_yasg.utils import swagger_auto_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from leads import selectors
from leads.api import params
from leads.api import serializers as s
from leads.api.schema import paginated
from leads.api.views import (
    ERROR_RESPONSE,
    OFFER_HEADER,
    WorkspaceScopedMixin,
    _int_param,
    score_run_response,
    unknown_lead_ids,
)
from leads.exceptions import LeadsError
from leads.models import Lead, QualificationStage, ScoringModel, ScoringRule
from leads.scoring.templates import TEMPLATES
from leads.services import model_trials, score_store, scoring, scoring_models

LEAD_ID_REQUIRED = "lead_id is required: the id of one of your leads."
UNKNOWN_LEAD = "Lead {id} does not exist."


def _lead(workspace: Any, lead_id: int) -> Lead:
    lead = selectors.lead_list(workspace=workspace).filter(pk=lead_id).first()
    if lead is None:
        raise LeadsError(UNKNOWN_LEAD.format(id=lead_id), code="unknown_lead", status_code=404,
                         details={"lead_id": lead_id})
    return lead


class ScoringModelViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    """Scoring models: your rules, caps, AI points and thresholds. Every change makes a new version."""

    serializer_class = s.ScoringModelSerializer
    ordering_fields = ["name", "created_at", "id"]
    search_fields = ["name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScoringModel.objects.none()
        scoring_models.scoring_model_default(workspace=self.workspace)  # every workspace starts with one
        return selectors.scoring_model_list(workspace=self.workspace).order_by("-is_default", "name", "id")

    def perform_create(self, serializer: s.ScoringModelSerializer) -> None:
        serializer.instance = scoring_models.scoring_model_create(
            workspace=self.workspace, user=self.request.user, data=serializer.validated_data)

    def perform_update(self, serializer: s.ScoringModelSerializer) -> None:
        serializer.instance = scoring_models.scoring_model_update(
            model=serializer.instance, user=self.request.user, data=serializer.validated_data)

    def perform_destroy(self, instance: ScoringModel) -> None:
        scoring_models.scoring_model_delete(model=instance)

    @swagger_auto_schema(operation_summary="Templates to copy (POST with {\"name\", \"template\": key})",
                         responses={200: s.TemplateSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def templates(self, request: Request) -> Response:
        data = [{"key": t.key, "name": t.name, "description": t.description, "model": t.spec.to_json()}
                for t in TEMPLATES.values()]
        return Response(s.TemplateSerializer(data, many=True).data)

    @swagger_auto_schema(
        operation_summary="Score a sample under proposed changes, storing nothing",
        operation_description=(
            "`settings` and `rules` (replacing the model's) are the proposed version; without them the model as "
            "saved is previewed. Scores up to `sample_size` of the offer's scored leads (newest first) and "
            "compares them with their current scores: both distributions and the leads that move most. AI "
            "verdicts come from the current scores, so a preview costs no AI calls."),
        request_body=s.PreviewInputSerializer,
        responses={200: openapi.Response("Preview", schema=openapi.Schema(type=openapi.TYPE_OBJECT)),
                   400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        model = self.get_object()
        form = s.PreviewInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=data.get("offer"))
        return Response(model_trials.scoring_model_preview(
            model=model, offer=offer, settings=data.get("settings"), rules=data.get("rules"),
            sample_size=data["sample_size"]))

    @swagger_auto_schema(
        operation_summary="Backtest the model (as saved or with proposed changes) against the outcomes",
        operation_description=(
            "Scores every lead with an outcome (up to 100,000) and reports how well the scores ranked won above "
            "lost: AUC, conversion per score bucket and per intent, the lift of the top 10 %, the AUC of the rule "
            "layer alone and, when a learned model exists, its AUC next to them. Stores nothing; AI verdicts "
            "come from the current scores (or the local provider), so a backtest costs no AI calls."),
        request_body=s.BacktestInputSerializer,
        responses={200: openapi.Response("Backtest", schema=openapi.Schema(type=openapi.TYPE_OBJECT)),
                   400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def backtest(self, request: Request, pk: str | None = None) -> Response:
        model = self.get_object()
        form = s.BacktestInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=data.get("offer"))
        return Response(model_trials.scoring_model_backtest(
            model=model, offer=offer, settings=data.get("settings"), rules=data.get("rules")))


class ScoringRuleViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    """Rules of your scoring models (`model` optional: the default model)."""

    serializer_class = s.ScoringRuleSerializer
    filterset_fields = ["model", "rule_type", "is_active", "knockout"]
    ordering_fields = ["priority", "name", "id"]
    search_fields = ["name", "field_name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScoringRule.objects.none()
        return selectors.scoring_rule_list(workspace=self.workspace)

    def perform_create(self, serializer: s.ScoringRuleSerializer) -> None:
        data = dict(serializer.validated_data)
        model = data.pop("model", None) or scoring_models.scoring_model_default(workspace=self.workspace)
        serializer.instance = scoring_models.scoring_rule_create(model=model, user=self.request.user, data=data)

    def perform_update(self, serializer: s.ScoringRuleSerializer) -> None:
        serializer.instance = scoring_models.scoring_rule_update(
            rule=serializer.instance, user=self.request.user, data=serializer.validated_data)

    def perform_destroy(self, instance: ScoringRule) -> None:
        scoring_models.scoring_rule_delete(rule=instance, user=self.request.user)

    @swagger_auto_schema(operation_summary="What this rule reads on one lead and whether it fires (nothing stored)",
                         request_body=s.TestRuleInputSerializer,
                         responses={200: s.TestRuleResultSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=True, methods=["post"])
    def test_rule(self, request: Request, pk: str | None = None) -> Response:
        rule = self.get_object()
        form = s.TestRuleInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = _lead(self.workspace, form.validated_data["lead_id"])
        offer_id = form.validated_data.get("offer")
        offer = (selectors.offer_for_request(workspace=self.workspace, offer_id=offer_id)
                 if offer_id or selectors.offer_list(workspace=self.workspace).exists() else None)
        result = model_trials.rule_test(rule=rule, lead=lead, offer=offer)
        return Response(s.TestRuleResultSerializer(result, context=self.get_serializer_context()).data)


class QualificationCriteriaViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    """Qualification stages (MQL, SQL or your own): a lead is in the furthest stage whose criteria hold."""

    serializer_class = s.QualificationStageSerializer
    filterset_fields = ["stage", "is_active"]
    ordering_fields = ["order", "name", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return QualificationStage.objects.none()
        scoring_models.scoring_model_default(workspace=self.workspace)  # makes the default stages once
        return selectors.stage_list(workspace=self.workspace)

    def perform_create(self, serializer: s.QualificationStageSerializer) -> None:
        serializer.instance = scoring_models.stage_create(workspace=self.workspace, data=serializer.validated_data)

    def perform_update(self, serializer: s.QualificationStageSerializer) -> None:
        serializer.instance = scoring_models.stage_update(stage=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: QualificationStage) -> None:
        scoring_models.stage_delete(stage=instance)


HISTORY_PARAMS = [
    openapi.Parameter("lead_id", openapi.IN_QUERY, "The lead", type=openapi.TYPE_INTEGER, required=True,
                      minimum=1, maximum=s.MAX_ID),
    openapi.Parameter("offer", openapi.IN_QUERY, "Only this offer's scores (default: every offer)",
                      type=openapi.TYPE_INTEGER, minimum=1, maximum=s.MAX_ID),
]
OFFER_PARAM = [openapi.Parameter("offer", openapi.IN_QUERY, "Offer id (default: latest offer)",
                                 type=openapi.TYPE_INTEGER, minimum=1, maximum=s.MAX_ID)]


class LeadScoreViewSet(WorkspaceScopedMixin, viewsets.GenericViewSet):
    """Lead scores: calculate one now, rescore many, history, distribution, set a stage by hand."""

    serializer_class = s.LeadScoreSerializer
    filter_backends: list[Any] = []
    action_query_params = {"history": ("lead_id", "offer", *params.PAGE_PARAMS), "distribution": ("offer",)}

    def get_queryset(self):
        return selectors.score_results  # not used: every action reads through its own selector

    @swagger_auto_schema(operation_summary="Score one lead now (cause: manual)",
                         request_body=s.CalculateInputSerializer,
                         responses={200: s.LeadScoreSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE,
                                    502: ERROR_RESPONSE})
    @action(detail=False, methods=["post"])
    def calculate(self, request: Request) -> Response:
        form = s.CalculateInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = _lead(self.workspace, form.validated_data["lead_id"])
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=form.validated_data.get("offer"))
        score = scoring.lead_score_now(lead=lead, offer=offer)
        return Response(s.LeadScoreSerializer(score).data, headers={OFFER_HEADER: str(offer.pk)})

    @swagger_auto_schema(
        operation_summary="Rescore many leads (a scoring job)",
        operation_description="`lead_ids`, or `recalculate_all`: every lead of the workspace. 200 with the results "
                              "when the job finishes within the wait budget, else 202 with the job.",
        request_body=s.BulkCalculateInputSerializer,
        responses={200: s.ScoreResultSerializer, 202: s.JobSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=False, methods=["post"])
    def bulk_calculate(self, request: Request) -> Response:
        form = s.BulkCalculateInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=data.get("offer"))
        lead_ids = data.get("lead_ids")
        if lead_ids:
            unknown_lead_ids(self.workspace, lead_ids, field="lead_ids")
        start = scoring.score_job_start(workspace=self.workspace, user=request.user, offer=offer,
                                        lead_ids=lead_ids or None, rescore=True)
        return score_run_response(request, start.job, offer_default=data.get("offer") is None)

    @swagger_auto_schema(operation_summary="A lead's score history, newest first", manual_parameters=HISTORY_PARAMS,
                         responses={200: paginated(s.LeadScoreSerializer), 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=False, methods=["get"])
    def history(self, request: Request) -> Response:
        lead_id = _int_param(request, "lead_id", low=1, high=s.MAX_ID)
        if lead_id is None:
            raise LeadsError(LEAD_ID_REQUIRED, code="invalid", details={"lead_id": [LEAD_ID_REQUIRED]})
        lead = _lead(self.workspace, lead_id)
        offer_id = _int_param(request, "offer", low=1, high=s.MAX_ID)
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=offer_id) if offer_id else None
        history = selectors.score_history(workspace=self.workspace, lead=lead, offer=offer)
        page = self.paginate_queryset(history)
        return self.get_paginated_response(s.LeadScoreSerializer(page, many=True).data)

    @swagger_auto_schema(operation_summary="Score distribution of one offer: buckets, average, intents, stages",
                         manual_parameters=OFFER_PARAM,
                         responses={200: s.DistributionSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=False, methods=["get"])
    def distribution(self, request: Request) -> Response:
        offer_id = _int_param(request, "offer", low=1, high=s.MAX_ID)
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=offer_id)
        return Response(selectors.score_distribution(workspace=self.workspace, offer=offer),
                        headers={OFFER_HEADER: str(offer.pk)})

    @swagger_auto_schema(operation_summary="Set a lead's stage by hand (null: back to the criteria)",
                         request_body=s.SetStageInputSerializer,
                         responses={200: s.LeadScoreSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=False, methods=["post"])
    def set_stage(self, request: Request) -> Response:
        form = s.SetStageInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = _lead(self.workspace, form.validated_data["lead_id"])
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=form.validated_data.get("offer"))
        current = selectors.current_score(lead=lead, offer=offer)
        if current is None:
            raise LeadsError(score_store.NO_SCORE_YET, code="no_score", status_code=404)
        score = score_store.score_stage_set(score=current, stage=form.validated_data["stage"], user=request.user)
        return Response(s.LeadScoreSerializer(score).data, status=status.HTTP_200_OK)
