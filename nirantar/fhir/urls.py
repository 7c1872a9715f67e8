from django.urls import path

from nirantar.fhir import views

urlpatterns = [
    path("", views.transaction_bundle, name="fhir-transaction"),
    path("metadata", views.metadata, name="fhir-metadata"),
    path("Patient", views.patients, name="fhir-patients"),
    path("Patient/<str:uhid>", views.patient, name="fhir-patient"),
    path("<path:rest>", views.not_found, name="fhir-not-found"),
]
