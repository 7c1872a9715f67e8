from django.urls import path

from nirantar.mis import views

urlpatterns = [
    path("", views.dashboard, name="mis"),
    path("export.csv", views.export_csv, name="mis-csv"),
    path("export.xlsx", views.export_xlsx, name="mis-xlsx"),
]
