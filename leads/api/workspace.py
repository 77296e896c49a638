"""Which workspace a request acts in: chosen by the server from the user's memberships.

An `X-Workspace` header (id or name) may pick among the user's own workspaces, never beyond them.
"""

from __future__ import annotations

import re

from rest_framework.request import Request

from leads.exceptions import LeadsError
from leads.models import Workspace

NO_WORKSPACE = (
    "Your account is not a member of any workspace: ask an administrator to run "
    "`python manage.py create_workspace <workspace> <username>`."
)
UNKNOWN_WORKSPACE = "You are not a member of the workspace named in the X-Workspace header."
WORKSPACE_HEADER = "HTTP_X_WORKSPACE"


# An id as ASCII digits within 64 bits: `str.isdigit` also accepts "²" and "١", which `int()` refuses.
_WORKSPACE_ID = re.compile(r"[0-9]{1,18}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _workspace_lookup(wanted: str) -> dict[str, object]:
    if _WORKSPACE_ID.fullmatch(wanted):
        return {"pk": int(wanted)}
    if _CONTROL.search(wanted):
        return {"pk": None}  # no workspace has it as a name either (and PostgreSQL refuses NUL)
    return {"name": wanted}


def request_workspace(request: Request) -> Workspace:
    cached = getattr(request, "_leadscore_workspace", None)
    if cached is not None:
        return cached
    memberships = Workspace.objects.filter(memberships__user=request.user).order_by("memberships__id")
    wanted = request.META.get(WORKSPACE_HEADER, "").strip()
    if wanted:
        workspace = memberships.filter(**_workspace_lookup(wanted)).first()
        if workspace is None:
            raise LeadsError(UNKNOWN_WORKSPACE, code="unknown_workspace", status_code=403)
    else:
        workspace = memberships.first()
        if workspace is None:
            raise LeadsError(NO_WORKSPACE, code="no_workspace", status_code=403)
    request._leadscore_workspace = workspace
    return workspace
