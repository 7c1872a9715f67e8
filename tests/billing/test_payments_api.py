"""Payments and receipts through the JSON API: amounts in paise, receipts minted here."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from nirantar import timeutil
from nirantar.ledger.models import Event
from tests import pdf
from tests.billing.conftest import pay

pytestmark = pytest.mark.django_db

RECEIPT = re.compile(r"^RC-101-\d{7}-\d$")


def test_a_cash_payment_is_given_a_receipt_number_minted_here(till, patient):
    uhid = patient()
    response = pay(till, uhid, 1000)
    assert response.status_code == 201, response.content
    body = response.json()
    assert RECEIPT.match(body["receipt"])
    assert (body["uhid"], body["amount"], body["mode"], body["counter"]) == (
        uhid,
        1000,
        "cash",
        "A",
    )
    assert body["day"] == timeutil.today().isoformat()
    assert body["clerk"] == "kavita"
    second = pay(till, uhid, 500).json()
    assert second["receipt"] != body["receipt"]


def test_upi_and_card_payments_carry_their_reference(till, patient):
    uhid = patient()
    upi = pay(till, uhid, 2500, "upi", reference="412345678901")
    assert upi.status_code == 201, upi.content
    assert upi.json()["reference"] == "412345678901"
    card = pay(till, uhid, 2500, "card", reference="ab12cd")
    assert card.status_code == 201 and card.json()["reference"] == "AB12CD"


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        (-100, "amount"),
        (0, "amount"),
        ("100", "amount"),
        (10.5, "amount"),
        (None, "amount"),
        (True, "amount"),
    ],
)
def test_a_bad_amount_is_refused_and_nothing_is_written(till, patient, snapshot, amount, field):
    uhid = patient()
    before = snapshot()
    response = pay(till, uhid, amount)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert before.unchanged()


@pytest.mark.parametrize(
    ("mode", "reference", "field"),
    [("upi", "", "reference"), ("upi", "12345", "reference"), ("card", "", "reference"),
     ("cash", "412345678901", "reference"), ("cheque", "", "mode")],
)  # fmt: skip
def test_a_bad_mode_or_reference_is_refused(till, patient, snapshot, mode, reference, field):
    uhid = patient()
    before = snapshot()
    response = pay(till, uhid, 1000, mode, reference=reference)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert before.unchanged()


def test_a_payment_for_nobody_is_refused(till, snapshot):
    before = snapshot()
    assert pay(till, "101-0000999-1", 1000).status_code in (400, 404)
    assert pay(till, "not-a-uhid", 1000).status_code == 400
    assert before.unchanged()


def test_a_payment_names_only_outstanding_charges_of_the_patient(till, patient, snapshot):
    uhid = patient()
    account = till.get(f"/api/v1/billing/accounts/{uhid}").json()
    assert account["outstanding"] == [f"REG:{uhid}"]
    assert account["balance"] == 1000  # Rs 10 registration
    before = snapshot()
    assert pay(till, uhid, 1000, charges=["LAB:nothing"]).status_code == 400
    assert before.unchanged()
    paid = pay(till, uhid, 1000, charges=[f"REG:{uhid}"])
    assert paid.status_code == 201
    account = till.get(f"/api/v1/billing/accounts/{uhid}").json()
    assert account["outstanding"] == [] and account["balance"] == 0
    assert pay(till, uhid, 1000, charges=[f"REG:{uhid}"]).status_code == 400


def test_the_receipt_pdf_says_who_paid_what_how_and_to_whom(till, patient):
    uhid = patient(category="general")
    receipt = pay(till, uhid, 125050, "upi", reference="412345678901", charges=[f"REG:{uhid}"])
    number = receipt.json()["receipt"]
    response = till.get(f"/api/v1/receipts/{number}.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf.text(response.content)
    flat = pdf.compact(text)
    for expected in (
        number, uhid, "Ram Kumar X", "1,250.50", "UPI", "412345678901", "Kavita Joshi",
        "Rupees one thousand two hundred fifty and paise fifty only", settings.NODE.hospital,
        "Registration",
    ):  # fmt: skip
        assert pdf.compact(expected) in flat, (expected, text)
    for hindi in ("भुगतान रसीद", "रसीद सं.", "यूपीआई", "राम कुमार शर्मा"):
        assert pdf.compact(hindi) in flat, (hindi, text)
    assert pdf.page_size_mm(response.content) == pytest.approx((148.0, 210.0), abs=0.3)
    thermal = till.get(f"/api/v1/receipts/{number}.pdf?page=thermal80")
    assert thermal.status_code == 200
    assert pdf.page_size_mm(thermal.content)[0] == pytest.approx(80.0, abs=0.3)


def test_a_receipt_that_does_not_exist_is_404(till):
    assert till.get("/api/v1/receipts/RC-101-0000999-0.pdf").status_code == 404
    missing = till.get("/api/v1/receipts/RC-101-0009999-5.pdf")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert till.get("/api/v1/receipts/nonsense").status_code == 404


def test_reading_a_receipt_is_audited(till, patient):
    from nirantar.accounts.models import AuditEntry

    uhid = patient()
    number = pay(till, uhid, 1000).json()["receipt"]
    before = AuditEntry.objects.filter(patient=uhid).count()
    assert till.get(f"/api/v1/receipts/{number}").status_code == 200
    assert AuditEntry.objects.filter(patient=uhid).count() == before + 1


def test_roles_without_billing_rights_are_refused(api_as, doctor, lab_tech, patient, snapshot):
    uhid = patient()
    for user in (doctor, lab_tech):
        api = api_as(user)
        before = Event.objects.exclude(type="accounts.access_denied").count()
        assert pay(api, uhid, 1000).status_code == 403
        assert api.get(f"/api/v1/billing/accounts/{uhid}").status_code == 403
        assert api.get("/api/v1/reports/collections").status_code == 403
        assert Event.objects.exclude(type="accounts.access_denied").count() == before
