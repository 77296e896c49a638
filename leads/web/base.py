"""What every dashboard page shares: sign-in, the request's workspace, errors as HTML pages, and
reading form input through the API's own serializers (so a form and the API reject the same input
with the same messages)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import serializers

from leads.exceptions import LeadsError
from leads.models import Workspace
from leads.tenancy import request_workspace, user_workspaces

View = Callable[..., HttpResponse]


def workspace_of(request: HttpRequest) -> Workspace:
    return request_workspace(request)


def page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, *,
         status: int = 200) -> HttpResponse:
    """Render a page with the navigation's workspace switcher."""
    workspace = workspace_of(request)
    workspaces = list(user_workspaces(request.user).only("id", "name"))
    return render(request, template, {"workspace": workspace, "workspaces": workspaces, **(context or {})},
                  status=status)


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "web/error.html", {"status": status, "message": message}, status=status)


def web_page(view: View) -> View:
    """A signed-in page: another workspace's ids are 404s and a refused action is an error page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except LeadsError as exc:
            return error_page(request, exc.status_code, exc.message)
        except Http404:
            return error_page(request, 404, "This page does not exist in your workspace.")

    return wrapper


def form_errors(exc: serializers.ValidationError | LeadsError | Exception) -> dict[str, list[str]]:
    """Field -> messages, from a serializer's errors or a service's LeadsError details."""
    if isinstance(exc, serializers.ValidationError):
        detail = exc.detail
    elif isinstance(exc, LeadsError):
        detail = exc.details or {"__all__": [exc.message]}
    else:
        detail = {"__all__": [str(exc)]}
    if not isinstance(detail, dict):
        detail = {"__all__": detail}
    flat: dict[str, list[str]] = {}
    for field, messages in detail.items():
        key = "__all__" if field == "non_field_errors" else str(field)
        if isinstance(messages, dict):
            messages = [f"{k}: {v}" for k, v in messages.items()]
        elif not isinstance(messages, list | tuple):
            messages = [messages]
        flat.setdefault(key, []).extend(str(m) for m in messages)
    if isinstance(exc, LeadsError) and exc.details:
        # The sentence too, unless it only repeats a field's message.
        said = [m for ms in flat.values() for m in ms]
        if not any(exc.message.endswith(m) for m in said):
            flat = {"__all__": [exc.message], **flat}
    return flat


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def json_or_text(raw: str) -> Any:
    """A form's value box: JSON when it parses (numbers, lists, objects), else the text itself."""
    raw = raw.strip()
    if raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def json_object(raw: str) -> Any:
    """A JSON object typed into a textarea (blank: {}); anything else goes to the serializer as is."""
    raw = raw.strip()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()]


def int_or_none(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def not_found(request: HttpRequest) -> HttpResponse:
    """Unknown paths under /app/ answer an HTML 404 (the API's own stay JSON)."""
    return error_page(request, 404, "There is no such page.")
