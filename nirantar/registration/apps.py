from django.apps import AppConfig


class RegistrationConfig(AppConfig):
    name = "nirantar.registration"
    label = "registration"
    verbose_name = "Registration"

    def ready(self) -> None:
        from nirantar.registration import permissions, projections  # noqa: F401
