"""Screens of duplicate detection: the counter's suggestions while a new patient is typed,
and the records team's worklist of likely pairs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from nirantar import timeutil
from nirantar.dedupe import actions, backfill, queries
from nirantar.dedupe.permissions import REVIEW
from nirantar.errors import ActionError, ValidationFailed
from nirantar.registration import actions as registration_actions
from nirantar.registration.models import Patient
from nirantar.registration.permissions import MERGE, REGISTER
from nirantar.registration.views import form_data
from nirantar.web.screens import screen

PAGE = 25

FIELDS = {
    "name": _("Name"),
    "guardian": _("Guardian"),
    "relative": _("Relative"),
    "sex": _("Sex"),
    "birth": _("Birth"),
    "mobile": _("Mobile"),
    "district": _("District"),
}
AGREEMENTS = {
    "same": _("same"),
    "close": _("close"),
    "similar": _("similar"),
    "differs": _("differs"),
    "missing": _("missing"),
    "typo": _("typing slip"),
    "fits": _("fits"),
    "near": _("near"),
    "other": _("other relation"),
    "guardian": _("named as guardian"),
}


def evidence_rows(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evidence with its field and agreement in the screen's language."""
    return [
        {
            **e,
            "field_label": FIELDS.get(e["field"], e["field"]),
            "agreement_label": AGREEMENTS.get(e["agreement"], e["agreement"]),
            "tone": "for" if e["weight"] > 0 else ("against" if e["weight"] < 0 else ""),
        }
        for e in evidence
    ]


def _age(patient: Patient | None) -> str:
    if patient is None:
        return ""
    age, unit = patient.age_on(timeutil.today())
    return f"{age} {unit}"


@require_GET
@screen(REGISTER.name)
def suggest(request: HttpRequest) -> HttpResponse:
    """Existing patients like the one being typed (htmx, after a pause in typing)."""
    found = queries.suggest(
        request.user, form_data(request.GET), timeutil.today(), via="screen", request=request
    )
    rows = [
        {
            "patient": s.patient,
            "age": _age(s.patient),
            "percent": round(s.match.score * 100),
            "agreed": [FIELDS.get(e.field, e.field) for e in s.match.evidence if e.weight > 0],
        }
        for s in found
    ]
    return render(request, "dedupe/_suggestions.html", {"suggestions": rows})


@require_GET
@screen(REVIEW.name)
def worklist(request: HttpRequest) -> HttpResponse:
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    page = min(page, 100_000)
    status = request.GET.get("status", "open")
    status = status if status in queries.STATUSES else "open"
    views, total = queries.pairs_page(
        request.user,
        status=status,
        offset=(page - 1) * PAGE,
        limit=PAGE,
        via="screen",
        request=request,
    )
    rows: list[dict[str, Any]] = [
        {
            "view": v,
            "age_a": _age(v.a),
            "age_b": _age(v.b),
            "percent": round(v.pair.score * 100),
            "evidence": evidence_rows(v.pair.evidence),
        }
        for v in views
    ]
    return render(
        request,
        "dedupe/worklist.html",
        {
            "rows": rows,
            "status": status,
            "total": total,
            "page": page,
            "previous": page - 1 if page > 1 else None,
            "next": page + 1 if page * PAGE < total else None,
            "pending": backfill.pending(),
        },
    )


@require_POST
@screen(REVIEW.name)
def verdict(request: HttpRequest) -> HttpResponse:
    """Dismiss a pair (not one person) or reopen it, from the worklist's form."""
    reopen = request.POST.get("verdict") == "reopen"
    do = actions.do_reopen_pair if reopen else actions.do_dismiss_pair
    try:
        do(
            request.user.username,
            request.POST.get("uhid_a", ""),
            request.POST.get("uhid_b", ""),
            request.POST.get("reason", ""),
        )
    except ActionError as exc:
        return render(
            request, "registration/_message.html", {"message": exc.message}, status=exc.status
        )
    return redirect(f"{request.path.rsplit('/', 1)[0]}/?status={'dismissed' if reopen else 'open'}")


@require_POST
@screen(MERGE.name)
def merge(request: HttpRequest) -> HttpResponse:
    """Merge a pair from the worklist: the record chosen is kept, the other merged into it
    (registration's merge action: an event, undone by an unmerge)."""
    pair = {request.POST.get("uhid_a", ""), request.POST.get("uhid_b", "")}
    survivor = request.POST.get("survivor", "")
    try:
        if survivor not in pair or len(pair) != 2:
            raise ValidationFailed(
                str(_("choose which of the two records to keep")), {"survivor": "required"}
            )
        [duplicate] = pair - {survivor}
        registration_actions.do_merge_patients(
            request.user.username, survivor, duplicate, request.POST.get("reason", "")
        )
    except ActionError as exc:
        return render(
            request, "registration/_message.html", {"message": exc.message}, status=exc.status
        )
    return redirect(f"{request.path.rsplit('/', 1)[0]}/?status=merged")
