from django.urls import path

from nirantar.dedupe import views

urlpatterns = [
    path("", views.worklist, name="duplicates"),
    path("suggest", views.suggest, name="duplicates-suggest"),
    path("verdict", views.verdict, name="duplicates-verdict"),
    path("merge", views.merge, name="duplicates-merge"),
]
