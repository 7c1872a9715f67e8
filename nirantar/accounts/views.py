"""Screens for administrators (users) and auditors (who saw what)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods

from nirantar import timeutil
from nirantar.accounts import actions, queries
from nirantar.accounts.auth import client_address
from nirantar.accounts.permissions import MANAGE_USERS, READ_AUDIT, ROLES
from nirantar.errors import ActionError
from nirantar.ledger.numbering import InvalidNumber
from nirantar.printing.renderer import A4, RendererUnavailable, render_pdf
from nirantar.registration.events import UHID
from nirantar.web.screens import screen


def _day(value: str, end: bool = False) -> datetime | None:
    try:
        day = datetime.fromisoformat(value).date()
    except ValueError:
        return None
    moment = datetime.combine(day, time.max if end else time.min, tzinfo=timeutil.hospital_zone())
    return moment


def _filters(request: HttpRequest) -> tuple[dict[str, Any], dict[str, Any], str]:
    raw = {k: request.GET.get(k, "").strip() for k in ("patient", "actor", "since", "until")}
    raw["emergency"] = request.GET.get("emergency", "")
    error = ""
    patient = ""
    if raw["patient"]:
        try:
            patient = UHID.normalise(raw["patient"])
        except InvalidNumber as exc:
            error = str(exc)
    query = {
        "patient": patient,
        "actor": raw["actor"],
        "since": _day(raw["since"]) if raw["since"] else None,
        "until": _day(raw["until"], end=True) if raw["until"] else None,
        "break_glass_only": bool(raw["emergency"]),
    }
    return raw, query, error


@require_GET
@screen(READ_AUDIT.name)
def audit(request: HttpRequest) -> HttpResponse:
    raw, query, error = _filters(request)
    entries = [] if error else queries.audit_entries(**query)
    return render(
        request,
        "accounts/audit.html",
        {
            "filters": raw,
            "error": error,
            "entries": entries,
            "reviews": queries.reviews_of(entries),
            "pending": queries.unreviewed_emergencies(),
            "denied": queries.denied_attempts(50),
        },
    )


@require_http_methods(["POST"])
@screen(READ_AUDIT.name)
def review(request: HttpRequest) -> HttpResponse:
    try:
        actions.do_review_access(
            request.user.username, request.POST.get("event", ""), request.POST.get("note", "")
        )
        messages.success(request, "Review recorded.")
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("audit")


@require_GET
@screen(READ_AUDIT.name)
def seen_report(request: HttpRequest, uhid: str) -> HttpResponse:
    """ "Who has seen my record": the report a patient's DPDP request is answered with."""
    try:
        patient = UHID.normalise(uhid)
    except InvalidNumber as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    viewers = queries.seen_by(patient)
    # Preparing the report is itself recorded against the patient.
    actions.do_record_access(
        request.user, patient, "audit.report", via="pdf", address=client_address(request)
    )
    html = render_to_string(
        "accounts/seen_report.html",
        {
            "uhid": patient,
            "viewers": viewers,
            "prepared_by": request.user,
            "prepared_at": timeutil.local(timeutil.now()),
        },
    )
    try:
        pdf = render_pdf(html, A4)
    except RendererUnavailable as exc:
        return HttpResponse(
            f"The report can't be printed right now: {exc}", status=503, content_type="text/plain"
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="seen-by-{patient}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@screen(MANAGE_USERS.name)
def users(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action", "")
        username = request.POST.get("username", "")
        actor = request.user.username
        try:
            if action == "add":
                actions.do_add_user(
                    actor,
                    username,
                    request.POST.get("role", ""),
                    request.POST.get("password", ""),
                    request.POST.get("full_name", ""),
                )
                messages.success(request, f"Added {username}.")
            elif action in ("disable", "enable"):
                if username == actor and action == "disable":
                    raise ActionError("you can't disable yourself", {"username": "yourself"})
                actions.do_change_user(actor, username, active=action == "enable")
                messages.success(request, f"{username} {action}d.")
            elif action == "role":
                actions.do_change_user(actor, username, role=request.POST.get("role", ""))
                messages.success(request, f"{username} is now {request.POST.get('role')}.")
        except ActionError as exc:
            details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            messages.error(request, f"{exc.message}{': ' + details if details else ''}")
        return redirect("users")
    return render(request, "accounts/users.html", {"users": queries.users(), "roles": ROLES})
