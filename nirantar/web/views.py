from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from nirantar.accounts.permissions import SIGN_IN, allowed, public
from nirantar.registration.permissions import REGISTER
from nirantar.web.screens import screen


@screen(SIGN_IN.name)
def home(request: HttpRequest) -> HttpResponse:
    if allowed(request.user, REGISTER.name):
        return redirect("counter")
    return render(request, "web/home.html")


@public
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and the demo script; reveals nothing about patients."""
    return JsonResponse({"status": "ok"})


login = public(
    auth_views.LoginView.as_view(template_name="web/login.html", redirect_authenticated_user=True)
)
logout = public(auth_views.LogoutView.as_view())


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/403.html", {"message": str(exception or "")}, status=403)
