"""Security headers on every response. No inline scripts anywhere, so CSP can forbid them."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from nirantar.accounts.signin import SIGNED_IN_AT

_POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'self'",
    "frame-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
]
# No page may be framed by anyone; the slip PDF may be framed by the counter screen.
CSP = "; ".join([*_POLICY, "frame-ancestors 'none'"])
FRAMEABLE_CSP = "; ".join([*_POLICY, "frame-ancestors 'self'"])


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if request.path.startswith(("/api/", "/counter/", "/audit/", "/users/")):
            # Patient data (and who read it) must not linger in shared browser caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


class ServerTimingMiddleware:
    """``Server-Timing: app;dur=12.3`` on every response: how long this node took, in ms.

    Operators see it in the browser's network panel; the benchmarks read it to
    separate the node's own time from the network's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed:.1f}"
        return response


class SessionLimitMiddleware:
    """End a screen session NIRANTAR_SESSION_HOURS after it signed in, however busy.

    The idle limit is the session cookie's own age, renewed on each request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and not user.is_authenticated
            and hasattr(request, "session")
            and SESSION_KEY in request.session
        ):
            # The session's user was disabled (or deleted): end it now, so that enabling
            # them later does not bring an unattended screen back to life.
            logout(request)
        elif user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.setdefault(SIGNED_IN_AT, time.time())
            # A waiting hall's token screen may show token numbers and nothing else, and
            # must not go blank at the end of a shift: its idle limit alone applies.
            unattended = getattr(user, "role", "") == "display"
            if not unattended and time.time() - float(started) > settings.SESSION_MAX_HOURS * 3600:
                logout(request)
                messages.info(request, _("Your session has ended. Please sign in again."))
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = settings.LOGIN_URL_PATH
                    return response
                if not request.path.startswith(settings.LOGIN_URL_PATH):
                    return redirect_to_login(request.get_full_path())
        return self.get_response(request)
