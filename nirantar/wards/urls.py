from django.urls import path

from nirantar.wards import views

urlpatterns = [
    path("", views.board, name="wards-board"),
    path("admit", views.admit, name="wards-admit"),
    path("census", views.census, name="wards-census"),
    path("conflicts", views.conflicts, name="wards-conflicts"),
    path("beds/<str:bed>/cleaned", views.bed_cleaned, name="wards-bed-cleaned"),
    path("beds/<str:bed>/service", views.bed_service, name="wards-bed-service"),
    path("beds/<str:bed>/reservation", views.bed_reservation, name="wards-bed-reservation"),
    path("stays/<str:admission>", views.stay, name="wards-stay"),
    path("stays/<str:admission>/chart", views.record_entry, name="wards-record-entry"),
    path("stays/<str:admission>/lab-orders", views.order_tests, name="wards-lab-order"),
    path("stays/<str:admission>/transfer", views.transfer, name="wards-transfer"),
    path("stays/<str:admission>/discharge", views.discharge, name="wards-discharge"),
    path(
        "stays/<str:admission>/discharge/confirm",
        views.confirm_discharge,
        name="wards-discharge-confirm",
    ),
    path("stays/<str:admission>/form.pdf", views.form_pdf, name="wards-form"),
    path("stays/<str:admission>/wristband.pdf", views.wristband_pdf, name="wards-wristband"),
    path(
        "stays/<str:admission>/discharge-summary.pdf",
        views.discharge_summary_pdf,
        name="wards-discharge-summary",
    ),
    path("<str:code>/", views.ward, name="wards-ward"),
]
