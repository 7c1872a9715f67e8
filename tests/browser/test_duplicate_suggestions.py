"""At the counter, in a real browser: a patient typed again is offered before registering."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_counter import sign_in
from tests.dedupe.conftest import SUNITA_HI

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_existing_patient_appears_while_typing_and_opens_by_keyboard(
    page, live_server, clerk, clerk_api
):
    response = clerk_api.post(
        "/api/v1/patients", dict(SUNITA_HI, address=dict(SUNITA_HI["address"]))
    )
    uhid = response.json()["uhid"]
    sign_in(page, live_server, clerk)
    page.keyboard.press("F2")
    expect(page.locator("#name_en")).to_be_focused()
    page.keyboard.type("Suneeta Sharma")  # the other script, another spelling
    page.select_option("#sex", "F")
    # The answer to the last pause in typing, so the list is not replaced under the keys.
    with page.expect_response(re.compile(r"/duplicates/suggest\?.*mobile=9812345678")):
        page.locator("#mobile").type("9812345678")

    likely = page.locator("#likely .result")
    expect(likely.first).to_contain_text(uhid)
    page.keyboard.press("F8")
    expect(likely.first).to_be_focused()
    page.keyboard.press("Enter")  # give the token on the existing UHID instead
    expect(page.locator("#panel .patient")).to_have_attribute("data-uhid", uhid)
    expect(page.locator("#department")).to_be_focused()


def test_nothing_is_offered_for_a_new_person(page, live_server, clerk, clerk_api):
    clerk_api.post("/api/v1/patients", dict(SUNITA_HI, address=dict(SUNITA_HI["address"])))
    sign_in(page, live_server, clerk)
    page.keyboard.press("F2")
    with page.expect_response(re.compile(r"/duplicates/suggest")):
        page.keyboard.type("Mohan Das")
    page.wait_for_timeout(300)
    expect(page.locator("#likely .result")).to_have_count(0)
