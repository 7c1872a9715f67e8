"""The wards in a real browser: from the bed board, admit a patient, move them to another
bed, discharge them with a summary and print it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from nirantar.wards import actions, catalogue
from tests import pdf
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, live_server, user, lands_on):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(lands_on))


@pytest.fixture
def wards(hospital):
    for ward in catalogue.demo_wards():
        actions.do_define_ward("admin", ward)


def test_admit_transfer_discharge_and_print_the_summary(
    page, live_server, wards, registered, doctor
):
    uhid = registered["uhid"]
    sign_in(page, live_server, doctor, r"/desk/$")
    page.locator("nav a", has_text="Wards").click()
    expect(page).to_have_url(re.compile(r"/wards/$"))
    expect(page.locator("li.bed[data-bed='MW1-07']")).to_have_attribute("data-state", "vacant")

    # The ward's own board: the bed's card offers admission.
    page.locator("#ward-MW1 h2 a").click()
    page.locator("#bed-MW1-07 a", has_text="Admit").click()
    expect(page.locator("#admit-bed")).to_have_value("MW1-07")
    expect(page.locator("#admit-uhid")).to_be_focused()
    page.keyboard.type(uhid)
    page.select_option("#admit-attending", doctor.username)
    page.fill("#admit-diagnosis", "Community-acquired pneumonia")
    page.locator("#admit-diagnosis").press("Enter")

    expect(page).to_have_url(re.compile(r"/wards/stays/IP-"))
    expect(page.locator("#current-bed")).to_have_text("MW1-07")
    expect(page.locator("#form-link")).to_be_visible()
    expect(page.locator("#wristband-link")).to_be_visible()
    stay = page.url

    page.goto(f"{live_server.url}/wards/")
    occupied = page.locator("li.bed[data-bed='MW1-07']")
    expect(occupied).to_have_attribute("data-state", "occupied")
    expect(occupied).to_contain_text("Ram Kumar Sharma")

    page.goto(stay)
    page.fill("#transfer-bed", "MW1-09")
    page.fill("#transfer-reason", "nearer the nurses' station")
    page.locator("#transfer-reason").press("Enter")
    expect(page.locator("#current-bed")).to_have_text("MW1-09")
    expect(page.locator("#placements tbody tr")).to_have_count(2)

    page.locator("#discharge-box summary").click()
    page.select_option("#discharge-type", "normal")
    page.fill("#discharge-diagnoses", "Lobar pneumonia, right lower lobe")
    page.fill("#discharge-course", "IV ceftriaxone for five days; afebrile since day 3.")
    page.fill("#discharge-condition", "Stable, walking unaided")
    page.fill("#discharge-medicines", "Tab amoxicillin-clavulanate 625 mg BD x 5 days")
    page.fill("#discharge-follow_up", "Medicine OPD after one week")
    page.locator("#discharge-follow_up").focus()
    page.keyboard.press("Control+Enter")

    expect(page.locator("#stay-status")).to_contain_text("Discharged")
    link = page.locator("#summary-link")
    expect(link).to_be_visible()
    response = page.request.get(f"{live_server.url}{link.get_attribute('href')}")
    assert response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"
    text = pdf.text(response.body())
    assert "Ram Kumar Sharma" in text and uhid in text
    assert "Lobar pneumonia, right lower lobe" in text

    page.goto(f"{live_server.url}/wards/")
    expect(page.locator("li.bed[data-bed='MW1-07']")).to_have_attribute("data-state", "cleaning")
    expect(page.locator("li.bed[data-bed='MW1-09']")).to_have_attribute("data-state", "cleaning")
