from django.apps import AppConfig


class PrintingConfig(AppConfig):
    name = "nirantar.printing"
    label = "printing"
    verbose_name = "Printing"
