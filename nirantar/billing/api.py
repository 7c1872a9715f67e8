"""Billing's part of the JSON API: payments, receipts, refunds, closings, collections.
Every amount is an integer number of paise."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, StrictInt

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts.auth import client_address, needs
from nirantar.billing import actions, queries
from nirantar.billing import receipt as printout
from nirantar.billing.models import Closing, Payment, Refund
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
from nirantar.errors import ValidationFailed
from nirantar.schemas import ERRORS

router = Router(tags=["billing"])


class BillingPaymentIn(Schema):
    model_config = ConfigDict(extra="forbid")
    uhid: str = Field(..., max_length=20, examples=["101-0000001-3"])
    amount: StrictInt = Field(..., gt=0, description="paise", examples=[1000])
    mode: Literal["cash", "upi", "card"]
    reference: str = Field(
        "", max_length=40, description="UPI: the 12-digit UTR; card: approval code"
    )
    charges: list[str] = Field(
        default_factory=list, max_length=200, description="charge ids it settles"
    )


class BillingRefundBrief(Schema):
    refund: str
    amount: int
    status: str


class BillingPaymentOut(Schema):
    receipt: str
    uhid: str
    amount: int
    mode: str
    reference: str
    counter: str
    day: str
    charges: list[str]
    at: str
    clerk: str
    node: str
    refunds: list[BillingRefundBrief]
    pdf: str


def payment_out(p: Payment, refunds: list[Refund] | None = None) -> dict[str, Any]:
    return {
        "receipt": p.receipt,
        "uhid": p.uhid,
        "amount": p.amount,
        "mode": p.mode,
        "reference": p.reference,
        "counter": p.counter,
        "day": p.day.isoformat(),
        "charges": p.charges,
        "at": timeutil.from_ms(p.at_ms).isoformat(),
        "clerk": p.clerk,
        "node": p.node,
        "refunds": [
            {"refund": r.refund, "amount": r.amount, "status": r.status} for r in refunds or []
        ],
        "pdf": f"/api/v1/receipts/{p.receipt}.pdf",
    }


@router.post(
    "/payments",
    response={201: BillingPaymentOut, **ERRORS},
    summary="Take a payment at this node's counter; the receipt number is minted here",
    auth=needs(TAKE_PAYMENT),
)
def take_payment(request: HttpRequest, payload: BillingPaymentIn) -> Any:
    payment = actions.do_take_payment(
        request.user.username,
        payload.uhid,
        payload.amount,
        payload.mode,
        payload.reference,
        payload.charges,
    )
    return Status(201, payment_out(payment))


@router.get(
    "/receipts/{receipt}.pdf",
    response={200: None, **ERRORS},
    summary="The receipt, printed (A5, or page=thermal80 for an 80 mm roll)",
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
    auth=needs(READ_ACCOUNT),
)
def receipt_pdf(
    request: HttpRequest, receipt: str, page: Literal["a5", "thermal80"] = Query("a5")
) -> HttpResponse:
    payment, patient, refunds = queries.access_receipt(
        request.user, receipt, action="billing.receipt", via="pdf", request=request
    )
    pdf = printout.receipt_pdf(payment, patient, refunds, page)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{payment.receipt}.pdf"'
    return response


@router.get(
    "/receipts/{receipt}",
    response={200: BillingPaymentOut, **ERRORS},
    summary="A payment and its refunds",
    auth=needs(READ_ACCOUNT),
)
def read_receipt(request: HttpRequest, receipt: str) -> Any:
    payment, _, refunds = queries.access_receipt(
        request.user, receipt, action="billing.receipt", via="api", request=request
    )
    return payment_out(payment, refunds)


class BillingChargeOut(Schema):
    charge: str
    uhid: str
    code: str
    kind: str
    name_en: str
    name_hi: str
    day: str
    price: int
    waiver_percent: int
    waived: int
    net: int
    inpatient: bool
    source: str
    cancelled: bool
    paid: bool


class BillingRefundOut(Schema):
    refund: str
    receipt: str
    uhid: str
    amount: int
    reason: str
    counter: str
    requested_by: str
    requested_at: str | None
    status: str
    decided_by: str
    decision_note: str
    paid_amount: int
    paid_mode: str
    paid_counter: str
    paid_day: str | None
    decisions: int


def refund_out(r: Refund) -> dict[str, Any]:
    return {
        "refund": r.refund,
        "receipt": r.receipt,
        "uhid": r.uhid,
        "amount": r.amount,
        "reason": r.reason,
        "counter": r.counter,
        "requested_by": r.requested_by,
        "requested_at": timeutil.from_ms(r.requested_ms).isoformat() if r.requested_ms else None,
        "status": r.status,
        "decided_by": r.decided_by,
        "decision_note": r.decision_note,
        "paid_amount": r.paid_amount,
        "paid_mode": r.paid_mode,
        "paid_counter": r.paid_counter,
        "paid_day": r.paid_day.isoformat() if r.paid_day else None,
        "decisions": len(r.decisions),
    }


class BillingAccountOut(Schema):
    uhid: str
    name: str
    category: str
    uhids: list[str]
    charges: list[BillingChargeOut]
    payments: list[BillingPaymentOut]
    refunds: list[BillingRefundOut]
    charged: int
    paid: int
    refunded: int
    balance: int = Field(..., description="what the patient owes; negative: a credit")
    outstanding: list[str]


@router.get(
    "/billing/accounts/{uhid}",
    response={200: BillingAccountOut, **ERRORS},
    summary="A patient's charges (waivers applied), payments, refunds and balance",
    auth=needs(READ_ACCOUNT),
)
def read_account(request: HttpRequest, uhid: str) -> Any:
    found = queries.access_account(
        request.user, uhid, action="billing.account", via="api", request=request
    )
    return {
        "uhid": found.patient.uhid,
        "name": found.patient.display_name,
        "category": found.category,
        "uhids": found.group,
        "charges": [{**c.__dict__, "day": c.day.isoformat(), "net": c.net} for c in found.charges],
        "payments": [payment_out(p) for p in found.payments],
        "refunds": [refund_out(r) for r in found.refunds],
        "charged": found.charged,
        "paid": found.paid,
        "refunded": found.refunded,
        "balance": found.balance,
        "outstanding": found.outstanding_ids,
    }


class BillingRefundIn(Schema):
    model_config = ConfigDict(extra="forbid")
    receipt: str = Field(..., max_length=40)
    amount: StrictInt = Field(..., gt=0, description="paise")
    reason: str = Field(..., min_length=1, max_length=200)


@router.post(
    "/refunds",
    response={201: BillingRefundOut, **ERRORS},
    summary="Request a refund of (part of) a payment; it waits for a supervisor",
    auth=needs(REQUEST_REFUND),
)
def request_refund(request: HttpRequest, payload: BillingRefundIn) -> Any:
    refund = actions.do_request_refund(
        request.user.username, payload.receipt, payload.amount, payload.reason
    )
    return Status(201, refund_out(refund))


@router.get(
    "/refunds",
    response={200: list[BillingRefundOut], **ERRORS},
    summary="Refunds waiting for a decision, oldest first",
    auth=needs(DECIDE_REFUND),
)
def pending_refunds(request: HttpRequest) -> Any:
    rows = queries.pending_refunds()
    account_actions.do_record_search(
        request.user,
        "refunds waiting",
        sorted({r.uhid for r in rows}),
        via="api",
        address=client_address(request),
    )
    return [refund_out(r) for r in rows]


class BillingDecisionIn(Schema):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approved", "rejected"]
    note: str = Field("", max_length=200)


@router.post(
    "/refunds/{refund}/decision",
    response={200: BillingRefundOut, **ERRORS},
    summary="Approve or reject a refund (not one you requested)",
    auth=needs(DECIDE_REFUND),
)
def decide_refund(request: HttpRequest, refund: str, payload: BillingDecisionIn) -> Any:
    decided = actions.do_decide_refund(
        request.user.username, refund, payload.decision, payload.note
    )
    return refund_out(decided)


class BillingProcedureIn(Schema):
    model_config = ConfigDict(extra="forbid")
    uhid: str = Field(..., max_length=20)
    code: str = Field(..., max_length=20, examples=["PROC-ECG"])
    admission: str = Field("", max_length=24)
    note: str = Field("", max_length=200)


class BillingChargeRef(Schema):
    charge: str


@router.post(
    "/billing/procedures",
    response={201: BillingChargeRef, **ERRORS},
    summary="Charge a procedure from the tariff",
    auth=needs(CHARGE_PROCEDURE),
)
def charge_procedure(request: HttpRequest, payload: BillingProcedureIn) -> Any:
    charge = actions.do_charge_procedure(
        request.user.username, payload.uhid, payload.code, payload.admission, payload.note
    )
    return Status(201, {"charge": charge})


class BillingCancelIn(Schema):
    model_config = ConfigDict(extra="forbid")
    uhid: str = Field(..., max_length=20)
    charge: str = Field(..., max_length=80)
    reason: str = Field(..., min_length=1, max_length=200)


@router.post(
    "/billing/charges/cancel",
    response={200: BillingChargeRef, **ERRORS},
    summary="Cancel a charge made in error (a test not done)",
    auth=needs(CANCEL_CHARGE),
)
def cancel_charge(request: HttpRequest, payload: BillingCancelIn) -> Any:
    actions.do_cancel_charge(request.user.username, payload.uhid, payload.charge, payload.reason)
    return {"charge": payload.charge}


class BillingClosingIn(Schema):
    model_config = ConfigDict(extra="forbid")
    counter: str = Field(..., max_length=2, examples=["A"])
    date: str = Field(..., max_length=10, examples=["2026-11-03"])
    denominations: dict[str, StrictInt] = Field(..., examples=[{"500": 4, "100": 3, "10": 2}])


class BillingClosingOut(Schema):
    closing: str
    counter: str
    date: str
    denominations: dict[str, int]
    counted: int
    expected_cash: int
    variance: int
    cash: int
    upi: int
    card: int
    refunds: int
    total: int
    closed_by: str
    node: str
    at: str


def closing_out(c: Closing) -> dict[str, Any]:
    return {
        "closing": c.closing,
        "counter": c.counter,
        "date": c.day.isoformat(),
        "denominations": c.denominations,
        "counted": c.counted,
        "expected_cash": c.expected_cash,
        "variance": c.variance,
        "cash": c.cash,
        "upi": c.upi,
        "card": c.card,
        "refunds": c.refunds,
        "total": c.total,
        "closed_by": c.closed_by,
        "node": c.node,
        "at": timeutil.from_ms(c.at_ms).isoformat(),
    }


@router.post(
    "/closings",
    response={201: BillingClosingOut, **ERRORS},
    summary="Close a counter's day: the cash counted by denomination, and the variance",
    auth=needs(CLOSE_DAY),
)
def close_day(request: HttpRequest, payload: BillingClosingIn) -> Any:
    closing = actions.do_close_day(
        request.user.username, payload.counter, payload.date, payload.denominations
    )
    return Status(201, closing_out(closing))


def _date(value: str | None) -> date:
    if not value:
        return timeutil.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("the date must be YYYY-MM-DD", {"date": "YYYY-MM-DD"}) from exc


@router.get(
    "/closings",
    response={200: list[BillingClosingOut], **ERRORS},
    summary="The standing closing of each counter closed on a day (default today)",
    auth=needs(CLOSE_DAY, READ_COLLECTIONS),
)
def list_closings(request: HttpRequest, date: str | None = Query(None, max_length=10)) -> Any:
    return [closing_out(c) for c in queries.closings_on(_date(date))]


class BillingAsOfOrigin(Schema):
    seq: int
    at: str


class BillingAsOf(Schema):
    newest: str | None
    origins: dict[str, BillingAsOfOrigin]


class BillingCollectionsOut(Schema):
    date: str
    total: int
    by_counter: dict[str, int]
    by_mode: dict[str, int]
    as_of: BillingAsOf


@router.get(
    "/reports/collections",
    response={200: BillingCollectionsOut, **ERRORS},
    summary="A day's net collections (payments less approved refunds), in paise",
    auth=needs(READ_COLLECTIONS),
)
def collections(request: HttpRequest, date: str | None = Query(None, max_length=10)) -> Any:
    day = _date(date)
    found = queries.collections(day, day)
    return {
        "date": day.isoformat(),
        "total": found["total"],
        "by_counter": found["by_counter"],
        "by_mode": found["by_mode"],
        "as_of": found["as_of"],
    }


class BillingConflictOut(Schema):
    conflict: str
    kind: str
    subject: str
    detail: str
    records: list[str]
    resolved: bool
    resolution: str


@router.get(
    "/billing/conflicts",
    response={200: list[BillingConflictOut], **ERRORS},
    summary="Billing conflicts found when partitioned nodes met (resolved=true: all)",
    auth=needs(READ_COLLECTIONS),
)
def list_conflicts(request: HttpRequest, resolved: bool = Query(False)) -> Any:
    return [{**c.__dict__, "conflict": c.key} for c in queries.conflicts(include_resolved=resolved)]


class BillingResolveIn(Schema):
    model_config = ConfigDict(extra="forbid")
    conflict: str = Field(..., max_length=100)
    note: str = Field(..., min_length=1, max_length=200)


@router.post(
    "/billing/conflicts/resolve",
    response={200: list[BillingConflictOut], **ERRORS},
    summary="Record how a billing conflict was dealt with; answers the open worklist",
    auth=needs(DECIDE_REFUND),
)
def resolve_conflict(request: HttpRequest, payload: BillingResolveIn) -> Any:
    actions.do_resolve_conflict(request.user.username, payload.conflict, payload.note)
    return [{**c.__dict__, "conflict": c.key} for c in queries.conflicts()]
