"""The conflict worklist reads flags the projections keep, not every closing ever made:
it finds exactly what a full recheck finds, in any order of arrival, and costs the same
few queries after years of closings."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from nirantar.billing import events, queries
from nirantar.billing.models import Closing, Payment, Refund
from tests.billing.test_charges_and_convergence import DAY, Apart, arrive, at, replay

pytestmark = pytest.mark.django_db


@pytest.fixture
def apart(clerk: Any) -> Apart:
    return Apart()


@pytest.fixture
def uhid(clerk: Any) -> str:
    from nirantar.registration import actions as registration

    return registration.do_register_patient(
        clerk.username, {"name_en": "Sita Devi", "sex": "F", "age_years": 40}
    ).uhid


def recheck_everything() -> list[str]:
    """The worklist as the first version worked it out: every refund, every closing."""
    found = []
    approved: dict[str, list[Refund]] = defaultdict(list)
    for refund in Refund.objects.filter(status="approved"):
        approved[refund.receipt].append(refund)
    for receipt, refunds in approved.items():
        payment = Payment.objects.filter(receipt=receipt).first()
        if payment is not None and sum(r.paid_amount for r in refunds) > payment.amount:
            found.append(f"over_refunded:{receipt}")
    for refund in Refund.objects.all():
        if len({d["decision"] for d in refund.decisions}) > 1:
            found.append(f"refund_decisions:{refund.refund}")
    days: dict[tuple[str, Any], list[Closing]] = defaultdict(list)
    for closing in Closing.objects.all():
        days[(closing.counter, closing.day)].append(closing)
    for (counter, day), rows in days.items():
        rows.sort(key=lambda c: tuple(c.stamp))
        subject = f"{counter}:{day.isoformat()}"
        if len(rows) > 1:
            found.append(f"closed_twice:{subject}")
        now = queries.counter_day(counter, day)
        if (now.expected_cash, now.total) != (rows[0].expected_cash, rows[0].total):
            found.append(f"closing_changed:{subject}")
    return sorted(found)


def close(apart: Apart, origin: str, counter: str, day: Any, cash: int, when: int) -> Any:
    notes = {"1": cash // 100}
    body = {
        "counter": counter, "day": day.isoformat(), "denominations": notes, "counted": cash,
        "expected_cash": cash, "cash": cash, "upi": 0, "card": 0, "refunds": 0,
        "total": cash, "variance": 0,
    }  # fmt: skip
    return apart.emit(origin, events.DAY_CLOSED, body, when, stream=f"counter:{counter}")


def test_the_flags_find_what_a_full_recheck_finds_in_any_order(apart, uhid):
    # Each node's events in its own clock's order; the two nodes apart all day.
    paid = apart.pay("counter-7", uhid, 10000, "G", at(9))
    one = apart.ask_refund("counter-7", paid, 8000, "G", at(10))
    yes_one = apart.approve("counter-7", one, at(11))
    closed_g = apart.close("counter-7", "G", {"100": 1}, 2000, 2000, at(14))
    two = apart.ask_refund("counter-8", paid, 8000, "H", at(10))
    # A rejection made apart, earlier than the approval: once it arrives it stands, and the
    # refund paid out on G's day no longer counts there - the closing's day changes again.
    no_one = apart.approve("counter-8", one, at(10, 30), decision="rejected")
    yes_two = apart.approve("counter-8", two, at(11, 5))
    three = apart.ask_refund("counter-8", paid, 3000, "H", at(12))
    yes_three = apart.approve("counter-8", three, at(12, 5))
    again_g = apart.close("counter-8", "G", {"100": 1}, 2000, 2000, at(14, 30))
    late = apart.pay("counter-8", uhid, 5000, "G", at(15))  # made apart, after G's count
    batch = [paid, late, one, two, three, yes_one, yes_two, yes_three, no_one, closed_g, again_g]
    arrive(batch)
    expected = recheck_everything()
    assert {k.split(":")[0] for k in expected} == {
        "over_refunded", "refund_decisions", "closed_twice", "closing_changed"
    }  # fmt: skip
    assert sorted(c.key for c in queries.conflicts()) == expected
    moving = batch[1:]
    shuffle = random.Random(7).shuffle
    for _ in range(12):
        order = list(moving)
        shuffle(order)
        replay([paid, *order])
        assert sorted(c.key for c in queries.conflicts()) == recheck_everything(), order


def test_a_flag_goes_when_its_cause_goes(apart, uhid):
    """A payout that an earlier rejection overrides no longer changes its closing."""
    paid = apart.pay("counter-7", uhid, 10000, "G", at(9))
    asked = apart.ask_refund("counter-7", paid, 3000, "G", at(10))
    yes = apart.approve("counter-7", asked, at(11))
    closed = apart.close("counter-7", "G", {"100": 70}, 7000, 7000, at(17))
    arrive([paid, asked, yes, closed])
    assert queries.conflicts() == []
    replay([paid, asked, closed])
    assert [c.kind for c in queries.conflicts()] == ["closing_changed"]
    replay([paid, asked, closed, yes])
    assert queries.conflicts() == []


def test_the_worklist_costs_the_same_after_years_of_closings(apart, uhid):
    def cost() -> int:
        with CaptureQueriesContext(connection) as seen:
            found = queries.conflicts(include_resolved=True)
        assert [c.kind for c in found] == ["closed_twice"]
        return len(seen)

    twice = DAY - timedelta(days=500)
    arrive(
        [
            close(apart, "counter-7", "G", twice, 0, at(17, day=twice)),
            close(apart, "counter-8", "G", twice, 0, at(16, day=twice)),
        ]
    )
    few = cost()
    days = [DAY - timedelta(days=n) for n in range(1, 200)]
    arrive([close(apart, "counter-7", "G", d, 0, at(17, day=d)) for d in reversed(days)])
    assert Closing.objects.count() == 201
    assert cost() == few <= 3
