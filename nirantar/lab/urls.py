from django.urls import path

from nirantar.lab import views

urlpatterns = [
    path("", views.bench, name="lab-bench"),
    path("check", views.check, name="lab-check"),
    path("order", views.counter_order, name="lab-counter-order"),
    path("turnaround", views.turnaround, name="lab-turnaround"),
    path("orders/<str:order>/collect", views.collect, name="lab-collect"),
    path("samples/<str:accession>", views.sample, name="lab-sample"),
    path("samples/<str:accession>/label.pdf", views.label_pdf, name="lab-label"),
    path("samples/<str:accession>/report.pdf", views.report_pdf, name="lab-report"),
]
