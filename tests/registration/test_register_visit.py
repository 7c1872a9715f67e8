"""POST /api/v1/visits and GET /api/v1/visits/{visit}"""

import time_machine

from nirantar.ledger.numbering import verhoeff_valid


def test_a_visit_gets_a_counter_prefixed_token_and_a_room(clerk_api, registered):
    response = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "Medicine"}
    )
    assert response.status_code == 201
    visit = response.json()
    assert visit["token"] == "A-001"
    assert visit["department"] == "MED" and visit["department_name"] == "Medicine"
    assert visit["room"] == "Room 101" and visit["room_hi"] == "कक्ष 101"
    assert visit["visit"].startswith("OP-101-")
    assert verhoeff_valid(visit["visit"].removeprefix("OP-").replace("-", ""))


def test_tokens_count_up_per_department(clerk_api, registered):
    uhid = registered["uhid"]
    tokens = [
        clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": d}).json()["token"]
        for d in ("Medicine", "medicine", "ENT", "MED")
    ]
    assert tokens == ["A-001", "A-002", "A-001", "A-003"]


def test_tokens_start_again_each_hospital_day(clerk_api, registered):
    uhid = registered["uhid"]
    # 23:50 and 00:10 in Delhi are the same UTC date but two hospital days.
    with time_machine.travel("2026-03-01T18:20:00+00:00", tick=False):
        first = clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": "ENT"}).json()
    with time_machine.travel("2026-03-01T18:40:00+00:00", tick=False):
        second = clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": "ENT"}).json()
    assert (first["date"], first["token"]) == ("2026-03-01", "A-001")
    assert (second["date"], second["token"]) == ("2026-03-02", "A-001")


def test_the_department_may_be_named_in_hindi(clerk_api, registered):
    response = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "नेत्र रोग"}
    )
    assert response.json()["department"] == "OPH"


def test_a_visit_can_be_read_back(clerk_api, registered):
    visit = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "ENT"}
    ).json()
    response = clerk_api.get(f"/api/v1/visits/{visit['visit']}")
    assert response.status_code == 200
    assert response.json() == visit


def test_an_unknown_patient_is_not_found(clerk_api, hospital):
    from nirantar.registration.events import UHID

    response = clerk_api.post(
        "/api/v1/visits", {"uhid": UHID.format(101, 999), "department": "ENT"}
    )
    assert response.status_code == 404
