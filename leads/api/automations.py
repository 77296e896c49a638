"""Automation endpoints: workflows and their executions, follow-up tasks, hot-lead alert settings."""

from __future__ import annotations

from typing import Any

from drf_yasg import openapi
from drf_yasg.utils import swagger_auto_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import selectors
from leads.api import serializers as s
from leads.api.views import ERROR_RESPONSE, WorkspaceScopedMixin, _int_param, unknown_lead_ids
from leads.models import Task, Workflow, WorkflowExecution
from leads.services import automations
from leads.tenancy import request_workspace

RECENT_DEFAULT = 20
RECENT_MAX = 200


class WorkflowViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    """Workflows: when a lead's score, stage, intent or fields change (or on a schedule, or by hand), act."""

    serializer_class = s.WorkflowSerializer
    filterset_fields = ["trigger_type", "action_type", "is_active", "offer"]
    ordering_fields = ["priority", "name", "created_at", "id"]
    search_fields = ["name"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Workflow.objects.none()
        return selectors.workflow_list(workspace=self.workspace)

    @swagger_auto_schema(responses={201: s.WorkflowCreatedSerializer, 400: ERROR_RESPONSE})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        workflow = automations.workflow_create(workspace=self.workspace, user=request.user, data=form.validated_data)
        body = s.WorkflowCreatedSerializer(workflow, context=self.get_serializer_context()).data
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{workflow.pk}/")
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    def perform_update(self, serializer: s.WorkflowSerializer) -> None:
        serializer.instance = automations.workflow_update(workflow=serializer.instance,
                                                          data=serializer.validated_data)

    @swagger_auto_schema(operation_summary="Counts: workflows, active ones, executions by outcome",
                         responses={200: s.WorkflowStatisticsSerializer})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def statistics(self, request: Request) -> Response:
        return Response(automations.workflow_statistics(workspace=self.workspace))

    @swagger_auto_schema(operation_summary="Run a manual workflow now for some leads",
                         request_body=s.WorkflowRunInputSerializer,
                         responses={202: openapi.Response("Executions started", schema=openapi.Schema(
                             type=openapi.TYPE_OBJECT, properties={"executions": openapi.Schema(
                                 type=openapi.TYPE_ARRAY, items=openapi.Schema(type=openapi.TYPE_INTEGER))})),
                             400: ERROR_RESPONSE, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        workflow = self.get_object()
        form = s.WorkflowRunInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead_ids = form.validated_data["lead_ids"]
        unknown_lead_ids(self.workspace, lead_ids, field="lead_ids")
        offer_id = form.validated_data.get("offer")
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=offer_id) if offer_id else None
        ids = automations.workflow_run_manual(workflow=workflow, lead_ids=lead_ids, offer=offer)
        return Response({"executions": ids}, status=status.HTTP_202_ACCEPTED)

    @swagger_auto_schema(operation_summary="A new webhook signing secret (shown once; the old one stops working)",
                         request_body=None, responses={200: s.WorkflowCreatedSerializer, 404: ERROR_RESPONSE})
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        workflow = automations.workflow_rotate_secret(workflow=self.get_object())
        return Response(s.WorkflowCreatedSerializer(workflow, context=self.get_serializer_context()).data)


class WorkflowExecutionViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                               viewsets.GenericViewSet):
    """Every run of a workflow: status, attempts, the receiver's answer or the last error."""

    serializer_class = s.WorkflowExecutionSerializer
    filterset_fields = ["status", "workflow", "lead"]
    ordering_fields = ["created_at", "id"]
    action_query_params = {"recent": ("limit",)}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WorkflowExecution.objects.none()
        return selectors.execution_list(workspace=self.workspace)

    @swagger_auto_schema(operation_summary="The latest executions, newest first",
                         manual_parameters=[openapi.Parameter("limit", openapi.IN_QUERY, f"1–{RECENT_MAX}",
                                                              type=openapi.TYPE_INTEGER, minimum=1,
                                                              maximum=RECENT_MAX)],
                         responses={200: s.WorkflowExecutionSerializer(many=True), 400: ERROR_RESPONSE})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def recent(self, request: Request) -> Response:
        limit = _int_param(request, "limit", low=1, high=RECENT_MAX) or RECENT_DEFAULT
        executions = self.get_queryset().order_by("-created_at", "-id")[:limit]
        return Response(s.WorkflowExecutionSerializer(executions, many=True).data)

    @swagger_auto_schema(operation_summary="Try a failed execution once more", request_body=None,
                         responses={200: s.WorkflowExecutionSerializer, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        execution = automations.execution_retry(execution=self.get_object())
        return Response(s.WorkflowExecutionSerializer(execution).data)


class TaskViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    """Follow-up tasks on leads, by hand or from workflows."""

    serializer_class = s.TaskSerializer
    filterset_fields = ["lead", "assignee", "done", "priority"]
    ordering_fields = ["due", "created_at", "priority", "id"]
    search_fields = ["title", "description"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        return selectors.task_list(workspace=self.workspace)

    def perform_create(self, serializer: s.TaskSerializer) -> None:
        data = dict(serializer.validated_data)
        lead = data.pop("lead")
        serializer.instance = automations.task_create(workspace=self.workspace, user=self.request.user, lead=lead,
                                                      data=data)

    def perform_update(self, serializer: s.TaskSerializer) -> None:
        serializer.instance = automations.task_update(task=serializer.instance, data=serializer.validated_data)


class AlertConfigView(APIView):
    """Hot-lead alerts: Slack messages when a score crosses the hot or warm threshold (two managed workflows)."""

    @swagger_auto_schema(responses={200: s.AlertConfigSerializer})
    def get(self, request: Request) -> Response:
        config = automations.alert_config_get(workspace=request_workspace(request))
        return Response(s.AlertConfigSerializer(config).data)

    @swagger_auto_schema(request_body=s.AlertConfigSerializer, responses={200: s.AlertConfigSerializer,
                                                                           400: ERROR_RESPONSE})
    def post(self, request: Request) -> Response:
        form = s.AlertConfigSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        config = automations.alert_config_set(workspace=request_workspace(request), user=request.user,
                                              data=form.validated_data)
        return Response(s.AlertConfigSerializer(config).data)
