"""Errors the domain raises; `leads.api.errors` maps them to the JSON envelope.

Each carries an HTTP status and a stable machine `code`, so the handler needs no table of its own.
"""

from __future__ import annotations

from typing import Any


class LeadsError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.details = details or {}


class ImportFileError(LeadsError):
    """The uploaded file as a whole can't be imported (empty, binary, missing columns, too big)."""

    code = "invalid_file"


class ImportRowError(LeadsError):
    """One CSV row can't become a lead; the importer reports it and goes on (unless strict)."""

    code = "invalid_row"


class IntentProviderError(LeadsError):
    """The AI layer could not give a verdict for a lead after its retries."""

    status_code = 502
    code = "ai_provider_error"


class QueueUnavailableError(LeadsError):
    """The task queue (broker) can't take work right now; nothing was started."""

    status_code = 503
    code = "queue_unavailable"


class ConflictError(LeadsError):
    status_code = 409
    code = "conflict"
