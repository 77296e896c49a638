"""Request counting middleware and the /metrics view.

/metrics is not public: counters say how busy a tenant-bearing service is. Prometheus scrapes it
with `Authorization: Bearer $METRICS_TOKEN`; a staff user's API token or admin session works too.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from leads.api.negotiation import OwnFormatNegotiation
from leads.metrics import REQUEST_SECONDS, REQUESTS


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        REQUEST_SECONDS.observe(elapsed)
        # The time spent in Django, for clients that separate it from the network (bench: server time).
        response.headers.setdefault("Server-Timing", f"app;dur={elapsed * 1000:.1f}")
        REQUESTS.labels(method=request.method, status=str(response.status_code)).inc()
        return response


def _bearer_matches(request: Request, secret: str) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    return bool(secret) and scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip(), secret)


class CanReadMetrics(BasePermission):
    message = "Metrics need Authorization: Bearer <METRICS_TOKEN>, or a staff user's token or session."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if _bearer_matches(request, settings.METRICS_TOKEN):
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class MetricsView(APIView):
    permission_classes = [CanReadMetrics]
    content_negotiation_class = OwnFormatNegotiation  # scrapers ask for text/plain or OpenMetrics
    swagger_schema = None  # Prometheus text, not part of the JSON API

    def get(self, request: Request) -> HttpResponse:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    def perform_authentication(self, request: Request) -> None:
        # A Bearer scrape token is not a DRF token: don't let TokenAuthentication reject it first.
        if not _bearer_matches(request, settings.METRICS_TOKEN):
            super().perform_authentication(request)
