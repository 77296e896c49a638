"""`manage.py load_demo [--reset] [--owner USERNAME]`: the demo workspace (see leads/services/demo.py)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leads.exceptions import ConflictError
from leads.services.demo import DEMO_WORKSPACE, demo_load


class Command(BaseCommand):
    help = "Load the demo workspace: offers, leads, events, scores and workflows, so every screen shows data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete the demo workspace first if it exists.")
        parser.add_argument("--if-demo-mode", action="store_true",
                            help="Only when DEMO_MODE is on (make run passes this).")
        parser.add_argument("--owner", default=os.environ.get("LOCAL_ADMIN_USERNAME") or "admin",
                            help="User to make a member of the demo workspace (default: the local admin).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_demo_mode"] and not settings.DEMO_MODE:
            return
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"No user {options['owner']!r}: run `make run` (or create_workspace) first.")
        try:
            summary = demo_load(owner=owner, reset=options["reset"])
        except ConflictError as exc:
            self.stdout.write(exc.message)
            return
        self.stdout.write(
            f"Loaded the {DEMO_WORKSPACE!r} workspace: {summary.offers} offers, {summary.leads} leads, "
            f"{summary.events:,} events over 90 days, {summary.outcomes} outcomes and a learned model, "
            f"{summary.scores} scores, {summary.workflows} workflows ({summary.executions} executions).\n"
            f"{owner.username} is a member: add the header 'X-Workspace: {DEMO_WORKSPACE}' to API calls, e.g.\n"
            f"  curl -H 'X-Workspace: {DEMO_WORKSPACE}' -H 'Authorization: Token <token>' "
            f"'http://127.0.0.1:8000/api/leads/results/?stage=sql'\n"
            "Look at: /api/leads/results/ (best first, with engagement_summary), /api/lead-scores/distribution/, "
            "/api/leads/<id>/events/, /api/lead-scores/history/?lead_id=<id>, /api/workflow-executions/recent/, "
            "/api/tasks/, /api/models/ (the learned model and its top factors), and /admin/ (Scoring models, "
            "Workflows, Workflow executions).")
