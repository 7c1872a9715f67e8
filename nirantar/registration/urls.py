from django.urls import path

from nirantar.registration import views

urlpatterns = [
    path("", views.counter, name="counter"),
    path("search", views.search, name="counter-search"),
    path("new", views.new_patient, name="counter-new"),
    path("transliterate", views.transliterate, name="counter-transliterate"),
    path("patients/<str:uhid>", views.patient_panel, name="counter-patient"),
    path("patients/<str:uhid>/visit", views.register_visit, name="counter-visit"),
    path("patients/<str:uhid>/emergency", views.emergency_access, name="counter-emergency"),
    path("patients/<str:uhid>/correct", views.correct_patient, name="counter-correct"),
    path("visits/<str:visit>", views.token_panel, name="counter-token"),
    path("visits/<str:visit>/slip.pdf", views.slip_pdf, name="counter-slip"),
]
