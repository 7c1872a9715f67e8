"""GET /fhir/Location/{id} and ?type=/partof= - wards and beds, with each bed's state."""

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir.locations import BED_STATUS, PHYSICAL_TYPE
from nirantar.wards import catalogue

pytestmark = pytest.mark.django_db

WARDS = catalogue.demo_wards()
BEDS = sum(len(w["beds"]) for w in WARDS)


def codes(body):
    return [e["resource"]["id"] for e in body.get("entry", [])]


def test_a_ward_and_a_bed_read_with_their_physical_type(fhir_as, nurse, layout):
    client = fhir_as(nurse)
    ward = client.get("/fhir/Location/MW1").json()
    assert ward["physicalType"]["coding"][0] == {
        "system": PHYSICAL_TYPE,
        "code": "wa",
        "display": "Ward",
    }
    assert ward["name"] == "Medical Ward 1 (men)" and ward["status"] == "active"
    bed = client.get("/fhir/Location/mw1-02").json()
    assert bed["id"] == "MW1-02"
    assert bed["physicalType"]["coding"][0]["code"] == "bd"
    assert bed["partOf"] == {"reference": "Location/MW1"}
    assert bed["operationalStatus"] == {"system": BED_STATUS, "code": "U", "display": "Unoccupied"}


def test_a_beds_status_follows_the_bed_board(fhir_as, nurse, doctor, api_as, registered, admit):
    client = fhir_as(nurse)
    number = admit(registered["uhid"], "MW1-03")
    occupied = client.get("/fhir/Location/MW1-03").json()
    assert occupied["operationalStatus"]["code"] == "O"
    assert registered["uhid"] not in str(occupied)  # no patient in a Location
    left = api_as(doctor).post(f"/api/v1/admissions/{number}/discharge", {"type": "lama"})
    assert left.status_code == 200, left.content
    assert client.get("/fhir/Location/MW1-03").json()["operationalStatus"]["code"] == "H"
    closed = api_as(nurse).post(
        "/api/v1/beds/MW1-04/service", {"in_service": False, "reason": "broken side rail"}
    )
    assert closed.status_code == 200, closed.content
    bed = client.get("/fhir/Location/MW1-04").json()
    assert bed["operationalStatus"]["code"] == "C" and bed["status"] == "suspended"


def test_search_by_type_and_partof_and_paging(fhir_as, nurse, layout):
    client = fhir_as(nurse)
    wards = client.get("/fhir/Location?type=ward&_count=100").json()
    assert wards["total"] == len(WARDS)
    assert codes(wards) == sorted(w["code"] for w in WARDS)
    beds = client.get("/fhir/Location?type=bd&_count=0").json()
    assert beds["total"] == BEDS and "entry" not in beds
    mw1 = client.get("/fhir/Location?partof=Location/MW1&_count=100").json()
    assert mw1["total"] == 30 and all(c.startswith("MW1-") for c in codes(mw1))
    everything = client.get("/fhir/Location?_count=5&_offset=7").json()
    assert everything["total"] == len(WARDS) + BEDS
    assert codes(everything)[:2] == sorted(w["code"] for w in WARDS)[7:]
    assert codes(everything)[2].endswith("-01")
    assert {link["relation"] for link in everything["link"]} == {"self", "next", "previous"}


def test_bad_searches_are_400_and_unknown_ids_404(fhir_as, nurse, layout):
    client = fhir_as(nurse)
    for query in ("type=room", "name=MW1", "type=ward&type=bed", "_count=1000", "partof=%00"):
        assert client.get(f"/fhir/Location?{query}").status_code == 400, query
    for bad in ("NOPE", "MW1-99", "x" * 300, "MW1%00", "MW1-%00"):
        response = client.get(f"/fhir/Location/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"


def test_the_bed_boards_right_is_needed(fhir_as, lab_tech, admin, layout):
    for user in (lab_tech, admin, None):
        assert fhir_as(user).get("/fhir/Location/MW1").status_code in (401, 403)
        assert fhir_as(user).get("/fhir/Location?type=ward").status_code in (401, 403)
    assert not AuditEntry.objects.filter(via="fhir").exists()
