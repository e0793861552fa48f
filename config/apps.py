from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project's own app: what every other app shares (the outbox of tasks to send)."""

    name = "config"
    verbose_name = "Plugway"
