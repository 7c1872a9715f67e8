from django.apps import AppConfig


class DedupeConfig(AppConfig):
    name = "nirantar.dedupe"
    label = "dedupe"
    verbose_name = "Duplicate patients"

    def ready(self) -> None:
        from nirantar.dedupe import permissions, projections  # noqa: F401
