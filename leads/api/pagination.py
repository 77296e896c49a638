from rest_framework.pagination import PageNumberPagination as DRFPageNumberPagination


class PageNumberPagination(DRFPageNumberPagination):
    """`{count, next, previous, results}` — the shape the original clients read."""

    page_size_query_param = "page_size"
    max_page_size = 1000
