from django.urls import include, path
from django.views.i18n import set_language

from nirantar.accounts import views as accounts_views
from nirantar.accounts.permissions import public
from nirantar.api import api
from nirantar.opd.urls import display_urlpatterns
from nirantar.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", accounts_views.login, name="login"),
    path("login/code/", accounts_views.login_code, name="login-code"),
    path("logout/", accounts_views.logout, name="logout"),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("counter/", include("nirantar.registration.urls")),
    path("duplicates/", include("nirantar.dedupe.urls")),
    path("desk/", include("nirantar.opd.urls")),
    path("display/", include(display_urlpatterns)),
    path("lab/", include("nirantar.lab.urls")),
    path("wards/", include("nirantar.wards.urls")),
    path("billing/", include("nirantar.billing.urls")),
    path("mis/", include("nirantar.mis.urls")),
    path("sync/", include("nirantar.ledger.urls")),
    path("", include("nirantar.accounts.urls")),
    path("status/", views.status, name="status"),
    path("enrolment/", views.enrolment, name="enrolment"),
    path("api/v1/", api.urls),
    path("fhir/", include("nirantar.fhir.urls")),
]

handler403 = "nirantar.web.views.permission_denied"
