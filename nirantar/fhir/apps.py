from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "nirantar.fhir"
    label = "fhir"
    verbose_name = "FHIR R4 API"
