from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "nirantar.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from nirantar.accounts import permissions, projections  # noqa: F401
