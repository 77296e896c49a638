"""One JSON envelope for every error: {"error": sentence, "code": machine code, "details": {...}}.

DRF's exceptions, Django's Http404/PermissionDenied/ValidationError and our LeadsError all pass
through `exception_handler`; `handler400`…`handler500` cover what never reaches a DRF view: the
envelope under /api/, a plain HTML page elsewhere (the admin, the docs, an address typed in a browser).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from leads.exceptions import LeadsError

logger = logging.getLogger(__name__)

VALIDATION_FAILED = "Some fields are invalid: see details."
NOT_FOUND = "Not found."
SERVICE_UNAVAILABLE = "A service Leadscore depends on is not reachable right now; try again shortly."


def error_body(message: str, code: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": message, "code": code, "details": details or {}}


def _first_message(detail: Any) -> str | None:
    if isinstance(detail, list | tuple):
        for item in detail:
            found = _first_message(item)
            if found:
                return found
    elif isinstance(detail, dict):
        for key, item in detail.items():
            found = _first_message(item)
            if found:
                return found if key == "non_field_errors" else f"{key}: {found}"
    elif detail:
        return str(detail)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, LeadsError):
        return Response(error_body(exc.message, exc.code, exc.details), status=exc.status_code)
    if isinstance(exc, RedisConnectionError):
        # The shared cache (throttle counters) lives in Redis: while it is down, say so plainly.
        logger.error("Redis unreachable: %s", exc)
        return Response(error_body(SERVICE_UNAVAILABLE, "service_unavailable"), status=503)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        first = _first_message(exc.detail)
        message = f"Invalid input — {first}" if first else VALIDATION_FAILED
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body(message, "invalid", details)
    else:
        detail = getattr(exc, "detail", None)
        code = detail.code if hasattr(detail, "code") else getattr(exc, "default_code", "error")
        details: dict[str, Any] = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            details["retry_after_seconds"] = int(exc.wait)
        response.data = error_body(str(detail or exc), str(code), details)
    return response


API_PREFIX = "/api/"
# The original spec's short paths and the probes: API clients too, though outside /api/.
API_PATHS = frozenset({"/offer/", "/leads/upload/", "/score/", "/results/", "/results/export/", "/health/",
                       "/ready/", "/metrics"})
BAD_REQUEST = "The request could not be understood: check its Host header and body."
FORBIDDEN = "You do not have permission to perform this action."
SERVER_ERROR = "The server hit an unexpected error; it has been logged."


def wants_envelope(request: HttpRequest) -> bool:
    """API paths answer the JSON envelope; pages people open in a browser answer a plain HTML page."""
    return request.path.startswith(API_PREFIX) or request.path in API_PATHS


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_envelope(request):
        return JsonResponse(error_body(BAD_REQUEST, "bad_request"), status=status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_envelope(request):
        return JsonResponse(error_body(FORBIDDEN, "permission_denied"), status=status.HTTP_403_FORBIDDEN)
    return defaults.permission_denied(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_envelope(request):
        return JsonResponse(error_body(NOT_FOUND, "not_found", {"path": request.path}),
                            status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if wants_envelope(request):
        return JsonResponse(error_body(SERVER_ERROR, "server_error"), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)
