"""Event types of billing, and the numbers it mints. Payments and refunds are in the
patient's stream; closings in the counter's; the rest in billing's own.

stream patient:UHID
billing.payment_received   {receipt, uhid, amount, mode, reference, counter, day,
                            charges: [charge id]}
    create (the receipt number is minted by the node that took the money); amount in
    paise; mode cash | upi | card (upi and card carry the reference); day is the counter's
    business day (the hospital's local day, or the next one if that was closed already)
billing.refund_requested   {refund, receipt, uhid, amount, reason, counter}
    create (the refund number is minted by the requesting node)
billing.refund_decided     {refund, receipt, uhid, decision, amount, mode, counter, day,
                            note}
    decision approved | rejected, by a supervisor who did not request it; the earliest
    decision (hlc, origin) stands, a later different one is kept and flagged
billing.procedure_charged  {charge, uhid, code, admission, note}
    append-only (the charge id is PR:ORIGIN:SEQ of its event)
billing.charge_cancelled   {charge, uhid, reason}
    append-only; a charge is cancelled if any cancellation names it (monotone)

stream counter:LETTER
billing.day_closed         {counter, day, denominations: {note: count}, counted,
                            expected_cash, cash, upi, card, refunds, total, variance}
    append-only per (counter, day); the earliest closing (hlc, origin) stands, any other
    closing of the same counter-day is kept and flagged

stream billing:conflicts
billing.conflict_resolved  {conflict, note}
    append-only; a conflict with a resolution leaves the open worklist

Charges are not events: they are worked out from the other modules' events (a
registration, an OPD visit, a lab order, a stay on a ward) by queries.charges_of, the
same on every node that holds the same events.
"""

from nirantar.ledger.numbering import NumberFormat

PAYMENT_RECEIVED = "billing.payment_received"
REFUND_REQUESTED = "billing.refund_requested"
REFUND_DECIDED = "billing.refund_decided"
PROCEDURE_CHARGED = "billing.procedure_charged"
CHARGE_CANCELLED = "billing.charge_cancelled"
DAY_CLOSED = "billing.day_closed"
CONFLICT_RESOLVED = "billing.conflict_resolved"

ALL = (
    PAYMENT_RECEIVED,
    REFUND_REQUESTED,
    REFUND_DECIDED,
    PROCEDURE_CHARGED,
    CHARGE_CANCELLED,
    DAY_CLOSED,
    CONFLICT_RESOLVED,
)

RECEIPT = NumberFormat("receipt", "RC", "receipt number")
REFUND = NumberFormat("refund", "RF", "refund number")

MODES = ("cash", "upi", "card")
DECISIONS = ("approved", "rejected")
# Notes and coins counted at a closing, in rupees.
DENOMINATIONS = (500, 200, 100, 50, 20, 10, 5, 2, 1)
CONFLICTS_STREAM = "billing:conflicts"


def counter_stream(counter: str) -> str:
    return f"counter:{counter}"
