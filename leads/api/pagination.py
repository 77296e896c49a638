from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination


class PageNumberPagination(DRFPageNumberPagination):
    """`{count, next, previous, results}` — the shape the original clients read."""

    page_size_query_param = "page_size"
    max_page_size = 1000


class CountedQuerySet:
    """A queryset whose count the paginator takes from another query that selects the same rows
    more cheaply (see `selectors.score_results_count`); slicing still reads the queryset."""

    def __init__(self, queryset: QuerySet, count: Callable[[], int]) -> None:
        self.queryset = queryset
        self._count = count

    def count(self) -> int:
        return self._count()

    @property
    def ordered(self) -> bool:
        return self.queryset.ordered

    def __getitem__(self, key: Any) -> Any:
        return self.queryset[key]

    def __len__(self) -> int:
        return self.count()
