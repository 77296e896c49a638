"""Engagement suites: the rescore debounce lives in the cache, which outlives a test's rollback;
`held` keeps ingested events from being folded until a test folds them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Workspace ids come back after a rollback, so a debounce key left by an earlier test would
    silently swallow this test's rescore request."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def held(settings: Any, django_capture_on_commit_callbacks: Any) -> Iterator[list[Any]]:
    """Ingests whose fold is queued but never sent (a broker that has not delivered yet)."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with django_capture_on_commit_callbacks(execute=False) as sent:
        yield sent
