"""The doctor's desk and the waiting hall's token display: htmx screens.

Forms post the API's fields and go through the same actions, so the rules and
the errors are the same at the desk and over the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from nirantar import timeutil
from nirantar.accounts.permissions import allowed
from nirantar.errors import ActionError
from nirantar.lab import catalogue as lab_catalogue
from nirantar.opd import actions, catalogue, prescription, queries
from nirantar.opd.permissions import (
    CONSULT,
    DISPLAY,
    PRINT_PRESCRIPTION,
    QUEUE,
    READ_CLINICAL,
    VITALS,
)
from nirantar.printing.renderer import RendererUnavailable
from nirantar.registration import queries as registration
from nirantar.registration.catalogue import SEXES
from nirantar.registration.models import Department
from nirantar.web.middleware import FRAMEABLE_CSP
from nirantar.web.screens import screen

DESK_KEY = "opd-desk"  # the session's department and room
AUDITED_KEY = "opd-audited"  # patients this session's queue lists have already recorded
PRESCRIPTION_ROWS = 6


def _desk(request: HttpRequest) -> dict[str, str]:
    chosen = dict(request.session.get(DESK_KEY) or {})
    department = request.GET.get("department")
    if department is not None:
        chosen = {"department": department, "room": request.GET.get("room", "")}
        request.session[DESK_KEY] = chosen
    return chosen


def _department(code: str) -> Department | None:
    return registration.department(code) if code else None


@require_GET
@screen(QUEUE.name)
def desk(request: HttpRequest) -> HttpResponse:
    chosen = _desk(request)
    department = _department(chosen.get("department", ""))
    return render(
        request,
        "opd/desk.html",
        {
            "departments": registration.departments(),
            "department": department,
            "room": chosen.get("room", ""),
        },
    )


def _queue_context(request: HttpRequest, department: Department) -> dict[str, Any]:
    chosen = _desk(request)
    room = chosen.get("room", "")
    tokens = queries.queue(department.code)
    if room:
        tokens = [t for t in tokens if t.place.room_en == room]
    today = timeutil.today().isoformat()
    audited = request.session.get(AUDITED_KEY) or {}
    already = set(audited.get("uhids", [])) if audited.get("day") == today else set()
    shown = queries.audit_listing(
        request.user,
        tokens,
        label=f"queue {department.code} {today}",
        via="screen",
        request=request,
        already=already,
    )
    request.session[AUDITED_KEY] = {"day": today, "uhids": sorted(shown)}
    day = timeutil.today()
    return {
        "department": department,
        "room": room,
        "tokens": [(t, _age(t.patient, day)) for t in tokens],
        "waiting": sum(1 for t in tokens if t.place.step == "waiting"),
    }


def _age(patient: Any, day: Any) -> str:
    if patient is None:
        return ""
    age, unit = patient.age_on(day)
    return f"{age} {unit} / {SEXES.get(patient.sex, ('', ''))[0][:1]}"


@require_GET
@screen(QUEUE.name)
def queue(request: HttpRequest) -> HttpResponse:
    department = _department(_desk(request).get("department", ""))
    if department is None:
        return HttpResponse(status=204)
    return render(request, "opd/_queue.html", _queue_context(request, department))


def _message(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return render(request, "opd/_message.html", {"message": exc.message}, status=exc.status)


@require_POST
@screen(QUEUE.name)
def call_next(request: HttpRequest) -> HttpResponse:
    chosen = _desk(request)
    try:
        place = actions.do_call_next(
            request.user.username, chosen.get("department", ""), chosen.get("room") or None
        )
    except ActionError as exc:
        return _message(request, exc)
    return _panel(request, place.visit.visit_no, called=True)


QUEUE_ACTIONS: dict[str, Callable[..., Any]] = {
    "call": lambda user, visit, post: actions.do_call(user, visit, post.get("room") or None),
    "start": lambda user, visit, post: actions.do_start(user, visit),
    "no-show": lambda user, visit, post: actions.do_no_show(user, visit),
    "send": lambda user, visit, post: actions.do_send(
        user, visit, post.get("room"), post.get("reason", "")
    ),
}


def queue_action(name: str) -> Callable[..., HttpResponse]:
    @require_POST
    @screen(QUEUE.name)
    def view(request: HttpRequest, visit: str) -> HttpResponse:
        try:
            QUEUE_ACTIONS[name](request.user.username, visit, request.POST)
        except ActionError as exc:
            return _panel(request, visit, error=exc)
        return _panel(request, visit)

    view.__name__ = f"queue_{name.replace('-', '_')}"
    return view


@require_POST
@screen(CONSULT.name)
def close(request: HttpRequest, visit: str) -> HttpResponse:
    try:
        actions.do_close(request.user.username, visit)
    except ActionError as exc:
        return _panel(request, visit, error=exc)
    return _panel(request, visit, saved="closed")


@require_GET
@screen(READ_CLINICAL.name)
def consult(request: HttpRequest, visit: str) -> HttpResponse:
    return _panel(request, visit)


def _panel(
    request: HttpRequest,
    visit: str,
    *,
    error: ActionError | None = None,
    form: str = "",
    values: Any = None,
    saved: str = "",
    called: bool = False,
) -> HttpResponse:
    try:
        record, patient = queries.access_record(
            request.user, visit, action="visit.view", via="screen", request=request
        )
    except ActionError as exc:
        return _message(request, exc)
    past = queries.timeline(patient, limit=30)  # with the allergies and alerts that stand
    department = record.department
    context = {
        "record": record,
        "patient": patient,
        "age": _age(patient, timeutil.today()),
        "allergies": past.allergies,
        "alerts": past.alerts,
        "past": records_html([r for r in past.visits if r.visit.visit_no != record.visit.visit_no]),
        "staff": past.staff,
        "rooms": department.rooms if department else [],
        "departments": registration.departments(),
        "tests": lab_catalogue.TESTS.values(),
        "frequencies": catalogue.FREQUENCIES,
        "routes": catalogue.ROUTES,
        "instructions": catalogue.INSTRUCTIONS,
        "rows": range(PRESCRIPTION_ROWS),
        "error": error,
        "errors": {k.replace(".", "_"): v for k, v in (error.fields if error else {}).items()},
        "form": form,
        "values": values or {},
        "saved": saved,
        "called": called,
        "may_consult": allowed(request.user, CONSULT.name),
        "may_vitals": allowed(request.user, VITALS.name),
        "may_print": allowed(request.user, PRINT_PRESCRIPTION.name),
        "may_queue": allowed(request.user, QUEUE.name),
        "closed": record.place.closed,
    }
    status = 200 if error is None else (422 if error.status == 400 else error.status)
    return render(request, "opd/_consult.html", context, status=status)


# -- recording ------------------------------------------------------------------------


def _correcting(post: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if post.get("corrects"):
        data["corrects"] = post["corrects"]
    if post.get("reason", "").strip():
        data["reason"] = post["reason"]
    return data


def _vitals(post: Any) -> dict[str, Any]:
    from nirantar.opd.rules import VITALS as LIMITS

    return {k: post[k] for k in LIMITS if post.get(k, "").strip()} | _correcting(post)


def _note(post: Any) -> dict[str, Any]:
    data = {"kind": post.get("kind", ""), "text": post.get("text", "")}
    if post.get("follow_up"):
        data["follow_up"] = post["follow_up"]
    return data | _correcting(post)


def _diagnosis(post: Any) -> dict[str, Any]:
    # The search list fills "E11.9 — Type 2 diabetes ...": the code is the first word.
    code = (post.get("code", "").split() or [""])[0]
    return {"code": code, "status": post.get("status", "provisional")} | _correcting(post)


def _prescription(post: Any) -> dict[str, Any]:
    items = []
    for i in range(PRESCRIPTION_ROWS):
        if not post.get(f"drug_{i}", "").strip():
            continue
        item = {
            k: post.get(f"{k}_{i}", "")
            for k in ("drug", "dose", "route", "frequency", "duration_days", "instructions")
        }
        items.append(item)
    return {"items": items} | _correcting(post)


def _allergy(post: Any) -> dict[str, Any]:
    return {"substance": post.get("substance", ""), "reaction": post.get("reaction", "")}


RECORDERS: dict[str, tuple[Any, Callable[[Any], dict[str, Any]], Callable[..., Any]]] = {
    "vitals": (VITALS, _vitals, actions.do_record_vitals),
    # Nurses take the complaints; findings, advice and alerts are the doctor's ("notes").
    "complaints": (
        VITALS,
        lambda post: _note(post) | {"kind": "complaints"},
        actions.do_record_note,
    ),
    "allergy": (VITALS, _allergy, actions.do_record_allergy),
    "notes": (CONSULT, _note, actions.do_record_note),
    "diagnosis": (CONSULT, _diagnosis, actions.do_record_diagnosis),
    "prescription": (CONSULT, _prescription, actions.do_prescribe),
    "lab": (
        CONSULT,
        lambda post: {"tests": post.getlist("tests"), "note": post.get("note", "")},
        actions.do_order_labs,
    ),
    "referral": (
        CONSULT,
        lambda post: {"department": post.get("department", ""), "reason": post.get("reason", "")},
        lambda user, visit, data: actions.do_refer(user, visit, data)[0],
    ),
    "admission": (
        CONSULT,
        lambda post: {"urgency": post.get("urgency", ""), "reason": post.get("reason", "")},
        actions.do_advise_admission,
    ),
}


def recorder(name: str) -> Callable[..., HttpResponse]:
    permission, parse, act = RECORDERS[name]

    @require_POST
    @screen(permission.name)
    def view(request: HttpRequest, visit: str) -> HttpResponse:
        try:
            act(request.user.username, visit, parse(request.POST))
        except ActionError as exc:
            return _panel(request, visit, error=exc, form=name, values=request.POST)
        return _panel(request, visit, saved=name)

    view.__name__ = f"record_{name}"
    return view


@require_POST
@screen(CONSULT.name)
def strike(request: HttpRequest, visit: str) -> HttpResponse:
    try:
        actions.do_strike(
            request.user.username, request.POST.get("entry"), request.POST.get("reason"), visit
        )
    except ActionError as exc:
        return _panel(request, visit, error=exc, form="strike", values=request.POST)
    return _panel(request, visit, saved="struck")


@require_GET
@screen(READ_CLINICAL.name)
def icd10(request: HttpRequest) -> HttpResponse:
    found = catalogue.search_diagnoses(request.GET.get("code", "")[:100])
    return render(
        request, "opd/_options.html", {"options": [f"{d.code} — {d.title}" for d in found]}
    )


@require_GET
@screen(READ_CLINICAL.name)
def drugs(request: HttpRequest) -> HttpResponse:
    text = next((v for k, v in request.GET.items() if k.startswith("drug_")), "")[:100]
    return render(
        request,
        "opd/_options.html",
        {"options": [d.name for d in catalogue.search_drugs(text)]},
    )


@require_GET
@screen(READ_CLINICAL.name)
def timeline(request: HttpRequest, uhid: str) -> HttpResponse:
    try:
        found = queries.access_timeline(request.user, uhid, via="screen", request=request)
    except ActionError as exc:
        return _message(request, exc)
    return HttpResponse(records_html(found.visits))


def records_html(records: list[queries.VisitRecord]) -> SafeString:
    """A patient's past visits, one line each with what was found and given.

    Built here rather than in a template: a long timeline has a thousand entries, and
    Django's template engine took most of a 200-visit request to lay them out.
    """
    if not records:
        return format_html('<p class="meta">{}</p>', gettext("No earlier visits."))
    hindi = get_language() == "hi"
    items = []
    for r in records:
        department = r.department
        name = (department.name_hi if hindi else department.name_en) if department else ""
        lines = [(v.kind, v.brief) for v in r.summary]
        lines += [
            ("lab", f"{gettext('Lab order')} {o.order_no}: {', '.join(o.tests)} ({o.status})")
            for o in r.lab_orders
        ]
        lines += [
            ("result", f"{x.name} {x.value} {x.unit}" + (f" ({x.flag})" if x.flag else ""))
            for x in r.lab_results
        ]
        items.append(
            format_html(
                '<li class="visit-record" data-visit="{}"><div class="visit-line">'
                "<strong>{}</strong> · {} · {} · {} "
                '<span class="badge step {}">{}</span></div>{}</li>',
                r.visit.visit_no,
                r.visit.local_date.strftime("%d-%m-%Y"),
                name or r.visit.department,
                r.visit.token,
                r.visit.visit_no,
                r.place.step,
                r.step_label,
                format_html(
                    '<ul class="entries compact">{}</ul>',
                    format_html_join("", '<li class="entry kind-{}">{}</li>', lines),
                )
                if lines
                else "",
            )
        )
    return format_html('<ol class="timeline">{}</ol>', mark_safe("".join(items)))  # noqa: S308 - each item escaped by format_html


@require_GET
@xframe_options_sameorigin  # the desk shows the prescription in a frame
@screen(PRINT_PRESCRIPTION.name)
def prescription_pdf(request: HttpRequest, visit: str) -> HttpResponse:
    page = request.GET.get("format", "a5")
    if page not in prescription.FORMATS:
        return HttpResponse("format must be a5 or a4", status=400, content_type="text/plain")
    try:
        record, patient = queries.access_record(
            request.user, visit, action="visit.prescription", via="pdf", request=request
        )
        pdf = prescription.prescription_pdf(record, patient, page)
    except ActionError as exc:
        response = HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    except RendererUnavailable as exc:
        response = HttpResponse(
            f"The prescription can't be printed right now: {exc}",
            status=503,
            content_type="text/plain",
        )
    else:
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'inline; filename="prescription-{record.visit.visit_no}.pdf"'
        )
    response["Content-Security-Policy"] = FRAMEABLE_CSP
    return response


# -- the waiting hall -------------------------------------------------------------------


@require_GET
@screen(DISPLAY.name)
def displays(request: HttpRequest) -> HttpResponse:
    return render(request, "opd/displays.html", {"departments": registration.departments()})


@require_GET
@screen(DISPLAY.name)
def display(request: HttpRequest, department: str) -> HttpResponse:
    found = _department(department.upper())
    if found is None:
        return redirect(reverse("displays"))
    return render(request, "opd/display.html", _board_context(found))


@require_GET
@screen(DISPLAY.name)
def board(request: HttpRequest, department: str) -> HttpResponse:
    found = _department(department.upper())
    if found is None:
        return HttpResponse(status=404)
    return render(request, "opd/_board.html", _board_context(found))


def _board_context(department: Department) -> dict[str, Any]:
    rooms, calls = queries.board(department)
    return {
        "department": department,
        "rooms": rooms,
        "calls": calls,
        "latest": queries.latest_call_ms(department.code),
        "now": timeutil.local(timeutil.now()).strftime("%H:%M"),
    }
