"""Answers for requests that never reach a view, so they get the same envelope (or page) as the rest.

Django answers these itself, as HTML and, with DEBUG on, as its debug page: a Host header not in
ALLOWED_HOSTS, a body over DATA_UPLOAD_MAX_MEMORY_SIZE (a 400 where 413 is meant) and a path that
matches no URL. This middleware sits outside the others and answers them first.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse

from leads.api import errors
from leads.api.parsers import body_too_large

BAD_HOST = "The Host header {host!r} is not one this server answers to (ALLOWED_HOSTS)."


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestBoundsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost:
            host = request.META.get("HTTP_HOST", "")[:100]
            if errors.wants_envelope(request):
                return JsonResponse(errors.error_body(BAD_HOST.format(host=host), "bad_host"), status=400)
            return errors.handler400(request)
        # Files (multipart) have their own limits (IMPORT_MAX_BYTES…); every other body is held in memory.
        if (_declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                and not request.content_type.startswith("multipart/")):
            exc = body_too_large()
            if errors.wants_envelope(request):
                return JsonResponse(errors.error_body(exc.message, exc.code, exc.details), status=exc.status_code)
            return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain; charset=utf-8")
        response = self.get_response(request)
        # A path that matched no URL: with DEBUG on Django would show its debug page instead of handler404.
        if response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            return errors.handler404(request)
        return response
