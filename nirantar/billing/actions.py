"""The only write path of billing: check the request against what this node holds,
then emit events. Each ``do_`` runs under the node's writer lock, so two requests at one
node can't both pass a check (two refunds of the same payment, two closings of a day)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.conf import settings

from nirantar import timeutil
from nirantar.billing import catalogue, events, queries
from nirantar.billing.models import Closing, Payment, Refund
from nirantar.billing.projections import MAX_AMOUNT
from nirantar.config import COUNTER_LETTER_RE
from nirantar.errors import ActionError, Conflict, NotFound, ValidationFailed
from nirantar.ledger.writer import writing
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters

UPI_REFERENCE = re.compile(r"[0-9]{12}")  # the UTR a UPI app shows: 12 digits
CARD_REFERENCE = re.compile(r"[A-Z0-9]{6,12}")  # the terminal's approval code / RRN
MAX_COUNT = 100_000  # notes of one denomination in one drawer


class SamePerson(ActionError):
    status = 403
    code = "same_person"


def clean_amount(value: Any, field: str = "amount") -> int:
    """A positive whole number of paise, or ValidationFailed. Floats and text are refused:
    money is never a float here, and "100" could be rupees or paise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(
            "the amount must be a whole number of paise", {field: "a whole number of paise"}
        )
    if value <= 0:
        raise ValidationFailed("the amount must be more than zero", {field: "more than zero"})
    if value > MAX_AMOUNT:
        raise ValidationFailed("the amount is too large", {field: f"at most {MAX_AMOUNT} paise"})
    return value


def rupees_to_paise(text: Any, field: str = "amount") -> int:
    """What a cashier types (rupees, up to two decimals: 150, 150.5, 1,250.00) in paise."""
    cleaned = str(text or "").strip().replace(",", "")
    match = re.fullmatch(r"(\d{1,9})(?:\.(\d{1,2}))?", cleaned)
    if not match:
        raise ValidationFailed(
            "the amount must be rupees, like 150 or 150.50", {field: "rupees, like 150.50"}
        )
    return clean_amount(int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0")), field)


def clean_text(value: Any, field: str, *, required: bool = True, limit: int = 200) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise ValidationFailed(f"{field} must be text", {field: "text"})
    if has_control_characters(text):
        raise ValidationFailed(f"{field} {CONTROL_MESSAGE}", {field: CONTROL_MESSAGE})
    if required and not text:
        raise ValidationFailed(f"{field} is needed", {field: "required"})
    if len(text) > limit:
        raise ValidationFailed(f"{field} is too long", {field: f"at most {limit} characters"})
    return text


def clean_reference(mode: Any, reference: Any) -> tuple[str, str]:
    if mode not in events.MODES:
        raise ValidationFailed(
            "unknown payment mode", {"mode": "one of " + ", ".join(events.MODES)}
        )
    text = str(reference or "").strip().upper().replace(" ", "")
    if mode == "cash":
        if text:
            raise ValidationFailed("a cash payment has no reference", {"reference": "leave empty"})
    elif mode == "upi" and not UPI_REFERENCE.fullmatch(text):
        raise ValidationFailed(
            "a UPI payment needs its 12-digit UTR reference", {"reference": "the 12-digit UTR"}
        )
    elif mode == "card" and not CARD_REFERENCE.fullmatch(text):
        raise ValidationFailed(
            "a card payment needs the terminal's approval code",
            {"reference": "6 to 12 letters or digits"},
        )
    return mode, text


def counter() -> str:
    """This node's counter letter (as on its OPD tokens): the counter it takes money at."""
    return str(settings.NODE.counter_letter)


def do_take_payment(
    actor: str, uhid_text: Any, amount: Any, mode: Any, reference: Any = "", charges: Any = None
) -> Payment:
    """Take money from a patient at this node's counter, under a receipt number minted
    here (no server needed). It counts to the counter's business day: today, or the next
    day once today is closed at this counter."""
    paise = clean_amount(amount)
    mode, reference = clean_reference(mode, reference)
    if charges is None:
        charges = []
    if not isinstance(charges, list) or not all(isinstance(c, str) for c in charges):
        raise ValidationFailed("charges must be a list of charge ids", {"charges": "a list"})
    with writing() as w:
        patient = queries.find_patient(uhid_text)
        if charges:
            owed = set(queries.account(patient).outstanding_ids)
            unknown = [c for c in charges if c not in owed]
            if unknown:
                raise ValidationFailed(
                    f"not an outstanding charge of this patient: {', '.join(unknown)[:150]}",
                    {"charges": "unknown or already settled"},
                )
        here = counter()
        node_number, seq = w.next_number(events.RECEIPT.kind)
        receipt = events.RECEIPT.format(node_number, seq)
        w.emit(
            events.PAYMENT_RECEIVED,
            f"patient:{patient.uhid}",
            {
                "receipt": receipt,
                "uhid": patient.uhid,
                "amount": paise,
                "mode": mode,
                "reference": reference,
                "counter": here,
                "day": queries.business_day(here).isoformat(),
                "charges": list(dict.fromkeys(charges)),
            },
            actor=actor,
        )
    return Payment.objects.get(receipt=receipt)


def _refundable(payment: Payment, refunds: list[Refund]) -> int:
    """What is left of a payment to refund: its amount less every refund approved or
    still waiting for a decision (a pending one holds its amount)."""
    held = sum(
        r.paid_amount if r.status == "approved" else r.amount
        for r in refunds
        if r.status != "rejected"
    )
    return payment.amount - held


def do_request_refund(actor: str, receipt_text: Any, amount: Any, reason: Any) -> Refund:
    """Ask for (part of) a payment back; it waits for a supervisor's approval."""
    paise = clean_amount(amount)
    why = clean_text(reason, "reason")
    with writing() as w:
        payment = queries.find_payment(receipt_text)
        left = _refundable(payment, queries.refunds_of_receipt(payment.receipt))
        if paise > left:
            raise ValidationFailed(
                f"a refund of {paise} paise is more than the {left} paise left of receipt "
                f"{payment.receipt} (paid {payment.amount})",
                {"amount": f"at most {left} paise"},
            )
        node_number, seq = w.next_number(events.REFUND.kind)
        number = events.REFUND.format(node_number, seq)
        w.emit(
            events.REFUND_REQUESTED,
            f"patient:{payment.uhid}",
            {
                "refund": number,
                "receipt": payment.receipt,
                "uhid": payment.uhid,
                "amount": paise,
                "reason": why,
                "counter": counter(),
            },
            actor=actor,
        )
    return Refund.objects.get(refund=number)


def do_decide_refund(actor: str, refund_text: Any, decision: Any, note: Any = "") -> Refund:
    """A supervisor approves or rejects a refund someone else requested. An approval is
    checked against the payment again (two requests made apart may each have fitted);
    it is paid out at the counter that asked, on that counter's business day."""
    if decision not in events.DECISIONS:
        raise ValidationFailed("approve or reject?", {"decision": "approved or rejected"})
    why = clean_text(note, "note", required=False)
    with writing() as w:
        refund = queries.find_refund(refund_text)
        if refund.status != "requested":
            raise Conflict(
                f"refund {refund.refund} is {refund.status} already", {"refund": refund.status}
            )
        if refund.requested_by == actor:
            raise SamePerson(
                "a refund is decided by someone other than who asked for it",
                {"refund": "requested by you"},
            )
        body: dict[str, Any] = {
            "refund": refund.refund,
            "receipt": refund.receipt,
            "uhid": refund.uhid,
            "decision": decision,
            "note": why,
        }
        if decision == "approved":
            payment = queries.find_payment(refund.receipt)
            others = [
                r for r in queries.refunds_of_receipt(payment.receipt) if r.refund != refund.refund
            ]
            approved = sum(r.paid_amount for r in others if r.status == "approved")
            if approved + refund.amount > payment.amount:
                raise Conflict(
                    f"approving {refund.amount} paise would refund more than the payment of "
                    f"{payment.amount} (already approved: {approved})",
                    {"refund": "exceeds the payment"},
                )
            body.update(
                amount=refund.amount,
                mode=payment.mode,
                counter=refund.counter,
                day=queries.business_day(refund.counter).isoformat(),
            )
        w.emit(events.REFUND_DECIDED, f"patient:{refund.uhid}", body, actor=actor)
    return Refund.objects.get(refund=refund.refund)


def do_charge_procedure(
    actor: str, uhid_text: Any, code: Any, admission: Any = "", note: Any = ""
) -> str:
    """Charge a procedure from the tariff; returns the charge id (PR:ORIGIN:SEQ)."""
    code_text = str(code or "").strip().upper()
    item = catalogue.current().get(code_text)
    if item is None or item.kind != "procedure":
        procedures = [c for c, i in catalogue.current().items() if i.kind == "procedure"]
        raise ValidationFailed(
            "not a procedure in the tariff", {"code": "one of " + ", ".join(procedures)}
        )
    admission_text = clean_text(admission, "admission", required=False, limit=24)
    why = clean_text(note, "note", required=False)
    with writing() as w:
        patient = queries.find_patient(uhid_text)
        seq = w.ingestor.head(w.local.name)[0] + 1
        charge = f"PR:{w.local.name}:{seq}"
        event = w.emit(
            events.PROCEDURE_CHARGED,
            f"patient:{patient.uhid}",
            {
                "charge": charge,
                "uhid": patient.uhid,
                "code": code_text,
                "admission": admission_text,
                "note": why,
            },
            actor=actor,
        )
        assert event.seq == seq
    return charge


def do_cancel_charge(actor: str, uhid_text: Any, charge: Any, reason: Any) -> None:
    why = clean_text(reason, "reason")
    charge_id = clean_text(charge, "charge", limit=80)
    with writing() as w:
        patient = queries.find_patient(uhid_text)
        found = {c.charge: c for c in queries.account(patient).charges}
        if charge_id not in found:
            raise NotFound(f"no charge {charge_id} for this patient", {"charge": "not found"})
        if found[charge_id].cancelled:
            raise Conflict(f"charge {charge_id} is cancelled already", {"charge": "cancelled"})
        w.emit(
            events.CHARGE_CANCELLED,
            f"patient:{found[charge_id].uhid}",
            {"charge": charge_id, "uhid": found[charge_id].uhid, "reason": why},
            actor=actor,
        )


def clean_denominations(value: Any) -> dict[str, int]:
    """{note in rupees: count} -> the same with text keys, every listed note present."""
    if not isinstance(value, dict):
        raise ValidationFailed(
            "denominations must map notes to counts", {"denominations": 'like {"500": 3}'}
        )
    allowed = {str(d) for d in events.DENOMINATIONS}
    counts = dict.fromkeys(sorted(allowed, key=int, reverse=True), 0)
    errors: dict[str, str] = {}
    for note, count in value.items():
        key = str(note).strip()
        if key not in allowed:
            errors[f"denominations.{key[:10]}"] = "not a note or coin: " + ", ".join(
                sorted(allowed, key=int, reverse=True)
            )
        elif isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            errors[f"denominations.{key}"] = f"a whole number from 0 to {MAX_COUNT}"
        else:
            counts[key] = count
    if errors:
        raise ValidationFailed("please correct the denomination counts", errors)
    return counts


def clean_day(value: Any) -> date:
    try:
        day = date.fromisoformat(str(value or ""))
    except ValueError as exc:
        raise ValidationFailed("the date must be YYYY-MM-DD", {"date": "YYYY-MM-DD"}) from exc
    if day > timeutil.today() + timedelta(days=1):
        raise ValidationFailed("that day has not come yet", {"date": "not in the future"})
    return day


def clean_counter(value: Any) -> str:
    text = str(value or "").strip().upper()
    if not COUNTER_LETTER_RE.fullmatch(text):
        raise ValidationFailed("a counter is one or two capital letters", {"counter": "like A"})
    return text


def do_close_day(actor: str, counter_value: Any, day_value: Any, denominations: Any) -> Closing:
    """Close a counter's business day: the cash counted note by note against what this
    node knows the day took in cash less cash refunds. Once closed, that counter's further
    takings count to the next day. A counter-day is closed once (409 after)."""
    letter = clean_counter(counter_value)
    day = clean_day(day_value)
    counts = clean_denominations(denominations)
    counted = sum(int(note) * 100 * n for note, n in counts.items())
    with writing() as w:
        standing = queries.standing_closing(letter, day)
        if standing is not None:
            raise Conflict(
                f"counter {letter} is closed for {day} already (by {standing.closed_by} at "
                f"{standing.node})",
                {"date": "closed already"},
            )
        now = queries.counter_day(letter, day)
        event = w.emit(
            events.DAY_CLOSED,
            events.counter_stream(letter),
            {
                "counter": letter,
                "day": day.isoformat(),
                "denominations": counts,
                "counted": counted,
                "expected_cash": now.expected_cash,
                "cash": now.cash,
                "upi": now.upi,
                "card": now.card,
                "refunds": now.refunded,
                "total": now.total,
                "variance": counted - now.expected_cash,
            },
            actor=actor,
        )
    return Closing.objects.get(closing=f"{event.origin}:{event.seq}")


def do_resolve_conflict(actor: str, key: Any, note: Any) -> None:
    why = clean_text(note, "note")
    wanted = clean_text(key, "conflict", limit=100)
    with writing() as w:
        open_keys = {c.key for c in queries.conflicts()}
        if wanted not in open_keys:
            raise NotFound(f"no open billing conflict {wanted}", {"conflict": "not open"})
        w.emit(
            events.CONFLICT_RESOLVED,
            events.CONFLICTS_STREAM,
            {"conflict": wanted, "note": why},
            actor=actor,
        )
