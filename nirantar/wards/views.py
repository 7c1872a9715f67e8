"""The wards' screens: the hospital's bed board, a ward's board, admission, a stay's chart
(transfer, discharge, the printouts), the conflict worklist and the midnight census.

Forms post the API's fields to the same actions, so the rules and the errors are the same
on a screen and over the API. A list that shows patients' names is an audited read of
each of them, as the API's is.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts.auth import client_address
from nirantar.accounts.permissions import allowed, require
from nirantar.errors import ActionError
from nirantar.errors import Conflict as ConflictError
from nirantar.lab import catalogue as lab_catalogue
from nirantar.opd.rules import VITALS
from nirantar.printing.renderer import RendererUnavailable
from nirantar.registration.catalogue import SEXES
from nirantar.registration.models import Patient
from nirantar.wards import actions, documents, events, queries
from nirantar.wards.models import Ward
from nirantar.wards.permissions import (
    ADMIT,
    BEDS,
    BOARD,
    CHART,
    CONFLICTS,
    PROGRESS,
    READ_CHART,
)
from nirantar.wards.projections import ward_of_bed
from nirantar.web.screens import screen

STATES = {
    "vacant": gettext_lazy("Vacant"),
    "occupied": gettext_lazy("Occupied"),
    "reserved": gettext_lazy("Reserved"),
    "cleaning": gettext_lazy("Cleaning"),
    "out_of_service": gettext_lazy("Out of service"),
}
KINDS = {
    "general": gettext_lazy("General"),
    "private": gettext_lazy("Private"),
    "icu": gettext_lazy("ICU"),
    "paediatric": gettext_lazy("Paediatric"),
    "maternity": gettext_lazy("Maternity"),
    "emergency": gettext_lazy("Emergency"),
}
WARD_SEXES = {"M": gettext_lazy("Men"), "F": gettext_lazy("Women"), "any": gettext_lazy("Everyone")}
SOURCES = {
    "opd": gettext_lazy("OPD"),
    "emergency": gettext_lazy("Emergency"),
    "direct": gettext_lazy("Direct"),
}
DISCHARGE_TYPES = {
    "normal": gettext_lazy("Discharged (normal)"),
    "lama": gettext_lazy("Left against medical advice (LAMA)"),
    "referred": gettext_lazy("Referred to another hospital"),
    "absconded": gettext_lazy("Absconded"),
    "death": gettext_lazy("Death"),
}
CONFLICT_KINDS = {
    "double_booked": gettext_lazy("Bed given to two patients"),
    "admitted_twice": gettext_lazy("Patient admitted twice"),
    "contradictory_discharge": gettext_lazy("Discharged in different ways"),
}
ADMIT_FIELDS = ("uhid", "bed", "attending", "diagnosis", "source", "visit", "note")
DISCHARGE_FIELDS = (
    "type",
    "at",
    "diagnoses",
    "procedures",
    "course",
    "condition",
    "medicines",
    "follow_up",
)
# The form fields of each kind of chart entry (the actions' names for them).
ENTRY_FIELDS: dict[str, tuple[str, ...]] = {
    "vitals": tuple(VITALS),
    "io": ("intake_oral_ml", "intake_iv_ml", "output_urine_ml", "output_other_ml", "note"),
    "nursing_note": ("text",),
    "medication": ("drug", "dose", "route", "note"),
    "progress_note": ("text",),
}
DAY_MS = 86_400_000
# The fields of each form on a stay's page, in the order they are laid out (the first
# with an error takes the cursor when the page comes back).
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    **{kind: (*fields, "at") for kind, fields in ENTRY_FIELDS.items()},
    "transfer": ("bed", "reason"),
    "discharge": DISCHARGE_FIELDS,
    "lab": ("note",),
    "confirm": ("note",),
}


def _hindi() -> bool:
    return get_language() == "hi"


def _ward_name(ward: Ward | None, code: str = "") -> str:
    if ward is None:
        return code
    return ward.name_hi if _hindi() and ward.name_hi else ward.name_en


def _person(name_en: str, name_hi: str) -> str:
    return (name_hi or name_en) if _hindi() else (name_en or name_hi)


AUDITED_KEY = "wards_audited"


def _audit_list(request: HttpRequest, label: str, uhids: list[str]) -> None:
    """Names on a list are a read of each patient. A board on a ward's screen refreshes all
    day: each patient is recorded the first time this session shows them each day (as the
    doctor's queue does), not again at every refresh - else the audit log would grow by the
    whole hospital every time someone looks."""
    today = timeutil.today().isoformat()
    audited = request.session.get(AUDITED_KEY) or {}
    already = set(audited.get("uhids", [])) if audited.get("day") == today else set()
    new = [uhid for uhid in uhids if uhid not in already]
    if new:
        account_actions.do_record_search(
            request.user, label, new, via="screen", address=client_address(request)
        )
        request.session[AUDITED_KEY] = {"day": today, "uhids": sorted(already.union(new))}


def _problem(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return render(request, "wards/problem.html", {"message": exc.message}, status=exc.status)


def _error_detail(exc: ActionError) -> str:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    return exc.message + (f" ({detail})" if detail else "")


# -- the hospital's bed board -----------------------------------------------------------


def counts_html(counts: Any) -> SafeString:
    """How many beds are in each state (and double-booked), as the boards show it."""
    parts = [
        f'<span class="count {state}" data-count="{state}"><span class="swatch {state}">'
        f"</span>{html.escape(str(label))}: <strong>{int(counts[state])}</strong></span>"
        for state, label in STATES.items()
    ]
    if counts["double_booked"]:
        label = gettext("Double-booked")  # not inside the f-string: xgettext can't see it there
        parts.append(
            '<span class="count double-count" data-count="double_booked" role="alert">'
            f"⚠ {html.escape(label)}: "
            f"<strong>{int(counts['double_booked'])}</strong></span>"
        )
    return mark_safe(" ".join(parts))  # noqa: S308 - the labels escaped, the rest numbers


def board_html(boards: list[queries.WardBoard]) -> SafeString:
    """The hospital's board, ward by ward: a heading, the counts and a compact cell per
    bed. Built here rather than in a template: the board lays out every bed of the
    hospital (3,300 at the largest), and Django's template engine took most of the
    request to lay out that many cells (the benchmark's limit is 300 ms)."""
    labels = {state: str(label) for state, label in STATES.items()}
    twice, beds_word = gettext("double-booked"), gettext("beds")
    hindi = _hindi()
    escape = html.escape
    out = []
    for b in boards:
        code = b.ward.code
        out.append(
            format_html(
                '<section class="ward-group" id="ward-{}" data-ward="{}">'
                '<h2><a href="{}">{} · {}</a> <span class="meta">{} {}</span></h2>'
                '<p class="ward-counts">{}</p><ul class="cells">',
                code,
                code,
                reverse("wards-ward", args=[code]),
                code,
                _ward_name(b.ward),
                len(b.beds),
                beds_word,
                counts_html(b.counts),
            )
        )
        for bed in b.beds:
            # Bed codes (WARD-PART, capitals and digits) and states (a fixed set) are
            # checked by the projections: only the free text needs escaping.
            state = bed.state
            title = [bed.bed, labels.get(state, state)]
            who = ""
            for o in bed.occupants:
                name = (o.name_hi or o.name_en) if hindi else (o.name_en or o.name_hi)
                title.append(f"{name} {o.uhid} {o.age}/{o.sex} {o.admission}")
                who = who or name
            if state == "reserved":
                title.append(bed.reserved_for)
            elif state == "out_of_service":
                title.append(bed.service_reason)
            many = len(bed.occupants)
            if many > 1:
                title.append(twice)
            out.append(
                f'<li class="bed {state}{" double" if many > 1 else ""}" data-bed="{bed.bed}"'
                f' data-state="{state}" title="{escape(" · ".join(title))}">'
                f"<b>{bed.bed.rpartition('-')[2]}</b>"
                f"{f'<i>×{many}</i>' if many > 1 else ''}<span>{escape(who)}</span></li>"
            )
        out.append("</ul></section>")
    return mark_safe("".join(out))  # noqa: S308 - free text escaped above


@require_GET
@screen(BOARD.name)
def board(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in events.WARD_KINDS else ""
    sex = request.GET.get("sex", "")
    sex = sex if sex in ("M", "F") else ""
    boards = queries.board("", kind, sex)
    _audit_list(request, f"bed board {kind or 'all'} {sex}".strip(), queries.shown(boards))
    return render(
        request,
        "wards/board.html",
        {
            "board": board_html(boards),
            "wards": len(boards),
            "counts": counts_html(queries.totals(boards)),
            "beds": sum(len(b.beds) for b in boards),
            "kinds": KINDS.items(),
            "kind": kind,
            "sex": sex,
        },
    )


# -- one ward ---------------------------------------------------------------------------


@require_GET
@screen(BOARD.name)
def ward(request: HttpRequest, code: str) -> HttpResponse:
    boards = queries.board(code.upper())
    if not boards:
        return render(
            request,
            "wards/problem.html",
            {"message": gettext("There is no ward %(code)s.") % {"code": code}},
            status=404,
        )
    [found] = boards
    _audit_list(request, f"ward board {found.ward.code}", queries.shown(boards))
    beds = []
    for bed in found.beds:
        people = [
            {
                "o": o,
                "name": _person(o.name_en, o.name_hi),
                "other_name": o.name_hi if not _hindi() else o.name_en,
            }
            for o in bed.occupants
        ]
        beds.append({"bed": bed, "label": STATES.get(bed.state, bed.state), "people": people})
    return render(
        request,
        "wards/ward.html",
        {
            "ward": found.ward,
            "name": _ward_name(found.ward),
            "kind": KINDS.get(found.ward.kind, found.ward.kind),
            "sex": WARD_SEXES.get(found.ward.sex, found.ward.sex),
            "counts": counts_html(found.counts),
            "beds": beds,
            "total": len(found.beds),
            "may_admit": allowed(request.user, ADMIT.name),
            "may_beds": allowed(request.user, BEDS.name),
            "may_read": allowed(request.user, READ_CHART.name),
        },
    )


def _back_to_ward(bed_text: str) -> HttpResponse:
    try:
        code = actions.parse_bed(bed_text)
        return redirect(reverse("wards-ward", args=[ward_of_bed(code)]) + f"#bed-{code}")
    except (ActionError, ValueError):
        return redirect("wards-board")


def bed_action(
    name: str, permission: Any, act: Callable[[str, str, Any], Any], done: Any
) -> Callable[..., HttpResponse]:
    """A button on a ward's board for one bed: the action, then back to the ward."""

    @require_POST
    @screen(permission.name)
    def view(request: HttpRequest, bed: str) -> HttpResponse:
        try:
            result = act(request.user.username, bed, request.POST)
        except ActionError as exc:
            messages.error(request, _error_detail(exc))
        else:
            messages.success(request, f"{result.bed}: {done(result)}")
        return _back_to_ward(bed)

    view.__name__ = view.__qualname__ = name
    return view


bed_cleaned = bed_action(
    "bed_cleaned",
    BEDS,
    lambda user, bed, post: actions.do_clean_bed(user, bed),
    lambda b: gettext("cleaned, vacant again"),
)
bed_service = bed_action(
    "bed_service",
    BEDS,
    lambda user, bed, post: actions.do_set_bed_service(
        user, bed, post.get("in_service") == "1", post.get("reason", "")
    ),
    lambda b: gettext("in service") if b.in_service else gettext("out of service"),
)
bed_reservation = bed_action(
    "bed_reservation",
    ADMIT,
    lambda user, bed, post: actions.do_reserve_bed(
        user, bed, post.get("uhid", "").strip(), post.get("note", "")
    ),
    lambda b: (
        (gettext("reserved for %(uhid)s") % {"uhid": b.reserved_for})
        if b.reserved_for
        else gettext("reservation cancelled")
    ),
)


# -- admission --------------------------------------------------------------------------


def _bed_choices() -> list[tuple[str, str]]:
    reserved = gettext("reserved for")
    return [
        (bed, f"{reserved} {uhid}" if state == "reserved" else "")
        for bed, state, uhid in queries.free_beds()
    ]


@require_http_methods(["GET", "POST"])
@screen(ADMIT.name)
def admit(request: HttpRequest) -> HttpResponse:
    error: ActionError | None = None
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ADMIT_FIELDS}
        try:
            admission = actions.do_admit(request.user.username, values)
        except ActionError as exc:
            error = exc
        else:
            messages.success(
                request,
                gettext("Admitted as %(admission)s to bed %(bed)s.")
                % {"admission": admission.admission_no, "bed": admission.bed},
            )
            if allowed(request.user, READ_CHART.name):
                return redirect("wards-stay", admission=admission.admission_no)
            # The admission desk may print but not read charts: it stays here.
            return redirect(reverse("wards-admit") + f"?admitted={admission.admission_no}")
    else:
        values = {k: request.GET.get(k, "").strip()[:300] for k in ADMIT_FIELDS}
    values["source"] = values["source"] or "direct"
    errors = error.fields if error else {}
    focus = next((f for f in ADMIT_FIELDS if f in errors), "bed" if values["uhid"] else "uhid")
    advice = queries.admission_advice()
    _audit_list(request, "admission advice", sorted({a.entry.uhid for a, _ in advice}))
    context = {
        "values": values,
        "error": error,
        "errors": errors,
        "other_errors": {k: v for k, v in errors.items() if k not in ADMIT_FIELDS},
        "focus": focus,
        "doctors": queries.doctors(),
        "free_beds": _bed_choices(),
        "sources": SOURCES.items(),
        "advice": [
            {
                "a": a,
                "patient": p,
                "name": _person(p.name_en, p.name_hi) if p else "",
                "attending": a.entry.actor,
            }
            for a, p in advice
        ],
        "admitted": _admitted(request),
    }
    status = 200 if error is None else (422 if error.status == 400 else error.status)
    return render(request, "wards/admit.html", context, status=status)


def _admitted(request: HttpRequest) -> dict[str, Any] | None:
    """The admission just made, for those who print its form and wristband (the admission
    desk, which can't open the chart): who, where, and links. A read of the patient."""
    number = request.GET.get("admitted", "")
    if request.method != "GET" or not number:
        return None
    try:
        row, patient = queries.access_admission(
            request.user, number, action="wards.admit", via="screen", request=request
        )
    except ActionError:
        return None
    return {
        "a": row,
        "name": _person(patient.name_en, patient.name_hi) if patient else "",
        "ward": _ward_name(Ward.objects.filter(code=row.ward).first(), row.ward),
    }


# -- a stay -----------------------------------------------------------------------------


@require_GET
@screen(READ_CHART.name)
def stay(request: HttpRequest, admission: str) -> HttpResponse:
    return _stay_page(request, admission)


def _stay_page(
    request: HttpRequest,
    admission: str,
    *,
    form: str = "",
    error: ActionError | None = None,
    values: Any = None,
) -> HttpResponse:
    try:
        found = queries.access_chart(
            request.user, admission, action="wards.stay", via="screen", request=request
        )
    except ActionError as exc:
        return _problem(request, exc)
    a, patient = found.admission, found.patient
    names = found.names

    def by(username: str) -> str:
        return names.get(username, (username, ""))[0] or username

    wards = {
        w.code: w
        for w in Ward.objects.filter(code__in={a.ward, *(p.ward for p in found.placements)})
    }
    corrected = found.corrected
    day = timeutil.today()
    age, unit = patient.age_on(day)
    sex = SEXES.get(patient.sex, ("", ""))
    entries: dict[str, list[dict[str, Any]]] = {kind: [] for kind in events.ENTRY_KINDS}
    for e in found.entries:
        entries.setdefault(e.kind, []).append(
            {"e": e, "d": e.data, "by": by(e.actor), "corrected": e.entry_id in corrected}
        )
    since = (a.discharged_ms or int(timeutil.now().timestamp() * 1000)) - DAY_MS
    balance = {
        key: sum(
            int(r["d"].get(key) or 0)
            for r in entries["io"]
            if not r["corrected"] and r["e"].at_ms >= since
        )
        for key in ENTRY_FIELDS["io"][:4]
    }
    errors = error.fields if error else {}
    if error is not None:
        first = next((f for f in FORM_FIELDS.get(form, ()) if f in errors), "")
        focus = f"{form}-{first}" if first else ""
    elif not a.discharged and allowed(request.user, CHART.name):
        focus = "vitals-bp_systolic"
    else:
        focus = ""
    context = {
        "a": a,
        "patient": patient,
        "age": f"{age} {unit}" if unit else "",
        "sex": sex[1] if _hindi() else sex[0],
        "ward": _ward_name(wards.get(a.ward), a.ward),
        "attending": by(a.attending),
        "admitted_by": by(a.admitted_by),
        "source": SOURCES.get(a.source, a.source),
        "placements": [
            {"p": p, "ward": _ward_name(wards.get(p.ward), p.ward), "by": by(p.actor)}
            for p in found.placements
        ],
        "vitals": entries["vitals"],
        "io": entries["io"],
        "balance": balance,
        "balance_net": balance["intake_oral_ml"]
        + balance["intake_iv_ml"]
        - balance["output_urine_ml"]
        - balance["output_other_ml"],
        "nursing_notes": entries["nursing_note"],
        "medications": entries["medication"],
        "progress_notes": entries["progress_note"],
        "orders": found.orders,
        "discharge_type": DISCHARGE_TYPES.get(a.discharge.get("type", ""), ""),
        "discharged_by": by(a.discharge.get("by", "")),
        "discharge_types": DISCHARGE_TYPES.items(),
        "discharges": discharges(a)
        if len({(v.get("type"), v.get("at")) for v in a.discharge_versions}) > 1
        else [],
        "tests": lab_catalogue.TESTS.values(),
        "free_beds": _bed_choices() if not a.discharged else [],
        "form": form,
        "error": error,
        "errors": errors,
        "values": values if values is not None else {},
        "checked_tests": values.getlist("tests") if form == "lab" and values is not None else [],
        "focus": focus,
        "may_admit": allowed(request.user, ADMIT.name),
        "may_chart": allowed(request.user, CHART.name),
        "may_progress": allowed(request.user, PROGRESS.name),
        "open": not a.discharged,
        "shared_bed": not a.discharged and queries.double_booked(a.bed),
    }
    status = 200 if error is None else (422 if error.status == 400 else error.status)
    return render(request, "wards/stay.html", context, status=status)


def _to_stay(admission: str, anchor: str = "") -> HttpResponse:
    try:
        number = actions.parse_admission(admission)
    except ActionError:
        return redirect("wards-board")
    return redirect(reverse("wards-stay", args=[number]) + (f"#{anchor}" if anchor else ""))


def _after_error(request: HttpRequest, admission: str, form: str, exc: ActionError) -> HttpResponse:
    """A refused form is shown again with what was typed, its errors beside the fields -
    on the chart for those who may read it, else as a message on the board."""
    if allowed(request.user, READ_CHART.name):
        return _stay_page(request, admission, form=form, error=exc, values=request.POST)
    messages.error(request, _error_detail(exc))
    return redirect("wards-board")


@require_POST
@screen(CHART.name)
def record_entry(request: HttpRequest, admission: str) -> HttpResponse:
    kind = request.POST.get("kind", "")
    fields = ENTRY_FIELDS.get(kind)
    if fields is None:
        return HttpResponse("unknown kind of entry", status=400, content_type="text/plain")
    if kind == "progress_note":
        require(request.user, PROGRESS.name, request)  # doctors write progress notes
    data: dict[str, Any] = {k: request.POST[k] for k in fields if request.POST.get(k, "").strip()}
    data["at"] = request.POST.get("at", "").strip() or None
    try:
        actions.do_record_entry(request.user.username, admission, kind, data)
    except ActionError as exc:
        return _after_error(request, admission, kind, exc)
    messages.success(request, gettext("Saved."))
    return _to_stay(admission, f"chart-{kind}")


@require_POST
@screen(PROGRESS.name)
def order_tests(request: HttpRequest, admission: str) -> HttpResponse:
    try:
        order = actions.do_order_tests(
            request.user.username,
            admission,
            request.POST.getlist("tests"),
            request.POST.get("note", ""),
        )
    except ActionError as exc:
        return _after_error(request, admission, "lab", exc)
    messages.success(
        request,
        gettext("Lab order %(order)s: %(tests)s")
        % {"order": order.order_no, "tests": ", ".join(order.tests)},
    )
    return _to_stay(admission, "chart-lab")


@require_POST
@screen(ADMIT.name)
def transfer(request: HttpRequest, admission: str) -> HttpResponse:
    from_conflicts = request.POST.get("back") == "conflicts"
    try:
        row = actions.do_transfer(
            request.user.username,
            admission,
            request.POST.get("bed", "").strip(),
            request.POST.get("reason", ""),
        )
    except ActionError as exc:
        if from_conflicts and allowed(request.user, CONFLICTS.name):
            return _conflicts_page(request, failed=(admission, exc))
        return _after_error(request, admission, "transfer", exc)
    messages.success(
        request,
        gettext("%(admission)s moved to bed %(bed)s.")
        % {"admission": row.admission_no, "bed": row.bed},
    )
    if from_conflicts:
        return redirect("wards-conflicts")
    if not allowed(request.user, READ_CHART.name):
        return redirect(reverse("wards-ward", args=[row.ward]) + f"#bed-{row.bed}")
    return _to_stay(admission)


@require_POST
@screen(PROGRESS.name)
def discharge(request: HttpRequest, admission: str) -> HttpResponse:
    data = {k: request.POST.get(k, "") for k in DISCHARGE_FIELDS}
    data["at"] = data["at"].strip() or None
    try:
        row = actions.do_discharge(request.user.username, admission, data)
    except ActionError as exc:
        return _after_error(request, admission, "discharge", exc)
    messages.success(
        request,
        gettext("%(admission)s discharged; bed %(bed)s is to be cleaned.")
        % {"admission": row.admission_no, "bed": row.bed},
    )
    return _to_stay(admission, "discharge")


def discharges(a: Any) -> list[dict[str, Any]]:
    """Every discharge recorded for a stay (more than one when nodes apart each made one),
    the one that stands marked, for a doctor to confirm which is right."""
    return [
        {
            "v": v,
            "type": DISCHARGE_TYPES.get(v.get("type", ""), v.get("type", "")),
            "standing": v.get("stamp") == a.discharge_stamp,
        }
        for v in a.discharge_versions
    ]


@require_POST
@screen(PROGRESS.name)
def confirm_discharge(request: HttpRequest, admission: str) -> HttpResponse:
    from_conflicts = request.POST.get("back") == "conflicts"
    try:
        actions.do_confirm_discharge(
            request.user.username,
            admission,
            request.POST.get("discharge", ""),
            request.POST.get("note", ""),
        )
    except ActionError as exc:
        if from_conflicts and allowed(request.user, CONFLICTS.name):
            return _conflicts_page(request, failed=(admission, exc))
        return _after_error(request, admission, "confirm", exc)
    messages.success(request, gettext("The discharge that stands is confirmed."))
    return redirect("wards-conflicts") if from_conflicts else _to_stay(admission, "discharge")


# -- the printouts ----------------------------------------------------------------------


def _pdf(make: Callable[[], tuple[bytes, str]]) -> HttpResponse:
    try:
        pdf, name = make()
    except ActionError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    except RendererUnavailable as exc:
        return HttpResponse(
            gettext("This can't be printed right now: %(why)s") % {"why": exc},
            status=503,
            content_type="text/plain",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@require_GET
@screen(ADMIT.name)
def form_pdf(request: HttpRequest, admission: str) -> HttpResponse:
    def make() -> tuple[bytes, str]:
        found = documents.stay_for_print(request, admission, action="wards.form")
        number = found.admission.admission_no
        return documents.admission_form_pdf(found), f"admission-{number}.pdf"

    return _pdf(make)


@require_GET
@screen(ADMIT.name)
def wristband_pdf(request: HttpRequest, admission: str) -> HttpResponse:
    def make() -> tuple[bytes, str]:
        found = documents.stay_for_print(request, admission, action="wards.wristband")
        number = found.admission.admission_no
        return documents.wristband_pdf(found), f"wristband-{number}.pdf"

    return _pdf(make)


@require_GET
@screen(READ_CHART.name)
def discharge_summary_pdf(request: HttpRequest, admission: str) -> HttpResponse:
    def make() -> tuple[bytes, str]:
        found = queries.access_chart(
            request.user, admission, action="wards.discharge_summary", via="pdf", request=request
        )
        number = found.admission.admission_no
        if not found.admission.discharged:
            raise ConflictError(f"{number} is not discharged yet", {"admission": "admitted"})
        return documents.discharge_summary_pdf(found), f"discharge-{number}.pdf"

    return _pdf(make)


# -- the conflict worklist --------------------------------------------------------------


@require_GET
@screen(CONFLICTS.name)
def conflicts(request: HttpRequest) -> HttpResponse:
    return _conflicts_page(request)


def _conflicts_page(
    request: HttpRequest, failed: tuple[str, ActionError] | None = None
) -> HttpResponse:
    rows = queries.conflicts(include_resolved=True)
    involved = queries.conflict_admissions(rows)
    uhids = {a.uhid for a in involved.values()}
    uhids |= {c.subject for c in rows if c.kind == "admitted_twice"}
    people = {p.uhid: p for p in Patient.objects.filter(uhid__in=uhids)}
    _audit_list(request, "conflicts", sorted(people))
    failed_no, failed_error = failed if failed else ("", None)
    try:
        failed_no = actions.parse_admission(failed_no) if failed_no else ""
    except ActionError:
        failed_no = ""
    items = []
    for c in rows:
        records = []
        for number in c.records:
            a = involved.get(number)
            p = people.get(a.uhid) if a else None
            records.append(
                {
                    "number": number,
                    "a": a,
                    "name": _person(p.name_en, p.name_hi) if p else "",
                    "discharges": discharges(a)
                    if a and c.kind == "contradictory_discharge"
                    else [],
                    "error": failed_error if number == failed_no else None,
                    "values": request.POST if number == failed_no else {},
                }
            )
        subject = people.get(c.subject)
        items.append(
            {
                "c": c,
                "kind": CONFLICT_KINDS.get(c.kind, c.kind),
                "subject_name": _person(subject.name_en, subject.name_hi) if subject else "",
                "may_confirm": c.is_open and allowed(request.user, PROGRESS.name),
                "records": records,
            }
        )
    context = {
        "open": [i for i in items if i["c"].is_open],
        "resolved": [i for i in items if not i["c"].is_open],
        "free_beds": _bed_choices(),
        "may_admit": allowed(request.user, ADMIT.name),
        "may_read": allowed(request.user, READ_CHART.name),
        "failed": failed_error,
    }
    status = 200
    if failed_error is not None:
        status = 422 if failed_error.status == 400 else failed_error.status
    return render(request, "wards/conflicts.html", context, status=status)


# -- the census -------------------------------------------------------------------------


@require_GET
@screen(BOARD.name)
def census(request: HttpRequest) -> HttpResponse:
    today = timeutil.today()
    chosen, problem = today, ""
    text = request.GET.get("date", "").strip()
    if text:
        try:
            chosen = date.fromisoformat(text[:10])
            if not queries.CENSUS_FIRST <= chosen <= queries.CENSUS_LAST:
                raise ValueError(text)
        except ValueError:
            chosen = today
            problem = gettext("A date is YYYY-MM-DD; today's census is shown.")
    rows, total = queries.census(chosen)
    beds = sum(r.beds for r in rows)
    return render(
        request,
        "wards/census.html",
        {
            "day": chosen,
            "today": today,
            "previous": chosen - timedelta(days=1),
            "next": chosen + timedelta(days=1) if chosen < today else None,
            "problem": problem,
            "rows": [(r, _ward_name(r.ward)) for r in rows],
            "total": total,
            "beds": beds,
            "occupancy": 100.0 * total / beds if beds else 0.0,
            "admitted": sum(r.admitted for r in rows),
            "discharged": sum(r.discharged for r in rows),
            "transferred_in": sum(r.transferred_in for r in rows),
            "transferred_out": sum(r.transferred_out for r in rows),
        },
    )
