"""Refunds (asked by one person, approved by another), closings and collections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from nirantar import timeutil
from tests.billing.conftest import pay

pytestmark = pytest.mark.django_db


def today() -> str:
    return timeutil.today().isoformat()


def refund(api: Any, receipt: str, amount: Any, reason: str = "test not done") -> Any:
    return api.post("/api/v1/refunds", {"receipt": receipt, "amount": amount, "reason": reason})


def decide(api: Any, number: str, decision: str = "approved") -> Any:
    return api.post(f"/api/v1/refunds/{number}/decision", {"decision": decision})


def collections(api: Any, day: str | None = None) -> dict[str, Any]:
    response = api.get(f"/api/v1/reports/collections?date={day or today()}")
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_a_refund_counts_only_once_a_supervisor_approves_it(till, boss, patient):
    uhid = patient()
    receipt = pay(till, uhid, 10000).json()["receipt"]
    asked = refund(till, receipt, 4000)
    assert asked.status_code == 201, asked.content
    number = asked.json()["refund"]
    assert asked.json()["status"] == "requested"
    assert collections(boss)["total"] == 10000
    waiting = boss.get("/api/v1/refunds").json()
    assert [r["refund"] for r in waiting] == [number]
    approved = decide(boss, number)
    assert approved.status_code == 200, approved.content
    assert (approved.json()["status"], approved.json()["paid_amount"]) == ("approved", 4000)
    report = collections(boss)
    assert report["total"] == 6000
    assert report["by_mode"]["cash"] == 6000 and report["by_counter"] == {"A": 6000}
    assert boss.get("/api/v1/refunds").json() == []
    assert decide(boss, number).status_code == 409


def test_a_refund_larger_than_the_payment_is_refused(till, patient, snapshot):
    uhid = patient()
    receipt = pay(till, uhid, 10000).json()["receipt"]
    before = snapshot()
    response = refund(till, receipt, 10001)
    assert response.status_code == 400, response.content
    assert "amount" in response.json()["error"]["fields"]
    assert before.unchanged()
    assert refund(till, receipt, 6000).status_code == 201
    # A pending request holds its amount: the rest is 4000.
    before = snapshot()
    assert refund(till, receipt, 4001).status_code == 400
    assert refund(till, receipt, -5).status_code == 400
    assert refund(till, receipt, "lots").status_code == 400
    assert before.unchanged()


def test_a_refund_of_a_receipt_that_does_not_exist_is_404(till, snapshot):
    before = snapshot()
    assert refund(till, "RC-101-0009999-5", 100).status_code == 404
    assert refund(till, "garbage", 100).status_code == 404
    assert before.unchanged()


def test_nobody_approves_their_own_refund_and_a_cashier_approves_none(
    till, boss, api_as, patient, snapshot
):
    uhid = patient()
    receipt = pay(boss, uhid, 10000).json()["receipt"]
    own = refund(boss, receipt, 1000).json()["refund"]
    before = snapshot()
    same = decide(boss, own)
    assert same.status_code == 403 and same.json()["error"]["code"] == "same_person"
    assert decide(till, own).status_code == 403
    assert before.unchanged()


def test_a_rejected_refund_frees_its_amount(till, boss, patient):
    uhid = patient()
    receipt = pay(till, uhid, 10000).json()["receipt"]
    number = refund(till, receipt, 10000).json()["refund"]
    assert decide(boss, number, "rejected").json()["status"] == "rejected"
    assert collections(boss)["total"] == 10000
    assert refund(till, receipt, 10000).status_code == 201


def test_a_closing_counts_the_drawer_against_the_day(till, boss, patient):
    uhid = patient()
    pay(till, uhid, 50000)  # Rs 500 cash
    pay(till, uhid, 20000, "upi", reference="412345678901")
    receipt = pay(till, uhid, 12000).json()["receipt"]  # Rs 120 cash
    decide(boss, refund(till, receipt, 2000).json()["refund"])  # Rs 20 back in cash
    closing = till.post(
        "/api/v1/closings",
        {"counter": "A", "date": today(), "denominations": {"500": 1, "50": 1, "20": 2, "1": 5}},
    )
    assert closing.status_code == 201, closing.content
    body = closing.json()
    assert body["counted"] == 59500
    assert body["expected_cash"] == 60000
    assert body["variance"] == -500
    assert (body["cash"], body["upi"], body["card"], body["refunds"]) == (62000, 20000, 0, 2000)
    assert body["total"] == 80000 == collections(boss)["total"]


def test_a_day_is_closed_once(till, boss, snapshot):
    first = till.post("/api/v1/closings", {"counter": "A", "date": today(), "denominations": {}})
    assert first.status_code == 201, first.content
    before = snapshot()
    again = boss.post(
        "/api/v1/closings", {"counter": "A", "date": today(), "denominations": {"10": 1}}
    )
    assert again.status_code == 409, again.content
    assert "closed" in again.json()["error"]["message"]
    assert before.unchanged()


def test_after_closing_the_counter_takes_money_into_the_next_day(till, boss, patient):
    uhid = patient()
    pay(till, uhid, 1000)
    till.post("/api/v1/closings", {"counter": "A", "date": today(), "denominations": {"10": 1}})
    later = pay(till, uhid, 700).json()
    tomorrow = (timeutil.today() + timedelta(days=1)).isoformat()
    assert later["day"] == tomorrow
    assert collections(boss)["total"] == 1000
    assert collections(boss, tomorrow)["total"] == 700
    assert boss.get("/api/v1/billing/conflicts").json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"counter": "A", "date": "yesterday", "denominations": {}}, "date"),
        ({"counter": "a1", "date": "2026-01-01", "denominations": {}}, "counter"),
        ({"counter": "A", "date": "2026-01-01", "denominations": {"300": 1}}, "denominations.300"),
        ({"counter": "A", "date": "2026-01-01", "denominations": {"500": -1}}, "denominations.500"),
        (
            {"counter": "A", "date": "2026-01-01", "denominations": {"500": "2"}},
            "denominations.500",
        ),
        ({"counter": "A", "date": "2999-01-01", "denominations": {}}, "date"),
    ],
)
def test_a_bad_closing_is_refused_and_nothing_is_written(till, snapshot, body, field):
    before = snapshot()
    response = till.post("/api/v1/closings", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert before.unchanged()


def test_collections_over_a_range_for_the_dashboards(till, boss, patient):
    from nirantar.billing import queries

    uhid = patient()
    pay(till, uhid, 1000)
    pay(till, uhid, 2500, "card", reference="AB12CD")
    day = timeutil.today()
    found = queries.collections(day, day)
    assert found["total"] == 3500 and isinstance(found["total"], int)
    assert found["by_mode"] == {"cash": 1000, "upi": 0, "card": 2500}
    assert found["by_day"][day.isoformat()]["by_counter"] == {"A": 3500}
    assert "test-counter" in found["as_of"]["origins"] or found["as_of"]["origins"]
    report = collections(boss)
    assert set(report) == {"date", "total", "by_counter", "by_mode", "as_of"}
    assert boss.get("/api/v1/reports/collections?date=2026-13-01").status_code == 400


def test_the_collections_report_is_for_supervisors_and_auditors(till, api_as, auditor):
    assert till.get("/api/v1/reports/collections").status_code == 403
    assert api_as(auditor).get("/api/v1/reports/collections").status_code == 200
