"""The MIS dashboard screen and its exports: the charts (SVG bars with their numbers), the
tables, the freshness box, CSV and XLSX with the same figures as numbers, bad input and
who may open it."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

DAY = "from=2027-01-12&to=2027-01-12"


@pytest.fixture
def director(manager: Any) -> Client:
    client = Client()
    assert client.login(username=manager.username, password=PASSWORD)
    return client


def bars(html: str, chart: str) -> dict[str, str]:
    """data-key -> data-value of each bar of one chart."""
    svg = re.search(rf'<svg[^>]*id="chart-{chart}".*?</svg>', html, re.S)
    assert svg, f"no chart {chart}"
    return dict(
        re.findall(
            r'<g class="bar" data-key="([^"]+)" data-label="[^"]*" data-value="([^"]+)"',
            svg.group(0),
        )
    )


def test_the_dashboard_draws_each_panel_as_a_chart_with_its_numbers(days, director):
    response = director.get(f"/mis/?{DAY}")
    assert response.status_code == 200
    html = response.content.decode()
    assert bars(html, "opd-departments") == {"MED": "4", "ENT": "2"}
    hours = bars(html, "opd-hours")
    assert len(hours) == 24 and (hours["9"], hours["10"], hours["14"], hours["8"]) == (
        "3",
        "2",
        "1",
        "0",
    )
    assert bars(html, "new-returning") == {"new": "3", "returning": "3"}
    assert bars(html, "lab-turnaround")["haematology"] == "45.0"
    assert "45 / 90" in html  # median / 90th written at the bar's end
    assert bars(html, "beds")["MW2"] == "6.7"  # the midnight census ending 12 Jan
    assert "2/30 · 6.7%" in html
    assert "Midnight census at the end of 2027-01-12" in html
    # Each chart's numbers are also in a table, with axis labels on the chart.
    assert re.search(
        r'id="table-opd-departments".*?<td>MED</td><td>Medicine</td>.*?<td class="num">4</td>',
        html,
        re.S,
    )
    assert "Minutes from collection to verification" in html and "Hour of the day" in html
    assert "OPD visits by department" in html and "विभागवार ओपीडी विज़िट" in html  # both languages
    # How fresh: as of the newest event, by node.
    assert re.search(r'id="as-of">Data as of <b>13-01-2027 12:00</b>', html)
    assert 'data-origin="test-counter"' in html
    # No patient is named or numbered.
    for uhid in days["people"].values():
        assert uhid not in html
    assert "Asha" not in html


def test_today_is_shown_when_no_range_is_given(days, director):
    html = director.get("/mis/").content.decode()
    assert bars(html, "opd-departments") == {"OPH": "1"}
    assert bars(html, "beds")["MW2"] == "10.0" and "3/30 · 10%" in html
    assert 'id="basis-beds">Now<' in html
    assert 'value="2027-01-13"' in html


def test_htmx_asks_for_the_panels_only(days, director):
    html = director.get(f"/mis/?{DAY}", headers={"HX-Request": "true"}).content.decode()
    assert 'id="chart-opd-departments"' in html and "<html" not in html


def test_a_department_filter_narrows_the_opd_panels(days, director):
    html = director.get(f"/mis/?{DAY}&department=ENT").content.decode()
    assert bars(html, "opd-departments") == {"ENT": "2"}
    assert bars(html, "new-returning") == {"new": "1", "returning": "1"}


def test_the_dashboard_in_hindi(days, director):
    director.post("/i18n/setlang/", {"language": "hi", "next": "/mis/"})
    html = director.get(f"/mis/?{DAY}").content.decode()
    assert "विभागवार ओपीडी विज़िट" in html
    assert re.search(r'data-key="MED" data-label="मेडिसिन \(काय चिकित्सा\)"', html)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("from=2027-02-30", 400, "&#x27;from&#x27; is not a date"),
        ("from=2027-01-12&to=2027-01-10", 400, "the range ends before it starts"),
        ("from=2026-11-01&to=2027-01-12", 400, "a report covers at most 31 days"),
        ("to=2027-01-20", 400, "the range is in the future"),
        ("department=XYZ", 404, "no department XYZ"),
    ],
)
def test_bad_input_is_explained_on_the_screen(days, director, query, status, message):
    response = director.get(f"/mis/?{query}")
    assert response.status_code == status
    html = response.content.decode()
    assert 'id="mis-error"' in html and message in html
    assert 'id="mis-range"' in html  # the form stays, to put it right


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_each_panel_exports_as_csv(days, director):
    response = director.get(f"/mis/export.csv?panel=opd-departments&{DAY}")
    assert "mis-opd-departments-2027-01-12-2027-01-12.csv" in response["Content-Disposition"]
    assert response.content.startswith("\ufeff".encode())
    assert csv_rows(response) == [
        ["Department code", "Department", "Department (Hindi)", "Visits"],
        ["MED", "Medicine", "मेडिसिन (काय चिकित्सा)", "4"],
        ["ENT", "ENT", "नाक, कान, गला रोग", "2"],
    ]
    hours = csv_rows(director.get(f"/mis/export.csv?panel=opd-hours&{DAY}"))
    assert hours[0] == ["Hour", "Visits"] and len(hours) == 25
    assert hours[10] == ["09:00-10:00", "3"]
    lab = csv_rows(director.get(f"/mis/export.csv?panel=lab-turnaround&{DAY}"))
    assert ["haematology", "रुधिर विज्ञान", "3", "45.0", "90.0"] in lab
    assert ["microbiology", "सूक्ष्मजीव विज्ञान", "0", "", ""] in lab
    beds = csv_rows(director.get("/mis/export.csv?panel=beds"))
    assert ["MW2", "Medical Ward 2 (women)", "मेडिकल वार्ड 2 (महिला)", "30", "3", "10.0"] in beds


def test_csv_needs_a_known_panel_and_a_good_range(days, director):
    response = director.get("/mis/export.csv?panel=nope")
    assert response.status_code == 400 and b"choose a panel" in response.content
    response = director.get("/mis/export.csv?panel=beds&from=2027-01-12&to=2027-01-01")
    assert response.status_code == 400 and b"the range ends before it starts" in response.content


def test_the_workbook_has_a_sheet_per_panel_with_numbers_as_numbers(days, director):
    response = director.get(f"/mis/export.xlsx?{DAY}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "mis-2027-01-12-2027-01-12.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [
        "About",
        "OPD by department",
        "OPD by hour",
        "New and returning",
        "Lab turnaround",
        "Bed occupancy",
        "Collections",
    ]
    opd = list(book["OPD by department"].values)
    assert opd[0] == ("Department code", "Department", "Department (Hindi)", "Visits")
    assert opd[1][0] == "विभाग कोड" and opd[1][3] == "विज़िट"  # the headers in Hindi
    assert opd[2:] == [
        ("MED", "Medicine", "मेडिसिन (काय चिकित्सा)", 4),
        ("ENT", "ENT", "नाक, कान, गला रोग", 2),
    ]
    new = list(book["New and returning"].values)[2:]
    assert [(r[0], r[3], r[4]) for r in new] == [("MED", 2, 2), ("ENT", 1, 1)]
    lab = {r[0]: r for r in list(book["Lab turnaround"].values)[2:]}
    assert lab["haematology"][2:] == (3, 45.0, 90.0) and lab["biochemistry"][2:] == (2, 50.0, 50.0)
    assert lab["microbiology"][2:] == (0, None, None)
    beds = {r[0]: r for r in list(book["Bed occupancy"].values)[2:]}
    assert beds["MW2"][3:] == (30, 2, 6.7)
    about = {r[0]: r[1] for r in book["About"].values if r and r[0]}
    assert about["Data as of (UTC)"] == "2027-01-13T06:30:00+00:00"
    assert about["Node"] == "test-counter"


def test_the_workbook_refuses_a_bad_range(days, director):
    response = director.get("/mis/export.xlsx?from=not-a-date")
    assert response.status_code == 400 and b"a date as YYYY-MM-DD" in response.content


def test_management_lands_on_the_dashboard(days, director):
    response = director.get("/")
    assert response.status_code == 302 and response["Location"] == "/mis/"
    assert 'href="/mis/"' in director.get("/mis/").content.decode()


@pytest.mark.parametrize(
    "role", ["clerk", "doctor", "nurse", "lab", "billing", "auditor", "display"]
)
def test_other_roles_may_not_open_the_dashboard_or_export(days, role):
    user = make_user(f"not-mis-{role}", role)
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    for path in ("/mis/", "/mis/export.csv?panel=beds", "/mis/export.xlsx"):
        assert client.get(path).status_code == 403, (role, path)


@pytest.mark.parametrize("role", ["records", "admin"])
def test_records_and_admin_may(days, role):
    user = make_user(f"mis-{role}", role)
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    assert client.get("/mis/").status_code == 200
    assert client.get("/mis/export.xlsx").status_code == 200


def test_nobody_signed_in_is_sent_to_sign_in(days):
    response = Client().get("/mis/")
    assert response.status_code == 302 and "/login/" in response["Location"]
