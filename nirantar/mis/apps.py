from django.apps import AppConfig


class MisConfig(AppConfig):
    name = "nirantar.mis"
    label = "mis"
    verbose_name = "Management information (MIS)"

    def ready(self) -> None:
        from nirantar.mis import permissions  # noqa: F401
