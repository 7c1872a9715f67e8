"""The registration counter: keyboard-first screens served as htmx fragments.

Forms post the same fields as the JSON API and go through the same actions,
so the rules and the errors are the same wherever a clerk works.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from nirantar import timeutil
from nirantar.errors import ActionError, ValidationFailed
from nirantar.printing.renderer import RendererUnavailable
from nirantar.registration import actions, queries, rules, slip
from nirantar.registration import transliterate as translit
from nirantar.registration.catalogue import CATEGORIES, RELATIONS, SEXES, STATES
from nirantar.registration.models import Patient, Visit
from nirantar.registration.permissions import (
    BREAK_GLASS,
    CORRECT,
    PRINT_SLIP,
    READ_PATIENT,
    REGISTER,
)
from nirantar.web.middleware import FRAMEABLE_CSP
from nirantar.web.screens import screen

# The form posts the API's fields flat: the address's parts as address_<part>.
FORM_FIELDS = tuple(sorted(rules.API_FIELDS - {"address"}))
ADDRESS_FIELDS = tuple(rules.ADDRESS_FIELDS)


def form_data(post: Any, *, partial: bool = False) -> dict[str, Any]:
    """The API's shape from a flat HTML form; blank fields are left out."""
    data: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = post.get(name, "").strip()
        if value or (
            partial
            and name in post
            and name not in ("age_years", "age_months", "age_days", "date_of_birth")
        ):
            data[name] = value
    address = {
        k: post.get(f"address_{k}", "").strip() for k in ADDRESS_FIELDS if f"address_{k}" in post
    }
    if any(address.values()) or (partial and address):
        data["address"] = address
    return data


def _field_errors(exc: ActionError) -> dict[str, str]:
    """Error keys as form field names: "address.pin" is the input "address_pin"."""
    return {key.replace(".", "_"): message for key, message in exc.fields.items()}


def choices() -> dict[str, Any]:
    return {
        "departments": queries.departments(),
        "sexes": SEXES,
        "relations": RELATIONS,
        "categories": CATEGORIES,
        "states": sorted(STATES),
    }


def age_text(patient: Patient) -> str:
    age, unit = patient.age_on(timeutil.today())
    return f"{age} {unit}"


@require_GET
@screen(REGISTER.name)
def counter(request: HttpRequest) -> HttpResponse:
    return render(
        request, "registration/counter.html", {**choices(), "blank": {"category": "general"}}
    )


@require_GET
@screen(READ_PATIENT.name)
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    context: dict[str, Any] = {"query": query, "patients": [], "error": None}
    if query.strip():
        try:
            kind, patients = queries.search_patients(
                request.user, query, via="screen", request=request
            )
        except ValidationFailed as exc:
            context["error"] = exc.fields.get("q", exc.message)
        else:
            context.update(kind=kind, patients=[(p, age_text(p)) for p in patients])
            if kind == "uhid" and patients:  # a UHID merged away finds its survivor
                asked = queries.classify(query)[1]
                if asked != patients[0].uhid:
                    context["merged_from"] = asked
    return render(request, "registration/_results.html", context)


@require_http_methods(["GET", "POST"])
@screen(REGISTER.name)
def new_patient(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {**choices(), "values": {}, "errors": {}}
    if request.method == "GET":
        context["values"] = {"category": "general", "department": request.GET.get("department", "")}
        return render(request, "registration/_new_patient.html", context)
    data = form_data(request.POST)
    try:
        patient, visit = actions.do_register_patient_and_visit(
            request.user.username, data, request.POST.get("department", "")
        )
    except ActionError as exc:
        context.update(values=request.POST, errors=_field_errors(exc), message=exc.message)
        return render(request, "registration/_new_patient.html", context, status=422)
    return _token(request, visit, patient)


@require_GET
@screen(REGISTER.name)
def transliterate(request: HttpRequest) -> HttpResponse:
    text = (
        request.GET.get("text") or request.GET.get("name_en") or request.GET.get("name_hi") or ""
    )[:100]
    target = request.GET.get("target", "")
    suggestion = ""
    if text.strip():
        script, suggestion = translit.suggest(text)
        if target and script != target:
            suggestion = ""
    return render(
        request, "registration/_suggestion.html", {"suggestion": suggestion, "target": target}
    )


@require_GET
@screen(READ_PATIENT.name)
def patient_panel(request: HttpRequest, uhid: str) -> HttpResponse:
    """A patient's panel. A UHID merged away (an old card scanned) redirects to its
    survivor's panel, which says which UHID was merged into it (only the panel shown is
    an audited read)."""
    try:
        asked = actions.parse_uhid(uhid)
    except ValidationFailed:
        asked = ""  # refused below, as any bad UHID is
    survivor = queries.survivor_of(asked) if asked else ""
    if survivor != asked and queries.get_patient(survivor) is not None:
        target = reverse("counter-patient", args=[survivor])
        return redirect(f"{target}?{urlencode({'merged_from': asked})}")
    try:
        patient = queries.access_patient(
            request.user, uhid, action="patient.view", via="screen", request=request
        )
    except ActionError as exc:
        return render(
            request, "registration/_message.html", {"message": exc.message}, status=exc.status
        )
    asked = request.GET.get("merged_from", "")
    merged = queries.group_of(patient.uhid)[1:]
    notice = asked if asked in merged else ""  # only a UHID really merged into this one
    return render(
        request, "registration/_patient.html", _patient_context(patient, merged_from=notice)
    )


@require_http_methods(["GET", "POST"])
@screen(BREAK_GLASS.name)
def emergency_access(request: HttpRequest, uhid: str) -> HttpResponse:
    """Break the glass: open a record without the usual right, giving a reason.

    The read is recorded like any other, flagged for an auditor's review.
    """
    if request.method == "GET":
        return render(request, "registration/emergency.html", {"uhid": uhid, "errors": {}})
    try:
        patient = queries.access_patient(
            request.user,
            uhid,
            action="patient.view",
            via="screen",
            request=request,
            reason=request.POST.get("reason", ""),
        )
    except ActionError as exc:
        return render(
            request,
            "registration/emergency.html",
            {
                "uhid": uhid,
                "errors": _field_errors(exc),
                "message": exc.message,
                "reason": request.POST.get("reason", ""),
            },
            status=exc.status,
        )
    return render(
        request,
        "registration/emergency.html",
        {
            "uhid": uhid,
            "patient": patient,
            "age": age_text(patient),
            "visits": queries.visits_of(patient.uhid, limit=10),
        },
    )


def _patient_context(patient: Patient, **extra: Any) -> dict[str, Any]:
    return {
        **choices(),
        "patient": patient,
        "age": age_text(patient),
        "visits": queries.visits_of(patient.uhid, limit=5),
        "last_department": queries.last_department(patient.uhid),
        "merged_uhids": queries.group_of(patient.uhid)[1:],
        "history": queries.history(patient),
        **extra,
    }


@require_http_methods(["POST"])
@screen(REGISTER.name)
def register_visit(request: HttpRequest, uhid: str) -> HttpResponse:
    try:
        visit = actions.do_register_visit(
            request.user.username, uhid, request.POST.get("department", "")
        )
    except ActionError as exc:
        # Show the patient again with the problem beside the department - an audited read.
        try:
            patient = queries.access_patient(
                request.user, uhid, action="patient.view", via="screen", request=request
            )
        except ActionError as missing:
            return _message(request, missing)
        return render(
            request,
            "registration/_patient.html",
            _patient_context(patient, visit_error=exc.fields.get("department", exc.message)),
            status=422,
        )
    patient = queries.get_patient(visit.uhid)
    assert patient is not None
    return _token(request, visit, patient)


def _message(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return render(
        request, "registration/_message.html", {"message": exc.message}, status=exc.status
    )


def _token(request: HttpRequest, visit: Visit, patient: Patient) -> HttpResponse:
    department = queries.department(visit.department)
    return render(
        request,
        "registration/_token.html",
        {"visit": visit, "patient": patient, "department": department, "age": age_text(patient)},
    )


@require_GET
@screen(PRINT_SLIP.name)
def token_panel(request: HttpRequest, visit: str) -> HttpResponse:
    try:
        row, patient = queries.access_visit(
            request.user, visit, action="visit.view", via="screen", request=request
        )
    except ActionError as exc:
        return render(
            request, "registration/_message.html", {"message": exc.message}, status=exc.status
        )
    return _token(request, row, patient)


@require_http_methods(["GET", "POST"])
@screen(CORRECT.name)
def correct_patient(request: HttpRequest, uhid: str) -> HttpResponse:
    try:
        current = queries.access_patient(
            request.user,
            uhid,
            action="patient.view" if request.method == "GET" else "patient.correct",
            via="screen",
            request=request,
        )
    except ActionError as exc:
        return _message(request, exc)
    if request.method == "GET":
        return render(
            request,
            "registration/_correct.html",
            {**choices(), "patient": current, "values": _values(current), "errors": {}},
        )
    data = form_data(request.POST, partial=True)
    # The form shows the date of birth as stored; sending it back unchanged must not
    # turn an estimated date (from an age) into a known one.
    if current.date_of_birth and data.get("date_of_birth") == current.date_of_birth.isoformat():
        del data["date_of_birth"]
    try:
        patient = actions.do_correct_patient(
            request.user.username, current.uhid, data, request.POST.get("reason", "")
        )
    except ActionError as exc:
        return render(
            request,
            "registration/_correct.html",
            {
                **choices(),
                "patient": current,
                "values": request.POST,
                "errors": _field_errors(exc),
                "message": exc.message,
            },
            status=422,
        )
    return render(request, "registration/_patient.html", _patient_context(patient, saved=True))


def _values(patient: Patient) -> dict[str, Any]:
    values = {name: getattr(patient, name, "") for name in FORM_FIELDS if hasattr(patient, name)}
    values["date_of_birth"] = patient.date_of_birth.isoformat() if patient.date_of_birth else ""
    values["abha_number"] = patient.abha_number_display
    values.update(
        address_line=patient.address_line,
        address_district=patient.district,
        address_state=patient.state,
        address_pin=patient.pin,
    )
    return values


@require_GET
@xframe_options_sameorigin  # the counter screen shows the slip in a frame
@screen(PRINT_SLIP.name)
def slip_pdf(request: HttpRequest, visit: str) -> HttpResponse:
    page = request.GET.get("format", "a5")
    if page not in slip.FORMATS:
        return HttpResponse("format must be a5 or thermal80", status=400, content_type="text/plain")
    try:
        row, patient = queries.access_visit(
            request.user, visit, action="visit.slip", via="pdf", request=request
        )
        pdf = slip.slip_pdf(row, patient, queries.department(row.department), page)
    except ActionError as exc:
        response = HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    except RendererUnavailable as exc:
        response = HttpResponse(
            f"The slip can't be printed right now: {exc}", status=503, content_type="text/plain"
        )
    else:
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="slip-{row.visit_no}.pdf"'
    # Shown inside the counter's slip frame, errors included, so they can be read there.
    response["Content-Security-Policy"] = FRAMEABLE_CSP
    return response
