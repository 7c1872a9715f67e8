"""The billing counter in a real browser, by keyboard only, as a cashier at a crowded
counter works: sign in, scan a UHID, see what is owed (a BPL patient's waived), take cash
and UPI, print the receipt, and close the day with the drawer counted note by note."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nirantar.billing import catalogue, queries
from nirantar.billing.models import Closing, Payment
from tests import pdf
from tests.billing.conftest import cashier, patient  # noqa: F401 - fixtures
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_cashier_takes_cash_and_upi_prints_the_receipt_and_closes_the_day(
    page,
    live_server,
    cashier,  # noqa: F811
    patient,  # noqa: F811
    clerk_api,  # noqa: F811
):
    poor = patient(category="bpl")
    uhid = patient()
    ecg = clerk_api.post("/api/v1/billing/procedures", {"uhid": uhid, "code": "PROC-ECG"})
    assert ecg.status_code == 403  # a registration clerk charges nothing
    from nirantar.billing import actions

    actions.do_charge_procedure("nurse-on-duty", uhid, "PROC-ECG")
    owed = catalogue.current()["REG"].price + catalogue.current()["PROC-ECG"].price

    # Sign in: the cashier lands on the counter with the cursor in the UHID box.
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", cashier.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/billing/$"))
    expect(page.locator("#q")).to_be_focused()

    # A BPL patient: the registration is waived in full, nothing to pay.
    page.keyboard.type(poor)
    page.keyboard.press("Enter")  # as a barcode scanner ends a scan
    row = page.locator(f'#charges tr[data-charge="REG:{poor}"]')
    expect(row.locator(".waiver")).to_have_text("100%")
    expect(row.locator(".status")).to_have_text("waived")
    expect(page.locator("#balance")).to_have_text("Rs 0.00")

    # Esc: the next patient. The amount owed is filled in and has the cursor.
    page.keyboard.press("Escape")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type(uhid)
    page.keyboard.press("Enter")
    expect(page.locator("#charges tr[data-charge^='PR:'] .status")).to_have_text("due")
    amount = page.locator("#amount")
    expect(amount).to_be_focused()
    expect(amount).to_have_value(queries.format_rupees(owed))
    page.keyboard.press("Enter")  # cash is the default: one keystroke takes it

    receipt = page.locator("#receipt-no")
    expect(receipt).to_have_text(re.compile(r"RC-\d{3}-\d{7}-\d"))
    cash_receipt = receipt.inner_text()
    expect(page.locator("#balance")).to_have_text("Rs 0.00")
    link = page.locator("#print-receipt")
    expect(link).to_be_focused()  # Enter prints
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    assert opened.value.url.endswith(f"/billing/receipts/{cash_receipt}.pdf")
    opened.value.close()
    printed = page.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert printed.headers["content-type"] == "application/pdf"
    text = pdf.compact(pdf.text(printed.body()))
    assert pdf.compact(cash_receipt) in text and uhid in text
    assert pdf.compact(f"Rs {queries.format_rupees(owed)}") in text
    assert pdf.compact(queries.amount_in_words(owed)) in text

    # An advance by UPI: Alt+A to the amount, the mode by its first letter, Enter. The
    # missing UTR is said beside its box, which takes the cursor; nothing typed is lost.
    page.keyboard.press("Alt+a")
    expect(amount).to_be_focused()
    page.keyboard.type("500")
    page.keyboard.press("Tab")
    expect(page.locator("#mode")).to_be_focused()
    page.keyboard.type("u")
    page.keyboard.press("Enter")
    expect(page.locator(".field.invalid #reference")).to_be_focused()
    expect(page.locator("#err-reference")).to_contain_text("12-digit UTR")
    expect(amount).to_have_value("500")
    expect(page.locator("#mode")).to_have_value("upi")
    page.keyboard.type("412345678901")
    page.keyboard.press("Enter")
    expect(page.locator("#receipt-no")).not_to_have_text(cash_receipt)
    upi = Payment.objects.get(receipt=page.locator("#receipt-no").inner_text())
    assert (upi.amount, upi.mode, upi.reference) == (50000, "upi", "412345678901")
    upi_pdf = page.request.get(f"{live_server.url}/billing/receipts/{upi.receipt}.pdf")
    assert "412345678901" in pdf.text(upi_pdf.body())

    # The day's closing: Enter moves down the grid, the variance follows the counts.
    page.keyboard.press("Alt+c")
    expect(page).to_have_url(re.compile(r"/billing/closing$"))
    expect(page.locator("#n500")).to_be_focused()
    expect(page.locator("#expected")).to_have_text(f"Rs {queries.format_rupees(owed)}")
    counts = {50: "1"}  # Rs 50 of Rs 60 so far
    for note in (500, 200, 100, 50):
        page.keyboard.type(counts.get(note, ""))
        page.keyboard.press("Enter")
    expect(page.locator("#variance-amount")).to_have_text(
        f"Rs {queries.format_rupees(5000 - owed)}"
    )
    expect(page.locator("#n20")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.type(str((owed - 5000) // 1000))  # the rest in tens
    expect(page.locator("#variance-amount")).to_have_text("Rs 0.00")
    expect(page.locator("#closed")).to_have_count(0)  # Enter never closed it
    page.keyboard.press("Control+Enter")
    expect(page.locator("#closed")).to_be_visible()
    closing = Closing.objects.get()
    assert (closing.counted, closing.expected_cash, closing.variance) == (owed, owed, 0)
    assert (closing.upi, closing.total) == (50000, owed + 50000)
