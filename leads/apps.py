from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the tasks with Celery in every process, so leads.queue can find them by name
        # (eager mode runs them in the web process itself).
        from leads import tasks  # noqa: F401
