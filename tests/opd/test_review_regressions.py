"""What a review of the OPD found, kept found: malformed peer events, corrections of
what was already corrected, prescriptions of two doctors, a closed visit reopened..."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from nirantar import timeutil
from nirantar.accounts.actions import do_change_user
from nirantar.ledger import projection
from nirantar.ledger.hlc import HLC
from nirantar.ledger.writer import node
from nirantar.opd import actions, queries
from nirantar.opd.models import Entry, QueueState
from nirantar.registration import actions as registration
from nirantar.registration.models import Department, Visit
from tests import pdf
from tests.conftest import PASSWORD, make_user
from tests.ledger.factory import Chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(clerk) -> Visit:
    patient = registration.do_register_patient(
        clerk.username, {"name_en": "Ram Kumar", "sex": "M", "age_years": 50}
    )
    return registration.do_register_visit(clerk.username, patient.uhid, "MED")


@pytest.fixture
def other(clerk) -> Visit:
    patient = registration.do_register_patient(
        clerk.username, {"name_en": "Geeta Devi", "sex": "F", "age_years": 40}
    )
    return registration.do_register_visit(clerk.username, patient.uhid, "MED")


def peer() -> Chain:
    local = node()
    return Chain("ward-7", local.key, "0" * 64, clock=[local.store.max_hlc().wall + 10])


def body(visit: Visit, **fields: Any) -> dict[str, Any]:
    return {"visit": visit.visit_no, "uhid": visit.uhid, **fields}


@pytest.mark.parametrize(
    ("type", "fields"),
    [
        ("opd.admission_advised", {"department": 5, "urgency": "urgent"}),
        ("opd.vitals_recorded", {"bmi": None}),  # no vitals
        ("opd.vitals_recorded", {"vitals": {"pulse": True}}),
        ("opd.prescribed", {"items": [{"drug": "X"}]}),
        ("opd.note_recorded", {"kind": "struck", "text": "", "follow_up": ""}),
        ("opd.note_recorded", {"kind": "advice", "text": "x", "follow_up": "2026-W50-1"}),
        ("opd.diagnosis_recorded", {"code": "E11.9", "title": "", "status": "final"}),
        ("opd.referred", {"department": "OPH", "new_visit": "nonsense", "token": "A-1"}),
        ("opd.queue_moved", {"step": "teleported", "round": 0, "date": "2026-01-01"}),
    ],
)
def test_a_malformed_event_from_a_peer_is_refused_by_its_projection(visit, type, fields):
    event = peer().next(type, body(visit, department="MED", room={"en": "R", "hi": "R"}) | fields)
    assert projection.apply_isolated(event) is not None
    assert not Entry.objects.exists() and not QueueState.objects.exists()


def test_a_lab_order_of_one_string_is_refused(visit):
    local = node()
    from nirantar.lab.events import ORDER

    chain = Chain(local.name, local.key, "0" * 64)
    event = chain.next(
        "lab.tests_ordered",
        {
            "order": ORDER.format(101, 99),
            "uhid": visit.uhid,
            "visit": visit.visit_no,
            "tests": "CBC",
            "source": "opd",
            "department": "MED",
            "note": "",
        },
    )
    assert "tests" in (projection.apply_isolated(event) or "")


def test_an_event_naming_another_patients_visit_touches_neither(doctor, visit, other):
    chain = peer()
    # In Geeta's stream, naming Ram's visit: closing it, prescribing on it.
    moved = {
        "visit": visit.visit_no,
        "uhid": other.uhid,
        "department": "MED",
        "date": visit.local_date.isoformat(),
        "step": "done",
        "round": 0,
        "room": {"en": "Room 101", "hi": "कक्ष 101"},
        "reason": "",
    }
    item = {
        "drug": "Warfarin 5 mg tablet",
        "drug_code": "",
        "in_formulary": False,
        "dose": "1",
        "route": "oral",
        "frequency": "OD",
        "duration_days": 30,
        "instructions": "",
        "instructions_hi": "",
    }
    for type, fields in (
        ("opd.queue_moved", moved),
        ("opd.prescribed", {"visit": visit.visit_no, "uhid": other.uhid, "items": [item]}),
    ):
        assert projection.apply_isolated(chain.next(type, fields)) is None
    assert actions.find_place(visit.visit_no).step == "waiting"
    assert queries.visit_record(visit).entries == []


def test_only_the_standing_entry_may_be_corrected_or_struck(doctor, visit):
    rx = {"items": [{"drug": "MET500", "dose": "1", "frequency": "BD", "duration_days": 30}]}
    first = actions.do_prescribe(doctor.username, visit.visit_no, rx)
    actions.do_prescribe(
        doctor.username, visit.visit_no, rx | {"corrects": first.entry_id, "reason": "dose"}
    )
    with pytest.raises(actions.Conflict, match="already replaced"):
        actions.do_prescribe(
            doctor.username, visit.visit_no, rx | {"corrects": first.entry_id, "reason": "again"}
        )
    with pytest.raises(actions.Conflict, match="already replaced"):
        actions.do_strike(doctor.username, first.entry_id, "entered twice")
    assert len(queries.visit_record(visit).current("prescription")) == 1


def test_each_prescriber_signs_the_prescription(api_as, doctor, visit):
    rao = make_user("dr-rao", "doctor", "Dr. Vikram Rao")
    do_change_user("test", doctor.username, registration_no="DMC-111")
    do_change_user("test", rao.username, registration_no="DMC-222")
    for user, drug in ((doctor, "MET500"), (rao, "AMLO5")):
        actions.do_prescribe(
            user.username,
            visit.visit_no,
            {"items": [{"drug": drug, "dose": "1", "frequency": "OD", "duration_days": 30}]},
        )
    response = api_as(doctor).get(f"/api/v1/visits/{visit.visit_no}/prescription.pdf")
    text = pdf.text(response.content)
    for name, number in (("Dr. Meera Iyer", "DMC-111"), ("Dr. Vikram Rao", "DMC-222")):
        assert name in text and number in text


def test_the_bmi_printed_is_from_the_latest_weight_and_height(api_as, doctor, visit):
    actions.do_record_vitals(doctor.username, visit.visit_no, {"weight_kg": 70, "height_cm": 170})
    actions.do_record_vitals(doctor.username, visit.visit_no, {"weight_kg": 90})
    response = api_as(doctor).get(f"/api/v1/visits/{visit.visit_no}/prescription.pdf")
    assert "BMI 31.1" in pdf.text(response.content)


def test_a_striking_out_from_the_desk_is_of_that_visits_entries_only(doctor, visit, other):
    theirs = actions.do_record_diagnosis(doctor.username, other.visit_no, {"code": "I10"})
    client = Client()
    assert client.login(username=doctor.username, password=PASSWORD)
    response = client.post(
        f"/desk/visits/{visit.visit_no}/strike", {"entry": theirs.entry_id, "reason": "wrong"}
    )
    assert response.status_code == 404
    assert not Entry.objects.filter(kind="struck").exists()


def test_a_closed_visit_stays_closed_when_a_send_made_apart_arrives(doctor, nurse, visit):
    actions.do_close(doctor.username, visit.visit_no)
    wall = node().store.max_hlc().wall
    sent = peer().next(
        "opd.queue_moved",
        {
            "visit": visit.visit_no,
            "uhid": visit.uhid,
            "department": "MED",
            "date": visit.local_date.isoformat(),
            "step": "sent",
            "round": 0,
            "room": {"en": "Room 103", "hi": "कक्ष 103"},
            "reason": "",
        },
        hlc=HLC(wall - 1, 0),
    )
    assert projection.apply_isolated(sent) is None
    assert actions.find_place(visit.visit_no).step == "done"
    with pytest.raises(actions.Conflict):
        actions.do_record_diagnosis(doctor.username, visit.visit_no, {"code": "I10"})


def test_calling_a_called_token_to_another_room_is_refused(doctor, visit):
    actions.do_call(doctor.username, visit.visit_no, "Room 101")
    with pytest.raises(actions.Conflict, match="send the patient"):
        actions.do_call(doctor.username, visit.visit_no, "Room 103")
    assert actions.find_place(visit.visit_no).room_en == "Room 101"


def test_starting_a_consultation_is_not_a_new_call_on_the_display(doctor, clerk, visit, other):
    actions.do_call(doctor.username, visit.visit_no)
    actions.do_call(doctor.username, other.visit_no, "Room 102")
    actions.do_start(doctor.username, visit.visit_no)
    _, latest = queries.board(Department.objects.get(code="MED"))
    assert latest[0].startswith(other.token)


def test_a_token_of_another_day_is_not_called(doctor, visit):
    Visit.objects.filter(visit_no=visit.visit_no).update(
        local_date=timeutil.today() - timedelta(days=40)
    )
    with pytest.raises(actions.Conflict, match="not today"):
        actions.do_call(doctor.username, visit.visit_no)


def test_notes_keep_their_lines_and_dates_must_be_written_out(api_as, doctor, visit):
    api = api_as(doctor)
    path = f"/api/v1/visits/{visit.visit_no}/notes"
    note = api.post(path, {"kind": "findings", "text": "chest clear\r\nabdomen soft"})
    assert note.status_code == 201, note.content
    assert note.json()["data"]["text"] == "chest clear\nabdomen soft"
    follow = (timeutil.today() + timedelta(days=10)).strftime("%Y%m%d")
    refused = api.post(path, {"kind": "advice", "text": "review", "follow_up": follow})
    assert refused.status_code == 400
    vitals = api.post(f"/api/v1/visits/{visit.visit_no}/vitals", {"weight_kg": True})
    assert vitals.status_code == 400
