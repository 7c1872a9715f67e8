"""The payment receipt: A5, or an 80 mm thermal roll. Hindi and English on one page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from nirantar import timeutil
from nirantar.accounts import queries as accounts
from nirantar.billing import queries
from nirantar.billing.models import Payment, Refund
from nirantar.printing import barcodes
from nirantar.printing.renderer import A5, THERMAL_80, PageSize, render_pdf
from nirantar.registration.catalogue import CATEGORIES
from nirantar.registration.models import Patient

FORMATS: dict[str, PageSize] = {"a5": A5, "thermal80": THERMAL_80}
MODES = {
    "cash": ("Cash", "नकद"),
    "upi": ("UPI", "यूपीआई"),
    "card": ("Card", "कार्ड"),
}


def receipt_context(
    payment: Payment, patient: Patient | None, refunds: list[Refund]
) -> dict[str, Any]:
    at = timeutil.local(timeutil.from_ms(payment.at_ms))
    items: list[dict[str, Any]] = []
    if payment.charges and patient is not None:
        # The charges it settles, as the record shows them now (waivers applied).
        known = {c.charge: c for c in queries.account(patient).charges}
        for charge_id in payment.charges:
            charge = known.get(charge_id)
            if charge is not None:
                items.append(
                    {
                        "name_en": charge.name_en,
                        "name_hi": charge.name_hi,
                        "day": charge.day.strftime("%d-%m-%Y"),
                        "price": queries.format_rupees(charge.price),
                        "waived": queries.format_rupees(charge.waived) if charge.waived else "",
                        "net": queries.format_rupees(charge.net),
                    }
                )
    clerk = accounts.staff_names([payment.clerk]).get(payment.clerk, (payment.clerk, ""))[0]
    mode_en, mode_hi = MODES[payment.mode]
    return {
        "hospital": settings.NODE.hospital,
        "hospital_hi": settings.NODE.hospital_hi,
        "payment": payment,
        "patient": patient,
        "category": CATEGORIES.get(patient.category, ("", ""))[0] if patient else "",
        "category_hi": CATEGORIES.get(patient.category, ("", ""))[1] if patient else "",
        "items": items,
        "amount": queries.format_rupees(payment.amount),
        "words": queries.amount_in_words(payment.amount),
        "mode_en": mode_en,
        "mode_hi": mode_hi,
        "clerk": clerk,
        "date": at.strftime("%d-%m-%Y"),
        "time": at.strftime("%H:%M"),
        "business_day": payment.day.strftime("%d-%m-%Y"),
        "refunds": [
            {"refund": r.refund, "amount": queries.format_rupees(r.paid_amount)}
            for r in refunds
            if r.status == "approved"
        ],
        "barcode_svg": barcodes.code128_svg(payment.receipt.replace("-", "")),
    }


def receipt_html(context: dict[str, Any], page: str) -> str:
    return render_to_string("billing/receipt.html", {**context, "page": page})


def receipt_pdf(
    payment: Payment, patient: Patient | None, refunds: list[Refund], page: str = "a5"
) -> bytes:
    return render_pdf(receipt_html(receipt_context(payment, patient, refunds), page), FORMATS[page])
