"""The dashboard's collections panel: billing's net collections by counter and mode for
the chosen business days - the same figures as billing's own report, shown and exported
in rupees as exact decimals (the API keeps integer paise)."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from tests.conftest import PASSWORD, make_user
from tests.mis.hospital_days import at, ok

pytestmark = pytest.mark.django_db

DAY = "from=2027-01-12&to=2027-01-12"


@pytest.fixture
def money(days: dict[str, Any], api_as: Any) -> dict[str, Any]:
    """On 12 Jan: Rs 500.50 cash and Rs 200 by UPI, then Rs 100 of the cash refunded with
    a supervisor's approval; on 13 Jan Rs 75 by card."""
    till = api_as(make_user("farida", "billing", "Farida Khan"))
    boss = api_as(make_user("ritu", "accounts", "Ritu Bansal"))
    asha = days["people"]["Asha"]
    with at("2027-01-12 16:00"):
        cash = ok(
            till.post("/api/v1/payments", {"uhid": asha, "amount": 50050, "mode": "cash"}), 201
        )
        ok(
            till.post(
                "/api/v1/payments",
                {"uhid": asha, "amount": 20000, "mode": "upi", "reference": "412345678901"},
            ),
            201,
        )
        refund = ok(
            till.post(
                "/api/v1/refunds",
                {"receipt": cash["receipt"], "amount": 10000, "reason": "paid twice"},
            ),
            201,
        )
        ok(boss.post(f"/api/v1/refunds/{refund['refund']}/decision", {"decision": "approved"}))
    with at("2027-01-13 11:30"):
        ok(
            till.post(
                "/api/v1/payments",
                {"uhid": asha, "amount": 7500, "mode": "card", "reference": "AB12CD"},
            ),
            201,
        )
    return {"counter": cash["counter"], "boss": boss}


@pytest.fixture
def director(manager: Any) -> Client:
    client = Client()
    assert client.login(username=manager.username, password=PASSWORD)
    return client


def test_the_panel_shows_billings_figures_in_rupees(money, director, mis_api):
    counter = money["counter"]
    html = director.get(f"/mis/?{DAY}").content.decode()
    svg = re.search(r'<svg[^>]*id="chart-collections".*?</svg>', html, re.S)
    assert svg, "no collections chart"
    assert re.search(rf'data-key="{counter}" data-label="[^"]*" data-value="600.5"', svg.group(0))
    assert "Rs 600.50" in html
    # The same day from billing's own report, in paise: the panel adds nothing of its own.
    report = ok(money["boss"].get("/api/v1/reports/collections?date=2027-01-12"))
    assert report["total"] == 60050 and report["by_mode"] == {
        "cash": 40050,
        "upi": 20000,
        "card": 0,
    }
    # Management sees the figures on the dashboard, not billing's own screens and
    # worklist (which name patients).
    assert mis_api.get("/api/v1/reports/collections?date=2027-01-12").status_code == 403
    assert director.get("/billing/conflicts").status_code == 403


def test_the_range_adds_up_the_days(money, director):
    html = director.get("/mis/?from=2027-01-11&to=2027-01-13").content.decode()
    assert "Rs 675.50" in html


def test_collections_export_as_csv_and_in_the_workbook_as_numbers(money, director):
    counter = money["counter"]
    rows = director.get(f"/mis/export.csv?panel=collections&{DAY}").content.decode("utf-8-sig")
    assert rows.splitlines()[0] == "Counter,Cash (Rs),UPI (Rs),Card (Rs),Total (Rs)"
    assert f"{counter},400.50,200.00,0.00,600.50" in rows.splitlines()
    book = load_workbook(io.BytesIO(director.get(f"/mis/export.xlsx?{DAY}").content))
    sheet = list(book["Collections"].values)
    assert sheet[0] == ("Counter", "Cash (Rs)", "UPI (Rs)", "Card (Rs)", "Total (Rs)")
    assert [Decimal(str(v)) for v in sheet[2][1:]] == [
        Decimal("400.5"),
        Decimal("200"),
        Decimal("0"),
        Decimal("600.5"),
    ]
