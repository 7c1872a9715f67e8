from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "nirantar.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from nirantar.ledger import projection, roster  # noqa: F401  (declares event versions)
        from nirantar.ledger.models import NumberSequence, Origin

        projection.register_dump_only(Origin)
        projection.register_models(NumberSequence)
