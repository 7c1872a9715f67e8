"""Reads of billing for screens, APIs, receipts and other modules (the MIS dashboards
call ``collections``).

Charges are not stored: ``charges_of`` works them out from what the other modules
hold - a registration, each OPD visit, each test of each lab order, each night of each
stay on a ward - and from billing's own procedure charges and cancellations, priced by
the tariff in force on the day each arose. Those modules' tables are functions of their
events, so every node holding the same events shows the same charges, whatever order
the events came in. The waiver follows the patient's category as registration has it
now (a correction to BPL waives what is still owed, and shows what was paid as credit).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Sum

from nirantar import timeutil
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
from nirantar.errors import NotFound
from nirantar.lab import queries as lab
from nirantar.ledger.models import Head
from nirantar.ledger.numbering import InvalidNumber
from nirantar.registration import queries as registration
from nirantar.registration.actions import parse_uhid
from nirantar.registration.models import Patient
from nirantar.wards import queries as wards


@dataclass
class Charge:
    charge: str  # a stable id: REG:UHID, OPD:VISIT, LAB:ORDER:TEST, BED:ADMISSION:DAY, PR:...
    uhid: str
    code: str
    kind: str
    name_en: str
    name_hi: str
    day: date
    price: int
    waiver_percent: int = 0
    waived: int = 0
    inpatient: bool = False
    source: str = ""  # the visit, order or admission it came from
    cancelled: bool = False
    cancel_reason: str = ""
    paid: bool = False

    @property
    def net(self) -> int:
        return 0 if self.cancelled else self.price - self.waived


def local_day(ms: int) -> date:
    return timeutil.local(timeutil.from_ms(ms)).date()


def day_start_ms(day: date) -> int:
    moment = datetime.combine(day, time(0), tzinfo=timeutil.hospital_zone())
    return int(moment.timestamp() * 1000)


def _charge(uhid: str, charge_id: str, code: str, day: date, source: str = "", **kw: Any) -> Charge:
    item = catalogue.item(code, day)
    if item is None:  # a code the tariff of that day lacks: shown, at no price
        return Charge(charge_id, uhid, code, "procedure", code, code, day, 0, source=source, **kw)
    return Charge(
        charge_id, uhid, code, item.kind, item.name_en, item.name_hi, day, item.price,
        source=source, **kw,
    )  # fmt: skip


def _bed_days(uhid: str, today: date) -> list[Charge]:
    """One charge per night of each stay, at the kind of ward the patient was in when that
    night's midnight came (the midnight census rule); a stay with no midnight in it is one
    day. An open stay has accrued the nights up to now."""
    kinds = wards.ward_kinds()
    found: list[Charge] = []
    for admission, placements in wards.stays_of([uhid]):
        if admission.admitted_ms is None:
            continue
        first = local_day(admission.admitted_ms)
        if admission.discharged and admission.discharged_ms is not None:
            last = local_day(admission.discharged_ms)
        else:
            last = today
        days = [first + timedelta(days=n) for n in range((last - first).days)] or [first]
        for day in days:
            midnight = day_start_ms(day + timedelta(days=1))
            before = [p for p in placements if p.at_ms < midnight]
            ward = (before or placements or [None])[-1]
            kind = kinds.get(ward.ward, "general") if ward else "general"
            found.append(
                _charge(
                    uhid,
                    f"BED:{admission.admission_no}:{day.isoformat()}",
                    f"BED-{kind.upper()}",
                    day,
                    admission.admission_no,
                    inpatient=True,
                )
            )
    return found


def charges_of(group: list[str], category: str, today: date | None = None) -> list[Charge]:
    """Every charge of a patient's record (the UHIDs of ``group``), oldest first, with the
    waiver of ``category`` applied and cancellations marked."""
    today = today or timeutil.today()
    found: list[Charge] = []
    for uhid in group:
        patient = registration.get_patient(uhid)
        if patient is not None and patient.registered_at_ms is not None:
            day = local_day(patient.registered_at_ms)
            found.append(_charge(uhid, f"REG:{uhid}", "REG", day, uhid))
    for visit in registration.visits_of_patients(group):
        found.append(
            _charge(visit.uhid, f"OPD:{visit.visit_no}", "OPD", visit.local_date, visit.visit_no)
        )
    for uhid in group:
        for order in reversed(lab.orders_of(uhid)):
            day = local_day(order.at_ms)
            inpatient = order.source == "ward"
            for test in order.tests:
                found.append(
                    _charge(
                        uhid,
                        f"LAB:{order.order_no}:{test}",
                        f"LAB-{test}",
                        day,
                        order.order_no,
                        inpatient=inpatient,
                    )
                )
        found.extend(_bed_days(uhid, today))
    for row in ProcedureCharge.objects.filter(uhid__in=group):
        found.append(
            _charge(
                row.uhid,
                row.charge,
                row.code,
                local_day(row.at_ms),
                row.admission,
                inpatient=bool(row.admission),
            )
        )
    cancelled: dict[str, str] = {}
    for row in ChargeCancellation.objects.filter(uhid__in=group).order_by("at_ms", "cancellation"):
        cancelled.setdefault(row.charge, row.reason)
    settled = {c for p in Payment.objects.filter(uhid__in=group) for c in p.charges}
    for charge in found:
        charge.waiver_percent = catalogue.waiver_percent(category, charge.kind, charge.inpatient)
        charge.waived = catalogue.waived(charge.price, charge.waiver_percent)
        if charge.charge in cancelled:
            charge.cancelled, charge.cancel_reason = True, cancelled[charge.charge]
        charge.paid = charge.charge in settled
    found.sort(key=lambda c: (c.day, c.charge))
    return found


@dataclass
class Account:
    patient: Patient
    group: list[str]
    category: str
    charges: list[Charge]
    payments: list[Payment]
    refunds: list[Refund]
    charged: int = 0
    paid: int = 0
    refunded: int = 0
    outstanding_ids: list[str] = field(default_factory=list)

    @property
    def balance(self) -> int:
        """What the patient owes (negative: the hospital holds a credit)."""
        return self.charged - self.paid + self.refunded


def account(patient: Patient, today: date | None = None) -> Account:
    group = registration.group_of(patient.uhid)
    category = patient.category or "general"
    charges = charges_of(group, category, today)
    payments = list(Payment.objects.filter(uhid__in=group).order_by("at_ms", "receipt"))
    refunds = list(Refund.objects.filter(uhid__in=group).order_by("requested_ms", "refund"))
    found = Account(patient, group, category, charges, payments, refunds)
    found.charged = sum(c.net for c in charges)
    found.paid = sum(p.amount for p in payments)
    found.refunded = sum(r.paid_amount for r in refunds if r.status == "approved")
    found.outstanding_ids = [c.charge for c in charges if c.net > 0 and not c.paid]
    return found


def _audit(user: Any, uhid: str, action: str, via: str, request: Any) -> None:
    from nirantar.accounts import actions as account_actions
    from nirantar.accounts.auth import client_address

    account_actions.do_record_access(
        user,
        uhid,
        action,
        via=via,
        address=client_address(request) if request is not None else "",
    )


def find_patient(uhid_text: Any) -> Patient:
    """The record shown for a UHID (its survivor, if merged away), or NotFound."""
    uhid = parse_uhid(uhid_text)
    patient = registration.shown_record(uhid)
    if patient is None:
        raise NotFound(f"no patient with UHID {uhid} here", {"uhid": "not registered (yet)"})
    return patient


def access_account(
    user: Any, uhid_text: Any, *, action: str, via: str, request: Any = None
) -> Account:
    """A patient's charges, payments and refunds (of every UHID merged into the record),
    read with a billing right (checked by the route); the read is audited against the
    record's survivor."""
    patient = find_patient(uhid_text)
    _audit(user, patient.uhid, action, via, request)
    return account(patient)


def find_payment(receipt_text: Any) -> Payment:
    try:
        receipt = events.RECEIPT.normalise(str(receipt_text or "").strip())
    except InvalidNumber as exc:
        raise NotFound(
            f"no receipt {str(receipt_text)[:40]}: {exc}", {"receipt": str(exc)}
        ) from exc
    payment = Payment.objects.filter(receipt=receipt).first()
    if payment is None:
        raise NotFound(f"no receipt {receipt}", {"receipt": "not issued (or not here yet)"})
    return payment


def access_receipt(
    user: Any, receipt_text: Any, *, action: str, via: str, request: Any = None
) -> tuple[Payment, Patient | None, list[Refund]]:
    """A payment, its patient and its refunds; the read is audited."""
    payment = find_payment(receipt_text)
    _audit(user, payment.uhid, action, via, request)
    refunds = list(
        Refund.objects.filter(receipt=payment.receipt).order_by("requested_ms", "refund")
    )
    return payment, registration.get_patient(payment.uhid), refunds


def find_refund(refund_text: Any) -> Refund:
    try:
        number = events.REFUND.normalise(str(refund_text or "").strip())
    except InvalidNumber as exc:
        raise NotFound(f"no refund {str(refund_text)[:40]}: {exc}", {"refund": str(exc)}) from exc
    refund = Refund.objects.filter(refund=number, is_requested=True).first()
    if refund is None:
        raise NotFound(f"no refund {number}", {"refund": "not requested (or not here yet)"})
    return refund


def pending_refunds(limit: int = 200) -> list[Refund]:
    """Refunds requested and not decided, oldest first: the supervisor's worklist."""
    rows = Refund.objects.filter(is_requested=True, status="requested")
    return list(rows.order_by("requested_ms", "refund")[:limit])


def refunds_of_receipt(receipt: str) -> list[Refund]:
    return list(Refund.objects.filter(receipt=receipt, is_requested=True))


# -- a counter's day -------------------------------------------------------------------


@dataclass
class CounterDay:
    counter: str
    day: date
    cash: int = 0
    upi: int = 0
    card: int = 0
    payments: int = 0
    refunds: dict[str, int] = field(default_factory=lambda: dict.fromkeys(events.MODES, 0))

    @property
    def refunded(self) -> int:
        return sum(self.refunds.values())

    @property
    def expected_cash(self) -> int:
        """Cash that should be in the drawer: cash taken less cash refunds paid out."""
        return self.cash - self.refunds["cash"]

    @property
    def total(self) -> int:
        return self.cash + self.upi + self.card - self.refunded


def counter_day(counter: str, day: date) -> CounterDay:
    """What this node knows of a counter's business day: its takings by mode and the
    refunds approved to be paid out there that day."""
    found = CounterDay(counter, day)
    rows = Payment.objects.filter(counter=counter, day=day).values("mode").annotate(s=Sum("amount"))
    for row in rows:
        setattr(found, row["mode"], int(row["s"] or 0))
    found.payments = Payment.objects.filter(counter=counter, day=day).count()
    refunds = Refund.objects.filter(status="approved", paid_counter=counter, paid_day=day)
    for row in refunds.values("paid_mode").annotate(s=Sum("paid_amount")):
        found.refunds[row["paid_mode"]] = int(row["s"] or 0)
    return found


def closings_of(counter: str, day: date) -> list[Closing]:
    """Every closing of a counter-day, the standing one (earliest stamp) first."""
    rows = Closing.objects.filter(counter=counter, day=day)
    return sorted(rows, key=lambda c: tuple(c.stamp))


def standing_closing(counter: str, day: date) -> Closing | None:
    found = closings_of(counter, day)
    return found[0] if found else None


def business_day(counter: str, today: date | None = None) -> date:
    """The day a counter's takings now count to: today, or - once today is closed there -
    the first day after it not closed (the counter works on, into tomorrow's books)."""
    day = today or timeutil.today()
    closed = set(
        Closing.objects.filter(counter=counter, day__gte=day).values_list("day", flat=True)
    )
    while day in closed:
        day += timedelta(days=1)
    return day


# -- collections -----------------------------------------------------------------------


def as_of() -> dict[str, Any]:
    """How fresh the figures are: for each node, the newest of its events held here
    (seq and time), and the newest of all. A node cut off shows an old time."""
    origins: dict[str, Any] = {}
    newest = 0
    for head in Head.objects.exclude(origin="authority").order_by("origin"):
        origins[head.origin] = {"seq": head.seq, "at": _iso(head.hlc_wall)}
        newest = max(newest, head.hlc_wall)
    return {"newest": _iso(newest) if newest else None, "origins": origins}


def _iso(ms: int) -> str:
    return timeutil.from_ms(ms).isoformat()


def collections(start: date, end: date) -> dict[str, Any]:
    """Net collections (payments less approved refunds) of the business days from
    ``start`` to ``end`` inclusive, in integer paise: the total, by counter, by mode, by
    counter and mode, and by day (each day with its own total, by counter and by mode),
    with ``as_of`` saying how fresh the data is. Days with nothing show zeros."""
    if end < start:
        raise ValueError("the range ends before it starts")
    by_day: dict[str, dict[str, Any]] = {}
    day = start
    while day <= end:
        by_day[day.isoformat()] = {
            "total": 0,
            "by_counter": {},
            "by_mode": dict.fromkeys(events.MODES, 0),
        }
        day += timedelta(days=1)
    totals: dict[str, Any] = {
        "total": 0,
        "by_counter": defaultdict(int),
        "by_mode": dict.fromkeys(events.MODES, 0),
        "by_counter_mode": defaultdict(lambda: dict.fromkeys(events.MODES, 0)),
    }

    def add(day_value: date, counter: str, mode: str, amount: int) -> None:
        bucket = by_day[day_value.isoformat()]
        bucket["total"] += amount
        bucket["by_counter"][counter] = bucket["by_counter"].get(counter, 0) + amount
        bucket["by_mode"][mode] += amount
        totals["total"] += amount
        totals["by_counter"][counter] += amount
        totals["by_mode"][mode] += amount
        totals["by_counter_mode"][counter][mode] += amount

    paid = (
        Payment.objects.filter(day__gte=start, day__lte=end)
        .values("day", "counter", "mode")
        .annotate(s=Sum("amount"))
    )
    for row in paid:
        add(row["day"], row["counter"], row["mode"], int(row["s"] or 0))
    refunded = (
        Refund.objects.filter(status="approved", paid_day__gte=start, paid_day__lte=end)
        .values("paid_day", "paid_counter", "paid_mode")
        .annotate(s=Sum("paid_amount"))
    )
    for row in refunded:
        add(row["paid_day"], row["paid_counter"], row["paid_mode"], -int(row["s"] or 0))
    for bucket in by_day.values():
        bucket["by_counter"] = dict(sorted(bucket["by_counter"].items()))
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "total": totals["total"],
        "by_counter": dict(sorted(totals["by_counter"].items())),
        "by_mode": totals["by_mode"],
        "by_counter_mode": dict(sorted(totals["by_counter_mode"].items())),
        "by_day": by_day,
        "as_of": as_of(),
    }


def closings_on(day: date) -> list[Closing]:
    """The standing closing of each counter closed on ``day``, by counter."""
    standing: dict[str, Closing] = {}
    for row in Closing.objects.filter(day=day):
        current = standing.get(row.counter)
        if current is None or tuple(row.stamp) < tuple(current.stamp):
            standing[row.counter] = row
    return [standing[c] for c in sorted(standing)]


# -- conflicts -------------------------------------------------------------------------


@dataclass
class BillingConflict:
    key: str  # KIND:SUBJECT
    kind: str  # over_refunded | refund_decisions | closed_twice | closing_changed
    subject: str
    detail: str
    records: list[str]
    resolved: bool = False
    resolution: str = ""


def conflicts(include_resolved: bool = False) -> list[BillingConflict]:
    """What the hospital could not prevent while split, found when the events met: a
    payment refunded beyond its amount by two approvals made apart, a refund approved on
    one node and rejected on another, a counter-day closed twice, a closing whose day
    changed after it (a payment or refund of that counter-day arrived later). The
    projections keep each as a flag (``ConflictFlag``) as the events arrive, so this reads
    the few flagged rows, not every closing ever made; a person clears each with a
    resolution (``billing.conflict_resolved``).
    """
    flags = list(ConflictFlag.objects.order_by("kind", "subject"))
    notes: dict[str, str] = {}
    resolutions = ConflictResolution.objects.filter(conflict__in=[f.key for f in flags])
    for row in resolutions.order_by("at_ms", "resolution"):
        notes.setdefault(row.conflict, row.note)
    order = {kind: n for n, kind in enumerate(CONFLICT_KINDS)}
    found = [
        BillingConflict(
            f.key,
            f.kind,
            f.subject,
            f.detail,
            list(f.records),
            f.key in notes,
            notes.get(f.key, ""),
        )
        for f in sorted(flags, key=lambda f: (order.get(f.kind, 9), f.subject))
    ]
    return [c for c in found if include_resolved or not c.resolved]


CONFLICT_KINDS = ("over_refunded", "refund_decisions", "closed_twice", "closing_changed")


def patients_of_conflicts(found: list[BillingConflict]) -> dict[str, str]:
    """conflict key -> the UHID it concerns (refund conflicts; a closing has none)."""
    keys = [c.key for c in found]
    return dict(
        ConflictFlag.objects.filter(key__in=keys).exclude(uhid="").values_list("key", "uhid")
    )


def access_conflicts(
    user: Any, *, include_resolved: bool = False, via: str, request: Any = None
) -> tuple[list[BillingConflict], dict[str, str]]:
    """The conflict worklist with the patient each refund conflict concerns; showing
    those UHIDs is a read of patient data, recorded like a search's results."""
    from nirantar.accounts import actions as account_actions
    from nirantar.accounts.auth import client_address

    found = conflicts(include_resolved)
    patients = patients_of_conflicts(found)
    if patients:
        account_actions.do_record_search(
            user,
            "billing conflicts",
            sorted(set(patients.values())),
            via=via,
            address=client_address(request) if request is not None else "",
        )
    return found, patients


# -- amounts in words, for receipts ----------------------------------------------------

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _below_thousand(n: int) -> str:
    words = []
    if n >= 100:
        words.append(f"{_ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def _indian(n: int) -> str:
    """A whole number in words the Indian way: crore, lakh, thousand."""
    parts = []
    for size, name in ((10_000_000, "crore"), (100_000, "lakh"), (1000, "thousand")):
        if n >= size:
            parts.append(
                f"{_indian(n // size) if size == 10_000_000 else _below_thousand(n // size)} {name}"
            )
            n %= size
    if n or not parts:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def amount_in_words(paise: int) -> str:
    """Rupees 1,250.50 -> 'Rupees one thousand two hundred fifty and paise fifty only'."""
    rupees, rest = divmod(paise, 100)
    text = f"Rupees {_indian(rupees)}"
    if rest:
        text += f" and paise {_below_thousand(rest)}"
    return text[0].upper() + text[1:] + " only"


def format_rupees(paise: int) -> str:
    """Paise as rupees with the Indian grouping: 125050 -> '1,250.50', -500 -> '-5.00'."""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    if len(digits) > 3:
        head, tail = digits[:-3], digits[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        digits = ",".join(groups) + "," + tail
    return f"{sign}{digits}.{rest:02d}"
