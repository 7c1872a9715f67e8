"""The doctor's desk and the waiting hall's display in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nirantar.accounts import actions as accounts
from tests import pdf
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user, lands_on):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(lands_on))


@pytest.fixture
def waiting(clerk_api, registered):
    visits = [
        clerk_api.post("/api/v1/visits", {"uhid": registered["uhid"], "department": "MED"}).json()
    ]
    return registered, visits[0]


def test_call_next_consult_prescribe_and_the_display_shows_the_call(
    page, chromium, live_server, doctor, waiting
):
    patient, visit = waiting
    accounts.do_change_user("test", doctor.username, registration_no="DMC-12345")
    screen = make_user("hall-tv", "display", "Medicine waiting hall")

    # The waiting hall's screen, signed in as a display that may show tokens only.
    hall = chromium.new_context(viewport={"width": 1280, "height": 720}, locale="hi-IN")
    tv = hall.new_page()
    sign_in(tv, live_server, screen, r"/display/$")
    tv.goto(f"{live_server.url}/display/MED")
    expect(tv.locator(".room[data-room='Room 101'] .waiting")).to_have_text("1")
    expect(tv.locator(".serving .tok")).to_have_count(0)

    sign_in(page, live_server, doctor, r"/desk/$")
    page.select_option("#desk-department", "MED")
    page.locator(".desk-choice button[type=submit]").click()
    expect(page.locator("#queue .token-cell")).to_have_text([visit["token"]])

    page.keyboard.press("F4")  # call the next token
    expect(page.locator("#consult-token")).to_have_text(visit["token"])
    expect(page.locator("#consult-step")).to_contain_text("called")
    # The hall shows the call within seconds, without a reload.
    expect(tv.locator(".serving .tok.now")).to_have_text(visit["token"], timeout=8000)
    expect(tv.locator(".room[data-room='Room 101'] .waiting")).to_have_text("0")

    page.keyboard.press("Enter")  # start the consultation (the focused button)
    expect(page.locator("#consult-step")).to_contain_text("in consultation")

    page.fill("#bp_systolic", "150")
    page.fill("#bp_diastolic", "95")
    page.fill("#weight_kg", "82")
    page.fill("#height_cm", "170")
    page.locator("#bp_diastolic").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".entry.kind-vitals")).to_contain_text("BMI 28.4")

    # htmx wires the swapped-in form up as the swap settles: type only then (a fill in the
    # first milliseconds after the swap raised no lookup, and the test failed at times).
    expect(page.locator("#consult .htmx-added")).to_have_count(0)
    page.fill("#icd-code", "diabetes mellitus without")
    expect(page.locator("#icd-options option").first).to_have_attribute(
        "value", re.compile(r"^E\d")
    )
    page.fill("#icd-code", "E11.9 — Type 2 diabetes mellitus without complications")
    page.select_option("#dx-status", "provisional")
    page.locator("#diagnosis-form button[type=submit]").click()
    expect(page.locator(".entry.kind-diagnosis")).to_contain_text("E11.9")

    expect(page.locator("#consult .htmx-added")).to_have_count(0)
    page.fill("#drug_0", "metformin 500")
    expect(page.locator("#drug-options option").first).to_have_attribute(
        "value", "Metformin 500 mg tablet"
    )
    page.fill("#drug_0", "Metformin 500 mg tablet")
    page.fill("#dose_0", "1 tablet")
    page.select_option("#frequency_0", "BD")
    page.fill("#duration_days_0", "30")
    page.fill("#instructions_0", "after food")
    page.locator("#drug_0").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator(".entry.kind-prescription")).to_contain_text("खाना खाने के बाद")

    page.locator("summary", has_text="Lab orders").click()
    page.locator("#lab-form input[value=HBA1C]").check()
    page.locator("#lab-form button[type=submit]").click()
    expect(page.locator(".entry.kind-lab")).to_contain_text("HBA1C")

    href = page.locator("#prescription-link").get_attribute("href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.headers["content-type"] == "application/pdf"
    text = pdf.text(response.body())
    assert patient["uhid"] in text
    assert "Metformin 500 mg tablet" in text
    assert "DMC-12345" in text and "Dr. Meera Iyer" in text
    assert pdf.compact("खाना खाने के बाद") in pdf.compact(text)

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#close-visit").click()
    expect(page.locator("#consult-step")).to_contain_text("done")
    expect(page.locator("#queue tr.step-done .token-cell")).to_have_text(visit["token"])
    hall.close()


def test_a_reading_out_of_range_is_refused_beside_its_field(page, live_server, nurse, waiting):
    _, visit = waiting
    sign_in(page, live_server, nurse, r"/desk/$")
    page.goto(f"{live_server.url}/desk/?department=MED")
    page.locator("#queue button", has_text="Open").click()
    page.fill("#bp_systolic", "400")
    page.fill("#bp_diastolic", "20")
    page.fill("#temperature_c", "37.2")
    page.locator("#bp_systolic").focus()
    page.keyboard.press("Control+Enter")
    expect(page.locator("#consult-error")).to_be_visible()
    expect(page.locator(".field.invalid #bp_systolic")).to_have_value("400")  # nothing typed lost
    expect(page.locator(".field.invalid #bp_systolic")).to_be_focused()
    expect(page.locator(".entry.kind-vitals")).to_have_count(0)
    # A nurse records vitals but has no prescription form.
    expect(page.locator("#prescription-form")).to_have_count(0)
    assert visit["token"] in page.locator("#consult-token").inner_text()
