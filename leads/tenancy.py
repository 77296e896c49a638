"""Which workspace a request acts in, for the API and the web app alike: chosen by the server from
the user's memberships, never beyond them.

The API's `X-Workspace` header (id or name) picks among the user's own workspaces; the web app
keeps the user's choice in the session (`WORKSPACE_SESSION_KEY`). Without either, the user's first
membership. A header naming a workspace the user is not in is a 403; a session choice the user
has since lost is forgotten quietly (the next page shows their first workspace).
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import HttpRequest

from leads.exceptions import LeadsError
from leads.models import Workspace

NO_WORKSPACE = (
    "Your account is not a member of any workspace: ask an administrator to run "
    "`python manage.py create_workspace <workspace> <username>`."
)
UNKNOWN_WORKSPACE = "You are not a member of the workspace named in the X-Workspace header."
WORKSPACE_HEADER = "HTTP_X_WORKSPACE"
WORKSPACE_SESSION_KEY = "leadscore_workspace"


def user_workspaces(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Workspace]:
    """The user's workspaces, oldest membership first."""
    return Workspace.objects.filter(memberships__user=user).order_by("memberships__id")


# An id as ASCII digits within 64 bits: `str.isdigit` also accepts "²" and "١", which `int()` refuses.
_WORKSPACE_ID = re.compile(r"[0-9]{1,18}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _lookup(wanted: str) -> dict[str, object]:
    if _WORKSPACE_ID.fullmatch(wanted):
        return {"pk": int(wanted)}
    if _CONTROL.search(wanted):
        return {"pk": None}  # no workspace has it as a name either (and PostgreSQL refuses NUL)
    return {"name": wanted}


def request_workspace(request: HttpRequest) -> Workspace:
    cached = getattr(request, "_leadscore_workspace", None)
    if cached is not None:
        return cached
    memberships = user_workspaces(request.user)
    wanted = request.META.get(WORKSPACE_HEADER, "").strip()
    workspace: Workspace | None
    if wanted:
        workspace = memberships.filter(**_lookup(wanted)).first()
        if workspace is None:
            raise LeadsError(UNKNOWN_WORKSPACE, code="unknown_workspace", status_code=403)
    else:
        chosen = _session_choice(request)
        workspace = memberships.filter(pk=chosen).first() if chosen is not None else None
        if workspace is None:
            workspace = memberships.first()
        if workspace is None:
            raise LeadsError(NO_WORKSPACE, code="no_workspace", status_code=403)
    request._leadscore_workspace = workspace  # type: ignore[attr-defined]
    return workspace


def _session_choice(request: HttpRequest) -> int | None:
    session = getattr(request, "session", None)
    value = session.get(WORKSPACE_SESSION_KEY) if session is not None else None
    return value if isinstance(value, int) else None


def workspace_choose(request: HttpRequest, workspace_id: int) -> Workspace:
    """Remember the user's choice of workspace for the session; 404 for one they are not in."""
    workspace = user_workspaces(request.user).filter(pk=workspace_id).first()
    if workspace is None:
        raise LeadsError("Workspace not found.", code="not_found", status_code=404)
    request.session[WORKSPACE_SESSION_KEY] = workspace.pk
    request._leadscore_workspace = workspace  # type: ignore[attr-defined]
    return workspace
