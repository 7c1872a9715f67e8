"""The laboratory's screens: the bench (orders to collect, the worklist, critical
results), a sample, turnaround times, and a page that checks a report PDF."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts.auth import client_address
from nirantar.accounts.permissions import allowed
from nirantar.errors import ActionError
from nirantar.lab import actions, catalogue, queries, report
from nirantar.lab.models import Result
from nirantar.lab.permissions import (
    BENCH,
    CHECK_REPORT,
    COLLECT,
    READ_ORDERS,
    READ_REPORT,
    VERIFY,
)
from nirantar.registration import queries as registration
from nirantar.web.screens import screen


@require_GET
@screen(COLLECT.name)
def bench(request: HttpRequest) -> HttpResponse:
    section = request.GET.get("section", "")
    pending = queries.orders("ordered") if allowed(request.user, READ_ORDERS.name) else []
    samples = queries.worklist(section) if allowed(request.user, BENCH.name) else []
    critical = list(
        Result.objects.filter(flag__in=("HH", "LL"), accession__in=[s.accession for s in samples])
    )
    patients = {
        uhid: registration.get_patient(uhid)
        for uhid in {o.uhid for o in pending} | {s.uhid for s in samples}
    }
    account_actions.do_record_search(
        request.user,
        f"lab bench {section}",
        sorted(patients),
        via="screen",
        address=client_address(request),
    )
    return render(
        request,
        "lab/bench.html",
        {
            "pending": [(o, patients.get(o.uhid)) for o in pending],
            "samples": [(s, patients.get(s.uhid)) for s in samples],
            "critical": critical,
            "sections": catalogue.SECTIONS,
            "section": section,
            "may_bench": allowed(request.user, BENCH.name),
            "tests": catalogue.TESTS.values(),
        },
    )


@require_POST
@screen(BENCH.name)
def counter_order(request: HttpRequest) -> HttpResponse:
    """Tests ordered at the lab counter from a paper prescription."""
    try:
        order = actions.do_order_at_counter(
            request.user.username,
            request.POST.get("uhid", ""),
            request.POST.getlist("tests"),
            request.POST.get("note", ""),
        )
    except ActionError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        messages.error(request, exc.message + (f" ({detail})" if detail else ""))
    else:
        messages.success(request, f"Order {order.order_no}: {', '.join(order.tests)}")
    return redirect("lab-bench")


@require_POST
@screen(COLLECT.name)
def collect(request: HttpRequest, order: str) -> HttpResponse:
    try:
        samples = actions.do_collect(request.user.username, order)
    except ActionError as exc:
        messages.error(request, exc.message)
        return redirect("lab-bench")
    messages.success(request, "Collected: " + ", ".join(s.accession for s in samples))
    return redirect("lab-sample", accession=samples[0].accession)


@require_http_methods(["GET", "POST"])
@screen(READ_REPORT.name)
def sample(request: HttpRequest, accession: str) -> HttpResponse:
    if request.method == "POST":
        return _act(request, accession)
    try:
        found, patient = queries.access_sample(
            request.user, accession, action="lab.sample", via="screen", request=request
        )
    except ActionError as exc:
        return render(request, "web/403.html", {"message": exc.message}, status=exc.status)
    rows = list(Result.objects.filter(accession=found.accession, uhid=found.uhid).order_by("at_ms"))
    if not (allowed(request.user, BENCH.name) or allowed(request.user, VERIFY.name)):
        rows = [r for r in rows if r.result_id in found.verified_results]  # to act on
    standing = {r.result_id for r in actions.current_results(found)}
    analytes = catalogue.analytes_of(found.tests)
    return render(
        request,
        "lab/sample.html",
        {
            "sample": found,
            "patient": patient,
            "results": [
                (r, r.result_id in standing, r.result_id in found.verified_results) for r in rows
            ],
            "analytes": analytes,
            "awaiting": actions.awaiting_verification(found),
            "reasons": ("haemolysed", "clotted", "insufficient", "unlabelled"),
            "may_bench": allowed(request.user, BENCH.name),
            "may_verify": allowed(request.user, VERIFY.name),
            "collected": timeutil.local(timeutil.from_ms(found.collected_at_ms or 0)),
        },
    )


def _act(request: HttpRequest, accession: str) -> HttpResponse:
    """The sample page's buttons: each needs its own right, checked here."""
    what = request.POST.get("do", "")
    needed = {
        "receive": BENCH,
        "reject": BENCH,
        "results": BENCH,
        "verify": VERIFY,
        "report": VERIFY,
    }
    permission = needed.get(what)
    if permission is None:
        return HttpResponse("unknown action", status=400, content_type="text/plain")
    from nirantar.accounts.permissions import require

    require(request.user, permission.name, request)
    user = request.user.username
    try:
        if what == "receive":
            actions.do_receive(user, accession)
        elif what == "reject":
            again = actions.do_reject(user, accession, request.POST.get("reason"))
            messages.success(request, "Recollect as " + ", ".join(s.accession for s in again))
            return redirect("lab-sample", accession=again[0].accession)
        elif what == "results":
            values = {
                a.code: request.POST[f"value_{a.code}"]
                for a in catalogue.ANALYTES.values()
                if request.POST.get(f"value_{a.code}", "").strip()
            }
            actions.do_enter_results(user, accession, values)
        elif what == "verify":
            actions.do_verify(user, accession)
        else:
            actions.do_issue_report(user, accession)
    except ActionError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        messages.error(request, f"{exc.message}" + (f" ({detail})" if detail else ""))
    try:
        return redirect("lab-sample", accession=actions.parse_accession(accession))
    except ActionError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")


@require_GET
@screen(COLLECT.name)
def label_pdf(request: HttpRequest, accession: str) -> HttpResponse:
    try:
        found, patient = queries.access_sample(
            request.user, accession, action="lab.label", via="pdf", request=request
        )
    except ActionError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    response = HttpResponse(report.label_pdf(found, patient), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="label-{found.accession}.pdf"'
    return response


@require_GET
@screen(READ_REPORT.name)
def report_pdf(request: HttpRequest, accession: str) -> HttpResponse:
    try:
        found, patient = queries.access_sample(
            request.user, accession, action="lab.report", via="pdf", request=request
        )
        pdf = report.report_pdf(found, patient, actions.reported_results(found))
    except ActionError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="report-{found.accession}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@screen(CHECK_REPORT.name)
def check(request: HttpRequest) -> HttpResponse:
    result: Any = None
    if request.method == "POST":
        upload = request.FILES.get("report")
        code = request.POST.get("code", "").strip()[:1000]
        if code:  # what a QR scanner typed: the printed report's code
            result = report.check_qr(code)
        elif upload is None or upload.size > 20_000_000:
            result = report.Check(False, "choose a report PDF (at most 20 MB), or scan its code")
        else:
            result = report.check_pdf(upload.read())
    return render(request, "lab/check.html", {"result": result})


@require_GET
@screen(BENCH.name)
def turnaround(request: HttpRequest) -> HttpResponse:
    try:
        days = max(1, min(90, int(request.GET.get("days", "1"))))
    except ValueError:
        days = 1
    since = int(timeutil.now().timestamp() * 1000) - days * 86_400_000
    return render(request, "lab/turnaround.html", {"rows": queries.turnaround(since), "days": days})
