"""Workspaces and their members, as the management commands create them."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from rest_framework.authtoken.models import Token

from leads.models import Membership, Workspace


@dataclass(frozen=True)
class MemberAccess:
    workspace: Workspace
    user: AbstractUser
    token: str
    user_created: bool
    workspace_created: bool


@transaction.atomic
def workspace_member_ensure(*, workspace_name: str, username: str, password: str | None = None,
                            superuser: bool = False) -> MemberAccess:
    """Create (or reuse) the workspace and the user, make the user a member, and return its API token."""
    workspace, workspace_created = Workspace.objects.get_or_create(name=workspace_name)
    user_model = get_user_model()
    user, user_created = user_model.objects.get_or_create(username=username)
    if user_created:
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        if superuser:
            user.is_staff = user.is_superuser = True
        user.save()
    elif password:  # asked for again: the password is reset, not silently kept
        user.set_password(password)
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(workspace=workspace, user=user)
    token, _ = Token.objects.get_or_create(user=user)
    return MemberAccess(workspace, user, token.key, user_created, workspace_created)
