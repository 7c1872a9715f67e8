"""The registration counter in a real browser: keyboard only, register -> token -> slip."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import pdf
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/counter/$"))


def test_a_clerk_registers_a_new_patient_and_the_slip_opens(page, live_server, clerk):
    sign_in(page, live_server, clerk)
    expect(page.locator("#q")).to_be_focused()

    page.keyboard.press("F2")
    expect(page.locator("#name_en")).to_be_focused()
    page.keyboard.type("Sunita Devi")
    chip = page.locator("#suggest-hi [data-fill]")
    expect(chip).to_have_attribute("data-value", "सुनीता देवी")
    page.keyboard.press("Tab")  # onto the suggestion
    page.keyboard.press("Enter")  # take it
    expect(page.locator("#name_hi")).to_have_value("सुनीता देवी")
    page.select_option("#sex", "F")
    page.fill("#age_years", "34")
    page.fill("#mobile", "9811122233")
    page.select_option("#department", "OBG")
    page.keyboard.press("Control+Enter")

    token = page.locator("#token")
    expect(token).to_have_text("A-001")
    uhid = page.locator(".token-facts .uhid").inner_text()
    assert re.fullmatch(r"101-\d{7}-\d", uhid)

    slip_url = page.locator("#slip-frame").get_attribute("src")
    response = page.request.get(f"{live_server.url}{slip_url}")
    assert response.headers["content-type"] == "application/pdf"
    text = pdf.text(response.body())
    assert uhid in text and "A-001" in text
    assert pdf.compact("सुनीता देवी") in pdf.compact(text)


def test_a_quick_enter_before_the_panel_settles_still_gives_the_token(
    page, live_server, clerk, registered
):
    """htmx gives a swapped-in form its handlers when the swap settles; a busy machine
    (a CI run once) can take the clerk's Enter first. Settling is slowed here to 3 s."""
    sign_in(page, live_server, clerk)
    page.evaluate("htmx.config.defaultSettleDelay = 3000")
    page.keyboard.type("ram kumar")
    expect(page.locator("#results .result").first).to_contain_text(registered["uhid"])
    page.keyboard.press("Enter")
    page.select_option("#department", "ENT")
    page.locator("#department").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#token")).to_have_text("A-001")
    assert "csrfmiddlewaretoken" not in page.url


def test_a_returning_patient_gets_a_token_in_two_keystrokes(page, live_server, clerk, registered):
    sign_in(page, live_server, clerk)
    page.keyboard.type("ram kumar")
    expect(page.locator("#results .result").first).to_contain_text(registered["uhid"])
    page.keyboard.press("Enter")  # 1: open the first match
    expect(page.locator("#department")).to_be_focused()
    page.select_option("#department", "ENT")
    page.locator("#department").focus()
    page.keyboard.press("Enter")  # 2: give the token
    expect(page.locator("#token")).to_have_text("A-001")
    page.keyboard.press("Escape")  # next patient
    expect(page.locator("#q")).to_be_focused()


def test_a_mistake_is_shown_beside_its_field(page, live_server, clerk):
    sign_in(page, live_server, clerk)
    page.keyboard.press("F2")
    expect(page.locator("#name_en")).to_be_focused()
    page.keyboard.type("Asha")
    page.fill("#mobile", "12345")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".field.invalid #mobile")).to_be_visible()
    expect(page.locator(".field.invalid #mobile")).to_have_value("12345")  # nothing typed is lost
    # The cursor goes to the first field to fix: sex was not chosen.
    expect(page.locator(".field.invalid #sex")).to_be_focused()
    expect(page.locator("#new-patient-form .field-error").first).to_be_visible()
