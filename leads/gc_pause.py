"""Cyclic garbage collection held off while a batch is scored or imported.

A chunk builds tens of thousands of small objects (rows, facts, breakdowns) that live until it is
written; each of the collector's passes walks all of them again, and at a million leads those
passes took about a third of a chunk's CPU. What a batch leaves behind is freed by reference
counting when it ends; the rare cycle waits for the collection that runs once the pause is over.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic collection inside the block (nested blocks are fine); the collector's state as it
    was afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
