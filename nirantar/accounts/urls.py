from django.urls import path

from nirantar.accounts import views

urlpatterns = [
    path("audit/", views.audit, name="audit"),
    path("audit/review", views.review, name="audit-review"),
    path("audit/patients/<str:uhid>/seen-by.pdf", views.seen_report, name="audit-seen-by"),
    path("users/", views.users, name="users"),
]
