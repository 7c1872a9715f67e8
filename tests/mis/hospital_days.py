"""Three days of a small hospital, made through the API as the staff would make them, with
the clock moved to each moment (time-machine): registrations, OPD visits in different
departments and hours, lab orders through to verification, and admissions.

Times are India time (UTC+5:30). After the fixture the clock stands at 13 Jan 2027 12:00.

What the reports must then say - worked out by hand here, asserted by the tests:

OPD, 12 Jan: MED 4 (Asha 09:10 returning, Bala 09:20 new, Dev 10:30 new, Chitra 14:05
  returning); ENT 2 (Chitra 09:40 new, Bala 10:15 returning) - 6 visits, 3 new, 3 returning;
  hours 09 -> 3, 10 -> 2, 14 -> 1.
OPD, 11 Jan: MED 1 (Asha 10:00 new). 13 Jan (today): OPH 1 (Esha 11:00 new).
Lab, samples collected 12 Jan 10:40, verified later: haematology CBC 30, 45, 90 min
  (median 45, 90th 90); biochemistry RBS 20 and 50 min (median 50 - the upper of two -
  and 90th 50), an LFT never verified (left out). Collected 11 Jan 10:10: a CBC verified
  in 10 min (11-12 Jan haematology: 10, 30, 45, 90 -> median 45, 90th 90).
Beds: 12 Jan 15:00 Asha and Chitra to MW2 (women), Bala to MW1 (men), Dev to the ICU;
  13 Jan 09:00 Esha to MW2. Now: MW2 3 of 30, MW1 1 of 30, ICU 1 of 12 (5 of 186).
  Midnight census ending 12 Jan: MW2 2, MW1 1, ICU 1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from nirantar.wards import actions as ward_actions
from nirantar.wards import catalogue as ward_catalogue
from tests.conftest import Api, make_user

IST = ZoneInfo("Asia/Kolkata")


def at(text: str) -> Any:
    """The clock stopped at ``text`` (YYYY-MM-DD HH:MM, India time)."""
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=IST)
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def manager(hospital: Any) -> Any:
    return make_user("director", "management", "Dr. Medical Superintendent")


@pytest.fixture
def mis_api(api_as: Any, manager: Any) -> Api:
    return api_as(manager)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.json()


@pytest.fixture
def days(
    hospital: Any, api_as: Any, clerk: Any, doctor: Any, lab_tech: Any, nurse: Any
) -> Iterator[dict[str, Any]]:
    clerk_api, doc, lab, ward = api_as(clerk), api_as(doctor), api_as(lab_tech), api_as(nurse)
    pathologist = api_as(make_user("nandita", "pathologist", "Dr. Nandita Rao"))
    people: dict[str, str] = {}

    def visit(who: str, department: str) -> str:
        return str(
            ok(
                clerk_api.post("/api/v1/visits", {"uhid": people[who], "department": department}),
                201,
            )["visit"]
        )

    def order(visit_no: str, tests: list[str]) -> str:
        return str(
            ok(doc.post(f"/api/v1/visits/{visit_no}/lab-orders", {"tests": tests}), 201)["order"]
        )

    def collect(order_no: str) -> dict[str, str]:
        samples = ok(lab.post(f"/api/v1/lab/orders/{order_no}/collect"), 201)["samples"]
        for s in samples:
            ok(lab.post(f"/api/v1/lab/samples/{s['accession']}/receive"))
        return {t: s["accession"] for s in samples for t in s["tests"]}

    def result(accession: str, values: dict[str, str]) -> None:
        ok(lab.post(f"/api/v1/lab/samples/{accession}/results", {"values": values}), 201)

    def verify(accession: str) -> None:
        ok(pathologist.post(f"/api/v1/lab/samples/{accession}/verify"))

    def admit(who: str, bed: str) -> None:
        body = {"uhid": people[who], "bed": bed, "attending": doctor.username}
        ok(ward.post("/api/v1/admissions", body), 201)

    with at("2027-01-11 08:00"):
        for ward_definition in ward_catalogue.demo_wards():
            ward_actions.do_define_ward("admin", ward_definition)
        for n, (name, hindi, sex) in enumerate(
            [
                ("Asha", "आशा", "F"),
                ("Bala", "बाला", "M"),
                ("Chitra", "चित्रा", "F"),
                ("Dev", "देव", "M"),
                ("Esha", "ईशा", "F"),
            ]
        ):
            body = {
                "name_en": f"{name} Kumari" if sex == "F" else f"{name} Kumar",
                "name_hi": hindi,
                "sex": sex,
                "age_years": 30 + n,
                "mobile": f"98111000{n:02d}",
            }
            people[name] = str(ok(clerk_api.post("/api/v1/patients", body), 201)["uhid"])
    with at("2027-01-11 10:00"):
        first = visit("Asha", "MED")
    with at("2027-01-11 10:05"):
        early = order(first, ["CBC"])
    with at("2027-01-11 10:10"):
        early_cbc = collect(early)["CBC"]
        result(early_cbc, {"HGB": "13"})
    with at("2027-01-11 10:20"):
        verify(early_cbc)

    orders = {}
    for when, who, department, tests in [
        ("09:10", "Asha", "MED", ["CBC"]),
        ("09:20", "Bala", "MED", ["CBC"]),
        ("09:40", "Chitra", "ENT", ["CBC"]),
        ("10:15", "Bala", "ENT", ["RBS"]),
        ("10:30", "Dev", "MED", ["RBS", "LFT"]),
    ]:
        with at(f"2027-01-12 {when}"):
            number = visit(who, department)
        with at(f"2027-01-12 {when[:3]}{int(when[3:]) + 2:02d}"):
            orders[(who, department)] = order(number, tests)
    with at("2027-01-12 10:40"):
        samples = {key: collect(number) for key, number in orders.items()}
    with at("2027-01-12 10:50"):
        for key in [("Asha", "MED"), ("Bala", "MED"), ("Chitra", "ENT")]:
            result(samples[key]["CBC"], {"HGB": "12"})
        for key in [("Bala", "ENT"), ("Dev", "MED")]:
            result(samples[key]["RBS"], {"GLUR": "110"})
    for when, key, test in [
        ("11:00", ("Bala", "ENT"), "RBS"),  # 20 min
        ("11:10", ("Asha", "MED"), "CBC"),  # 30
        ("11:25", ("Bala", "MED"), "CBC"),  # 45
        ("11:30", ("Dev", "MED"), "RBS"),  # 50
        ("12:10", ("Chitra", "ENT"), "CBC"),  # 90
    ]:
        with at(f"2027-01-12 {when}"):
            verify(samples[key][test])
    with at("2027-01-12 14:05"):
        visit("Chitra", "MED")
    with at("2027-01-12 15:00"):
        admit("Asha", "MW2-01")
        admit("Bala", "MW1-01")
        admit("Chitra", "MW2-02")
        admit("Dev", "ICU-01")
    with at("2027-01-13 09:00"):
        admit("Esha", "MW2-03")
    with at("2027-01-13 11:00"):
        visit("Esha", "OPH")
    with at("2027-01-13 12:00"):
        yield {"people": people, "clerk_api": clerk_api}
