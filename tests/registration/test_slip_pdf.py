"""GET /api/v1/visits/{visit}/slip.pdf - drawn by Chromium, with a true text layer."""

import pytest

from nirantar.accounts.models import AuditEntry
from tests import pdf


@pytest.fixture
def visit(clerk_api, registered):
    response = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "Medicine"}
    )
    return response.json()


def fetch(api, visit, page="a5"):
    response = api.get(f"/api/v1/visits/{visit['visit']}/slip.pdf?format={page}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/pdf"
    return response.content


def test_the_slip_text_holds_the_uhid_the_token_and_both_names(clerk_api, visit, registered):
    text = pdf.text(fetch(clerk_api, visit))
    assert registered["uhid"] in text
    assert visit["token"] in text
    assert "Ram Kumar Sharma" in text
    assert pdf.compact("राम कुमार शर्मा") in pdf.compact(text)
    for word in ("राम", "शर्मा", "मेडिसिन", "पुत्र"):  # conjuncts and reph in logical order
        assert word in text
    assert "Medicine" in text and "Room 101" in text and visit["visit"] in text


# Chromium sizes pages in whole CSS pixels, so a page is within 0.3 mm of its nominal size.
def test_the_a5_slip_is_one_a5_page(clerk_api, visit):
    document = fetch(clerk_api, visit)
    assert pdf.page_size_mm(document) == pytest.approx((148.0, 210.0), abs=0.3)
    assert pdf.pages(document) == 1


def test_the_thermal_slip_is_80_mm_wide_and_one_page(clerk_api, visit):
    document = fetch(clerk_api, visit, "thermal80")
    width, height = pdf.page_size_mm(document)
    assert width == pytest.approx(80.0, abs=0.3) and 100 < height < 300
    assert pdf.pages(document) == 1
    assert visit["token"] in pdf.text(document)


def test_printing_a_slip_is_an_audited_read(clerk_api, clerk, visit, registered):
    fetch(clerk_api, visit)
    entry = AuditEntry.objects.get(patient=registered["uhid"], action="visit.slip")
    assert (entry.actor, entry.via) == (clerk.username, "pdf")


def test_names_with_markup_print_as_text(clerk_api, hospital):
    patient = clerk_api.post(
        "/api/v1/patients", {"name_en": "Ram <b>Sharma", "sex": "M", "age_years": 3}
    )
    assert patient.status_code == 400  # letters only: markup can't even get in
