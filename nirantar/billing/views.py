"""Billing's screens: the cashier's counter (find a patient, see what is owed with
waivers applied, take a payment, print the receipt), refunds (request; a supervisor
approves or rejects) and the day's closing (the denomination grid, the variance live)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nirantar import timeutil
from nirantar.accounts.permissions import allowed
from nirantar.billing import actions, events, queries
from nirantar.billing import receipt as printout
from nirantar.billing.permissions import (
    CLOSE_DAY,
    DECIDE_REFUND,
    READ_ACCOUNT,
    REQUEST_REFUND,
    TAKE_PAYMENT,
)
from nirantar.errors import ActionError
from nirantar.web.screens import screen


def _error(request: HttpRequest, exc: ActionError) -> None:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    messages.error(request, exc.message + (f" ({detail})" if detail else ""))


@require_GET
@screen(READ_ACCOUNT.name)
def cashier(request: HttpRequest) -> HttpResponse:
    uhid = request.GET.get("uhid", "").strip()
    context: dict[str, Any] = {
        "uhid": uhid,
        "modes": events.MODES,
        "may_pay": allowed(request.user, TAKE_PAYMENT.name),
    }
    if uhid:
        try:
            found = queries.access_account(
                request.user, uhid, action="billing.account", via="screen", request=request
            )
        except ActionError as exc:
            context["problem"] = exc.message
        else:
            context["account"] = found
            context["owed"] = [c for c in found.charges if c.charge in set(found.outstanding_ids)]
    context["receipt"] = request.GET.get("receipt", "")
    return render(request, "billing/cashier.html", context)


@require_POST
@screen(TAKE_PAYMENT.name)
def take_payment(request: HttpRequest) -> HttpResponse:
    uhid = request.POST.get("uhid", "")
    try:
        amount = actions.rupees_to_paise(request.POST.get("amount", ""))
        payment = actions.do_take_payment(
            request.user.username,
            uhid,
            amount,
            request.POST.get("mode", ""),
            request.POST.get("reference", ""),
            request.POST.getlist("charges"),
        )
    except ActionError as exc:
        _error(request, exc)
        return redirect(f"{reverse('billing-cashier')}?uhid={uhid}")
    messages.success(
        request, f"{payment.receipt}: Rs {queries.format_rupees(payment.amount)} ({payment.mode})"
    )
    return redirect(f"{reverse('billing-cashier')}?uhid={payment.uhid}&receipt={payment.receipt}")


@require_GET
@screen(READ_ACCOUNT.name)
def receipt_pdf(request: HttpRequest, receipt: str) -> HttpResponse:
    try:
        payment, patient, refunds = queries.access_receipt(
            request.user, receipt, action="billing.receipt", via="pdf", request=request
        )
    except ActionError as exc:
        return render(request, "web/403.html", {"message": exc.message}, status=exc.status)
    page = "thermal80" if request.GET.get("page") == "thermal80" else "a5"
    response = HttpResponse(
        printout.receipt_pdf(payment, patient, refunds, page), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt}.pdf"'
    return response


@require_http_methods(["GET", "POST"])
@screen(REQUEST_REFUND.name)
def refunds(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            amount = actions.rupees_to_paise(request.POST.get("amount", ""))
            refund = actions.do_request_refund(
                request.user.username,
                request.POST.get("receipt", ""),
                amount,
                request.POST.get("reason", ""),
            )
        except ActionError as exc:
            _error(request, exc)
        else:
            messages.success(request, f"{refund.refund}: Rs {queries.format_rupees(refund.amount)}")
        return redirect("billing-refunds")
    may_decide = allowed(request.user, DECIDE_REFUND.name)
    pending = queries.pending_refunds() if may_decide else []
    if pending:
        from nirantar.accounts import actions as account_actions
        from nirantar.accounts.auth import client_address

        account_actions.do_record_search(
            request.user,
            "refunds waiting",
            sorted({r.uhid for r in pending}),
            via="screen",
            address=client_address(request),
        )
    return render(
        request,
        "billing/refunds.html",
        {"pending": pending, "may_decide": may_decide, "receipt": request.GET.get("receipt", "")},
    )


@require_POST
@screen(DECIDE_REFUND.name)
def decide_refund(request: HttpRequest) -> HttpResponse:
    try:
        refund = actions.do_decide_refund(
            request.user.username,
            request.POST.get("refund", ""),
            request.POST.get("decision", ""),
            request.POST.get("note", ""),
        )
    except ActionError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{refund.refund}: {refund.status}")
    return redirect("billing-refunds")


def _grid(data: Any) -> tuple[dict[str, int], list[tuple[int, int, str]], int]:
    """Counts typed in the grid (blank: 0), the rows (note, count, line total), counted."""
    counts: dict[str, int] = {}
    rows = []
    for note in events.DENOMINATIONS:
        text = str(data.get(f"n{note}", "") or "").strip()
        count = int(text) if text.isdigit() else 0
        counts[str(note)] = count
        rows.append((note, count, queries.format_rupees(note * 100 * count)))
    counted = sum(int(k) * 100 * v for k, v in counts.items())
    return counts, rows, counted


def _closing_context(request: HttpRequest, data: Any) -> dict[str, Any]:
    counter = actions.counter()
    day = timeutil.today()
    now = queries.counter_day(counter, day)
    _, rows, counted = _grid(data)
    return {
        "counter": counter,
        "day": day,
        "now": now,
        "rows": rows,
        "counted": queries.format_rupees(counted),
        "expected": queries.format_rupees(now.expected_cash),
        "variance": queries.format_rupees(counted - now.expected_cash),
        "variance_paise": counted - now.expected_cash,
        "totals": {m: queries.format_rupees(getattr(now, m)) for m in events.MODES},
        "refunded": queries.format_rupees(now.refunded),
        "total": queries.format_rupees(now.total),
        "closed": queries.standing_closing(counter, day),
    }


@require_http_methods(["GET", "POST"])
@screen(CLOSE_DAY.name)
def closing(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        counts, _, _ = _grid(request.POST)
        try:
            done = actions.do_close_day(
                request.user.username, actions.counter(), timeutil.today().isoformat(), counts
            )
        except ActionError as exc:
            _error(request, exc)
        else:
            messages.success(
                request,
                f"{done.counter} {done.day}: Rs {queries.format_rupees(done.counted)} "
                f"({queries.format_rupees(done.variance)})",
            )
        return redirect("billing-closing")
    return render(request, "billing/closing.html", _closing_context(request, {}))


@require_POST
@screen(CLOSE_DAY.name)
def closing_preview(request: HttpRequest) -> HttpResponse:
    """The grid's totals and the variance as the cashier types (htmx)."""
    return render(request, "billing/_variance.html", _closing_context(request, request.POST))
