"""The JSON API under /api/v1/, with its OpenAPI schema at /api/v1/openapi.json.

Every error is ``{"error": {"code", "message", "fields": {...}}}`` with a 4xx
status (5xx only for a fault of ours or an unavailable printer engine).
Authentication is a bearer token from ``nirantar token NAME``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer

from nirantar.errors import ActionError
from nirantar.printing.renderer import RendererUnavailable


class Undeclared(HttpBearer):
    """The API's default: an operation that declares no rule (``auth=needs(...)``) is
    closed to everyone - and the permission-matrix test names it."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        raise PermissionDenied("this operation declares no permission rule")


class Utf8JSONRenderer(JSONRenderer):
    """Hindi names as themselves, not as \\u escapes: readable in logs and by people."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    title="Nirantar",
    version="1",
    description="Hospital information system API. Errors are "
    '{"error": {"code", "message", "fields"}}; amounts are integers.',
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url=None,
    auth=Undeclared(),
)


def error_response(
    request: HttpRequest, status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
    )


@api.exception_handler(ActionError)
def on_action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        # ("body", "payload", "address", "pin") -> "address.pin"; the body itself -> "body"
        name = ".".join(loc[2:]) if loc[:1] == ["body"] else ".".join(loc[1:])
        if loc[:1] == ["body"] and len(loc) <= 2:
            name = "body"
        message = error.get("msg", "invalid")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        if name == "body" and error.get("type") == "missing":
            message = "a JSON object is required"
        fields.setdefault(name or "request", message)
    return error_response(
        request, 400, "validation_failed", "please correct the named fields", fields
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        request, 401, "unauthorized", "a valid API token is required (Authorization: Bearer ...)"
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(request, 403, "forbidden", str(exc) or "your role may not do this")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "no such resource")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and "parse" in str(exc).lower():
        return error_response(
            request,
            400,
            "invalid_json",
            "the request body is not valid JSON",
            {"body": "not valid JSON"},
        )
    return error_response(request, exc.status_code, "error", str(exc))


@api.exception_handler(RendererUnavailable)
def on_renderer_unavailable(request: HttpRequest, exc: RendererUnavailable) -> HttpResponse:
    return error_response(request, 503, "printing_unavailable", str(exc))


api.add_router("/", "nirantar.registration.api.router")
api.add_router("/", "nirantar.web.api.router")
api.add_router("/", "nirantar.accounts.api.router")
api.add_router("/", "nirantar.opd.api.router")
api.add_router("/", "nirantar.lab.api.router")
api.add_router("/", "nirantar.wards.api.router")
api.add_router("/", "nirantar.dedupe.api.router")
api.add_router("/", "nirantar.billing.api.router")
api.add_router("/", "nirantar.mis.api.router")
