"""Used by `make run`, build.sh and the compose `migrate` service: the beat schedule into the database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from leads.services.beat_schedule import beat_schedule_sync


class Command(BaseCommand):
    help = "Write CELERY_BEAT_SCHEDULE into django-celery-beat's periodic tasks (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = beat_schedule_sync()
        changes = [f"{what}: {', '.join(names)}" for what, names in
                   (("created", result.created), ("updated", result.updated), ("removed", result.removed)) if names]
        self.stdout.write("Beat schedule " + ("; ".join(changes) if changes else "unchanged") + ".")
