from django.urls import path, re_path

from nirantar.fhir import clinical_views, views

urlpatterns = [
    path("", views.transaction_bundle, name="fhir-transaction"),
    path("metadata", views.metadata, name="fhir-metadata"),
    path("Patient", views.patients, name="fhir-patients"),
    path("Patient/<str:uhid>", views.patient, name="fhir-patient"),
    path("Encounter", views.encounters, name="fhir-encounters"),
    path("Encounter/<str:visit>", views.encounter, name="fhir-encounter"),
    path("Observation", views.observations, name="fhir-observations"),
    path("Observation/<str:observation>", views.observation, name="fhir-observation"),
    path("ServiceRequest", views.service_requests, name="fhir-service-requests"),
    path("ServiceRequest/<str:key>", views.service_request, name="fhir-service-request"),
    path("DiagnosticReport", views.diagnostic_reports, name="fhir-diagnostic-reports"),
    path("DiagnosticReport/<str:report>", views.diagnostic_report, name="fhir-diagnostic-report"),
    path("Condition", clinical_views.conditions_search, name="fhir-conditions"),
    path("Condition/<str:condition>", clinical_views.condition_read, name="fhir-condition"),
    path(
        "MedicationRequest",
        clinical_views.medication_requests_search,
        name="fhir-medication-requests",
    ),
    path(
        "MedicationRequest/<str:medication>",
        clinical_views.medication_request_read,
        name="fhir-medication-request",
    ),
    path("Location", views.locations, name="fhir-locations"),
    path("Location/<str:location>", views.location, name="fhir-location"),
    path("Composition/<str:composition>", views.composition, name="fhir-composition"),
    path("Composition/<str:composition>/$document", views.document, name="fhir-document"),
    # Everything else, newlines included (<path:> stops at one), is an OperationOutcome 404.
    re_path(r"^(?P<rest>[\s\S]+)$", views.not_found, name="fhir-not-found"),
]
