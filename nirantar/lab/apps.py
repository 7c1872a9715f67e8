from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "nirantar.lab"
    label = "lab"
    verbose_name = "Laboratory"

    def ready(self) -> None:
        from nirantar.lab import permissions, projections  # noqa: F401
