"""Outcomes in (one, a list, or a CSV) and the learned models trained from them.

    POST /api/outcomes/            one outcome or a list of up to 10,000
    POST /api/outcomes/upload/     a CSV (lead or email, outcome, occurred_at, value)
    POST /api/models/train/        {"offer"?} -> the training job (200 done, 202 running)
    GET  /api/models/, /api/models/{id}/   versions with their metrics and global top factors
"""

from __future__ import annotations

from typing import Any

from drf_yasg.utils import swagger_auto_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from leads import selectors
from leads.api.serializers import MAX_ID, FactorSerializer, JobSerializer
from leads.api.views import ERROR_RESPONSE, WorkspaceScopedMixin
from leads.exceptions import LeadsError
from leads.models import Job, TrainedModel
from leads.services import outcomes, training_jobs
from leads.services.jobs import job_wait
from leads.services.learned_models import learned_blend

NOT_A_LIST = "Send one outcome object, or a JSON list of them (at most 10,000)."
TRAINING_FAILED = "The training failed."


class OutcomeInputSerializer(serializers.Serializer):
    """One outcome (send a JSON list of these for up to 10,000)."""

    lead = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID, help_text="Lead id; or email.")
    email = serializers.EmailField(required=False)
    outcome = serializers.CharField(help_text="won or lost (1/0, yes/no, true/false, converted/not converted too).")
    occurred_at = serializers.DateTimeField(required=False, help_text="ISO 8601 date or time; default now.")
    value = serializers.DecimalField(required=False, max_digits=14, decimal_places=2, help_text="The deal's value.")
    offer = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                     help_text="The offer the deal was about (optional).")


class OutcomeResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="{index or line, reason}, first 1,000.")
    errors_truncated = serializers.BooleanField()
    leads = serializers.IntegerField(help_text="Leads whose outcome was stored.")


class OutcomeUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text=(
        "CSV with an outcome column (Outcome, Converted, Won or Status) and a lead (id) or email column; "
        "optional occurred_at (or date), value (or amount), offer."))


def _result(result: Any) -> dict[str, Any]:
    data = result.as_dict()
    return {key: data[key] for key in ("accepted", "rejected", "errors", "errors_truncated", "leads")}


class OutcomeViewSet(WorkspaceScopedMixin, viewsets.GenericViewSet):
    """Won and lost deals: what the learned model learns from and backtests are judged by."""

    serializer_class = OutcomeInputSerializer
    filter_backends: list = []
    pagination_class = None

    @swagger_auto_schema(
        operation_summary="Record outcomes: one object or a list of up to 10,000",
        operation_description=(
            "Each outcome names its lead by `lead` (id) or `email`. A lead has one outcome: a newer one replaces "
            "it. Invalid items are reported with their index and reason; the others are stored."),
        request_body=OutcomeInputSerializer(many=True),
        responses={201: OutcomeResultSerializer, 400: ERROR_RESPONSE, 413: ERROR_RESPONSE})
    def create(self, request: Request) -> Response:
        data = request.data
        items = [data] if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise LeadsError(NOT_A_LIST, code="invalid")
        result = outcomes.outcomes_record(workspace=self.workspace, items=items)
        if result.rejected and not result.accepted:
            raise LeadsError(f"No outcome was stored: {result.rejected} rejected (see details.errors).",
                             code="invalid_outcomes", details=_result(result))
        return Response(_result(result), status=status.HTTP_201_CREATED)

    @swagger_auto_schema(operation_summary="Record outcomes from a CSV file", request_body=OutcomeUploadInputSerializer,
                         responses={201: OutcomeResultSerializer, 400: ERROR_RESPONSE, 413: ERROR_RESPONSE,
                                    415: ERROR_RESPONSE})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser, JSONParser])
    def upload(self, request: Request) -> Response:
        form = OutcomeUploadInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        result = outcomes.outcomes_record_csv(workspace=self.workspace, upload=form.validated_data["file"])
        return Response(_result(result), status=status.HTTP_201_CREATED)


class TrainedModelSerializer(serializers.ModelSerializer):
    offer = serializers.PrimaryKeyRelatedField(read_only=True)
    job = serializers.PrimaryKeyRelatedField(read_only=True)
    n_outcomes = serializers.IntegerField(read_only=True)
    blend = serializers.SerializerMethodField(help_text="The share of a scoring model's learned_weight that "
                                                        "applies: grows with the outcomes (1.0 from 1,000).")
    top_factors = FactorSerializer(many=True, read_only=True)

    class Meta:
        model = TrainedModel
        fields = ["id", "version", "offer", "job", "n_won", "n_lost", "n_outcomes", "holdout_auc", "cv_auc",
                  "cv_folds", "blend", "top_factors", "trained_at"]
        read_only_fields = fields

    def get_blend(self, model: TrainedModel) -> float:
        return learned_blend(model.n_outcomes)


class TrainInputSerializer(serializers.Serializer):
    offer = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_ID,
                                     help_text="Train on this offer's outcomes (and those naming no offer); "
                                               "default: the whole workspace's.")


class TrainedModelViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Learned models: trained from outcomes, judged on outcomes they had not seen, applied by scoring
    models with a `learned_weight`."""

    serializer_class = TrainedModelSerializer
    filter_backends: list = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TrainedModel.objects.none()
        return TrainedModel.objects.filter(workspace=self.workspace).order_by("-trained_at", "-id")

    @swagger_auto_schema(
        operation_summary="Train a learned model (a job)",
        operation_description=(
            "Needs at least 50 won and 50 lost outcomes (a 400 says how many more). 200 with the job when it "
            "finishes within the wait budget, else 202 with the job to poll; the job's params name the model."),
        request_body=TrainInputSerializer,
        responses={200: JobSerializer, 202: JobSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE})
    @action(detail=False, methods=["post"])
    def train(self, request: Request) -> Response:
        form = TrainInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        offer_id = form.validated_data.get("offer")
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=offer_id) if offer_id else None
        job = job_wait(job=training_jobs.training_start(workspace=self.workspace, user=request.user, offer=offer))
        data = JobSerializer(job, context={"request": request}).data
        if not job.is_finished:
            return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})
        if job.status == Job.Status.FAILED:
            raise LeadsError(job.message or TRAINING_FAILED, code="training_failed", details={"job": data})
        return Response(data, headers={"Location": data["url"]})
