from django.apps import AppConfig


class WardsConfig(AppConfig):
    name = "nirantar.wards"
    label = "wards"
    verbose_name = "Wards and beds"

    def ready(self) -> None:
        from nirantar.wards import permissions, projections  # noqa: F401
