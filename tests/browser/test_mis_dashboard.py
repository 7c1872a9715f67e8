"""The MIS dashboard in a real browser: a manager signs in, sees today's charts drawn,
changes the range by keyboard, and downloads the workbook, whose figures match the charts."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.mis import hospital_days

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The MIS tests' three days of a small hospital, and its director.
days = hospital_days.days
manager = hospital_days.manager


def bar(page, chart: str, key: str):
    return page.locator(f"svg#chart-{chart} g.bar[data-key='{key}']")


def test_a_manager_reads_the_charts_changes_the_range_and_downloads_the_workbook(
    page, live_server, days, manager, tmp_path
):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/mis/$"))  # management's home is the dashboard

    # Today (13 Jan): one OPD visit, in Ophthalmology at 11; beds as they are now.
    expect(page.locator("#as-of")).to_contain_text("13-01-2027 12:00")
    expect(page.locator("svg#chart-opd-departments g.bar")).to_have_count(1)
    expect(bar(page, "opd-departments", "OPH")).to_have_attribute("data-value", "1")
    expect(page.locator("svg#chart-opd-hours g.bar")).to_have_count(24)
    expect(bar(page, "opd-hours", "11").locator("text.value-text")).to_have_text("1")
    expect(bar(page, "beds", "MW2").locator("text.value-text")).to_have_text("3/30 · 10%")
    expect(page.locator("#basis-beds")).to_have_text("Now")
    width = bar(page, "beds", "MW2").locator("rect.value").get_attribute("width")
    assert float(width) == pytest.approx(40.0)  # 10% of the 400-unit plot

    # The range by keyboard: 12 Jan to 12 Jan, typed as the fields ask (YYYY-MM-DD).
    page.locator("#mis-from").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("2027-01-12")
    page.keyboard.press("Tab")
    expect(page.locator("#mis-to")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("2027-01-12")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"from=2027-01-12&to=2027-01-12"))
    expect(page.locator("#range-shown")).to_contain_text("12-01-2027")
    departments = page.locator("svg#chart-opd-departments g.bar")
    expect(departments).to_have_count(2)
    expect(departments.nth(0)).to_have_attribute("data-key", "MED")  # busiest first
    expect(departments.nth(0).locator("text.label")).to_have_text("Medicine")
    expect(departments.nth(0).locator("text.value-text")).to_have_text("4")
    expect(departments.nth(1).locator("text.value-text")).to_have_text("2")
    expect(bar(page, "opd-hours", "9").locator("text.value-text")).to_have_text("3")
    expect(bar(page, "opd-hours", "10").locator("text.value-text")).to_have_text("2")
    expect(bar(page, "opd-hours", "14").locator("text.value-text")).to_have_text("1")
    expect(bar(page, "new-returning", "new").locator("text.value-text")).to_have_text("3 (50%)")
    expect(bar(page, "lab-turnaround", "haematology").locator("text.value-text")).to_have_text(
        "45 / 90"
    )
    expect(page.locator("#basis-beds")).to_contain_text("Midnight census at the end of 2027-01-12")
    expect(page.locator("#table-opd-departments tbody tr")).to_have_count(2)
    expect(page.locator("svg#chart-opd-departments .axis-label")).to_have_text("Visits")

    with page.expect_download() as download:
        page.locator("#export-xlsx").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "mis-2027-01-12-2027-01-12.xlsx"
    book = load_workbook(saved)
    rows = list(book["OPD by department"].values)[2:]
    assert rows == [
        ("MED", "Medicine", "मेडिसिन (काय चिकित्सा)", 4),
        ("ENT", "ENT", "नाक, कान, गला रोग", 2),
    ]
    hours = {r[0]: r[1] for r in list(book["OPD by hour"].values)[2:]}
    assert (hours["09:00-10:00"], hours["10:00-11:00"], hours["14:00-15:00"]) == (3, 2, 1)
    lab = {r[0]: r[2:] for r in list(book["Lab turnaround"].values)[2:]}
    assert lab["haematology"] == (3, 45.0, 90.0)
    beds = {r[0]: r[3:] for r in list(book["Bed occupancy"].values)[2:]}
    assert beds["MW2"] == (30, 2, 6.7)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
