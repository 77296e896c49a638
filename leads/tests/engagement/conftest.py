"""Engagement suites: the rescore debounce lives in the cache, which outlives a test's rollback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Workspace ids come back after a rollback, so a debounce key left by an earlier test would
    silently swallow this test's rescore request."""
    cache.clear()
    yield
    cache.clear()
