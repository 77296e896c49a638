"""`manage.py create_workspace <workspace> <username>`: prints the user's API token on its last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from leads.services.workspaces import workspace_member_ensure


class Command(BaseCommand):
    help = "Create (or reuse) a workspace and a user, make the user a member, and print the user's API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("workspace")
        parser.add_argument("username")
        parser.add_argument("--password", help=(
            "Set (or reset) the user's password, for a browser session: log in at /api-auth/login/ (Swagger's "
            "\"Django Login\" goes there) to use the API and Swagger without the token. /admin/ is for staff "
            "users only, such as the local admin of `make run`."))

    def handle(self, *args: Any, workspace: str, username: str, password: str | None, **options: Any) -> None:
        access = workspace_member_ensure(workspace_name=workspace, username=username, password=password)
        login = "; password set: log in at /api-auth/login/" if password else ""
        self.stderr.write(
            f"{'Created' if access.workspace_created else 'Reused'} workspace {access.workspace.name!r}; "
            f"{'created' if access.user_created else 'reused'} user {access.user.username!r}{login}; API token:"
        )
        self.stdout.write(access.token)
