"""Used by `make run`: a local admin user with a workspace and token, announced once with a curl line."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from leads.services.workspaces import workspace_member_ensure


class Command(BaseCommand):
    help = "Ensure a local admin user (admin) in workspace 'default' and print its token once."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("LOCAL_ADMIN_USERNAME", "admin")
        exists = get_user_model().objects.filter(username=username).exists()
        password = None if exists else secrets.token_urlsafe(12)
        access = workspace_member_ensure(workspace_name=os.environ.get("LOCAL_WORKSPACE", "default"),
                                         username=username, password=password, superuser=True)
        port = os.environ.get("PORT", "8000")
        if access.user_created:
            self.stdout.write(self.style.SUCCESS(
                "\nCreated the local admin user (shown once; keep it):\n"
                f"  admin login:  http://127.0.0.1:{port}/admin/  user {username}  password {password}\n"
                f"  API token:    {access.token}\n\n"
                "Try it:\n"
                f"  curl -H 'Authorization: Token {access.token}' http://127.0.0.1:{port}/api/offer/\n"
            ))
        else:
            self.stdout.write(
                f"Local admin user {username!r} exists; its token is in the admin (Auth Token) or run "
                f"`make token`.\n  curl -H 'Authorization: Token <token>' http://127.0.0.1:{port}/api/offer/"
            )
