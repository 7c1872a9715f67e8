"""Projections of billing events. The only code that writes billing tables.

Payments are creates under receipt numbers their nodes minted; refunds are creates
whose decisions are kept as a list (the earliest by (hlc, origin) stands); procedures,
cancellations, closings and resolutions are append-only rows keyed by their event's
ORIGIN:SEQ. Each handler's result depends on the set of events, not their order.
Bodies are checked before anything is written: a peer's malformed event raises (the
ingest records it), nothing half-stored.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nirantar.billing import catalogue, events
from nirantar.billing.models import (
    ChargeCancellation,
    Closing,
    ConflictFlag,
    ConflictResolution,
    Payment,
    ProcedureCharge,
    Refund,
)
from nirantar.ledger import lww, roster, sequences
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, register_models
from nirantar.registration.events import UHID

register_models(
    Payment, Refund, ProcedureCharge, ChargeCancellation, Closing, ConflictResolution, ConflictFlag
)
for _type in events.ALL:
    event_version(_type, 1)

MAX_AMOUNT = 10_000_000_00  # one crore rupees, in paise: far above any counter's payment


def _text(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 200) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise ValueError(f"{key} must be {'non-empty ' if required else ''}text")
    return value


def _amount(body: dict[str, Any], key: str = "amount") -> int:
    value = body.get(key)
    # bool is an int in Python; an amount is never true or false.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_AMOUNT:
        raise ValueError(f"{key} must be a positive whole number of paise")
    return value


def _money(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > MAX_AMOUNT:
        raise ValueError(f"{key} must be a whole number of paise")
    return value


def _day(body: dict[str, Any]) -> date:
    return date.fromisoformat(_text(body, "day"))


def _counter(body: dict[str, Any]) -> str:
    counter = _text(body, "counter", limit=2)
    if not counter.isascii() or not counter.isupper() or not counter.isalpha():
        raise ValueError("counter must be one or two capital letters")
    return counter


def _patient(event: Event) -> str:
    uhid = _text(event.body, "uhid")
    UHID.parse(uhid)
    if event.stream != f"patient:{uhid}":
        raise ValueError(f"a billing event about a patient must be in stream patient:{uhid}")
    return uhid


def _event_id(event: Event) -> str:
    return f"{event.origin}:{event.seq}"


@handles(events.PAYMENT_RECEIVED)
def on_payment(event: Event) -> None:
    """A payment is created under the receipt number its node minted; a repeat is a no-op."""
    body = event.body
    uhid = _patient(event)
    amount = _amount(body)
    mode = body.get("mode")
    if mode not in events.MODES:
        raise ValueError(f"unknown payment mode {mode!r}")
    reference = _text(body, "reference", required=False, limit=40)
    charges = body.get("charges", [])
    if not isinstance(charges, list) or not all(isinstance(c, str) for c in charges):
        raise ValueError("charges must be a list of charge ids")
    node_number, seq = events.RECEIPT.parse(_text(body, "receipt"))
    roster.check_minted_by(event, node_number, f"receipt {body['receipt']}")
    payment, created = Payment.objects.get_or_create(
        receipt=body["receipt"],
        defaults={
            "uhid": uhid,
            "amount": amount,
            "mode": mode,
            "reference": reference,
            "counter": _counter(body),
            "day": _day(body),
            "charges": charges,
            "at_ms": event.hlc.wall,
            "clerk": event.actor,
            "node": event.origin,
        },
    )
    sequences.observe(events.RECEIPT.kind, str(node_number), seq)
    if created:  # it may come after refunds of it, or after its day was closed
        _check_receipt(payment.receipt)
        _check_counter_day(payment.counter, payment.day)


def _refund_row(number: str, receipt: str, uhid: str) -> Refund:
    row = Refund.objects.filter(refund=number).first()
    return row or Refund(refund=number, receipt=receipt, uhid=uhid)


@handles(events.REFUND_REQUESTED)
def on_refund_requested(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    amount = _amount(body)
    receipt = events.RECEIPT.normalise(_text(body, "receipt"))
    reason = _text(body, "reason")
    counter = _counter(body)
    node_number, seq = events.REFUND.parse(_text(body, "refund"))
    roster.check_minted_by(event, node_number, f"refund {body['refund']}")
    row = _refund_row(body["refund"], receipt, uhid)
    if not row.is_requested:
        row.is_requested = True
        row.amount = amount
        row.reason = reason
        row.counter = counter
        row.requested_by = event.actor
        row.requested_ms = event.hlc.wall
        row.node = event.origin
        row.save()
    sequences.observe(events.REFUND.kind, str(node_number), seq)


@handles(events.REFUND_DECIDED)
def on_refund_decided(event: Event) -> None:
    """Every decision is kept; the earliest by (hlc, origin) stands, whatever the order
    they arrive in. Two different decisions made apart show as a conflict (queries)."""
    body = event.body
    uhid = _patient(event)
    decision = body.get("decision")
    if decision not in events.DECISIONS:
        raise ValueError(f"unknown refund decision {decision!r}")
    receipt = events.RECEIPT.normalise(_text(body, "receipt"))
    events.REFUND.parse(_text(body, "refund"))
    note = _text(body, "note", required=False)
    entry: dict[str, Any] = {
        "decision": decision,
        "stamp": lww.stamp_of(event),
        "by": event.actor,
        "at_ms": event.hlc.wall,
        "note": note,
        "event": _event_id(event),
    }
    if decision == "approved":
        mode = body.get("mode")
        if mode not in events.MODES:
            raise ValueError(f"unknown refund mode {mode!r}")
        entry.update(
            amount=_amount(body), mode=mode, counter=_counter(body), day=_day(body).isoformat()
        )
    row = _refund_row(body["refund"], receipt, uhid)
    if any(d["event"] == entry["event"] for d in row.decisions):
        return
    paid_before = (row.paid_counter, row.paid_day)
    row.decisions = sorted([*row.decisions, entry], key=lambda d: tuple(d["stamp"]))
    standing = row.decisions[0]
    row.status = standing["decision"]
    row.decided_by = standing["by"]
    row.decided_ms = standing["at_ms"]
    row.decision_note = standing["note"]
    approved = standing["decision"] == "approved"
    row.paid_amount = standing["amount"] if approved else 0
    row.paid_mode = standing["mode"] if approved else ""
    row.paid_counter = standing["counter"] if approved else ""
    row.paid_day = date.fromisoformat(standing["day"]) if approved else None
    row.save()
    # The decision that stands may have moved the payout to another counter-day (an
    # earlier decision arriving late): both days' closings are checked again.
    for counter, day in {paid_before, (row.paid_counter, row.paid_day)}:
        if counter and day is not None:
            _check_counter_day(counter, day)
    _check_receipt(receipt)
    _check_decisions(row)


@handles(events.PROCEDURE_CHARGED)
def on_procedure_charged(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    code = _text(body, "code", limit=20)
    if not any(code in items for _, items in catalogue.VERSIONS):
        raise ValueError(f"{code} is not in the tariff")
    charge = f"PR:{_event_id(event)}"
    if _text(body, "charge", limit=60) != charge:
        raise ValueError(f"a procedure charge's id is PR:ORIGIN:SEQ of its event ({charge})")
    ProcedureCharge.objects.get_or_create(
        charge=charge,
        defaults={
            "uhid": uhid,
            "code": code,
            "admission": _text(body, "admission", required=False, limit=24),
            "note": _text(body, "note", required=False),
            "at_ms": event.hlc.wall,
            "actor": event.actor,
            "node": event.origin,
        },
    )


@handles(events.CHARGE_CANCELLED)
def on_charge_cancelled(event: Event) -> None:
    body = event.body
    ChargeCancellation.objects.get_or_create(
        cancellation=_event_id(event),
        defaults={
            "charge": _text(body, "charge", limit=80),
            "uhid": _patient(event),
            "reason": _text(body, "reason"),
            "at_ms": event.hlc.wall,
            "actor": event.actor,
        },
    )


def _denominations(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError("denominations must be a map of note to count")
    allowed = {str(d) for d in events.DENOMINATIONS}
    for note, count in value.items():
        if note not in allowed or not isinstance(count, int) or isinstance(count, bool):
            raise ValueError(f"bad denomination {note!r}: {count!r}")
        if count < 0:
            raise ValueError("a count is never negative")
    return dict(value)


@handles(events.DAY_CLOSED)
def on_day_closed(event: Event) -> None:
    body = event.body
    counter = _counter(body)
    if event.stream != events.counter_stream(counter):
        raise ValueError(f"a closing must be in stream {events.counter_stream(counter)}")
    denominations = _denominations(body.get("denominations"))
    counted = _money(body, "counted")
    if counted != sum(int(note) * 100 * n for note, n in denominations.items()):
        raise ValueError("counted is not the sum of the denominations")
    Closing.objects.get_or_create(
        closing=_event_id(event),
        defaults={
            "counter": counter,
            "day": _day(body),
            "denominations": denominations,
            "counted": counted,
            **{
                key: _money(body, key)
                for key in ("expected_cash", "cash", "upi", "card", "refunds", "total", "variance")
            },
            "stamp": lww.stamp_of(event),
            "at_ms": event.hlc.wall,
            "closed_by": event.actor,
            "node": event.origin,
        },
    )
    _check_counter_day(counter, _day(body))


@handles(events.CONFLICT_RESOLVED)
def on_conflict_resolved(event: Event) -> None:
    body = event.body
    if event.stream != events.CONFLICTS_STREAM:
        raise ValueError(f"a resolution must be in stream {events.CONFLICTS_STREAM}")
    ConflictResolution.objects.get_or_create(
        resolution=_event_id(event),
        defaults={
            "conflict": _text(body, "conflict", limit=100),
            "note": _text(body, "note"),
            "at_ms": event.hlc.wall,
            "actor": event.actor,
        },
    )


# -- conflict flags: kept as the events arrive, read by queries.conflicts -------------


def _flag(key: str, found: dict[str, Any] | None) -> None:
    if found is None:
        ConflictFlag.objects.filter(key=key).delete()
    else:
        ConflictFlag.objects.update_or_create(key=key, defaults=found)


def _check_receipt(receipt: str) -> None:
    """Over-refunded: refunds approved apart that together exceed the payment."""
    refunds = list(Refund.objects.filter(receipt=receipt, status="approved"))
    if not refunds:
        ConflictFlag.objects.filter(key=f"over_refunded:{receipt}").delete()
        return
    payment = Payment.objects.filter(receipt=receipt).first()
    total = sum(r.paid_amount for r in refunds)
    found = None
    if payment is not None and total > payment.amount:
        found = {
            "kind": "over_refunded",
            "subject": receipt,
            "detail": f"refunds approved apart total {total} paise against a payment of "
            f"{payment.amount}: recover {total - payment.amount} or write it off",
            "records": sorted(r.refund for r in refunds),
            "uhid": payment.uhid,
        }
    _flag(f"over_refunded:{receipt}", found)


def _check_decisions(row: Refund) -> None:
    """Refund decisions: approved on one node and rejected on another."""
    found = None
    if len({d["decision"] for d in row.decisions}) > 1:
        found = {
            "kind": "refund_decisions",
            "subject": row.refund,
            "detail": f"approved and rejected apart; the earliest ({row.status}) stands",
            "records": [d["event"] for d in row.decisions],
            "uhid": row.uhid,
        }
    _flag(f"refund_decisions:{row.refund}", found)


def _check_counter_day(counter: str, day: date) -> None:
    """Closed twice, and closing changed (a payment or refund of the day arrived after
    its closing). A counter-day never closed has neither, and closings are never
    removed, so most payments stop at the first query."""
    rows = sorted(Closing.objects.filter(counter=counter, day=day), key=lambda c: tuple(c.stamp))
    if not rows:
        return
    from nirantar.billing import queries  # queries reads other modules; import when used

    subject = f"{counter}:{day.isoformat()}"
    twice = None
    if len(rows) > 1:
        twice = {
            "kind": "closed_twice",
            "subject": subject,
            "detail": f"counter {counter} closed {len(rows)} times for {day}; the closing by "
            f"{rows[0].closed_by} at {rows[0].node} stands",
            "records": [r.closing for r in rows],
            "uhid": "",
        }
    _flag(f"closed_twice:{subject}", twice)
    now = queries.counter_day(counter, day)
    standing = rows[0]
    changed = None
    if (now.expected_cash, now.total) != (standing.expected_cash, standing.total):
        changed = {
            "kind": "closing_changed",
            "subject": subject,
            "detail": f"closed expecting {standing.expected_cash} paise cash and a total of "
            f"{standing.total}; the day now holds {now.expected_cash} and {now.total}",
            "records": [standing.closing],
            "uhid": "",
        }
    _flag(f"closing_changed:{subject}", changed)
