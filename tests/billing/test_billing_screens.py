"""The billing screens through the Django test client: the counter, refunds, closing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from nirantar.accounts.models import AuditEntry
from nirantar.billing.models import Closing, Payment, Refund
from tests import pdf
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_cashier_finds_a_patient_takes_a_payment_and_prints_the_receipt(cashier, patient):
    uhid = patient()
    client = signed_in(cashier)
    before = AuditEntry.objects.filter(patient=uhid).count()
    page = client.get(f"/billing/?uhid={uhid}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Registration (new UHID)" in text and "10.00" in text
    assert AuditEntry.objects.filter(patient=uhid).count() == before + 1  # the read is audited
    paid = client.post(
        "/billing/pay",
        {"uhid": uhid, "amount": "10", "mode": "cash", "charges": [f"REG:{uhid}"]},
        follow=True,
    )
    assert paid.status_code == 200
    payment = Payment.objects.get(uhid=uhid)
    assert payment.amount == 1000 and payment.charges == [f"REG:{uhid}"]
    assert payment.receipt in paid.content.decode()
    printed = client.get(f"/billing/receipts/{payment.receipt}.pdf")
    assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"
    assert pdf.compact(payment.receipt) in pdf.compact(pdf.text(printed.content))


def test_a_bad_amount_on_the_screen_says_so_and_writes_nothing(cashier, patient):
    uhid = patient()
    client = signed_in(cashier)
    for amount in ("-5", "ten", "10.555", "0"):
        read = AuditEntry.objects.filter(patient=uhid).count()
        sent = client.post("/billing/pay", {"uhid": uhid, "amount": amount, "mode": "cash"})
        assert sent.status_code == 400
        assert not Payment.objects.exists()
        # The account shown again with the mistake is a read, audited like any other.
        assert AuditEntry.objects.filter(patient=uhid).count() == read + 1
        page = sent.content.decode()
        # Said beside the amount box, with what was typed kept for correcting.
        assert (
            'id="err-amount"' in page and "rupees, like 150.50" in page or "more than zero" in page
        )
        assert f'value="{amount}"' in page


def test_the_screen_speaks_hindi(cashier, patient):
    client = signed_in(cashier)
    client.cookies["django_language"] = "hi"
    page = client.get(f"/billing/?uhid={patient()}", headers={"Accept-Language": "hi"})
    assert "बिलिंग काउंटर" in page.content.decode()


def test_a_refund_is_requested_by_a_cashier_and_approved_by_a_supervisor(
    cashier, supervisor, patient
):
    uhid = patient()
    till, boss = signed_in(cashier), signed_in(supervisor)
    till.post("/billing/pay", {"uhid": uhid, "amount": "100", "mode": "cash"})
    receipt = Payment.objects.get(uhid=uhid).receipt
    till.post("/billing/refunds", {"receipt": receipt, "amount": "40", "reason": "duplicate"})
    refund = Refund.objects.get(receipt=receipt)
    assert (refund.amount, refund.status) == (4000, "requested")
    assert (
        till.post(
            "/billing/refunds/decide", {"refund": refund.refund, "decision": "approved"}
        ).status_code
        == 403
    )
    waiting = boss.get("/billing/refunds")
    assert refund.refund in waiting.content.decode()
    boss.post("/billing/refunds/decide", {"refund": refund.refund, "decision": "approved"})
    assert Refund.objects.get(refund=refund.refund).status == "approved"


def test_the_closing_grid_shows_the_variance_live_and_closes_once(cashier, patient):
    uhid = patient()
    client = signed_in(cashier)
    client.post("/billing/pay", {"uhid": uhid, "amount": "120", "mode": "cash"})
    page = client.get("/billing/closing")
    assert page.status_code == 200 and "120.00" in page.content.decode()
    preview = client.post(
        "/billing/closing/preview", {"n100": "1", "n10": "1"}, headers={"HX-Request": "true"}
    )
    assert preview.status_code == 200
    assert "-10.00" in preview.content.decode()  # Rs 110 counted against Rs 120
    client.post("/billing/closing", {"n100": "1", "n10": "2"})
    closing = Closing.objects.get()
    assert (closing.counted, closing.expected_cash, closing.variance) == (12000, 12000, 0)
    again = client.post("/billing/closing", {"n100": "1"}, follow=True)
    assert "closed" in again.content.decode() and Closing.objects.count() == 1


def test_roles_without_billing_rights_see_no_billing_screens(doctor, lab_tech):
    for user in (doctor, lab_tech):
        client = signed_in(user)
        assert client.get("/billing/").status_code == 403
        assert client.get("/billing/closing").status_code == 403
        assert client.get("/billing/refunds").status_code == 403
