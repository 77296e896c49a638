"""Thin viewsets: validate with a serializer, read through a selector, write through a service.

Every queryset goes through `request_workspace`, so an id from another workspace is a 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_yasg import openapi
from drf_yasg.utils import swagger_auto_schema
from rest_framework import filters as drf_filters
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from leads import selectors
from leads.api import params
from leads.api import serializers as s
from leads.api.negotiation import OwnFormatNegotiation
from leads.api.pagination import CountedQuerySet, PageNumberPagination
from leads.api.parsers import BoundedJSONParser
from leads.api.schema import CsvAutoSchema, paginated
from leads.exceptions import ImportFileError, LeadsError
from leads.models import Job, Lead, Offer
from leads.queue import IMPORT
from leads.services import csv_export, export_formats, jobs, lead_upsert, leads, offers, scoring, xlsx_export
from leads.services.intent import intent_provider_from_settings, scoring_method
from leads.tenancy import request_workspace

SCORE_RESPONSE_MAX_RESULTS = 1000
IMPORT_RESPONSE_MAX_LEADS = 500
UPLOAD_TOO_LARGE = (
    "The upload is larger than the limit of {mb} MB (IMPORT_MAX_BYTES): split the file and upload the parts."
)
STRICT_IMPORT_FAILED = "The file has invalid rows and strict mode is on, so nothing was stored: see details.errors."
INTENT_CHOICES = ["High", "Medium", "Low"]
XLSX_TOO_MANY_ROWS = (
    "{rows:,} rows are more than a worksheet holds ({limit:,}): narrow the export with filters, or use format=csv."
)

ERROR_RESPONSE = openapi.Response("Error envelope", s.ErrorSerializer)


class WorkspaceScopedMixin:
    request: Request
    # The query parameters of actions other than `list` (whose come from its filters), by action.
    action_query_params: ClassVar[dict[str, tuple[str, ...]]] = {}

    @property
    def workspace(self):
        return request_workspace(self.request)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        self.check_query_params(request)

    def check_query_params(self, request: Request) -> None:
        """An unknown parameter or an unusable paging/ordering value is a 400 (see `leads.api.params`)."""
        action = getattr(self, "action", None)
        if getattr(self, "swagger_fake_view", False) or request.method not in ("GET", "HEAD"):
            return
        if action == "list":
            names, orderings = params.list_params(self)
            params.check_query_params(request, names)
            if orderings and (ordering := request.query_params.get("ordering")):
                params.check_ordering(ordering, orderings)
        elif action in self.action_query_params:
            params.check_query_params(request, self.action_query_params[action])
        else:
            return
        paginator = getattr(self, "paginator", None)
        if paginator is not None:
            params.check_page_params(request, max_page_size=getattr(paginator, "max_page_size", None) or 1000)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if not getattr(self, "swagger_fake_view", False) and self.request.user.is_authenticated:
            context["workspace"] = self.workspace
        return context


class OfferViewSet(WorkspaceScopedMixin, viewsets.ModelViewSet):
    """Offers: what you sell and to whom (the ICP)."""

    serializer_class = s.OfferSerializer
    search_fields = ["name"]
    ordering_fields = ["created_at", "name", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        return selectors.offer_list(workspace=self.workspace).order_by("-created_at", "-id")

    def perform_create(self, serializer: s.OfferSerializer) -> None:
        serializer.instance = offers.offer_create(workspace=self.workspace, data=serializer.validated_data)

    def perform_update(self, serializer: s.OfferSerializer) -> None:
        serializer.instance = offers.offer_update(offer=serializer.instance, data=serializer.validated_data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().create(request, *args, **kwargs)
        response["Location"] = request.build_absolute_uri(f"{request.path.rstrip('/')}/{response.data['id']}/")
        return response


class LeadFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    role = filters.CharFilter(lookup_expr="icontains")
    company = filters.CharFilter(lookup_expr="icontains")
    industry = filters.CharFilter(lookup_expr="iexact")
    location = filters.CharFilter(lookup_expr="icontains")
    email = filters.CharFilter(lookup_expr="iexact")
    created_after = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Lead
        fields = ["name", "role", "company", "industry", "location", "email"]


class LeadSearchFilter(drf_filters.SearchFilter):
    """`?search=` split into terms as DRF's SearchFilter does (spaces and commas; quotes keep a
    phrase); the search selector finds the leads with every term, each in any searched field."""

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        terms = self.get_search_terms(request)
        return selectors.leads_search(queryset, terms=terms, skip=page_skip(request)) if terms else queryset


def page_skip(request: Request) -> int:
    """The OFFSET of the page asked for, which helps a search pick its plan; 0 when the page
    parameters are not plain numbers (the paginator answers those)."""
    try:
        page = int(request.query_params.get("page") or 1)
        size = int(request.query_params.get("page_size") or api_settings.PAGE_SIZE or 1)
    except ValueError:
        return 0
    return max(page - 1, 0) * min(max(size, 1), PageNumberPagination.max_page_size)


def _int_param(request: Request, name: str, *, low: int = 0, high: int = 100) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise LeadsError(f"{name} must be a whole number from {low} to {high}.", code="invalid",
                         details={name: [f"Got {raw!r}."]})
    return value


def _text_param(request: Request, name: str) -> str | None:
    return (request.query_params.get(name) or "").strip() or None


def _result_filters(request: Request) -> selectors.ResultFilters:
    intent = request.query_params.get("intent") or None
    if intent is not None:
        intent = intent.capitalize()
        if intent not in INTENT_CHOICES:
            raise LeadsError("intent must be High, Medium or Low.", code="invalid", details={"intent": [intent]})
    stage = request.query_params.get("stage")
    if stage is not None:
        stage = "" if stage.strip().lower() == "none" else stage.strip()
    ordering = request.query_params.get("ordering") or "-score"
    if ordering not in selectors.RESULT_ORDERINGS:
        raise LeadsError(f"ordering must be one of {', '.join(selectors.RESULT_ORDERINGS)}.", code="invalid",
                         details={"ordering": [ordering], "allowed": list(selectors.RESULT_ORDERINGS)})
    return selectors.ResultFilters(
        intent=intent, stage=stage, min_score=_int_param(request, "min_score"),
        max_score=_int_param(request, "max_score"), search=_text_param(request, "search"), ordering=ordering,
        industry=_text_param(request, "industry"), role=_text_param(request, "role"),
        location=_text_param(request, "location"),
    )


def offer_used(offer: Offer, *, default: bool) -> dict[str, Any]:
    """The offer an answer was computed for; `default`: none was named, so the workspace's latest."""
    return {"id": offer.pk, "name": offer.name, "default": default}


OFFER_HEADER = "X-Offer"


RESULT_PARAMS = [
    openapi.Parameter("offer", openapi.IN_QUERY, "Offer id (default: latest offer)", type=openapi.TYPE_INTEGER,
                      minimum=1, maximum=s.MAX_ID),
    openapi.Parameter("intent", openapi.IN_QUERY, "High, Medium or Low", type=openapi.TYPE_STRING,
                      enum=INTENT_CHOICES),
    openapi.Parameter("stage", openapi.IN_QUERY, "Qualification stage key (mql, sql…; none: no stage yet)",
                      type=openapi.TYPE_STRING),
    openapi.Parameter("min_score", openapi.IN_QUERY, "Lowest score, 0–100", type=openapi.TYPE_INTEGER,
                      minimum=0, maximum=100),
    openapi.Parameter("max_score", openapi.IN_QUERY, "Highest score, 0–100", type=openapi.TYPE_INTEGER,
                      minimum=0, maximum=100),
    openapi.Parameter("search", openapi.IN_QUERY, "Text in name, company, role, industry, location or email",
                      type=openapi.TYPE_STRING),
    openapi.Parameter("ordering", openapi.IN_QUERY, "Sort order", type=openapi.TYPE_STRING,
                      enum=list(selectors.RESULT_ORDERINGS)),
    openapi.Parameter("industry", openapi.IN_QUERY, "The lead's industry (exact, any case)", type=openapi.TYPE_STRING),
    openapi.Parameter("role", openapi.IN_QUERY, "Text in the lead's role", type=openapi.TYPE_STRING),
    openapi.Parameter("location", openapi.IN_QUERY, "Text in the lead's location", type=openapi.TYPE_STRING),
]
RESULT_QUERY_PARAMS = ("offer", "intent", "stage", "min_score", "max_score", "search", "ordering", "industry", "role",
                       "location")


SEARCH_ONLY_PARAMS = {"search", "ordering", *params.PAGE_PARAMS}


class LeadViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                  mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Leads of your workspace, their import, scoring, results and export."""

    serializer_class = s.LeadSerializer
    filterset_class = LeadFilter
    # Ordering before the search: the search picks its plan knowing the page's order.
    filter_backends = [filters.DjangoFilterBackend, drf_filters.OrderingFilter, LeadSearchFilter]
    search_fields = list(selectors.SEARCH_FIELDS)
    ordering_fields = ["created_at", "name", "company", "id"]
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]
    action_query_params = {"results": (*RESULT_QUERY_PARAMS, *params.PAGE_PARAMS),
                           "export_csv": RESULT_QUERY_PARAMS, "events": params.PAGE_PARAMS}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        return selectors.lead_list(workspace=self.workspace).order_by("-created_at", "-id")

    def get_throttles(self):
        if self.action in ("upload", "score"):
            self.throttle_scope = self.action
            return [ScopedRateThrottle()]
        return super().get_throttles()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ids = self.filter_queryset(self.get_queryset()).values_list("pk", flat=True)
        terms = LeadSearchFilter().get_search_terms(request)

        def count() -> int:
            # A search alone (no other filter) can be counted by the search index.
            if terms and set(request.query_params) <= SEARCH_ONLY_PARAMS:
                indexed = selectors.lead_search_count(workspace=self.workspace, terms=terms)
                if indexed is not None:
                    return indexed
            return ids.count()

        def bounded() -> tuple[int, bool]:
            if selectors.search_count_costly(terms):
                return selectors.count_bounded(ids, bound=selectors.SEARCH_COUNT_BOUND)
            return count(), True

        page_ids = self.paginate_queryset(CountedQuerySet(ids, count, bounded))
        page = selectors.leads_in_order(ids=list(ids) if page_ids is None else page_ids)
        data = self.get_serializer(page, many=True).data
        return Response(data) if page_ids is None else self.get_paginated_response(data)

    @swagger_auto_schema(
        operation_summary="Add one lead",
        operation_description=(
            "The import's rules for one lead: a name or an email, the same limits, and the same matching, so a "
            "twin (the same email, or the same name and company) answers 409 with the existing lead's `id` in "
            "`details`."
        ),
        request_body=s.LeadSerializer,
        responses={201: s.LeadSerializer, 400: ERROR_RESPONSE, 409: ERROR_RESPONSE},
    )
    def create(self, request: Request) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        lead = lead_upsert.lead_create(workspace=self.workspace, data=form.validated_data)
        lead = selectors.lead_list(workspace=self.workspace).get(pk=lead.pk)
        location = request.build_absolute_uri(f"{request.path.rstrip('/')}/{lead.pk}/")
        return Response(s.LeadSerializer(lead).data, status=status.HTTP_201_CREATED, headers={"Location": location})

    def perform_update(self, serializer: s.LeadSerializer) -> None:
        serializer.instance = leads.lead_update(lead=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Lead) -> None:
        leads.lead_delete(lead=instance)

    # --- import ------------------------------------------------------------------------------
    @swagger_auto_schema(
        operation_summary="Import leads from a CSV file",
        operation_description=(
            "Multipart field `file`: a CSV with columns name, role, company, industry, location, linkedin_bio "
            "(any order, common aliases accepted; extra columns kept in `attributes`). 201 with the summary "
            "when the import finishes within the wait budget, else 202 with the job to poll."
        ),
        request_body=s.UploadInputSerializer,
        responses={201: s.ImportResultSerializer, 202: s.JobSerializer, 400: ERROR_RESPONSE, 413: ERROR_RESPONSE,
                   415: ERROR_RESPONSE},
    )
    # serializer_class: the browsable API's form and OPTIONS describe the upload, not a lead.
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser], filter_backends=[],
            pagination_class=None, serializer_class=s.UploadInputSerializer)
    def upload(self, request: Request) -> Response:
        from leads.services.imports import import_job_create

        # Checked before the body is parsed, so an oversized upload is never read into the server.
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.IMPORT_MAX_BYTES + 64 * 1024:
            raise ImportFileError(UPLOAD_TOO_LARGE.format(mb=settings.IMPORT_MAX_BYTES // (1024 * 1024)),
                                  status_code=413, code="file_too_large",
                                  details={"limit_bytes": settings.IMPORT_MAX_BYTES})
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        job = import_job_create(workspace=self.workspace, user=request.user, upload=upload,
                                filename=upload.name or "upload.csv", strict=form.validated_data["strict"])
        jobs.job_tasks_queue(job_id=job.pk, task_name=IMPORT, task_ids=[job.pk])
        job = jobs.job_wait(job=job)
        return self._import_response(request, job)

    def _import_response(self, request: Request, job: Job) -> Response:
        job_data = s.JobSerializer(job, context={"request": request}).data
        if not job.is_finished:
            return Response(job_data, status=status.HTTP_202_ACCEPTED, headers={"Location": job_data["url"]})
        if job.status == Job.Status.FAILED:
            code = "invalid_rows" if job.params.get("strict") and job.errors else "import_failed"
            raise LeadsError(STRICT_IMPORT_FAILED if code == "invalid_rows" else job.message or "The import failed.",
                             code=code, status_code=400, details={"job": job_data, "errors": job.errors})
        lead_ids = job.params.get("lead_ids", [])[:IMPORT_RESPONSE_MAX_LEADS]
        by_id = {lead.pk: lead for lead in selectors.lead_list(workspace=job.workspace).filter(pk__in=lead_ids)}
        body = {
            "job": job_data, "created": job.created, "updated": job.updated, "skipped": job.skipped,
            "failed": job.failed, "errors": job.errors, "warned": job.warned, "warnings": job.warnings,
            "leads": s.LeadSerializer([by_id[i] for i in lead_ids if i in by_id], many=True).data,
        }
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": job_data["url"]})

    # --- scoring -----------------------------------------------------------------------------
    @swagger_auto_schema(
        operation_summary="Score leads against an offer",
        operation_description=(
            "Scores every lead without a current score for the offer, or whose score went stale (the lead, the "
            "offer or its scoring model changed), or the `leads` given; `rescore` scores them again. 200 with the "
            "results when the job finishes within the wait budget, else 202 with the job. "
            "While a run for the same offer is going, its job is returned instead of a second run."
        ),
        request_body=s.ScoreInputSerializer,
        responses={200: s.ScoreResultSerializer, 202: s.JobSerializer, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=False, methods=["post"], parser_classes=[BoundedJSONParser, FormParser, MultiPartParser],
            filter_backends=[], pagination_class=None, serializer_class=s.ScoreInputSerializer)
    def score(self, request: Request) -> Response:
        form = self.get_serializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=data.get("offer"))
        lead_ids = data.get("leads")
        if lead_ids is not None:
            unknown_lead_ids(self.workspace, lead_ids)
        start = scoring.score_job_start(workspace=self.workspace, user=request.user, offer=offer,
                                        lead_ids=lead_ids, rescore=data["rescore"])
        return score_run_response(request, start.job, offer_default=data.get("offer") is None)

    # --- engagement ---------------------------------------------------------------------------
    @swagger_auto_schema(operation_summary="A lead's events, newest first",
                         responses={200: paginated(s.EventSerializer), 404: ERROR_RESPONSE})
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, pk: str | None = None) -> Response:
        page = self.paginate_queryset(selectors.lead_events(workspace=self.workspace, lead=self.get_object()))
        return self.get_paginated_response(s.EventSerializer(page, many=True).data)

    @swagger_auto_schema(
        operation_summary="Rescore every lead whose score went stale (events, edits, model changes)",
        request_body=None, responses={202: s.JobsSerializer})
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def refresh(self, request: Request) -> Response:
        started = scoring.workspace_rescore_stale(workspace=self.workspace, user=request.user)
        return Response({"jobs": s.JobSerializer(started, many=True, context={"request": request}).data},
                        status=status.HTTP_202_ACCEPTED)

    # --- results and export ------------------------------------------------------------------
    def _results_query(self, request: Request) -> tuple[Offer, bool, selectors.ResultFilters]:
        """(the offer, whether it is the default one, the filters)."""
        offer_id = _int_param(request, "offer", low=1, high=s.MAX_ID)
        offer = selectors.offer_for_request(workspace=self.workspace, offer_id=offer_id)
        return offer, offer_id is None, _result_filters(request)

    @swagger_auto_schema(
        operation_summary="Scored leads, best first",
        manual_parameters=RESULT_PARAMS,
        responses={200: paginated(s.ScoredLeadSerializer), 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def results(self, request: Request) -> Response:
        offer, default, filters = self._results_query(request)
        scores = selectors.score_results(workspace=self.workspace, offer=offer, filters=filters,
                                         skip=page_skip(request))
        counted = CountedQuerySet(
            scores.values_list("pk", flat=True),
            lambda: selectors.score_results_count(workspace=self.workspace, offer=offer, filters=filters),
            lambda: selectors.score_results_count_bounded(workspace=self.workspace, offer=offer, filters=filters))
        page_ids = self.paginate_queryset(counted)
        page = selectors.scores_in_order(ids=page_ids)
        response = self.get_paginated_response(s.ScoredLeadSerializer(page, many=True).data)
        response.data["offer"] = offer_used(offer, default=default)
        response[OFFER_HEADER] = str(offer.pk)
        return response

    @swagger_auto_schema(
        operation_summary="Scored leads as a streamed CSV, or an Excel workbook with ?format=xlsx",
        operation_description=(
            "The rows, filters and order of results. `format=csv` (default): safe for any program, cells a "
            "spreadsheet would run as a formula get a leading `'`. `format=xlsx`: every text cell is stored as "
            "text, so phone numbers like `+1 415 555 0101` stay as typed and nothing is ever a formula. The "
            "`offer` column and the `X-Offer` header name the offer used."
        ),
        manual_parameters=[*RESULT_PARAMS, openapi.Parameter(
            "format", openapi.IN_QUERY, "csv (default) or xlsx", type=openapi.TYPE_STRING,
            enum=[*export_formats.FORMATS])],
        responses={200: openapi.Response("CSV file or Excel workbook", schema=openapi.Schema(type=openapi.TYPE_FILE)),
                   400: ERROR_RESPONSE},
        auto_schema=CsvAutoSchema,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None,
            content_negotiation_class=OwnFormatNegotiation)
    def export_csv(self, request: Request) -> StreamingHttpResponse:
        file_format = export_formats.export_format(request.query_params.get(params.format_param()))
        offer, _default, filters = self._results_query(request)
        scores = selectors.score_results(workspace=self.workspace, offer=offer, filters=filters)
        keys = selectors.lead_attribute_keys(workspace=self.workspace, limit=csv_export.EXPORT_MAX_ATTRIBUTE_COLUMNS)
        if file_format == "xlsx":
            rows = selectors.score_results_count(workspace=self.workspace, offer=offer, filters=filters)
            if rows > xlsx_export.XLSX_MAX_ROWS:
                raise LeadsError(XLSX_TOO_MANY_ROWS.format(rows=rows, limit=xlsx_export.XLSX_MAX_ROWS),
                                 code="too_many_rows", details={"rows": rows, "limit_rows": xlsx_export.XLSX_MAX_ROWS})
            body = xlsx_export.leads_export_xlsx(scores, attribute_keys=keys, offer_name=offer.name)
        else:
            body = csv_export.leads_export_csv(scores, attribute_keys=keys, offer_name=offer.name)
        response = StreamingHttpResponse(body, content_type=export_formats.FORMATS[file_format])
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = (
            f'attachment; filename="leadscore-results-offer{offer.pk}-{stamp}.{file_format}"')
        response[OFFER_HEADER] = str(offer.pk)
        return response


def score_run_response(request: Request, job: Job, *, offer_default: bool = False) -> Response:
    """A scoring run's answer: 200 with its results when it finishes within the wait budget, else 202.

    Both name the offer scored against in `X-Offer`; the 200 also has it as `offer` ({id, name, default})."""
    job = jobs.job_wait(job=job)
    job_data = s.JobSerializer(job, context={"request": request}).data
    headers = {OFFER_HEADER: str(job.offer_id)} if job.offer_id else {}
    if not job.is_finished:
        return Response(job_data, status=status.HTTP_202_ACCEPTED, headers={"Location": job_data["url"], **headers})
    results = selectors.job_scores(job=job, limit=SCORE_RESPONSE_MAX_RESULTS)
    body = {
        "results": s.ScoredLeadSerializer(results, many=True).data,
        "total_scored": job.processed - job.failed - job.skipped,
        "scoring_method": job.params.get("scoring_method") or scoring_method(intent_provider_from_settings()),
        "job": job_data,
        "offer": offer_used(job.offer, default=offer_default) if job.offer_id else None,
    }
    return Response(body, status=status.HTTP_200_OK, headers=headers)


def unknown_lead_ids(workspace: Any, lead_ids: list[int], *, field: str = "leads") -> None:
    """400 naming the ids that are not leads of this workspace (another workspace's are unknown too),
    under the request's own `field`."""
    known = set(selectors.lead_list(workspace=workspace).filter(pk__in=lead_ids).values_list("pk", flat=True))
    unknown = sorted(set(lead_ids) - known)
    if unknown:
        raise LeadsError(f"{len(unknown)} lead id(s) do not exist.", code="unknown_leads",
                         details={field: unknown[:100]})


class JobViewSet(WorkspaceScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Background jobs (imports and scoring runs): progress, errors, cancel."""

    serializer_class = s.JobSerializer
    filterset_fields = ["kind", "status", "offer"]
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        return selectors.job_list(workspace=self.workspace).order_by("-created_at", "-id")

    @swagger_auto_schema(operation_summary="Cancel a queued or running job", request_body=None,
                         responses={200: s.JobSerializer, 404: ERROR_RESPONSE, 409: ERROR_RESPONSE})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        job = jobs.job_cancel(job=self.get_object())
        return Response(s.JobSerializer(job, context={"request": request}).data)
