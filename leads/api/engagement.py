"""Engagement endpoints: events in (one, a list, or a CSV)."""

from __future__ import annotations

from drf_yasg import openapi
from drf_yasg.utils import swagger_auto_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from leads.api import serializers as s
from leads.api.parsers import BoundedJSONParser
from leads.api.views import ERROR_RESPONSE, WorkspaceScopedMixin
from leads.exceptions import LeadsError
from leads.services import engagement

NOT_A_LIST = "Send one event object, or a JSON list of them (at most 10,000)."


def _flag(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


class EventViewSet(WorkspaceScopedMixin, viewsets.GenericViewSet):
    """What prospects did: email opens and clicks, visits, forms, meetings, calls… Each moves the score."""

    serializer_class = s.EventInputSerializer
    filter_backends: list = []
    pagination_class = None

    @swagger_auto_schema(
        operation_summary="Ingest events: one object or a list of up to 10,000",
        operation_description=(
            "Each event names its lead by `lead` (id) or `email`; `?create_leads=true` creates a lead for an "
            "unknown email. An event with a `source` + `external_id` already stored counts once. Invalid events "
            "are reported with their index and reason; the others are stored, on the lead's timeline at once. "
            "Their counts (`engagement_summary`, rules) follow a moment later, and the leads' scores are "
            "rescored a few seconds after that."),
        request_body=s.EventInputSerializer(many=True),
        manual_parameters=[openapi.Parameter("create_leads", openapi.IN_QUERY, "Create leads for unknown emails",
                                             type=openapi.TYPE_BOOLEAN)],
        responses={201: s.IngestResultSerializer, 400: ERROR_RESPONSE, 413: ERROR_RESPONSE})
    def create(self, request: Request) -> Response:
        data = request.data
        items = [data] if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise LeadsError(NOT_A_LIST, code="invalid")
        result = engagement.events_ingest(workspace=self.workspace, items=items,
                                          create_leads=_flag(request.query_params.get("create_leads")))
        code = status.HTTP_201_CREATED if result.accepted or not result.rejected else status.HTTP_400_BAD_REQUEST
        if code == status.HTTP_400_BAD_REQUEST:
            raise LeadsError(f"No event was stored: {result.rejected} rejected (see details.errors).",
                             code="invalid_events", details=result.as_dict())
        return Response(result.as_dict(), status=code)

    @swagger_auto_schema(operation_summary="Ingest events from a CSV file", request_body=s.EventUploadInputSerializer,
                         responses={201: s.IngestResultSerializer, 400: ERROR_RESPONSE, 413: ERROR_RESPONSE,
                                    415: ERROR_RESPONSE})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser, BoundedJSONParser])
    def upload(self, request: Request) -> Response:
        form = s.EventUploadInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = engagement.events_ingest_csv(workspace=self.workspace, upload=form.validated_data["file"],
                                              create_leads=form.validated_data["create_leads"])
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)
