from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "nirantar.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from nirantar.ledger import projections  # noqa: F401  (registers handlers)
