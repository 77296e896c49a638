"""Content negotiation for views that answer one fixed format of their own (CSV, Prometheus text)."""

from __future__ import annotations

from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request


class OwnFormatNegotiation(DefaultContentNegotiation):
    """Never 406: the view streams its own format whatever renderers DRF knows, so `Accept: text/csv`
    or `Accept: text/plain` fall back to the first renderer (used only for error envelopes). The
    `format` query parameter is the view's own (`?format=xlsx`), not a renderer's name."""

    def select_renderer(self, request: Request, renderers: list, format_suffix: str | None = None) -> tuple:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (NotAcceptable, Http404):
            return renderers[0], renderers[0].media_type
