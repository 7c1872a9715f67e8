"""Wards and beds through the JSON API: the bed board, admission, transfer, the chart,
discharge and its summary, bed cleaning, service and reservations, the census and ward lab
orders; who may do what, which reads are audited, and that every refusal writes nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from nirantar import timeutil
from nirantar.accounts.models import AuditEntry
from nirantar.lab.models import LabOrder
from nirantar.ledger.models import Event
from nirantar.registration.events import UHID
from nirantar.wards import actions, catalogue
from nirantar.wards.events import ADMISSION
from nirantar.wards.models import Admission, Bed
from tests import pdf
from tests.conftest import Api, make_user

pytestmark = pytest.mark.django_db

ADMISSION_NO = re.compile(r"^IP-101-\d{7}-\d$")
BEDS = sum(len(w["beds"]) for w in catalogue.demo_wards())
SITA = {"name_en": "Sita Devi", "name_hi": "सीता देवी", "sex": "F", "age_years": 30}


# -- fixtures and helpers ----------------------------------------------------------------
@pytest.fixture
def layout(hospital: Any) -> None:
    """The demo hospital's nine wards, defined as an admin would."""
    for ward in catalogue.demo_wards():
        actions.do_define_ward("admin", ward)


@pytest.fixture
def doc(api_as: Any, doctor: Any) -> Api:
    return api_as(doctor)


@pytest.fixture
def ward_nurse(api_as: Any, nurse: Any) -> Api:
    return api_as(nurse)


@pytest.fixture
def patient(clerk_api: Api, ram: dict[str, Any]) -> Any:
    """patient(**fields) -> the UHID of a newly registered patient (a man unless told)."""
    count = iter(range(1, 100))

    def make(**fields: Any) -> str:
        n = next(count)
        person = {**ram, "mobile": f"98765431{n:02d}", "name_en": f"Ram Kumar {'X' * n}"}
        person.update(fields)
        response = clerk_api.post("/api/v1/patients", person)
        assert response.status_code == 201, response.content
        return str(response.json()["uhid"])

    return make


@pytest.fixture
def admit(ward_nurse: Api, doctor: Any, layout: None) -> Any:
    """admit(uhid, bed, api=a nurse, **fields) -> the admission (201 checked)."""

    def make(uhid: str, bed: str, api: Api | None = None, **fields: Any) -> dict[str, Any]:
        body = {"uhid": uhid, "bed": bed, "attending": doctor.username, **fields}
        response = (api or ward_nurse).post("/api/v1/admissions", body)
        assert response.status_code == 201, response.content
        return response.json()  # type: ignore[no-any-return]

    return make


def board(api: Api, query: str = "") -> dict[str, dict[str, Any]]:
    response = api.get(f"/api/v1/beds{query}")
    assert response.status_code == 200, response.content
    return {b["bed"]: b for b in response.json()["beds"]}


def census(api: Api, day: Any = None) -> dict[str, Any]:
    query = f"?date={day.isoformat()}" if day is not None else ""
    response = api.get(f"/api/v1/census{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    body["by_ward"] = {row["ward"]: row for row in body["wards"]}
    return body  # type: ignore[no-any-return]


def refused(api: Api, path: str, body: Any, status: int) -> dict[str, Any]:
    response = api.post(path, body)
    assert response.status_code == status, response.content
    return response.json()["error"]  # type: ignore[no-any-return]


def iso(ms: int) -> str:
    return timeutil.from_ms(ms).isoformat()


def mistyped(number: str) -> str:
    """A number with its check digit changed: a typing slip the check digit catches."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def admitted_ms(admission: str) -> int:
    return int(Admission.objects.get(admission_no=admission).admitted_ms)


# -- the bed board -----------------------------------------------------------------------
def test_the_board_lists_every_bed_of_a_ward_vacant_with_counts(layout, ward_nurse):
    response = ward_nurse.get("/api/v1/beds?ward=MW1")
    assert response.status_code == 200, response.content
    body = response.json()
    beds = body["beds"]
    assert [b["bed"] for b in beds] == [f"MW1-{n:02d}" for n in range(1, 31)]
    assert {b["state"] for b in beds} == {"vacant"}
    assert all(b["ward"] == "MW1" and b["occupant"] is None for b in beds)
    assert all(b["occupants"] == [] and b["double_booked"] is False for b in beds)
    assert beds[0]["room"] == "1" and beds[-1]["room"] == "5"
    [ward] = body["wards"]
    assert (ward["ward"], ward["kind"], ward["sex"]) == ("MW1", "general", "M")
    assert ward["name_hi"] == "मेडिकल वार्ड 1 (पुरुष)"
    assert ward["counts"] == {"vacant": 30} and body["counts"] == {"vacant": 30}
    # A ward asked for in lower case is the same ward; one that doesn't exist is an error.
    assert len(board(ward_nurse, "?ward=mw1")) == 30
    assert ward_nurse.get("/api/v1/beds?ward=NOPE").status_code == 404


def test_the_hospital_wide_board_filters_by_ward_type_and_sex(layout, ward_nurse):
    everything = ward_nurse.get("/api/v1/beds").json()
    assert len(everything["beds"]) == BEDS and everything["counts"] == {"vacant": BEDS}
    assert [w["ward"] for w in everything["wards"]] == sorted(w[0] for w in catalogue.DEMO_WARDS)

    icu = ward_nurse.get("/api/v1/beds?kind=icu").json()
    assert {b["ward"] for b in icu["beds"]} == {"ICU"} and len(icu["beds"]) == 12

    women = ward_nurse.get("/api/v1/beds?sex=F").json()
    # Wards for women and wards for anyone; never a men's ward.
    assert [w["ward"] for w in women["wards"]] == ["EOW", "ICU", "MAT", "MW2", "PVT", "PW1", "SW2"]
    men_general = ward_nurse.get("/api/v1/beds?kind=general&sex=M").json()
    assert [w["ward"] for w in men_general["wards"]] == ["MW1", "SW1"]
    assert ward_nurse.get("/api/v1/beds?sex=X").status_code == 400


def test_the_board_counts_every_state(layout, admit, patient, ward_nurse, doc):
    ram, mohan, gopal = patient(), patient(), patient()
    admit(ram, "MW1-01")
    left = admit(mohan, "MW1-02")["admission"]
    assert doc.post(f"/api/v1/admissions/{left}/discharge", {"type": "lama"}).status_code == 200
    service = {"in_service": False, "reason": "broken rail"}
    assert ward_nurse.post("/api/v1/beds/MW1-03/service", service).status_code == 200
    assert ward_nurse.post("/api/v1/beds/MW1-04/reservation", {"uhid": gopal}).status_code == 200

    body = ward_nurse.get("/api/v1/beds?ward=MW1").json()
    beds = {b["bed"]: b for b in body["beds"]}
    assert [beds[f"MW1-0{n}"]["state"] for n in range(1, 6)] == [
        "occupied",
        "cleaning",
        "out_of_service",
        "reserved",
        "vacant",
    ]
    assert beds["MW1-03"]["service_reason"] == "broken rail"
    assert beds["MW1-04"]["reserved_for"] == gopal
    assert body["counts"] == {
        "occupied": 1,
        "cleaning": 1,
        "out_of_service": 1,
        "reserved": 1,
        "vacant": 26,
    }
    assert sum(body["counts"].values()) == 30


# -- admission ---------------------------------------------------------------------------
def test_admission_from_opd_advice_mints_a_number_and_fills_the_bed(
    layout, clerk_api, doc, ward_nurse, patient, doctor, ram
):
    uhid = patient(name_en="Ram Kumar Sharma")
    visit = clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": "MED"}).json()
    advice = doc.post(
        f"/api/v1/visits/{visit['visit']}/admission-advice", {"urgency": "urgent", "reason": "CAP"}
    )
    assert advice.status_code == 201, advice.content

    response = ward_nurse.post(
        "/api/v1/admissions",
        {
            "uhid": uhid,
            "bed": "mw1-07",  # typed in lower case at the desk
            "attending": doctor.username,
            "diagnosis": "Community-acquired pneumonia",
            "source": "opd",
            "visit": visit["visit"],
            "note": "oxygen on arrival",
        },
    )
    assert response.status_code == 201, response.content
    a = response.json()
    assert ADMISSION_NO.match(a["admission"]), a["admission"]
    assert (a["uhid"], a["ward"], a["bed"]) == (uhid, "MW1", "MW1-07")
    assert (a["attending"], a["source"], a["visit"]) == ("meera", "opd", visit["visit"])
    assert a["diagnosis"] == "Community-acquired pneumonia" and a["note"] == "oxygen on arrival"
    assert (a["admitted_by"], a["node"], a["discharged"]) == ("kavita", "test-counter", False)
    assert a["discharge"] == {} and a["discharged_at"] is None
    assert [(p["bed"], p["kind"], p["by"]) for p in a["placements"]] == [
        ("MW1-07", "admitted", "kavita")
    ]
    number = a["admission"]
    assert a["form"] == f"/api/v1/admissions/{number}/form.pdf"

    bed = board(ward_nurse, "?ward=MW1")["MW1-07"]
    assert bed["state"] == "occupied" and bed["double_booked"] is False
    occupant = bed["occupant"]
    assert occupant == bed["occupants"][0]
    assert (occupant["admission"], occupant["uhid"], occupant["name_en"]) == (
        number,
        uhid,
        "Ram Kumar Sharma",
    )
    assert (occupant["sex"], occupant["age"], occupant["attending"]) == ("M", "45Y", "meera")
    assert occupant["since"] == a["admitted_at"]

    again = ward_nurse.get(f"/api/v1/admissions/{number}")
    assert again.status_code == 200 and again.json() == a
    listed = ward_nurse.get("/api/v1/admissions?ward=MW1").json()
    assert [x["admission"] for x in listed] == [number]
    assert ward_nurse.get("/api/v1/admissions?ward=ICU").json() == []


def test_admission_form_and_wristband_carry_the_uhid(layout, admit, patient, clerk_api):
    uhid = patient(name_en="Ram Kumar Sharma", name_hi="राम कुमार शर्मा")
    a = admit(uhid, "MW1-05", source="emergency", diagnosis="Snake bite")
    assert (a["source"], a["visit"]) == ("emergency", "")

    form = clerk_api.get(a["form"])
    assert form.status_code == 200 and form["Content-Type"] == "application/pdf"
    text = pdf.text(form.content)
    for fact in (uhid, a["admission"], "MW1-05", "Ram Kumar Sharma", "Snake bite"):
        assert fact in text, fact
    assert pdf.compact("राम कुमार शर्मा") in pdf.compact(text)
    assert pdf.page_size_mm(form.content) == pytest.approx((210.0, 297.0), abs=0.5)

    band = clerk_api.get(a["wristband"])
    assert band.status_code == 200 and band["Content-Type"] == "application/pdf"
    text = pdf.text(band.content)
    assert uhid in text and "Ram Kumar Sharma" in text
    assert pdf.page_size_mm(band.content) == pytest.approx((250.0, 25.0), abs=0.5)
    # A scanner at the bedside reads the UHID (without its dashes) off the band.
    assert barcodes_read(band.content) in (None, {uhid.replace("-", "")})


def barcodes_read(document: bytes) -> set[str] | None:
    """What zbar reads off the page printed at 300 dpi; None where zbarimg isn't installed."""
    if shutil.which("zbarimg") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        source, image = Path(tmp) / "band.pdf", Path(tmp) / "band"
        source.write_bytes(document)
        subprocess.run(
            ["pdftoppm", "-r", "300", "-png", "-singlefile", str(source), str(image)], check=True
        )
        done = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Scode128.enable", f"{image}.png"],
            capture_output=True,
            text=True,
        )
    return set(done.stdout.split())


def test_an_emergency_admission_needs_no_visit(layout, admit, patient):
    a = admit(patient(), "EOW-01", source="emergency")
    assert (a["ward"], a["source"], a["diagnosis"]) == ("EOW", "emergency", "")


def test_an_admission_nobody_made_is_not_found(layout, ward_nurse):
    assert ward_nurse.get(f"/api/v1/admissions/{ADMISSION.format(101, 999_999)}").status_code == 404
    assert ward_nurse.get("/api/v1/admissions/IP-nonsense").status_code == 400
    unknown = f"/api/v1/admissions/{ADMISSION.format(101, 999_998)}/discharge-summary.pdf"
    assert ward_nurse.get(unknown).status_code == 404


def test_admission_numbers_are_distinct_and_sequential(layout, admit, patient):
    numbers = [admit(patient(), f"MW1-1{n}")["admission"] for n in range(3)]
    assert len(set(numbers)) == 3
    sequence = [int(n.split("-")[2]) for n in numbers]
    assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]


# -- bad input writes nothing ------------------------------------------------------------
def test_a_patient_already_admitted_cannot_be_admitted_again(
    layout, admit, patient, ward_nurse, doctor, snapshot
):
    uhid = patient()
    first = admit(uhid, "MW1-01")
    before = snapshot()
    error = refused(
        ward_nurse,
        "/api/v1/admissions",
        {"uhid": uhid, "bed": "MW1-02", "attending": doctor.username},
        409,
    )
    assert error["fields"] == {"uhid": "already admitted"}
    assert first["admission"] in error["message"]
    assert before.unchanged()
    assert board(ward_nurse, "?ward=MW1")["MW1-02"]["state"] == "vacant"


@pytest.mark.parametrize(
    ("bed", "status", "field"),
    [
        ("MW1-99", 404, "bed"),  # no such bed in the layout
        ("XYZ-01", 404, "bed"),  # no such ward
        ("not a bed", 400, "bed"),
        ("", 400, "bed"),
    ],
)
def test_a_bed_that_does_not_exist_is_refused(
    layout, patient, ward_nurse, doctor, snapshot, bed, status, field
):
    uhid = patient()
    before = snapshot()
    body = {"uhid": uhid, "bed": bed, "attending": doctor.username}
    error = refused(ward_nurse, "/api/v1/admissions", body, status)
    assert field in error["fields"]
    assert before.unchanged()


def test_other_bad_admissions_are_refused_and_write_nothing(
    layout, patient, ward_nurse, doctor, nurse, snapshot
):
    uhid = patient()
    before = snapshot()
    good = {"uhid": uhid, "bed": "MW1-01", "attending": doctor.username}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "uhid": mistyped(UHID.format(101, 9999))}, 400, "uhid"),  # check digit
        ({**good, "uhid": "not-a-uhid"}, 400, "uhid"),
        ({**good, "attending": nurse.username}, 400, "attending"),  # not a doctor
        ({**good, "attending": "nobody"}, 400, "attending"),
        ({**good, "source": "walk-in"}, 400, "source"),
        ({**good, "visit": "V-nonsense"}, 400, "visit"),
        ({**good, "diagnosis": "x" * 301}, 400, "diagnosis"),
        ({**good, "surprise": True}, 400, "surprise"),
        ({k: v for k, v in good.items() if k != "bed"}, 400, "bed"),
    ]
    for body, status, field in cases:
        error = refused(ward_nurse, "/api/v1/admissions", body, status)
        assert field in error["fields"], (body, error)
    # A well-formed UHID nobody registered.
    stranger = UHID.format(101, 9_999_999)
    error = refused(ward_nurse, "/api/v1/admissions", {**good, "uhid": stranger}, 404)
    assert "uhid" in error["fields"]
    assert before.unchanged()


def test_an_out_of_service_bed_refuses_admission_until_back_in_service(
    layout, admit, patient, ward_nurse, doctor, snapshot
):
    uhid = patient()
    bad = ward_nurse.post("/api/v1/beds/MW1-03/service", {"in_service": False})
    assert bad.status_code == 400  # taking a bed out of service needs a reason
    out = ward_nurse.post(
        "/api/v1/beds/MW1-03/service", {"in_service": False, "reason": "oxygen port broken"}
    )
    assert out.status_code == 200, out.content
    assert out.json() == {
        "bed": "MW1-03",
        "state": "out_of_service",
        "reserved_for": "",
        "in_service": False,
    }
    before = snapshot()
    body = {"uhid": uhid, "bed": "MW1-03", "attending": doctor.username}
    error = refused(ward_nurse, "/api/v1/admissions", body, 409)
    assert error["fields"] == {"bed": "out of service"}
    assert "oxygen port broken" in error["message"]
    assert before.unchanged()

    back = ward_nurse.post("/api/v1/beds/MW1-03/service", {"in_service": True})
    assert back.status_code == 200 and back.json()["state"] == "vacant"
    a = admit(uhid, "MW1-03")
    # An occupied bed can't be taken out of service: move the patient first.
    error = refused(
        ward_nurse, "/api/v1/beds/MW1-03/service", {"in_service": False, "reason": "leak"}, 409
    )
    assert error["fields"] == {"bed": "occupied"}
    assert a["bed"] == "MW1-03"


def test_an_occupied_bed_refuses_a_second_patient(layout, admit, patient, ward_nurse, doctor):
    first = admit(patient(), "MW1-01")
    error = refused(
        ward_nurse,
        "/api/v1/admissions",
        {"uhid": patient(), "bed": "MW1-01", "attending": doctor.username},
        409,
    )
    assert error["fields"] == {"bed": "occupied"} and first["admission"] in error["message"]


def test_a_reservation_holds_the_bed_for_its_patient_only(
    layout, admit, patient, ward_nurse, clerk_api, doctor, snapshot
):
    kept_for, other = patient(), patient()
    reserved = clerk_api.post(
        "/api/v1/beds/MW1-04/reservation", {"uhid": kept_for, "note": "from casualty"}
    )
    assert reserved.status_code == 200, reserved.content
    assert reserved.json() == {
        "bed": "MW1-04",
        "state": "reserved",
        "reserved_for": kept_for,
        "in_service": True,
    }
    assert board(ward_nurse, "?ward=MW1")["MW1-04"]["state"] == "reserved"

    before = snapshot()
    body = {"uhid": other, "bed": "MW1-04", "attending": doctor.username}
    error = refused(ward_nurse, "/api/v1/admissions", body, 409)
    assert error["fields"] == {"bed": "reserved"} and kept_for in error["message"]
    # A reserved bed is not reserved again for someone else, nor for nobody known.
    error = refused(clerk_api, "/api/v1/beds/MW1-04/reservation", {"uhid": other}, 409)
    assert error["fields"] == {"bed": "reserved"}
    stranger = UHID.format(101, 9_999_999)
    refused(clerk_api, "/api/v1/beds/MW1-05/reservation", {"uhid": stranger}, 404)
    refused(clerk_api, "/api/v1/beds/MW1-05/reservation", {"uhid": ""}, 409)  # not reserved
    assert before.unchanged()

    a = admit(kept_for, "MW1-04")
    bed = board(ward_nurse, "?ward=MW1")["MW1-04"]
    assert bed["state"] == "occupied" and bed["occupant"]["admission"] == a["admission"]
    refused(clerk_api, "/api/v1/beds/MW1-04/reservation", {"uhid": other}, 409)  # occupied


def test_a_reservation_can_be_cancelled(layout, patient, clerk_api, ward_nurse):
    uhid = patient()
    clerk_api.post("/api/v1/beds/MW1-06/reservation", {"uhid": uhid})
    cancelled = clerk_api.post("/api/v1/beds/MW1-06/reservation", {"uhid": ""})
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["state"] == "vacant" and cancelled.json()["reserved_for"] == ""


def test_a_ward_for_one_sex_refuses_the_other(layout, admit, patient, ward_nurse, doctor, snapshot):
    man, woman = patient(), patient(**SITA, mobile="9123456789")
    before = snapshot()
    for bed in ("MW2-01", "SW2-01", "MAT-01"):
        body = {"uhid": man, "bed": bed, "attending": doctor.username}
        error = refused(ward_nurse, "/api/v1/admissions", body, 409)
        assert error["fields"] == {"bed": "ward for the other sex"}, bed
    error = refused(
        ward_nurse,
        "/api/v1/admissions",
        {"uhid": woman, "bed": "MW1-01", "attending": doctor.username},
        409,
    )
    assert "men" in error["message"]
    assert before.unchanged()

    assert admit(woman, "MW2-01")["ward"] == "MW2"
    a = admit(man, "ICU-01")  # a ward for anyone
    # A transfer follows the same rule.
    error = refused(
        ward_nurse, f"/api/v1/admissions/{a['admission']}/transfer", {"bed": "MW2-02"}, 409
    )
    assert error["fields"] == {"bed": "ward for the other sex"}


# -- transfers ---------------------------------------------------------------------------
def test_a_transfer_moves_the_patient_and_leaves_the_old_bed_to_be_cleaned(
    layout, admit, patient, ward_nurse, clerk_api
):
    a = admit(patient(), "MW1-07")
    number = a["admission"]
    response = clerk_api.post(
        f"/api/v1/admissions/{number}/transfer", {"bed": "ICU-03", "reason": "needs ventilator"}
    )
    assert response.status_code == 200, response.content
    moved = response.json()
    assert (moved["admission"], moved["ward"], moved["bed"]) == (number, "ICU", "ICU-03")

    detail = ward_nurse.get(f"/api/v1/admissions/{number}").json()
    assert [(p["bed"], p["kind"], p["reason"]) for p in detail["placements"]] == [
        ("MW1-07", "admitted", ""),
        ("ICU-03", "transferred", "needs ventilator"),
    ]
    assert detail["placements"][1]["by"] == "asha"
    beds = board(ward_nurse)
    assert beds["MW1-07"]["state"] == "cleaning" and beds["MW1-07"]["occupant"] is None
    assert beds["ICU-03"]["state"] == "occupied"
    assert beds["ICU-03"]["occupant"]["admission"] == number
    assert [x["admission"] for x in ward_nurse.get("/api/v1/admissions?ward=ICU").json()] == [
        number
    ]


def test_bad_transfers_are_refused_and_write_nothing(
    layout, admit, patient, ward_nurse, doc, snapshot
):
    a = admit(patient(), "MW1-07")["admission"]
    admit(patient(), "MW1-08")
    before = snapshot()
    url = f"/api/v1/admissions/{a}/transfer"
    assert refused(ward_nurse, url, {"bed": "MW1-07"}, 409)["fields"] == {"bed": "same bed"}
    assert refused(ward_nurse, url, {"bed": "MW1-08"}, 409)["fields"] == {"bed": "occupied"}
    assert "bed" in refused(ward_nurse, url, {"bed": "MW1-99"}, 404)["fields"]
    assert "bed" in refused(ward_nurse, url, {"bed": "??"}, 400)["fields"]
    assert "bed" in refused(ward_nurse, url, {}, 400)["fields"]
    mistyped_no = mistyped(ADMISSION.format(101, 999_999))
    refused(ward_nurse, f"/api/v1/admissions/{mistyped_no}/transfer", {"bed": "MW1-09"}, 400)
    unknown = ADMISSION.format(101, 999_999)
    refused(ward_nurse, f"/api/v1/admissions/{unknown}/transfer", {"bed": "MW1-09"}, 404)
    assert before.unchanged()

    done = doc.post(f"/api/v1/admissions/{a}/discharge", {"type": "absconded"})
    assert done.status_code == 200
    before = snapshot()
    error = refused(ward_nurse, url, {"bed": "MW1-09"}, 409)
    assert error["fields"] == {"admission": "discharged"}
    assert before.unchanged()


# -- the chart ---------------------------------------------------------------------------
def test_the_nursing_chart_is_append_only_and_corrections_name_what_they_correct(
    layout, admit, patient, ward_nurse, doc, nurse
):
    number = admit(patient(), "MW1-01")["admission"]
    url = f"/api/v1/admissions/{number}/entries"

    def chart(body: dict[str, Any]) -> dict[str, Any]:
        response = ward_nurse.post(url, body)
        assert response.status_code == 201, response.content
        return response.json()  # type: ignore[no-any-return]

    vitals = chart(
        {"kind": "vitals", "data": {"pulse": 112, "bp_systolic": 100, "bp_diastolic": 60}}
    )
    assert vitals["data"] == {"pulse": 112, "bp_systolic": 100, "bp_diastolic": 60}
    assert (vitals["admission"], vitals["by"], vitals["node"]) == (number, "kavita", "test-counter")
    assert vitals["corrected"] is False and vitals["corrects"] == ""
    temperature = chart({"kind": "vitals", "data": {"temperature_c": 38.45}})
    assert temperature["data"] == {"temperature_c": "38.5"}  # decimals travel as text
    io = chart({"kind": "io", "data": {"intake_iv_ml": 500, "output_urine_ml": 350}})
    assert io["data"] == {"intake_iv_ml": 500, "output_urine_ml": 350}
    note = chart(
        {"kind": "nursing_note", "data": {"text": "Restless at night.\nSlept after 2 am."}}
    )
    given = chart(
        {"kind": "medication", "data": {"drug": "Ceftriaxone", "dose": "1 g", "route": "IV"}}
    )
    fixed = chart(
        {"kind": "vitals", "data": {"pulse": 92}, "corrects": vitals["entry"]},
    )
    assert fixed["corrects"] == vitals["entry"]
    progress = doc.post(url, {"kind": "progress_note", "data": {"text": "Afebrile. Continue."}})
    assert progress.status_code == 201, progress.content

    listed = ward_nurse.get(url)
    assert listed.status_code == 200, listed.content
    entries = {e["entry"]: e for e in listed.json()}
    assert len(entries) == 7
    assert entries[vitals["entry"]]["corrected"] is True  # still there, marked corrected
    assert entries[vitals["entry"]]["data"] == {
        "pulse": 112,
        "bp_systolic": 100,
        "bp_diastolic": 60,
    }
    assert entries[fixed["entry"]]["corrected"] is False
    kinds = [e["kind"] for e in listed.json()]
    assert sorted(kinds) == sorted(
        ["vitals", "vitals", "io", "nursing_note", "medication", "vitals", "progress_note"]
    )
    only = ward_nurse.get(f"{url}?kind=medication").json()
    assert [e["entry"] for e in only] == [given["entry"]]
    assert entries[note["entry"]]["data"] == {"text": "Restless at night.\nSlept after 2 am."}
    assert entries[io["entry"]]["kind"] == "io" and temperature["kind"] == "vitals"

    # An entry at a time a nurse gives (in hospital time when the zone is not said).
    earlier = timeutil.local(timeutil.now() - timedelta(minutes=3)).replace(tzinfo=None)
    back = chart(
        {"kind": "nursing_note", "data": {"text": "late entry"}, "at": earlier.isoformat()}
    )
    assert back["at"] < back["recorded_at"]


def test_bad_chart_entries_are_refused_and_write_nothing(
    layout, admit, patient, ward_nurse, snapshot
):
    number = admit(patient(), "MW1-01")["admission"]
    url = f"/api/v1/admissions/{number}/entries"
    before = snapshot()
    tomorrow = (timeutil.now() + timedelta(days=1)).isoformat()
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"kind": "vitals", "data": {"pulse": 900}}, 400, "pulse"),
        ({"kind": "vitals", "data": {"pulse": "fast"}}, 400, "pulse"),
        ({"kind": "vitals", "data": {"bp_systolic": 120}}, 400, "bp_diastolic"),
        ({"kind": "vitals", "data": {}}, 400, "vitals"),
        ({"kind": "vitals", "data": {"mood": 3}}, 400, "mood"),
        ({"kind": "io", "data": {"note": "no amounts"}}, 400, "intake_oral_ml"),
        ({"kind": "io", "data": {"intake_oral_ml": -5}}, 400, "intake_oral_ml"),
        ({"kind": "nursing_note", "data": {"text": "  "}}, 400, "text"),
        ({"kind": "medication", "data": {"drug": "Paracetamol"}}, 400, "dose"),
        ({"kind": "diet", "data": {"text": "soft"}}, 400, "kind"),
        ({"kind": "vitals", "data": {"pulse": 80}, "at": tomorrow}, 400, "at"),
        ({"kind": "vitals", "data": {"pulse": 80}, "at": "yesterday"}, 400, "at"),
    ]
    for body, status, field in cases:
        error = refused(ward_nurse, url, body, status)
        assert field in error["fields"], (body, error)
    error = refused(
        ward_nurse, url, {"kind": "vitals", "data": {"pulse": 80}, "corrects": "nope:1"}, 404
    )
    assert error["fields"] == {"corrects": "not found"}
    before_admission = iso(admitted_ms(number) - 3_600_000)
    error = refused(
        ward_nurse, url, {"kind": "vitals", "data": {"pulse": 80}, "at": before_admission}, 400
    )
    assert error["fields"] == {"at": "before admission"}
    assert before.unchanged()


# -- discharge ---------------------------------------------------------------------------
def test_discharge_leaves_the_bed_to_be_cleaned_then_vacant(
    layout, admit, patient, ward_nurse, doc, clerk_api, admin, api_as
):
    number = admit(patient(), "MW1-01")["admission"]
    response = doc.post(
        f"/api/v1/admissions/{number}/discharge",
        {"type": "normal", "diagnoses": "Pneumonia, resolved", "condition": "Stable"},
    )
    assert response.status_code == 200, response.content
    done = response.json()
    assert done["discharged"] is True and done["discharged_at"] >= done["admitted_at"]
    assert done["discharge"]["type"] == "normal" and done["discharge"]["by"] == "meera"
    assert done["discharge"]["diagnoses"] == "Pneumonia, resolved"
    assert ward_nurse.get("/api/v1/admissions?ward=MW1").json() == []

    bed = board(ward_nurse, "?ward=MW1")["MW1-01"]
    assert bed["state"] == "cleaning" and bed["occupants"] == []
    # Nobody is put in a bed being cleaned.
    refused(
        ward_nurse,
        "/api/v1/admissions",
        {"uhid": patient(), "bed": "MW1-01", "attending": "meera"},
        409,
    )
    assert clerk_api.post("/api/v1/beds/MW1-01/cleaned").status_code == 403
    cleaned = ward_nurse.post("/api/v1/beds/MW1-01/cleaned")
    assert cleaned.status_code == 200, cleaned.content
    assert cleaned.json() == {
        "bed": "MW1-01",
        "state": "vacant",
        "reserved_for": "",
        "in_service": True,
    }
    assert board(ward_nurse, "?ward=MW1")["MW1-01"]["state"] == "vacant"
    # Cleaning a bed that is not waiting for it is refused; an admin may also mark it.
    error = refused(api_as(admin), "/api/v1/beds/MW1-01/cleaned", None, 409)
    assert error["fields"] == {"bed": "vacant"}
    refused(ward_nurse, "/api/v1/beds/MW1-99/cleaned", None, 404)
    # The bed takes a patient again.
    admit(patient(), "MW1-01")


@pytest.mark.parametrize(
    ("kind", "english", "hindi"),
    [
        ("normal", "Discharged", "छुट्टी"),
        ("lama", "Left against medical advice (LAMA)", "चिकित्सीय सलाह के विरुद्ध गए"),
        ("referred", "Referred to another hospital", "अन्य अस्पताल को रेफ़र"),
        ("absconded", "Absconded", "बिना सूचना चले गए"),
        ("death", "Death", "मृत्यु"),
    ],
)
def test_every_discharge_type_is_recorded_and_printed(
    layout, admit, patient, doc, kind, english, hindi
):
    number = admit(patient(), "MW1-02")["admission"]
    body = {"type": kind, "diagnoses": "Dengue fever"}
    response = doc.post(f"/api/v1/admissions/{number}/discharge", body)
    assert response.status_code == 200, response.content
    assert response.json()["discharge"]["type"] == kind
    printed = doc.get(f"/api/v1/admissions/{number}/discharge-summary.pdf")
    assert printed.status_code == 200, printed.content
    text = pdf.text(printed.content)
    assert english in text
    assert pdf.compact(hindi) in pdf.compact(text)


def test_the_discharge_summary_is_bilingual_and_names_the_patient_and_diagnoses(
    layout, admit, patient, doc, ward_nurse, clerk_api
):
    uhid = patient(name_en="Ram Kumar Sharma", name_hi="राम कुमार शर्मा")
    a = admit(uhid, "MW1-03", diagnosis="Fever under evaluation")
    number = a["admission"]
    ward_nurse.post(f"/api/v1/admissions/{number}/transfer", {"bed": "ICU-02"})
    ordered = doc.post(f"/api/v1/admissions/{number}/lab-orders", {"tests": ["CBC"]})
    assert ordered.status_code == 201
    early = doc.get(a["discharge_summary"])
    assert early.status_code == 409  # not discharged yet
    response = doc.post(
        f"/api/v1/admissions/{number}/discharge",
        {
            "type": "normal",
            "diagnoses": "Plasmodium vivax malaria",
            "procedures": "None",
            "course": "Treated with artesunate.\nFever settled on day 3.",
            "condition": "Afebrile, walking",
            "medicines": "Primaquine 15 mg daily for 14 days",
            "follow_up": "Medicine OPD after 2 weeks",
        },
    )
    assert response.status_code == 200, response.content

    printed = doc.get(a["discharge_summary"])
    assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"
    assert printed.content[:4] == b"%PDF"
    text = pdf.text(printed.content)
    flat = pdf.compact(text)
    for fact in (
        "Discharge summary",
        "Ram Kumar Sharma",
        uhid,
        number,
        "Plasmodium vivax malaria",
        "Treated with artesunate.",
        "Fever settled on day 3.",
        "Primaquine 15 mg daily for 14 days",
        "Medicine OPD after 2 weeks",
        "Fever under evaluation",
        "Dr. Meera Iyer",
        ordered.json()["order"],
        "ICU-02",
    ):
        assert pdf.compact(fact) in flat, fact
    for heading in ("डिस्चार्ज सारांश", "निदान", "अस्पताल में उपचार", "आगे की सलाह"):
        assert pdf.compact(heading) in flat, heading
    for heading in ("Diagnoses", "Course in hospital", "Follow-up advice"):
        assert heading in text, heading
    assert pdf.compact("राम कुमार शर्मा") in flat
    assert pdf.page_size_mm(printed.content) == pytest.approx((210.0, 297.0), abs=0.5)
    # The admission desk may not read it.
    assert clerk_api.get(a["discharge_summary"]).status_code == 403


def test_bad_discharges_are_refused_and_write_nothing(
    layout, admit, patient, doc, ward_nurse, snapshot
):
    number = admit(patient(), "MW1-04")["admission"]
    url = f"/api/v1/admissions/{number}/discharge"
    before = snapshot()
    too_early = iso(admitted_ms(number) - 60_000)
    error = refused(doc, url, {"type": "normal", "diagnoses": "x", "at": too_early}, 400)
    assert list(error["fields"]) == ["at"]
    assert "before the admission" in error["message"]
    tomorrow = (timeutil.now() + timedelta(days=1)).isoformat()
    assert (
        "at"
        in refused(doc, url, {"type": "normal", "diagnoses": "x", "at": tomorrow}, 400)["fields"]
    )
    assert (
        "at" in refused(doc, url, {"type": "normal", "diagnoses": "x", "at": "soon"}, 400)["fields"]
    )
    assert "type" in refused(doc, url, {"type": "escaped"}, 400)["fields"]
    assert "type" in refused(doc, url, {}, 400)["fields"]
    # A normal discharge names the diagnoses.
    assert "diagnoses" in refused(doc, url, {"type": "normal"}, 400)["fields"]
    assert before.unchanged()

    first = doc.post(url, {"type": "normal", "diagnoses": "Gastroenteritis"})
    assert first.status_code == 200, first.content
    before = snapshot()
    error = refused(doc, url, {"type": "death", "diagnoses": "x"}, 409)
    assert error["fields"] == {"admission": "discharged"}
    # A discharged stay takes no more chart entries, orders or transfers.
    entries = f"/api/v1/admissions/{number}/entries"
    for body in (
        {"kind": "vitals", "data": {"pulse": 80}},
        {"kind": "nursing_note", "data": {"text": "left the ward"}},
        {"kind": "medication", "data": {"drug": "ORS", "dose": "1 sachet", "route": "oral"}},
        {"kind": "io", "data": {"intake_oral_ml": 200}},
    ):
        assert refused(ward_nurse, entries, body, 409)["fields"] == {"admission": "discharged"}
    assert refused(doc, entries, {"kind": "progress_note", "data": {"text": "x"}}, 409)
    assert refused(doc, f"/api/v1/admissions/{number}/lab-orders", {"tests": ["CBC"]}, 409)
    assert before.unchanged()
    assert doc.get(f"/api/v1/admissions/{number}").json()["discharge"]["type"] == "normal"


def test_a_discharge_given_a_time_keeps_it(layout, admit, patient, doc):
    number = admit(patient(), "MW1-05")["admission"]
    later = timeutil.local(timeutil.now() + timedelta(minutes=1)).replace(
        tzinfo=None, microsecond=0
    )
    response = doc.post(
        f"/api/v1/admissions/{number}/discharge",
        {"type": "referred", "at": later.isoformat(), "diagnoses": "Head injury"},
    )
    assert response.status_code == 200, response.content
    stored = Admission.objects.get(admission_no=number).discharged_ms
    expected = later.replace(tzinfo=timeutil.hospital_zone())
    assert stored == int(expected.timestamp() * 1000)


# -- ward lab orders ---------------------------------------------------------------------
def test_ward_lab_orders_reach_the_laboratory_from_the_ward(
    layout, admit, patient, doc, ward_nurse, api_as, lab_tech, snapshot
):
    uhid = patient()
    a = admit(uhid, "ICU-04")
    number = a["admission"]
    response = doc.post(
        f"/api/v1/admissions/{number}/lab-orders", {"tests": ["CBC", "KFT"], "note": "stat"}
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["tests"] == ["CBC", "KFT"] and order["status"] == "ordered"
    row = LabOrder.objects.get(order_no=order["order"])
    assert (row.source, row.uhid, row.visit, row.department) == ("ward", uhid, number, "ICU")
    assert (row.ordered_by, row.note) == ("meera", "stat")
    lab = api_as(lab_tech)
    collected = lab.post(f"/api/v1/lab/orders/{order['order']}/collect")
    assert collected.status_code == 201, collected.content

    before = snapshot()
    url = f"/api/v1/admissions/{number}/lab-orders"
    assert refused(ward_nurse, url, {"tests": ["CBC"]}, 403)
    assert "tests" in refused(doc, url, {"tests": ["NOPE"]}, 400)["fields"]
    refused(doc, url, {"tests": []}, 400)
    assert before.unchanged()


# -- the census --------------------------------------------------------------------------
def test_the_census_counts_midnight_patients_and_the_days_movement(
    layout, admit, patient, doc, ward_nurse, clerk_api
):
    today = timeutil.today()
    # Admitted and discharged the same day: an admission and a discharge, not at midnight.
    brief = admit(patient(), "MW1-01")["admission"]
    done = doc.post(f"/api/v1/admissions/{brief}/discharge", {"type": "normal", "diagnoses": "x"})
    assert done.status_code == 200
    # Still in at midnight.
    admit(patient(), "MW1-02")
    # Moved from MW1 to the ICU during the day.
    moved = admit(patient(), "MW1-03")["admission"]
    assert (
        ward_nurse.post(f"/api/v1/admissions/{moved}/transfer", {"bed": "ICU-01"}).status_code
        == 200
    )
    # Moved within the ward: not a transfer between wards.
    within = admit(patient(), "MW1-04")["admission"]
    assert (
        ward_nurse.post(f"/api/v1/admissions/{within}/transfer", {"bed": "MW1-05"}).status_code
        == 200
    )

    body = census(clerk_api, today)
    assert body["date"] == today.isoformat()
    mw1, icu = body["by_ward"]["MW1"], body["by_ward"]["ICU"]
    assert (mw1["beds"], mw1["at_midnight"], mw1["admitted"], mw1["discharged"]) == (30, 2, 4, 1)
    assert (mw1["transferred_in"], mw1["transferred_out"]) == (0, 1)
    assert mw1["occupancy"] == round(100 * 2 / 30, 1)
    assert (icu["at_midnight"], icu["admitted"], icu["transferred_in"], icu["transferred_out"]) == (
        1,
        0,
        1,
        0,
    )
    assert icu["occupancy"] == round(100 / 12, 1)
    assert body["total"] == 3 and body["beds"] == BEDS
    assert sum(r["at_midnight"] for r in body["wards"]) == body["total"]
    assert body["by_ward"]["MW2"]["at_midnight"] == 0
    # Today is the default day.
    assert census(clerk_api) == body

    # The day before, nobody was in.
    yesterday = census(clerk_api, today - timedelta(days=1))
    assert yesterday["total"] == 0
    assert all(r["admitted"] == r["discharged"] == 0 for r in yesterday["wards"])
    assert clerk_api.get("/api/v1/census?date=31-12-2025").status_code == 400


def test_out_of_service_beds_are_not_counted_in_occupancy(layout, admit, patient, ward_nurse):
    admit(patient(), "ICU-01")
    ward_nurse.post("/api/v1/beds/ICU-12/service", {"in_service": False, "reason": "repair"})
    icu = census(ward_nurse)["by_ward"]["ICU"]
    assert (icu["beds"], icu["at_midnight"], icu["occupancy"]) == (11, 1, round(100 / 11, 1))


# -- the layout --------------------------------------------------------------------------
def test_an_admin_defines_and_redefines_a_ward(hospital, api_as, admin, nurse):
    ward = {
        "code": "HDU",
        "name_en": "High Dependency Unit",
        "name_hi": "हाई डिपेंडेंसी यूनिट",
        "kind": "icu",
        "sex": "any",
        "department": "MED",
        "beds": [{"bed": "1", "room": "A"}, {"bed": "2", "room": "A"}, {"bed": "3"}],
    }
    assert api_as(nurse).client.put(
        "/api/v1/wards/HDU", data=ward, content_type="application/json"
    ).status_code in (401, 403)
    it = api_as(admin)
    response = it.client.put(
        "/api/v1/wards/HDU", data=ward, content_type="application/json", headers=it.headers
    )
    assert response.status_code == 200, response.content
    assert response.json()["ward"] == "HDU"
    assert list(Bed.objects.filter(ward="HDU").order_by("order").values_list("bed", flat=True)) == [
        "HDU-1",
        "HDU-2",
        "HDU-3",
    ]
    fewer = {**ward, "beds": [{"bed": "1"}, {"bed": "2"}]}
    response = it.client.put(
        "/api/v1/wards/HDU", data=fewer, content_type="application/json", headers=it.headers
    )
    assert response.status_code == 200
    shown = board(api_as(nurse), "?ward=HDU")
    assert list(shown) == ["HDU-1", "HDU-2"]
    mismatch = {**ward, "code": "XYZ"}
    response = it.client.put(
        "/api/v1/wards/HDU", data=mismatch, content_type="application/json", headers=it.headers
    )
    assert response.status_code == 400


def test_a_redefinition_may_not_take_away_a_bed_with_a_patient_in_it(
    layout, admit, patient, api_as, admin, ward_nurse
):
    admit(patient(), "MW1-30")
    it = api_as(admin)
    ward = next(w for w in catalogue.demo_wards() if w["code"] == "MW1")
    fewer = {**ward, "beds": ward["beds"][:29]}
    response = it.client.put(
        "/api/v1/wards/MW1", data=fewer, content_type="application/json", headers=it.headers
    )
    assert response.status_code == 409, response.content
    assert "MW1-30" in response.json()["error"]["message"]
    assert board(ward_nurse, "?ward=MW1")["MW1-30"]["state"] == "occupied"
    empty = {**ward, "beds": [b for b in ward["beds"] if b["bed"] != "MW1-29"]}
    response = it.client.put(
        "/api/v1/wards/MW1", data=empty, content_type="application/json", headers=it.headers
    )
    assert response.status_code == 200, response.content
    assert "MW1-29" not in board(ward_nurse, "?ward=MW1")


# -- who may do what ---------------------------------------------------------------------
def test_a_clerk_admits_and_transfers_but_reads_no_chart_and_discharges_no_one(
    layout, admit, patient, clerk_api, doctor, snapshot
):
    uhid = patient()
    response = clerk_api.post(
        "/api/v1/admissions", {"uhid": uhid, "bed": "MW1-01", "attending": doctor.username}
    )
    assert response.status_code == 201, response.content
    a = response.json()
    number = a["admission"]
    assert (a["uhid"], a["bed"], a["admitted_by"]) == (uhid, "MW1-01", "asha")
    moved = clerk_api.post(f"/api/v1/admissions/{number}/transfer", {"bed": "MW1-02"})
    assert moved.status_code == 200, moved.content
    assert clerk_api.get(a["wristband"]).status_code == 200
    assert board(clerk_api, "?ward=MW1")["MW1-02"]["state"] == "occupied"
    assert census(clerk_api)["total"] == 1

    before = snapshot()
    for path in (
        f"/api/v1/admissions/{number}",
        f"/api/v1/admissions/{number}/entries",
        a["discharge_summary"],
        "/api/v1/conflicts",
    ):
        assert clerk_api.get(path).status_code == 403, path
    for path, body in (
        (f"/api/v1/admissions/{number}/discharge", {"type": "normal", "diagnoses": "x"}),
        (f"/api/v1/admissions/{number}/entries", {"kind": "vitals", "data": {"pulse": 80}}),
        (f"/api/v1/admissions/{number}/lab-orders", {"tests": ["CBC"]}),
        ("/api/v1/beds/MW1-03/service", {"in_service": False, "reason": "broken"}),
    ):
        assert clerk_api.post(path, body).status_code == 403, path
    assert before.unchanged()
    # Each refusal is itself on the record.
    denied = Event.objects.filter(type="accounts.access_denied", actor="asha")
    assert denied.count() == 8


def test_a_nurse_charts_but_writes_no_progress_note_and_discharges_no_one(
    layout, admit, patient, ward_nurse, snapshot
):
    number = admit(patient(), "MW1-01")["admission"]
    assert ward_nurse.get(f"/api/v1/admissions/{number}").status_code == 200
    before = snapshot()
    progress = {"kind": "progress_note", "data": {"text": "Improving"}}
    assert ward_nurse.post(f"/api/v1/admissions/{number}/entries", progress).status_code == 403
    discharge = {"type": "normal", "diagnoses": "x"}
    assert ward_nurse.post(f"/api/v1/admissions/{number}/discharge", discharge).status_code == 403
    assert before.unchanged()
    assert ward_nurse.get("/api/v1/conflicts").status_code == 200


def test_a_doctor_discharges_and_writes_progress_notes(layout, admit, patient, doc):
    number = admit(patient(), "MW1-01", api=doc)["admission"]
    note = doc.post(
        f"/api/v1/admissions/{number}/entries",
        {"kind": "progress_note", "data": {"text": "Day 2: better"}},
    )
    assert note.status_code == 201 and note.json()["by"] == "meera"
    assert (
        doc.post(
            f"/api/v1/admissions/{number}/discharge", {"type": "normal", "diagnoses": "x"}
        ).status_code
        == 200
    )
    assert doc.post("/api/v1/beds/MW1-01/cleaned").status_code == 403  # the nurses' job


@pytest.mark.parametrize("role", ["display", "lab", "billing", "auditor"])
def test_roles_outside_the_wards_see_and_do_nothing(
    layout, admit, patient, api_as, doctor, role, snapshot
):
    number = admit(patient(), "MW1-01")["admission"]
    outsider = api_as(make_user(f"someone-{role}", role))
    before = snapshot()
    for path in (
        "/api/v1/beds",
        "/api/v1/census",
        "/api/v1/conflicts",
        "/api/v1/admissions",
        f"/api/v1/admissions/{number}",
        f"/api/v1/admissions/{number}/entries",
        f"/api/v1/admissions/{number}/form.pdf",
        f"/api/v1/admissions/{number}/wristband.pdf",
        f"/api/v1/admissions/{number}/discharge-summary.pdf",
    ):
        assert outsider.get(path).status_code == 403, path
    for path, body in (
        ("/api/v1/admissions", {"uhid": "x", "bed": "MW1-02", "attending": doctor.username}),
        (f"/api/v1/admissions/{number}/transfer", {"bed": "MW1-02"}),
        (f"/api/v1/admissions/{number}/discharge", {"type": "normal", "diagnoses": "x"}),
        (f"/api/v1/admissions/{number}/entries", {"kind": "vitals", "data": {"pulse": 80}}),
        ("/api/v1/beds/MW1-02/cleaned", None),
        ("/api/v1/beds/MW1-02/reservation", {"uhid": ""}),
    ):
        assert outsider.post(path, body).status_code == 403, path
    assert before.unchanged()


def test_a_request_without_a_token_is_unauthorised(layout, api_as):
    anonymous = api_as(None)
    assert anonymous.get("/api/v1/beds").status_code == 401
    assert anonymous.post("/api/v1/admissions", {}).status_code == 401


def test_records_staff_read_charts_and_the_board_but_admit_no_one(
    layout, admit, patient, api_as, records, doctor
):
    number = admit(patient(), "MW1-01")["admission"]
    office = api_as(records)
    assert office.get("/api/v1/beds?ward=MW1").status_code == 200
    assert office.get(f"/api/v1/admissions/{number}").status_code == 200
    assert office.get("/api/v1/conflicts").status_code == 200
    body = {"uhid": patient(), "bed": "MW1-02", "attending": doctor.username}
    assert office.post("/api/v1/admissions", body).status_code == 403


# -- audit of reads ----------------------------------------------------------------------
def test_every_read_of_a_patient_on_the_wards_is_audited(
    layout, admit, patient, ward_nurse, doc, clerk_api
):
    uhid = patient()
    number = admit(uhid, "MW1-01")["admission"]
    reads = AuditEntry.objects.filter(patient=uhid)

    def audited(actor: str, action: str, via: str) -> int:
        return reads.filter(actor=actor, action=action, via=via).count()

    # The admission's answer is itself a read of the chart.
    assert audited("kavita", "wards.admit", "api") == 1

    ward_nurse.get("/api/v1/beds?ward=MW1")
    assert audited("kavita", "patient.search_result", "api") == 1
    ward_nurse.get("/api/v1/beds?ward=ICU")  # a board without the patient is no read of them
    assert audited("kavita", "patient.search_result", "api") == 1
    ward_nurse.get("/api/v1/admissions")
    assert audited("kavita", "patient.search_result", "api") == 2

    ward_nurse.get(f"/api/v1/admissions/{number}")
    assert audited("kavita", "wards.admission", "api") == 1
    ward_nurse.get(f"/api/v1/admissions/{number}/entries")
    assert audited("kavita", "wards.chart", "api") == 1
    clerk_api.get(f"/api/v1/admissions/{number}/wristband.pdf")
    assert audited("asha", "wards.wristband", "pdf") == 1
    clerk_api.get(f"/api/v1/admissions/{number}/form.pdf")
    assert audited("asha", "wards.form", "pdf") == 1
    clerk_api.post(f"/api/v1/admissions/{number}/transfer", {"bed": "MW1-02"})
    assert audited("asha", "wards.transfer", "api") == 1

    doc.post(f"/api/v1/admissions/{number}/discharge", {"type": "normal", "diagnoses": "x"})
    assert audited("meera", "wards.discharge", "api") == 1
    doc.get(f"/api/v1/admissions/{number}/discharge-summary.pdf")
    assert audited("meera", "wards.discharge_summary", "pdf") == 1
    # Each audit entry is a signed event in the log.
    assert Event.objects.filter(type="accounts.record_accessed", actor="meera").count() >= 2


def test_a_board_polled_all_day_records_each_patient_once_a_day_and_newcomers_at_once(
    layout, admit, patient, ward_nurse, api_as, nurse
):
    first = patient()
    admit(first, "MW1-01")
    shown = AuditEntry.objects.filter(action="patient.search_result", via="api")
    for _ in range(3):
        assert ward_nurse.get("/api/v1/beds").status_code == 200
    assert shown.filter(patient=first).count() == 1
    second = patient()
    admit(second, "MW1-02")
    ward_nurse.get("/api/v1/beds")
    assert shown.filter(patient=second).count() == 1
    assert shown.filter(patient=first).count() == 1
    # Another token (another system, or a new one) records them again.
    api_as(nurse).get("/api/v1/beds")
    assert shown.filter(patient=first).count() == 2


def test_the_conflict_worklist_read_is_audited_only_when_it_shows_patients(layout, ward_nurse):
    before = AuditEntry.objects.count()
    response = ward_nurse.get("/api/v1/conflicts")
    assert response.status_code == 200 and response.json() == []
    assert ward_nurse.get("/api/v1/conflicts?resolved=true").json() == []
    assert AuditEntry.objects.count() == before


# -- found in review ---------------------------------------------------------------------
def test_the_it_administrator_sees_no_patient_on_the_wards(layout, admit, patient, api_as, admin):
    admit(patient(), "MW1-01", diagnosis="HIV-associated TB")
    it = api_as(admin)
    assert it.get("/api/v1/beds").status_code == 403
    assert it.get("/api/v1/conflicts").status_code == 403
    assert it.get("/api/v1/admissions").status_code == 403


def test_the_list_of_admissions_shows_diagnoses_only_to_those_who_read_charts(
    layout, admit, patient, clerk_api, ward_nurse
):
    admit(patient(), "MW1-01", diagnosis="HIV-associated TB", note="isolation")
    [seen] = clerk_api.get("/api/v1/admissions").json()
    assert (seen["diagnosis"], seen["note"], seen["bed"]) == ("", "", "MW1-01")
    [charted] = ward_nurse.get("/api/v1/admissions").json()
    assert (charted["diagnosis"], charted["note"]) == ("HIV-associated TB", "isolation")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31"])
def test_a_census_for_a_date_out_of_reach_is_refused_not_a_crash(layout, ward_nurse, day):
    response = ward_nurse.get(f"/api/v1/census?date={day}")
    assert response.status_code == 400, response.content
    assert "date" in response.json()["error"]["fields"]


def test_a_number_of_hundreds_of_digits_on_the_chart_is_refused_not_a_crash(
    layout, admit, patient, ward_nurse
):
    number = admit(patient(), "MW1-01")["admission"]
    huge = int("9" * 400)
    for kind, data in (("io", {"intake_oral_ml": huge}), ("vitals", {"pulse": huge})):
        response = ward_nurse.post(
            f"/api/v1/admissions/{number}/entries", {"kind": kind, "data": data}
        )
        assert response.status_code == 400, response.content
