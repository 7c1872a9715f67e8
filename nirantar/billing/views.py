"""Billing's screens: the cashier's counter (find a patient, see what is owed with
waivers applied, take a payment, print the receipt; a supervisor cancels a charge made
in error), refunds (request; a supervisor approves or rejects), the day's closing (the
denomination grid, the variance live), charging a procedure, and the supervisor's
conflict worklist.

A mistake is shown beside the field it concerns, with what was typed kept (status 400,
or 404/409 as the API answers), so a cashier at a crowded counter fixes one field and
presses Enter again."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nirantar import timeutil
from nirantar.accounts.permissions import allowed
from nirantar.billing import actions, catalogue, events, queries
from nirantar.billing import receipt as printout
from nirantar.billing.permissions import (
    CANCEL_CHARGE,
    CHARGE_PROCEDURE,
    CLOSE_DAY,
    DECIDE_REFUND,
    READ_ACCOUNT,
    READ_COLLECTIONS,
    REQUEST_REFUND,
    TAKE_PAYMENT,
)
from nirantar.errors import ActionError
from nirantar.web.screens import screen


def _error(request: HttpRequest, exc: ActionError) -> None:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    messages.error(request, exc.message + (f" ({detail})" if detail else ""))


def _field_errors(exc: ActionError) -> dict[str, str]:
    """The API's field names as the screen's: one message per field, the rest under ''."""
    errors = {k: str(v) for k, v in exc.fields.items()}
    if not errors:
        errors[""] = exc.message
    return errors


def _cashier_context(request: HttpRequest, uhid: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "uhid": uhid,
        "modes": events.MODES,
        "may_pay": allowed(request.user, TAKE_PAYMENT.name),
        "may_cancel": allowed(request.user, CANCEL_CHARGE.name),
        "errors": {},
        "form": {},
        "cancel_errors": {},
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
            owed = set(found.outstanding_ids)
            context["owed"] = [c for c in found.charges if c.charge in owed]
            context["owed_total"] = sum(c.net for c in context["owed"])
    context["receipt"] = request.GET.get("receipt", "")
    return context


@require_GET
@screen(READ_ACCOUNT.name)
def cashier(request: HttpRequest) -> HttpResponse:
    uhid = request.GET.get("uhid", "").strip()
    context = _cashier_context(request, uhid)
    return render(
        request, "billing/cashier.html", context, status=404 if "problem" in context else 200
    )


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
        context = _cashier_context(request, uhid)
        context["errors"] = _field_errors(exc)
        context["form"] = {
            "amount": request.POST.get("amount", ""),
            "mode": request.POST.get("mode", ""),
            "reference": request.POST.get("reference", ""),
            "charges": request.POST.getlist("charges"),
        }
        return render(request, "billing/cashier.html", context, status=exc.status)
    messages.success(
        request, f"{payment.receipt}: Rs {queries.format_rupees(payment.amount)} ({payment.mode})"
    )
    return redirect(f"{reverse('billing-cashier')}?uhid={payment.uhid}&receipt={payment.receipt}")


@require_POST
@screen(CANCEL_CHARGE.name)
def cancel_charge(request: HttpRequest) -> HttpResponse:
    """A supervisor cancels a charge made in error (a test not done), with a reason."""
    uhid = request.POST.get("uhid", "")
    charge = request.POST.get("charge", "")
    try:
        actions.do_cancel_charge(
            request.user.username, uhid, charge, request.POST.get("reason", "")
        )
    except ActionError as exc:
        context = _cashier_context(request, uhid)
        open_rows = {
            c.charge for c in getattr(context.get("account"), "charges", []) if not c.cancelled
        }
        if charge in open_rows:
            context["cancel_errors"] = {charge: exc.message}  # beside that row's reason
        else:
            context["errors"] = {"": exc.message}
        context["cancel_reason"] = request.POST.get("reason", "")
        return render(request, "billing/cashier.html", context, status=exc.status)
    messages.success(request, f"{charge}: {_('cancelled')}")
    return redirect(f"{reverse('billing-cashier')}?uhid={uhid}")


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


def _grid(data: Any) -> tuple[dict[str, int], list[tuple[int, str, str, str]], int, dict[str, str]]:
    """Counts typed in the grid (blank: 0): the counts, the rows (note, text typed, line
    total), the cash counted, and a message for each box that is not a whole number."""
    counts: dict[str, int] = {}
    rows = []
    errors: dict[str, str] = {}
    for note in events.DENOMINATIONS:
        text = str(data.get(f"n{note}", "") or "").strip()
        count = int(text) if text.isdigit() and len(text) <= 6 else 0
        if text and not (text.isdigit() and len(text) <= 6):
            errors[f"n{note}"] = _("a whole number of notes or coins")
        counts[str(note)] = count
        rows.append((note, f"n{note}", text, queries.format_rupees(note * 100 * count)))
    counted = sum(int(k) * 100 * v for k, v in counts.items())
    return counts, rows, counted, errors


def _closing_context(request: HttpRequest, data: Any) -> dict[str, Any]:
    counter = actions.counter()
    day = timeutil.today()
    now = queries.counter_day(counter, day)
    _counts, rows, counted, errors = _grid(data)
    return {
        "counter": counter,
        "day": day,
        "now": now,
        "rows": rows,
        "errors": errors,
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
        counts, _rows, _counted, errors = _grid(request.POST)
        status = 400
        if not errors:
            try:
                done = actions.do_close_day(
                    request.user.username, actions.counter(), timeutil.today().isoformat(), counts
                )
            except ActionError as exc:
                errors = {
                    ("n" + k.split(".", 1)[1] if k.startswith("denominations.") else ""): str(v)
                    for k, v in _field_errors(exc).items()
                }
                errors[""] = exc.message
                status = exc.status
            else:
                messages.success(
                    request,
                    f"{done.counter} {done.day}: Rs {queries.format_rupees(done.counted)} "
                    f"({queries.format_rupees(done.variance)})",
                )
                return redirect("billing-closing")
        context = _closing_context(request, request.POST)
        context["errors"] = {**context["errors"], **errors}
        return render(request, "billing/closing.html", context, status=status)
    return render(request, "billing/closing.html", _closing_context(request, {}))


@require_POST
@screen(CLOSE_DAY.name)
def closing_preview(request: HttpRequest) -> HttpResponse:
    """The grid's totals and the variance as the cashier types (htmx)."""
    return render(request, "billing/_variance.html", _closing_context(request, request.POST))


# -- procedures --------------------------------------------------------------------------


def _procedures() -> list[tuple[str, str, str, str]]:
    """The tariff's procedures today: code, English and Hindi names, price in rupees."""
    return [
        (code, item.name_en, item.name_hi, queries.format_rupees(item.price))
        for code, item in sorted(catalogue.current().items())
        if item.kind == "procedure"
    ]


@require_http_methods(["GET", "POST"])
@screen(CHARGE_PROCEDURE.name)
def procedure(request: HttpRequest) -> HttpResponse:
    """Charge a procedure done to a patient (a dressing, an ECG) from the tariff. The
    screen names only the UHID typed and the charge made: no patient data is shown."""
    form = {k: request.POST.get(k, "") for k in ("uhid", "code", "admission", "note")}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            charge = actions.do_charge_procedure(
                request.user.username, form["uhid"], form["code"], form["admission"], form["note"]
            )
        except ActionError as exc:
            errors, status = _field_errors(exc), exc.status
        else:
            messages.success(request, f"{charge}: {form['code'].upper()} · UHID {form['uhid']}")
            return redirect("billing-procedure")
    else:
        form["uhid"] = request.GET.get("uhid", "")
    return render(
        request,
        "billing/procedure.html",
        {"form": form, "errors": errors, "procedures": _procedures()},
        status=status,
    )


# -- the conflict worklist ------------------------------------------------------------------


def _conflicts_page(
    request: HttpRequest, *, errors: dict[str, str] | None = None, note: str = "", status: int = 200
) -> HttpResponse:
    everything = request.GET.get("all") == "1"
    found, patients = queries.access_conflicts(
        request.user, include_resolved=everything, via="screen", request=request
    )
    errors = dict(errors or {})
    for key in [k for k in errors if k not in {c.key for c in found}]:
        errors[""] = errors.pop(key)  # not on the list: said above it
    return render(
        request,
        "billing/conflicts.html",
        {
            "conflicts": found,
            "patients": patients,
            "everything": everything,
            "may_resolve": allowed(request.user, DECIDE_REFUND.name),
            "errors": errors,
            "note": note,
        },
        status=status,
    )


@require_GET
@screen(READ_COLLECTIONS.name)
def conflicts(request: HttpRequest) -> HttpResponse:
    """Billing conflicts found when nodes cut off from each other met: what happened,
    and (for a supervisor) a note that clears each."""
    return _conflicts_page(request)


@require_POST
@screen(DECIDE_REFUND.name)
def resolve_conflict(request: HttpRequest) -> HttpResponse:
    key = request.POST.get("conflict", "")
    note = request.POST.get("note", "")
    try:
        actions.do_resolve_conflict(request.user.username, key, note)
    except ActionError as exc:
        return _conflicts_page(
            request,
            errors={key: exc.message},
            note=note,
            status=exc.status,
        )
    messages.success(request, f"{key}: {_('resolved')}")
    return redirect("billing-conflicts")
