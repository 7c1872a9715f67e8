from django.urls import path

from nirantar.ledger import views

urlpatterns = [
    path("hello", views.hello, name="sync-hello"),
    path("pull", views.pull, name="sync-pull"),
    path("push", views.push, name="sync-push"),
    path("join", views.join, name="sync-join"),
    path("join/status", views.join_status, name="sync-join-status"),
]
