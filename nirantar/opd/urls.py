from django.urls import path

from nirantar.opd import views

urlpatterns = [
    path("", views.desk, name="desk"),
    path("queue", views.queue, name="desk-queue"),
    path("next", views.call_next, name="desk-next"),
    path("icd10", views.icd10, name="desk-icd10"),
    path("drugs", views.drugs, name="desk-drugs"),
    path("visits/<str:visit>", views.consult, name="desk-visit"),
    path("visits/<str:visit>/close", views.close, name="desk-close"),
    path("visits/<str:visit>/strike", views.strike, name="desk-strike"),
    path("visits/<str:visit>/prescription.pdf", views.prescription_pdf, name="desk-prescription"),
    path("patients/<str:uhid>/timeline", views.timeline, name="desk-timeline"),
    *(
        path(f"visits/<str:visit>/{name}", views.queue_action(name), name=f"desk-{name}")
        for name in views.QUEUE_ACTIONS
    ),
    *(
        path(f"visits/<str:visit>/record/{name}", views.recorder(name), name=f"desk-record-{name}")
        for name in views.RECORDERS
    ),
]

display_urlpatterns = [
    path("", views.displays, name="displays"),
    path("<str:department>", views.display, name="display"),
    path("<str:department>/board", views.board, name="display-board"),
]
