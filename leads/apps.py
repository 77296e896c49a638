from typing import Any

from django.apps import AppConfig
from django.core.signals import request_started
from django.db import connections
from django.db.models.signals import post_migrate


class LeadsConfig(AppConfig):
    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks with Celery in every process, so leads.queue can find them by name
        # (eager mode runs them in the web process itself).
        from leads import tasks  # noqa: F401
        from leads.selectors import index_matches_forget
        post_migrate.connect(_beat_schedule_after_migrate, sender=self)
        request_started.connect(index_matches_forget, dispatch_uid="leads.index_matches_forget")


def _beat_schedule_after_migrate(*, using: str = "default", **kwargs: Any) -> None:
    """Every `migrate` (make run, build.sh, the compose migrate service, the release phase, a test
    database) ends by writing the settings' beat schedule into django-celery-beat's tables, as
    contenttypes writes its rows: the schedule follows the environment of the last deploy."""
    from django_celery_beat.models import PeriodicTask

    from leads.services.beat_schedule import beat_schedule_sync

    if PeriodicTask._meta.db_table in connections[using].introspection.table_names():
        beat_schedule_sync(using=using)
