from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "nirantar.web"
    label = "web"
    verbose_name = "Web"
