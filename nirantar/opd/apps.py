from django.apps import AppConfig


class OpdConfig(AppConfig):
    name = "nirantar.opd"
    label = "opd"
    verbose_name = "Outpatient care"

    def ready(self) -> None:
        from nirantar.opd import permissions, projections  # noqa: F401
