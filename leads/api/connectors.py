"""Connector endpoints: the workspace's HubSpot settings (the token write-only) and its sync jobs.

    GET/POST /api/connectors/hubspot/    {"access_token", "write_back", "offer", "properties"}
    POST     /api/connectors/hubspot/sync/ {"full": false}  -> the sync job (200 done, 202 running)
"""

from __future__ import annotations

from typing import Any

from drf_yasg.utils import swagger_auto_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.api.fields import StrictCharField
from leads.api.serializers import MAX_ID, JobSerializer
from leads.api.views import ERROR_RESPONSE
from leads.exceptions import LeadsError
from leads.models import HubSpotConnector, Job
from leads.services import connectors
from leads.services.jobs import job_wait
from leads.tenancy import request_workspace

SYNC_FAILED_FALLBACK = "The HubSpot sync failed."


class HubSpotConnectorSerializer(serializers.Serializer):
    """The connector as the API shows it: whether a token is set, never the token."""

    has_token = serializers.BooleanField(read_only=True)
    write_back = serializers.BooleanField(read_only=True)
    offer = serializers.IntegerField(source="offer_id", read_only=True, allow_null=True,
                                     help_text="Whose scores are written back; null: the latest offer.")
    properties = serializers.ListField(source="extra_properties", child=StrictCharField(), read_only=True)
    last_synced_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_sync_job = serializers.SerializerMethodField()

    def get_last_sync_job(self, connector: HubSpotConnector) -> dict[str, Any] | None:
        job = self.context.get("last_sync_job")
        return JobSerializer(job, context=self.context).data if job is not None else None


class HubSpotConnectorInputSerializer(serializers.Serializer):
    access_token = StrictCharField(required=False, allow_blank=True, write_only=True, max_length=500,
                                         trim_whitespace=True,
                                         help_text="The private app's access token. Write-only; \"\" disconnects.")
    write_back = serializers.BooleanField(required=False,
                                          help_text="Write leadscore_score, _intent and _stage to the contacts.")
    offer = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID,
                                     help_text="The offer whose scores are written back (null: the latest).")
    properties = serializers.ListField(child=StrictCharField(max_length=100), required=False, max_length=50,
                                       help_text="Extra contact properties to pull into the leads' attributes.")


class HubSpotSyncInputSerializer(serializers.Serializer):
    full = serializers.BooleanField(default=False, help_text="Pull every contact, not only those changed since "
                                                             "the last sync.")


def _connector_body(request: Request, connector: HubSpotConnector) -> dict[str, Any]:
    workspace = request_workspace(request)
    context = {"request": request, "last_sync_job": connectors.hubspot_last_sync(workspace=workspace)}
    return HubSpotConnectorSerializer(connector, context=context).data


class HubSpotConnectorView(APIView):
    """HubSpot: a private app's token per workspace, contacts pulled into leads and events, scores written back."""

    @swagger_auto_schema(operation_summary="The HubSpot connector's settings (never the token)",
                         responses={200: HubSpotConnectorSerializer})
    def get(self, request: Request) -> Response:
        connector = connectors.hubspot_connector_get(workspace=request_workspace(request))
        return Response(_connector_body(request, connector))

    @swagger_auto_schema(operation_summary="Set the HubSpot token (write-only) and sync options",
                         request_body=HubSpotConnectorInputSerializer,
                         responses={200: HubSpotConnectorSerializer, 400: ERROR_RESPONSE})
    def post(self, request: Request) -> Response:
        form = HubSpotConnectorInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        connector = connectors.hubspot_connector_set(workspace=request_workspace(request), data=form.validated_data)
        return Response(_connector_body(request, connector))


class HubSpotSyncView(APIView):
    @swagger_auto_schema(
        operation_summary="Start a HubSpot sync (a job)",
        operation_description=(
            "Pulls the contacts changed since the last sync (all of them the first time, or with `full`) into "
            "leads and events, then writes the current scores back. 200 with the job when it finishes within the "
            "wait budget, else 202 with the job to poll. A sync already going is returned instead of a second."),
        request_body=HubSpotSyncInputSerializer,
        responses={200: JobSerializer, 202: JobSerializer, 400: ERROR_RESPONSE, 502: ERROR_RESPONSE})
    def post(self, request: Request) -> Response:
        form = HubSpotSyncInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        job = connectors.hubspot_sync_start(workspace=request_workspace(request), user=request.user,
                                            full=form.validated_data["full"])
        job = job_wait(job=job)
        job_data = JobSerializer(job, context={"request": request}).data
        if not job.is_finished:
            return Response(job_data, status=status.HTTP_202_ACCEPTED, headers={"Location": job_data["url"]})
        if job.status == Job.Status.FAILED:
            status_code, code = connectors.hubspot_sync_failure(job)
            raise LeadsError(job.message or SYNC_FAILED_FALLBACK, code=code, status_code=status_code,
                             details={"job": job_data})
        return Response(job_data, headers={"Location": job_data["url"]})
