"""Charges worked out from the other modules' events, waivers by category, merged records,
and convergence: payments, refunds and closings made on counters apart give the same
tables and the same totals whatever order the events arrive in."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta
from typing import Any

import pytest

from nirantar import timeutil
from nirantar.billing import events, queries
from nirantar.billing.models import Closing, ConflictFlag, ConflictResolution, Payment, Refund
from nirantar.ledger import bootstrap, keys, projection
from nirantar.ledger.events import Event
from nirantar.ledger.hlc import HLC
from nirantar.ledger.models import Alarm, Origin
from nirantar.ledger.sync import ingest_remote
from nirantar.ledger.writer import node
from nirantar.registration import actions as registration
from nirantar.wards import actions as wards
from nirantar.wards import catalogue as ward_catalogue
from nirantar.wards import events as ward_events
from tests.billing.conftest import pay
from tests.conftest import make_user
from tests.ledger.factory import Chain

pytestmark = pytest.mark.django_db

DAY = timeutil.today() - timedelta(days=10)


def at(hour: int, minute: int = 0, day: Any = DAY) -> int:
    moment = datetime.combine(day, time(hour, minute), tzinfo=timeutil.hospital_zone())
    return int(moment.timestamp() * 1000)


class Apart:
    """Two counter nodes (and a ward node) writing as they would while cut off."""

    NUMBERS = {"counter-7": 7, "counter-8": 8, "ward-9": 9}

    def __init__(self) -> None:
        local = node()
        self.chains: dict[str, Chain] = {}
        self.minted: dict[tuple[str, str], int] = {}
        for name, number in self.NUMBERS.items():
            key = keys.generate()
            bootstrap.enrol(
                local, node=name, number=number, public_key=keys.public_text(key), actor="test"
            )
            self.chains[name] = Chain(name, key, Origin.objects.get(name=name).enrolment_hash)

    def mint(self, origin: str, kind: Any) -> str:
        n = self.minted[(origin, kind.kind)] = self.minted.get((origin, kind.kind), 0) + 1
        return str(kind.format(self.NUMBERS[origin], n))

    def emit(
        self,
        origin: str,
        type: str,
        body: dict[str, Any],
        when: int,
        actor: str = "kavita",
        **kw: Any,
    ) -> Event:
        return self.chains[origin].next(type, body, hlc=HLC(when, 0), actor=actor, **kw)

    def pay(
        self, origin: str, uhid: str, amount: int, counter: str, when: int, mode: str = "cash"
    ) -> Event:
        body = {
            "receipt": self.mint(origin, events.RECEIPT), "uhid": uhid, "amount": amount,
            "mode": mode, "reference": "" if mode == "cash" else "412345678901",
            "counter": counter, "day": DAY.isoformat(), "charges": [],
        }  # fmt: skip
        return self.emit(origin, events.PAYMENT_RECEIVED, body, when, stream=f"patient:{uhid}")

    def ask_refund(self, origin: str, paid: Event, amount: int, counter: str, when: int) -> Event:
        body = {
            "refund": self.mint(origin, events.REFUND), "receipt": paid.body["receipt"],
            "uhid": paid.body["uhid"], "amount": amount, "reason": "duplicate", "counter": counter,
        }  # fmt: skip
        return self.emit(
            origin, events.REFUND_REQUESTED, body, when, stream=f"patient:{paid.body['uhid']}"
        )

    def approve(self, origin: str, asked: Event, when: int, decision: str = "approved") -> Event:
        body: dict[str, Any] = {
            "refund": asked.body["refund"], "receipt": asked.body["receipt"],
            "uhid": asked.body["uhid"], "decision": decision, "note": "",
        }  # fmt: skip
        if decision == "approved":
            body.update(
                amount=asked.body["amount"],
                mode="cash",
                counter=asked.body["counter"],
                day=DAY.isoformat(),
            )
        return self.emit(
            origin,
            events.REFUND_DECIDED,
            body,
            when,
            actor="meena",
            stream=f"patient:{asked.body['uhid']}",
        )

    def close(
        self, origin: str, counter: str, notes: dict[str, int], expected: int, total: int, when: int
    ) -> Event:
        counted = sum(int(k) * 100 * v for k, v in notes.items())
        body = {
            "counter": counter, "day": DAY.isoformat(), "denominations": notes, "counted": counted,
            "expected_cash": expected, "cash": expected, "upi": 0, "card": 0, "refunds": 0,
            "total": total, "variance": counted - expected,
        }  # fmt: skip
        return self.emit(origin, events.DAY_CLOSED, body, when, stream=f"counter:{counter}")


@pytest.fixture
def apart(clerk: Any) -> Apart:
    return Apart()


@pytest.fixture
def person(clerk: Any) -> Any:
    def make(name: str = "Sita Devi", category: str = "general") -> str:
        return registration.do_register_patient(
            clerk.username, {"name_en": name, "sex": "F", "age_years": 40, "category": category}
        ).uhid

    return make


BILLING = (Payment, Refund, Closing, ConflictResolution, ConflictFlag)


def billing_state() -> tuple[Any, ...]:
    dump = {k: v for k, v in projection.dump().items() if k.startswith("billing.")}
    return dump, queries.collections(DAY, DAY)["by_day"], [c.key for c in queries.conflicts()]


def replay(ordered: list[Event]) -> tuple[Any, ...]:
    for model in BILLING:
        model.objects.all().delete()
    for event in ordered:
        projection.apply(event)
    return billing_state()


def arrive(batch: list[Event]) -> None:
    report = ingest_remote(node().store, batch)
    assert not report.rejected, report.rejected
    assert not Alarm.objects.filter(kind="projection_failed").exists()


def test_payments_refunds_and_closings_made_apart_give_one_answer_in_any_order(apart, person):
    uhid = person()
    a1 = apart.pay("counter-7", uhid, 50000, "G", at(9))
    a2 = apart.pay("counter-7", uhid, 20000, "G", at(10), mode="upi")
    b1 = apart.pay("counter-8", uhid, 30000, "H", at(9, 30))
    ask = apart.ask_refund("counter-8", b1, 10000, "H", at(11))
    ok = apart.approve("counter-8", ask, at(12))
    close_g = apart.close("counter-7", "G", {"500": 1}, 50000, 70000, at(17))
    close_h = apart.close("counter-8", "H", {"200": 1}, 20000, 20000, at(17))
    arrive([a1, a2, close_g, b1, ask, ok, close_h])
    expected = billing_state()
    by_day = expected[1][DAY.isoformat()]
    assert by_day["total"] == 90000 == close_g.body["total"] + close_h.body["total"]
    assert by_day["by_counter"] == {"G": 70000, "H": 20000}
    assert expected[2] == []  # nothing to flag
    moving = [a2, ask, ok, close_g, b1, close_h]
    for order in itertools.islice(itertools.permutations(moving), 0, None, 37):
        assert replay([a1, *order]) == expected, [f"{e.origin}#{e.seq}" for e in order]


def test_two_approvals_made_apart_beyond_the_payment_go_to_the_worklist(apart, person):
    uhid = person()
    paid = apart.pay("counter-7", uhid, 10000, "G", at(9))
    one = apart.ask_refund("counter-7", paid, 8000, "G", at(10))
    two = apart.ask_refund("counter-8", paid, 8000, "H", at(10))
    yes_one = apart.approve("counter-7", one, at(11))
    yes_two = apart.approve("counter-8", two, at(11, 5))
    arrive([paid, one, yes_one, two, yes_two])
    # Both refunds were paid out in cash: both count, and the receipt is flagged.
    assert queries.collections(DAY, DAY)["total"] == 10000 - 16000
    [conflict] = queries.conflicts()
    assert conflict.kind == "over_refunded" and conflict.subject == paid.body["receipt"]
    assert sorted(conflict.records) == sorted([one.body["refund"], two.body["refund"]])
    for order in itertools.permutations([one, yes_one, two, yes_two]):
        state = replay([paid, *order])
        assert [c.key for c in queries.conflicts()] == [conflict.key], order
        assert state[1][DAY.isoformat()]["total"] == -6000


def test_a_counter_day_closed_twice_apart_keeps_the_earliest_and_is_flagged(
    apart, person, api_as, supervisor
):
    uhid = person()
    paid = apart.pay("counter-7", uhid, 10000, "G", at(9))
    first = apart.close("counter-7", "G", {"100": 1}, 10000, 10000, at(17))
    second = apart.close("counter-8", "G", {"100": 2}, 10000, 10000, at(16))
    arrive([paid, first, second])
    standing = queries.standing_closing("G", DAY)
    assert standing is not None and standing.counted == 20000  # the earlier one, at 16:00
    keys_found = [c.key for c in queries.conflicts()]
    assert keys_found == [f"closed_twice:G:{DAY.isoformat()}"]
    boss = api_as(supervisor)
    shown = boss.get("/api/v1/billing/conflicts").json()
    assert [c["kind"] for c in shown] == ["closed_twice"]
    done = boss.post(
        "/api/v1/billing/conflicts/resolve", {"conflict": keys_found[0], "note": "recounted"}
    )
    assert done.status_code == 200 and done.json() == []
    assert boss.get("/api/v1/billing/conflicts?resolved=true").json()[0]["resolved"] is True


def test_a_payment_arriving_after_its_day_was_closed_flags_the_closing(apart, person):
    uhid = person()
    closed = apart.close("counter-7", "G", {}, 0, 0, at(17))
    late = apart.pay("counter-8", uhid, 5000, "G", at(16))
    arrive([closed, late])
    assert [c.kind for c in queries.conflicts()] == ["closing_changed"]


def test_charges_come_from_registration_visits_lab_orders_and_ward_stays(
    apart, person, clerk, doctor, api_as, cashier
):
    for ward in ward_catalogue.demo_wards():
        wards.do_define_ward("admin", ward)
    uhid = person("Gita Rani")
    visit = registration.do_register_visit(clerk.username, uhid, "MED")
    ordered = api_as(doctor).post(
        f"/api/v1/visits/{visit.visit_no}/lab-orders", {"tests": ["CBC", "RBS"]}
    )
    assert ordered.status_code == 201, ordered.content
    order = ordered.json()["order"]
    number = ward_events.ADMISSION.format(9, 1)
    admitted = apart.emit(
        "ward-9", ward_events.PATIENT_ADMITTED,
        {"admission": number, "uhid": uhid, "ward": "MW2", "bed": "MW2-01", "attending": "meera",
         "diagnosis": "", "source": "emergency", "visit": "", "note": ""},
        at(10), stream=f"patient:{uhid}",
    )  # fmt: skip
    moved = apart.emit(
        "ward-9", ward_events.PATIENT_TRANSFERRED,
        {"admission": number, "uhid": uhid, "ward": "ICU", "bed": "ICU-01", "reason": "sicker"},
        at(20, day=DAY + timedelta(days=1)), stream=f"patient:{uhid}",
    )  # fmt: skip
    out = at(11, day=DAY + timedelta(days=3))
    texts = dict.fromkeys(("diagnoses", "procedures", "course", "condition", "medicines"), "")
    left = apart.emit(
        "ward-9",
        ward_events.PATIENT_DISCHARGED,
        {"admission": number, "uhid": uhid, "type": "normal", "at": out, "follow_up": "", **texts},
        out,
        stream=f"patient:{uhid}",
    )
    arrive([left, moved, admitted])  # out of order, as sync may bring them
    till = api_as(cashier)
    account = till.get(f"/api/v1/billing/accounts/{uhid}").json()
    charges = {c["charge"]: c for c in account["charges"]}
    assert charges[f"REG:{uhid}"]["price"] == 1000
    assert charges[f"OPD:{visit.visit_no}"]["price"] == 1000
    assert charges[f"LAB:{order}:CBC"]["price"] == 10000
    assert charges[f"LAB:{order}:RBS"]["price"] == 2500
    nights = sorted(c for c in charges if c.startswith("BED:"))
    assert nights == [f"BED:{number}:{(DAY + timedelta(days=n)).isoformat()}" for n in range(3)]
    kinds = [charges[n]["code"] for n in nights]
    assert kinds == ["BED-GENERAL", "BED-ICU", "BED-ICU"]  # moved to the ICU before midnight
    assert account["charged"] == 1000 + 1000 + 10000 + 2500 + 3500 + 2 * 150000
    # A test not done is cancelled by a supervisor; the balance follows.
    boss = api_as(make_user("meena", "accounts"))
    cancel = boss.post(
        "/api/v1/billing/charges/cancel",
        {"uhid": uhid, "charge": f"LAB:{order}:RBS", "reason": "not done"},
    )
    assert cancel.status_code == 200, cancel.content
    after = till.get(f"/api/v1/billing/accounts/{uhid}").json()
    assert after["charged"] == account["charged"] - 2500
    assert (
        boss.post(
            "/api/v1/billing/charges/cancel",
            {"uhid": uhid, "charge": f"LAB:{order}:RBS", "reason": "x"},
        ).status_code
        == 409
    )


@pytest.mark.parametrize(
    ("category", "owed"),
    [("general", 1000 + 10000), ("bpl", 0), ("free", 0), ("staff", 0), ("pmjay", 1000 + 10000)],
)
def test_waivers_follow_the_patients_category(person, api_as, cashier, category, owed):
    from nirantar.lab import actions as lab

    uhid = person(category=category)
    lab.do_order("dr", uhid, ["CBC"], source="opd")
    account = api_as(cashier).get(f"/api/v1/billing/accounts/{uhid}").json()
    assert account["balance"] == owed, account["charges"]


def test_a_merged_record_shows_every_uhids_charges_and_payments(person, api_as, cashier, records):
    from nirantar.registration import actions as reg

    survivor, duplicate = person("Asha Devi"), person("Asha Devi D")
    till = api_as(cashier)
    pay(till, duplicate, 1000)
    reg.do_merge_patients(records.username, survivor, duplicate, "same person")
    account = till.get(f"/api/v1/billing/accounts/{duplicate}").json()
    assert account["uhid"] == survivor
    assert set(account["uhids"]) == {survivor, duplicate}
    assert {c["charge"] for c in account["charges"]} == {f"REG:{survivor}", f"REG:{duplicate}"}
    assert account["paid"] == 1000 and account["balance"] == 1000


def test_every_lab_test_has_a_price():
    from nirantar.billing import catalogue
    from nirantar.lab import catalogue as lab

    assert set(lab.TESTS) <= set(catalogue.LAB_PRICES)
    assert all(isinstance(i.price, int) and i.price > 0 for i in catalogue.current().values())
