"""An outpatient consultation over the JSON API, from the queue to the printed prescription.

Queue moves, vitals, diagnoses, prescriptions, lab orders, referrals and admission advice;
closing a visit; append-only corrections and strikes; the timeline and the prescription
PDF; who may do what; ICD-10 and formulary search. Every refusal writes nothing.
"""

import json
from typing import Any

import pytest

from nirantar.accounts.actions import do_change_user
from nirantar.accounts.models import AuditEntry
from nirantar.ledger.models import Event
from tests import pdf
from tests.conftest import Api

pytestmark = pytest.mark.django_db

AFTER_FOOD_HI = "खाना खाने के बाद"
VITALS = {
    "bp_systolic": 130,
    "bp_diastolic": 85,
    "pulse": 78,
    "temperature_c": 37.2,
    "spo2": 98,
    "respiratory_rate": 16,
    "weight_kg": 70,
    "height_cm": 170,
}
METFORMIN = {
    "drug": "MET500",
    "dose": "1 tablet",
    "frequency": "BD",
    "duration_days": 30,
    "instructions": "after food",
}
UNLISTED = {
    "drug": "Chyawanprash",
    "dose": "1 spoon",
    "route": "oral",
    "frequency": "OD",
    "duration_days": 15,
}


# -- helpers ---------------------------------------------------------------------------
def register_visit(clerk_api: Api, uhid: str, department: str = "MED") -> dict[str, Any]:
    response = clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": department})
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def created(api: Api, path: str, body: Any) -> dict[str, Any]:
    response = api.post(path, body)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def refused(api: Api, path: str, body: Any, status: int = 400) -> dict[str, Any]:
    """The error body of a refused request (its status checked)."""
    response = api.post(path, body)
    assert response.status_code == status, response.content
    return response.json()["error"]  # type: ignore[no-any-return]


def tokens(api: Api, department: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/queues/{department}")
    assert response.status_code == 200, response.content
    assert response.json()["department"] == department
    return response.json()["tokens"]  # type: ignore[no-any-return]


def record(api: Api, visit: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/visits/{visit}/record")
    assert response.status_code == 200, response.content
    return {e["entry"]: e for e in response.json()["entries"]}


@pytest.fixture
def visit(clerk_api: Api, registered: dict[str, Any]) -> dict[str, Any]:
    return register_visit(clerk_api, registered["uhid"])


@pytest.fixture
def v(visit: dict[str, Any]) -> str:
    """The visit's path prefix."""
    return f"/api/v1/visits/{visit['visit']}"


@pytest.fixture
def doc(api_as: Any, doctor: Any) -> Api:
    return api_as(doctor)


@pytest.fixture
def nurse_api(api_as: Any, nurse: Any) -> Api:
    return api_as(nurse)


# -- 1. the queue ----------------------------------------------------------------------
def test_a_registered_visit_waits_in_its_departments_queue(doc, visit, registered):
    [token] = tokens(doc, "MED")
    assert (token["visit"], token["token"], token["uhid"]) == (
        visit["visit"],
        visit["token"],
        registered["uhid"],
    )
    assert (token["state"], token["round"], token["room"]) == ("waiting", 0, "Room 101")
    assert token["name_en"] == "Ram Kumar Sharma" and token["called_at"] is None
    assert tokens(doc, "ENT") == []


def test_a_called_token_is_the_callers_and_a_second_caller_is_told_who(doc, nurse_api, v, snapshot):
    called = doc.post(f"{v}/call", {})
    assert called.status_code == 200, called.content
    assert (called.json()["state"], called.json()["by"]) == ("called", "meera")

    before = snapshot()
    error = refused(nurse_api, f"{v}/call", {}, 409)
    assert "Dr. Meera Iyer" in error["message"]
    assert before.unchanged()

    again = doc.post(f"{v}/call", {})  # the patient did not come: called again
    assert again.status_code == 200
    assert (again.json()["state"], again.json()["by"]) == ("called", "meera")


def test_start_then_no_show_is_refused_and_send_puts_the_patient_back_in_the_queue(doc, v):
    assert doc.post(f"{v}/call", {}).status_code == 200
    started = doc.post(f"{v}/start")
    assert started.status_code == 200 and started.json()["state"] == "consulting"
    assert refused(doc, f"{v}/no-show", None, 409)["fields"] == {"visit": "consulting"}

    sent = doc.post(f"{v}/send", {"room": "Room 102"})
    assert sent.status_code == 200, sent.content
    assert (sent.json()["state"], sent.json()["room"], sent.json()["round"]) == (
        "waiting",
        "Room 102",
        1,
    )
    [token] = tokens(doc, "MED")
    assert (token["state"], token["room"], token["round"]) == ("waiting", "Room 102", 1)


def test_sending_to_an_unknown_room_is_refused_naming_the_rooms(doc, v, snapshot):
    before = snapshot()
    error = refused(doc, f"{v}/send", {"room": "Room 999"})
    assert error["fields"]["room"] == "one of: Room 101, Room 102, Room 103, Room 104"
    assert before.unchanged()


def test_waiting_tokens_are_listed_in_arrival_order_after_those_called(doc, clerk_api, registered):
    visits = [register_visit(clerk_api, registered["uhid"]) for _ in range(3)]
    assert [t["token"] for t in tokens(doc, "MED")] == ["A-001", "A-002", "A-003"]
    assert doc.post(f"/api/v1/visits/{visits[1]['visit']}/call", {}).status_code == 200
    listed = tokens(doc, "MED")
    assert [(t["token"], t["state"]) for t in listed] == [
        ("A-002", "called"),
        ("A-001", "waiting"),
        ("A-003", "waiting"),
    ]


def test_reading_the_queue_records_which_patients_it_listed(doc, clerk_api, visit, registered):
    geeta = {"name_en": "Geeta Kumari", "sex": "F", "age_years": 29}
    other = clerk_api.post("/api/v1/patients", geeta)
    assert other.status_code == 201
    register_visit(clerk_api, other.json()["uhid"], "ENT")  # another queue: not listed

    tokens(doc, "MED")
    [event] = Event.objects.filter(type="accounts.records_searched", actor="meera")
    body = json.loads(event.body)
    assert body["patients"] == [registered["uhid"]]
    assert body["via"] == "api" and "MED" in body["query"]
    seen = AuditEntry.objects.filter(actor="meera", action="patient.search_result")
    assert [e.patient for e in seen] == [registered["uhid"]]


# -- 2. vitals -------------------------------------------------------------------------
def test_vitals_are_recorded_with_the_bmi_computed(doc, v, visit):
    entry = created(doc, f"{v}/vitals", VITALS)
    assert (entry["kind"], entry["visit"], entry["by"]) == ("vitals", visit["visit"], "meera")
    assert entry["data"]["vitals"] == pytest.approx(VITALS)
    assert entry["data"]["bmi"] == 24.2


@pytest.mark.parametrize(
    "body, fields",
    [
        (
            {"bp_systolic": 400, "bp_diastolic": 20, "temperature_c": 60},
            {"bp_systolic", "bp_diastolic", "temperature_c"},
        ),
        ({"bp_systolic": 120, "pulse": 80}, {"bp_diastolic"}),
        ({"bp_systolic": 80, "bp_diastolic": 90}, {"bp_diastolic"}),
        ({"bp_systolic": 80, "bp_diastolic": 80}, {"bp_diastolic"}),
        ({"pulse": 80, "glucose": 110}, {"glucose"}),
        ({}, {"vitals"}),
    ],
    ids=["out-of-range", "half-bp", "diastolic-higher", "diastolic-equal", "unknown", "empty"],
)
def test_impossible_vitals_are_refused_naming_each_field(doc, v, snapshot, body, fields):
    before = snapshot()
    error = refused(doc, f"{v}/vitals", body)
    assert set(error["fields"]) == fields
    assert before.unchanged()


def test_an_out_of_range_reading_names_its_limits(doc, v):
    error = refused(doc, f"{v}/vitals", {"bp_systolic": 400, "bp_diastolic": 20})
    assert error["fields"]["bp_systolic"] == "400 mmHg is outside 50–300 mmHg"
    assert error["fields"]["bp_diastolic"] == "20 mmHg is outside 30–200 mmHg"


# -- 3. diagnoses ----------------------------------------------------------------------
def test_a_diagnosis_is_recorded_by_icd10_code_with_its_title(doc, v):
    entry = created(doc, f"{v}/diagnoses", {"code": "E11.9", "status": "provisional"})
    assert entry["kind"] == "diagnosis"
    assert entry["data"]["code"] == "E11.9" and entry["data"]["status"] == "provisional"
    assert entry["data"]["title"] == "Type 2 diabetes mellitus without complications"


def test_a_diagnosis_code_is_normalised(doc, v):
    entry = created(doc, f"{v}/diagnoses", {"code": "e119", "status": "final"})
    assert (entry["data"]["code"], entry["data"]["status"]) == ("E11.9", "final")


@pytest.mark.parametrize(
    "body, field",
    [({"code": "E11.99"}, "code"), ({"code": "E11.9", "status": "confirmed"}, "status")],
)
def test_a_bad_diagnosis_is_refused(doc, v, snapshot, body, field):
    before = snapshot()
    assert field in refused(doc, f"{v}/diagnoses", body)["fields"]
    assert before.unchanged()


# -- 4. prescriptions ------------------------------------------------------------------
def test_a_prescription_names_formulary_drugs_and_keeps_others_as_written(doc, v):
    by_name = METFORMIN | {"drug": "metformin 1000 mg tablet", "instructions": "After food"}
    entry = created(doc, f"{v}/prescriptions", {"items": [METFORMIN, by_name, UNLISTED]})
    first, second, third = entry["data"]["items"]
    assert (first["drug"], first["drug_code"], first["in_formulary"]) == (
        "Metformin 500 mg tablet",
        "MET500",
        True,
    )
    assert first["route"] == "oral" and first["frequency"] == "BD"
    assert (first["instructions"], first["instructions_hi"]) == ("after food", AFTER_FOOD_HI)
    assert (second["drug"], second["drug_code"]) == ("Metformin 1000 mg tablet", "MET1000")
    assert second["instructions_hi"] == AFTER_FOOD_HI
    assert (third["drug"], third["drug_code"], third["in_formulary"]) == (
        "Chyawanprash",
        "",
        False,
    )


@pytest.mark.parametrize(
    "items, field",
    [
        ([{k: x for k, x in METFORMIN.items() if k != "dose"}], "items.0.dose"),
        ([METFORMIN, METFORMIN | {"frequency": "XYZ"}], "items.1.frequency"),
        ([METFORMIN | {"duration_days": 0}], "items.0.duration_days"),
        ([METFORMIN | {"duration_days": 400}], "items.0.duration_days"),
        ([], "items"),
    ],
    ids=["no-dose", "bad-frequency", "zero-days", "400-days", "empty"],
)
def test_a_bad_prescription_is_refused_naming_the_item_and_field(doc, v, snapshot, items, field):
    before = snapshot()
    error = refused(doc, f"{v}/prescriptions", {"items": items})
    assert list(error["fields"]) == [field]
    assert before.unchanged()


# -- 5. lab orders ---------------------------------------------------------------------
def test_lab_orders_reach_the_laboratory_but_not_the_counter(
    doc, v, visit, api_as, lab_tech, clerk_api
):
    order = created(doc, f"{v}/lab-orders", {"tests": ["CBC", "hba1c"]})
    assert order["order"].startswith("LO-101-")
    assert order["tests"] == ["CBC", "HBA1C"]
    assert order["test_names"] == ["Complete blood count", "Glycated haemoglobin (HbA1c)"]
    assert (order["visit"], order["department"], order["source"], order["status"]) == (
        visit["visit"],
        "MED",
        "opd",
        "ordered",
    )

    worklist = api_as(lab_tech).get("/api/v1/lab/orders")
    assert worklist.status_code == 200
    [listed] = worklist.json()
    assert (listed["order"], listed["uhid"], listed["tests"]) == (
        order["order"],
        visit["uhid"],
        ["CBC", "HBA1C"],
    )
    assert AuditEntry.objects.filter(
        patient=visit["uhid"], actor=lab_tech.username, action="patient.search_result"
    ).exists()
    assert clerk_api.get("/api/v1/lab/orders").status_code == 403


def test_an_unknown_test_is_refused(doc, v, snapshot):
    before = snapshot()
    error = refused(doc, f"{v}/lab-orders", {"tests": ["CBC", "XRAY"]})
    assert error["fields"] == {"tests": "unknown test code: XRAY"}
    assert before.unchanged()


# -- 6. closing ------------------------------------------------------------------------
def test_a_closed_visit_takes_nothing_new_but_corrections(doc, v, snapshot):
    diagnosis = created(doc, f"{v}/diagnoses", {"code": "E11.9"})
    closed = doc.post(f"{v}/close")
    assert closed.status_code == 200 and closed.json()["state"] == "done"

    before = snapshot()
    for path, body in [
        ("vitals", {"pulse": 80}),
        ("diagnoses", {"code": "I10"}),
        ("prescriptions", {"items": [METFORMIN]}),
        ("lab-orders", {"tests": ["CBC"]}),
        ("close", None),
    ]:
        assert refused(doc, f"{v}/{path}", body, 409)["fields"]["visit"] in ("closed", "done")
    assert before.unchanged()

    correction = created(
        doc,
        f"{v}/diagnoses",
        {"code": "E11.9", "status": "final", "corrects": diagnosis["entry"], "reason": "HbA1c 8.1"},
    )
    assert correction["corrects"] == diagnosis["entry"]


# -- 7. corrections and strikes --------------------------------------------------------
def test_a_correction_keeps_the_original_visible(doc, v, visit):
    original = created(doc, f"{v}/diagnoses", {"code": "A01.0"})
    fixed = created(
        doc,
        f"{v}/diagnoses",
        {"code": "A09", "corrects": original["entry"], "reason": "Widal negative"},
    )
    assert (fixed["corrects"], fixed["reason"]) == (original["entry"], "Widal negative")
    entries = record(doc, visit["visit"])
    assert entries[original["entry"]]["current"] is False
    assert entries[original["entry"]]["corrected_by"] == [fixed["entry"]]
    assert entries[original["entry"]]["data"]["code"] == "A01.0"
    assert entries[fixed["entry"]]["current"] is True


def test_a_correction_needs_a_reason_and_an_entry_of_its_kind(doc, v, snapshot):
    diagnosis = created(doc, f"{v}/diagnoses", {"code": "E11.9"})
    vitals = created(doc, f"{v}/vitals", {"pulse": 80})
    before = snapshot()
    no_reason = {"code": "I10", "corrects": diagnosis["entry"]}
    assert "reason" in refused(doc, f"{v}/diagnoses", no_reason)["fields"]
    wrong_kind = {"code": "I10", "corrects": vitals["entry"], "reason": "typed in the wrong box"}
    assert refused(doc, f"{v}/diagnoses", wrong_kind)["fields"] == {
        "corrects": "choose a diagnosis entry"
    }
    assert before.unchanged()


def test_a_struck_entry_stays_listed_and_cannot_be_struck_twice(doc, v, visit, snapshot):
    diagnosis = created(doc, f"{v}/diagnoses", {"code": "E11.9"})
    strike = f"/api/v1/entries/{diagnosis['entry']}/strike"
    struck = created(doc, strike, {"reason": "entered for the wrong patient"})
    assert (struck["kind"], struck["corrects"]) == ("struck", diagnosis["entry"])

    entries = record(doc, visit["visit"])
    assert list(entries) == [diagnosis["entry"]]  # the marker is folded into what it strikes
    assert entries[diagnosis["entry"]]["struck_by"] == struck["entry"]
    assert entries[diagnosis["entry"]]["current"] is False

    before = snapshot()
    refused(doc, strike, {"reason": "again"}, 409)
    assert before.unchanged()


# -- 8. referral -----------------------------------------------------------------------
def test_a_referral_opens_a_visit_with_a_token_in_the_other_department(doc, v, visit):
    referral = created(doc, f"{v}/referrals", {"department": "OPH", "reason": "fundus exam"})
    new = referral["visit"]
    assert (new["department"], new["uhid"], new["token"]) == ("OPH", visit["uhid"], "A-001")
    assert new["visit"] != visit["visit"]
    assert referral["entry"]["kind"] == "referral" and referral["entry"]["visit"] == visit["visit"]
    assert referral["entry"]["data"]["new_visit"] == new["visit"]
    [token] = tokens(doc, "OPH")
    assert (token["visit"], token["state"]) == (new["visit"], "waiting")


@pytest.mark.parametrize("department", ["MED", "Cardiology"])
def test_a_referral_to_its_own_or_an_unknown_department_is_refused(doc, v, snapshot, department):
    before = snapshot()
    error = refused(doc, f"{v}/referrals", {"department": department, "reason": "second look"})
    assert "department" in error["fields"]
    assert before.unchanged()


# -- 9-11. admission, allergies, timeline, prescription ------------------------------------
def test_admission_advice_is_recorded(doc, v):
    advice = created(doc, f"{v}/admission-advice", {"urgency": "urgent", "reason": "DKA"})
    assert (advice["kind"], advice["by"]) == ("admission", "meera")
    # The reason travels in the entry's own `reason`, as a referral's does.
    assert advice["data"] == {"department": "MED", "urgency": "urgent"}
    assert advice["reason"] == "DKA"


def test_the_wards_see_admission_advice_until_it_is_struck_out(doc, v, registered, api_as, nurse):
    advice = created(doc, f"{v}/admission-advice", {"urgency": "urgent", "reason": "DKA"})
    ward = api_as(nurse)
    response = ward.get("/api/v1/admission-requests")
    assert response.status_code == 200, response.content
    [request] = response.json()
    assert (request["uhid"], request["urgency"], request["reason"]) == (
        registered["uhid"],
        "urgent",
        "DKA",
    )
    # The list names patients, so reading it is an audited read of each.
    assert AuditEntry.objects.filter(
        patient=registered["uhid"], actor=nurse.username, action="patient.search_result"
    ).exists()
    created(doc, f"/api/v1/entries/{advice['entry']}/strike", {"reason": "wrong patient"})
    assert ward.get("/api/v1/admission-requests").json() == []


def test_the_timeline_lists_visits_newest_first_and_the_read_is_audited(
    doc, clerk_api, v, visit, registered
):
    uhid = registered["uhid"]
    allergy = created(doc, f"{v}/allergies", {"substance": "Penicillin", "reaction": "rash"})
    diagnosis = created(doc, f"{v}/diagnoses", {"code": "E11.9"})
    order = created(doc, f"{v}/lab-orders", {"tests": ["HBA1C"]})
    later = register_visit(clerk_api, uhid, "ENT")

    response = doc.get(f"/api/v1/patients/{uhid}/timeline")
    assert response.status_code == 200, response.content
    timeline = response.json()
    assert (timeline["uhid"], timeline["name_en"]) == (uhid, "Ram Kumar Sharma")
    assert [a["data"]["substance"] for a in timeline["allergies"]] == ["Penicillin"]
    assert timeline["allergies"][0]["entry"] == allergy["entry"]
    newest, first = timeline["visits"]
    assert (newest["visit"], newest["entries"], newest["lab_orders"]) == (later["visit"], [], [])
    assert first["visit"] == visit["visit"]
    assert [e["entry"] for e in first["entries"]] == [allergy["entry"], diagnosis["entry"]]
    assert [o["order"] for o in first["lab_orders"]] == [order["order"]]

    entry = AuditEntry.objects.get(patient=uhid, action="patient.timeline")
    assert (entry.actor, entry.via) == ("meera", "api")
    [event] = Event.objects.filter(type="accounts.record_accessed", stream=f"audit:{uhid}")
    assert json.loads(event.body)["action"] == "patient.timeline" and event.actor == "meera"


def test_the_prescription_pdf_reads_in_both_languages_and_is_signed(
    doc, v, visit, doctor, registered
):
    do_change_user("test", doctor.username, registration_no="DMC-12345")
    created(doc, f"{v}/allergies", {"substance": "Penicillin"})
    created(doc, f"{v}/prescriptions", {"items": [METFORMIN, UNLISTED]})

    response = doc.get(f"{v}/prescription.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = pdf.text(response.content)
    assert registered["uhid"] in text and visit["visit"] in text
    assert "Metformin 500 mg tablet" in text and "Chyawanprash" in text
    assert pdf.compact(AFTER_FOOD_HI) in pdf.compact(text)
    assert "Dr. Meera Iyer" in text and "DMC-12345" in text
    assert "Not in the hospital formulary" in text
    assert "Penicillin" in text
    entry = AuditEntry.objects.get(patient=registered["uhid"], action="visit.prescription")
    assert (entry.actor, entry.via) == ("meera", "pdf")


# -- 12. permissions -------------------------------------------------------------------
def test_a_nurse_calls_and_records_vitals_but_may_not_consult(nurse_api, v, snapshot):
    assert nurse_api.post(f"{v}/call", {}).status_code == 200
    assert created(nurse_api, f"{v}/vitals", {"pulse": 88})["by"] == "kavita"
    before = snapshot()
    for path, body in [
        ("diagnoses", {"code": "E11.9"}),
        ("prescriptions", {"items": [METFORMIN]}),
        ("lab-orders", {"tests": ["CBC"]}),
        ("close", None),
    ]:
        assert nurse_api.post(f"{v}/{path}", body).status_code == 403, path
    assert before.unchanged()


def test_the_counter_and_the_lab_may_not_read_the_clinical_record(
    clerk_api, api_as, lab_tech, v, registered
):
    timeline = f"/api/v1/patients/{registered['uhid']}/timeline"
    assert clerk_api.get(f"{v}/record").status_code == 403
    assert clerk_api.get(timeline).status_code == 403
    assert api_as(lab_tech).get(timeline).status_code == 403
    assert not AuditEntry.objects.filter(action__in=("patient.timeline", "visit.record")).exists()


# -- 13. ICD-10 and formulary search ---------------------------------------------------
def test_icd10_is_searched_by_words_and_by_code(doc, hospital):
    typhoid = doc.get("/api/v1/icd10?q=typhoid")
    assert typhoid.status_code == 200
    assert {"code": "A01.0", "title": "Typhoid fever"} in typhoid.json()
    by_code = doc.get("/api/v1/icd10?q=E11.9").json()
    assert by_code[0] == {
        "code": "E11.9",
        "title": "Type 2 diabetes mellitus without complications",
    }


def test_the_formulary_is_searched_by_name(doc, hospital):
    response = doc.get("/api/v1/formulary?q=metformin")
    assert response.status_code == 200
    drugs = response.json()
    assert {"MET500", "MET1000"} <= {d["code"] for d in drugs}
    assert all(d["name"].startswith("Metformin") for d in drugs)
