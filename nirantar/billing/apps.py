from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "nirantar.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from nirantar.billing import permissions, projections  # noqa: F401
