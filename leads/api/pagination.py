from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from leads.api.params import COUNT_PARAM, count_exact_asked


class CountedQuerySet:
    """A queryset whose count the paginator takes from another query that selects the same rows
    more cheaply (see `selectors.score_results_count`); slicing still reads the queryset.

    `bounded`, when given, is a count that may stop early: (rows counted, whether that is all of
    them). The paginator uses it unless the request asks `count=exact`."""

    def __init__(self, queryset: Any, count: Callable[[], int],
                 bounded: Callable[[], tuple[int, bool]] | None = None) -> None:
        self.queryset = queryset
        self._count = count
        self.bounded = bounded

    def count(self) -> int:
        return self._count()

    @property
    def ordered(self) -> bool:
        return self.queryset.ordered

    def __getitem__(self, key: Any) -> Any:
        return self.queryset[key]

    def __len__(self) -> int:
        return self.count()


class _PageRows:
    """The rows of one page, read already (with one more to know whether a next page exists), as
    the slice of the whole list the paginator will ask for."""

    ordered = True

    def __init__(self, rows: Sequence[Any], skip: int) -> None:
        self.rows = rows
        self.skip = skip

    def __getitem__(self, key: slice) -> Sequence[Any]:
        return self.rows[key.start - self.skip:key.stop - self.skip]


class PageNumberPagination(DRFPageNumberPagination):
    """`{count, count_exact, next, previous, results}`: the shape the original clients read, and
    whether `count` is every row. `count_exact` is false only for a text search in so many leads
    that counting them all would cost many pages' time (a view that passes a `bounded` count):
    `count` is then the rows counted so far (at least that many match), `next` still says whether
    another page exists, and `count=exact` counts them all."""

    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        self.count_exact = True
        bounded = getattr(queryset, "bounded", None)
        if bounded is not None and not count_exact_asked(request) and self.get_page_size(request):
            queryset = self._bounded_page(queryset, request, *bounded())
        return super().paginate_queryset(queryset, request, view)

    def _bounded_page(self, queryset: CountedQuerySet, request: Request, counted: int, exact: bool) -> Any:
        if exact:
            return CountedQuerySet(queryset.queryset, lambda: counted)
        number = request.query_params.get(self.page_query_param) or "1"
        if not number.isdigit() or int(number) < 1:
            return queryset  # "last" needs every row counted; anything else gets the paginator's own 404
        size = self.get_page_size(request)
        skip = (int(number) - 1) * size
        rows = list(queryset.queryset[skip:skip + size + 1])
        if len(rows) > size:  # a next page exists: at least this many rows
            self.count_exact = False
            total = max(counted, skip + len(rows))
        elif rows or skip == 0:  # this page is the last: every row is now known
            total = skip + len(rows)
        else:  # past the end: the paginator answers 404, as for any page past the last
            return CountedQuerySet(queryset.queryset, lambda: min(counted, skip))
        return CountedQuerySet(_PageRows(rows, skip), lambda: total)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data = {"count": response.data["count"], "count_exact": self.count_exact,
                         **{key: value for key, value in response.data.items() if key != "count"}}
        return response

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [*super().get_schema_operation_parameters(view), {
            "name": COUNT_PARAM, "required": False, "in": "query",
            "description": "exact: count every row, however many (see count_exact)",
            "schema": {"type": "string", "enum": ["exact"]}}]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        properties = paginated["properties"]
        count_exact = {"type": "boolean", "example": True,
                       "description": f"false: `count` is a lower bound (a text search in very many leads); "
                                      f"`{COUNT_PARAM}=exact` counts every row"}
        paginated["properties"] = {"count": properties["count"], "count_exact": count_exact,
                                   **{key: value for key, value in properties.items() if key != "count"}}
        return paginated
