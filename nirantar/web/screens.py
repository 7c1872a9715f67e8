"""The decorator every screen view wears: signed in, and holding the view's permission."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from nirantar.accounts.permissions import require

F = TypeVar("F", bound=Callable[..., Any])


def screen(permission: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.is_authenticated:
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = settings.LOGIN_URL_PATH
                    return response
                return redirect_to_login(request.get_full_path())
            require(request.user, permission, request)
            return view(request, *args, **kwargs)

        wrapper.nirantar_permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
