"""Query parameters: a parameter a view does not know, or a value it can't use, is a 400.

Silently ignoring `?intent=High` on a list that has no such filter answers a different question
than the one asked, so every list (and every action that declares its parameters) checks the names
it was given against the ones it reads and answers in the envelope with the allowed ones.

What a list reads is derived from its own configuration (the filterset, `search_fields`,
`ordering_fields`, the paginator) so the check can't drift from the filters; other actions name
theirs in `action_query_params`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.request import Request

from leads.exceptions import LeadsError

UNKNOWN_PARAMETERS = "Unknown query parameter(s): {unknown}. This endpoint reads: {allowed}."
BAD_ORDERING = "ordering must be one of {allowed} (several: comma-separated); got {value!r}."
BAD_PAGE = "{name} must be a whole number from 1{upper}; got {value!r}."

#: `count=exact`: count every row of a list whose count may stop early (leads.api.pagination).
COUNT_PARAM = "count"
PAGE_PARAMS = ("page", "page_size", COUNT_PARAM)
BAD_COUNT = "count must be 'exact' (count every row, however many); got {value!r}."


def count_exact_asked(request: Request) -> bool:
    return request.query_params.get(COUNT_PARAM) == "exact"


def format_param() -> str:
    return settings.REST_FRAMEWORK.get("URL_FORMAT_OVERRIDE", "format") or "format"


def _filterset_names(view: Any) -> list[str]:
    names: list[str] = []
    for backend in view.filter_backends:
        if hasattr(backend, "get_filterset_class"):
            filterset_class = backend().get_filterset_class(view, view.get_queryset())
            if filterset_class is not None:
                names.extend(filterset_class.base_filters)
    return names


def _ordering_choices(view: Any) -> list[str]:
    fields = getattr(view, "ordering_fields", None)
    if not fields or fields == "__all__":
        return []
    return [choice for field in fields for choice in (field, f"-{field}")]


def list_params(view: Any) -> tuple[list[str], list[str]]:
    """(the names a list view reads, the orderings it accepts)."""
    names = _filterset_names(view)
    orderings: list[str] = []
    backends = view.filter_backends
    if getattr(view, "search_fields", None) and any(issubclass(b, SearchFilter) for b in backends):
        names.append(SearchFilter.search_param)
    if any(issubclass(b, OrderingFilter) for b in backends):
        orderings = _ordering_choices(view)
        if orderings:
            names.append(OrderingFilter.ordering_param)
    if view.paginator is not None:
        names.extend(PAGE_PARAMS)
    return names, orderings


def check_ordering(value: str, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    terms = [term.strip() for term in value.split(",")]
    if not all(term in allowed for term in terms):
        raise LeadsError(BAD_ORDERING.format(allowed=", ".join(allowed), value=value), code="invalid_parameter",
                         details={"ordering": [value], "allowed": allowed})


def check_page_params(request: Request, *, max_page_size: int) -> None:
    raw = request.query_params.get(COUNT_PARAM)
    if raw is not None and raw != "exact":
        raise LeadsError(BAD_COUNT.format(value=raw), code="invalid_parameter", details={COUNT_PARAM: [raw]})
    for name, upper in (("page", ""), ("page_size", f" to {max_page_size}")):
        raw = request.query_params.get(name)
        if raw is None or (name == "page" and raw == "last"):
            continue
        ok = raw.isascii() and raw.isdigit() and 1 <= int(raw) <= (max_page_size if name == "page_size" else 2**63)
        if not ok:
            raise LeadsError(BAD_PAGE.format(name=name, upper=upper, value=raw), code="invalid_parameter",
                             details={name: [raw]})


def check_query_params(request: Request, allowed: Iterable[str]) -> None:
    """400 naming the parameters outside `allowed` (the format override is always allowed)."""
    allowed = [*dict.fromkeys([*allowed, format_param()])]
    unknown = [name for name in request.query_params if name not in allowed]
    if unknown:
        raise LeadsError(UNKNOWN_PARAMETERS.format(unknown=", ".join(unknown), allowed=", ".join(allowed)),
                         code="unknown_parameter", details={"unknown": unknown, "allowed": allowed})
