"""The wards' screens: the bed board, a ward, admission, a stay's chart (transfer, discharge,
printouts), the conflict worklist and the census - through the Django test client."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nirantar import timeutil
from nirantar.accounts.models import AuditEntry
from nirantar.ledger import bootstrap, keys
from nirantar.ledger.hlc import HLC, wall_ms
from nirantar.ledger.models import Origin
from nirantar.ledger.sync import ingest_remote
from nirantar.ledger.writer import node
from nirantar.registration import actions as registration
from nirantar.wards import actions, catalogue, events
from nirantar.wards.models import Admission, Bed, Conflict, WardEntry
from tests import pdf
from tests.conftest import PASSWORD, make_user
from tests.ledger.factory import Chain

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def wards(hospital: Any) -> None:
    for ward in catalogue.demo_wards():
        actions.do_define_ward("admin", ward)


def admission_form(uhid: str, bed: str, doctor: Any, **more: str) -> dict[str, str]:
    return {
        "uhid": uhid,
        "bed": bed,
        "attending": doctor.username,
        "diagnosis": "Community-acquired pneumonia",
        "source": "direct",
        "visit": "",
        "note": "",
        **more,
    }


def cell(page: str, bed: str) -> str:
    """The bed board's cell of ``bed``."""
    match = re.search(rf'<li class="bed [^"]*" data-bed="{bed}"[^>]*>.*?</li>', page)
    assert match, f"no cell for {bed}"
    return match.group(0)


def admitted(client: Client, uhid: str, bed: str, doctor: Any) -> str:
    response = client.post("/wards/admit", admission_form(uhid, bed, doctor))
    assert response.status_code == 302, response.content.decode()
    return Admission.objects.get(uhid=uhid, discharged=False).admission_no


def test_admitting_through_the_form_puts_the_patient_on_the_board(wards, registered, nurse, doctor):
    ward = signed_in(nurse)
    before = ward.get("/wards/").content.decode()
    assert 'data-state="vacant"' in cell(before, "MW1-07")

    response = ward.post("/wards/admit", admission_form(registered["uhid"], "mw1-07", doctor))
    number = Admission.objects.get(uhid=registered["uhid"]).admission_no
    assert response.status_code == 302
    assert response["Location"] == f"/wards/stays/{number}"

    board = ward.get("/wards/").content.decode()
    occupied = cell(board, "MW1-07")
    assert 'data-state="occupied"' in occupied and "Ram Kumar Sharma" in occupied
    totals = re.search(r'<p class="totals" id="board-totals">.*?</p>', board).group(0)
    assert "Occupied: <strong>1</strong>" in totals and "Vacant: <strong>185</strong>" in totals
    page = ward.get("/wards/MW1/").content.decode()
    assert number in page and registered["uhid"] in page and "45Y/M" in page
    stay = ward.get(f"/wards/stays/{number}").content.decode()
    assert 'id="current-bed">MW1-07<' in stay and "Community-acquired pneumonia" in stay
    assert (
        f"/wards/stays/{number}/form.pdf" in stay and f"/wards/stays/{number}/wristband.pdf" in stay
    )


def test_an_occupied_bed_is_refused_beside_its_field_and_nothing_typed_is_lost(
    wards, registered, clerk, nurse, doctor
):
    ward = signed_in(nurse)
    admitted(ward, registered["uhid"], "MW1-07", doctor)
    mohan = registration.do_register_patient(
        clerk.username, {"name_en": "Mohan Lal", "sex": "M", "age_years": 60}
    )
    typed = admission_form(mohan.uhid, "MW1-07", doctor, diagnosis="Heart failure, NYHA III")
    response = ward.post("/wards/admit", typed)
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="admit-error"' in page and "bed MW1-07 is occupied" in page
    assert re.search(r'<div class="field invalid">\s*<label for="admit-bed">', page)
    assert '<span class="field-error" id="err-bed">occupied</span>' in page
    assert 'value="Heart failure, NYHA III"' in page and f'value="{mohan.uhid}"' in page
    assert re.search(r'id="admit-bed"[^>]* autofocus', page)  # the cursor goes to the bed
    assert not Admission.objects.filter(uhid=mohan.uhid).exists()


def test_a_missing_doctor_is_shown_beside_its_field_and_takes_the_cursor(wards, registered, clerk):
    response = signed_in(clerk).post(
        "/wards/admit", {"uhid": registered["uhid"], "bed": "MW1-01", "attending": ""}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="err-attending">the username of a doctor<' in page
    assert re.search(r'id="admit-attending"[^>]* autofocus', page)
    assert 'value="MW1-01"' in page and "err-uhid" not in page


def test_the_admission_desk_admits_and_prints_but_does_not_open_the_chart(
    wards, registered, clerk, doctor
):
    desk = signed_in(clerk)
    response = desk.post("/wards/admit", admission_form(registered["uhid"], "MW1-03", doctor))
    number = Admission.objects.get(uhid=registered["uhid"]).admission_no
    assert response["Location"] == f"/wards/admit?admitted={number}"
    page = desk.get(response["Location"]).content.decode()
    assert 'id="admitted"' in page and number in page and "MW1-03" in page
    form = desk.get(f"/wards/stays/{number}/form.pdf")
    band = desk.get(f"/wards/stays/{number}/wristband.pdf")
    assert form["Content-Type"] == band["Content-Type"] == "application/pdf"
    assert "Ram Kumar Sharma" in pdf.text(form.content) and number in pdf.text(form.content)
    assert desk.get(f"/wards/stays/{number}").status_code == 403
    assert desk.get(f"/wards/stays/{number}/discharge-summary.pdf").status_code == 403


def test_roles_without_the_permission_get_403(wards, registered, nurse, doctor, admin, clerk):
    lab = signed_in(make_user("rohit", "lab"))
    assert lab.get("/wards/").status_code == 403
    assert lab.get("/wards/census").status_code == 403
    assert signed_in(admin).get("/wards/admit").status_code == 403  # sees beds, admits no one
    assert signed_in(clerk).get("/wards/conflicts").status_code == 403
    number = admitted(signed_in(nurse), registered["uhid"], "MW1-07", doctor)
    nursing = signed_in(nurse)
    refused = nursing.post(f"/wards/stays/{number}/discharge", {"type": "normal"})
    assert refused.status_code == 403
    progress = {"kind": "progress_note", "text": "Better today"}
    assert nursing.post(f"/wards/stays/{number}/chart", progress).status_code == 403
    assert signed_in(doctor).post("/wards/beds/MW1-01/cleaned").status_code == 403
    assert not Admission.objects.get(admission_no=number).discharged
    assert not WardEntry.objects.filter(kind="progress_note").exists()
    assert Client().get("/wards/").status_code == 302  # to the sign-in page


def test_the_board_records_which_patients_it_showed(wards, registered, nurse, doctor, records):
    admitted(signed_in(nurse), registered["uhid"], "MW1-07", doctor)
    AuditEntry.objects.all().delete()
    assert signed_in(records).get("/wards/").status_code == 200
    [entry] = AuditEntry.objects.filter(patient=registered["uhid"])
    assert (entry.actor, entry.via, entry.action) == ("imran", "screen", "patient.search_result")
    signed_in(records).get("/wards/MW1/")
    assert AuditEntry.objects.filter(patient=registered["uhid"], actor="imran").count() == 2
    # A board of wards where no one lies shows no one, and records no one.
    signed_in(records).get("/wards/?kind=icu")
    assert AuditEntry.objects.filter(patient=registered["uhid"]).count() == 2


def test_a_board_left_open_records_each_patient_once_a_day_and_newcomers_when_they_appear(
    wards, registered, clerk_api, ram, nurse, doctor, records
):
    admitted(signed_in(nurse), registered["uhid"], "MW1-07", doctor)
    AuditEntry.objects.all().delete()
    screen = signed_in(records)  # the ward's screen, refreshing all day
    for _ in range(3):
        assert screen.get("/wards/").status_code == 200
    assert AuditEntry.objects.filter(patient=registered["uhid"], actor="imran").count() == 1
    other = clerk_api.post("/api/v1/patients", {**ram, "name_en": "Shyam Lal", "mobile": ""})
    assert other.status_code == 201, other.content
    newcomer = other.json()["uhid"]
    admitted(signed_in(nurse), newcomer, "MW1-08", doctor)
    assert screen.get("/wards/MW1/").status_code == 200
    assert AuditEntry.objects.filter(patient=newcomer, actor="imran").count() == 1
    assert AuditEntry.objects.filter(patient=registered["uhid"], actor="imran").count() == 1
    # Another session (another screen, or after signing in again) records them again.
    signed_in(records).get("/wards/")
    assert AuditEntry.objects.filter(patient=registered["uhid"], actor="imran").count() == 2


def test_the_board_filters_by_kind_and_sex(wards, nurse):
    client = signed_in(nurse)
    icu = client.get("/wards/?kind=icu").content.decode()
    assert re.findall(r'data-ward="(\w+)"', icu) == ["ICU"]
    assert 'data-count="beds">Beds: <strong>12<' in icu
    women = client.get("/wards/?sex=F").content.decode()
    shown = re.findall(r'<section class="ward-group" id="ward-(\w+)"', women)
    assert "MW1" not in shown and {"MW2", "SW2", "MAT", "ICU", "PVT"} <= set(shown)
    assert "MW2" in re.findall(
        r'data-ward="(\w+)"', client.get("/wards/?kind=bogus").content.decode()
    )


def test_the_board_takes_as_many_queries_for_many_patients_as_for_one(wards, clerk, nurse, doctor):
    client = signed_in(nurse)
    client.get("/wards/")  # the session, the user: warm

    def queries() -> int:
        with CaptureQueriesContext(connection) as seen:
            assert client.get("/wards/").status_code == 200
        return len(seen.captured_queries)

    people = [
        registration.do_register_patient(
            clerk.username, {"name_en": name, "sex": "M", "age_years": 30 + len(name)}
        )
        for name in ("Mohan Lal", "Suresh Yadav", "Arif Khan", "Gurpreet Singh")
    ]
    admitted(client, people[0].uhid, "MW1-01", doctor)
    one = queries()
    for person, bed in zip(people[1:], ("MW1-02", "SW1-05", "ICU-01"), strict=True):
        admitted(client, person.uhid, bed, doctor)
    assert queries() == one


def test_transfer_chart_discharge_and_the_summary(wards, registered, nurse, doctor):
    ward, dr = signed_in(nurse), signed_in(doctor)
    number = admitted(dr, registered["uhid"], "MW1-07", doctor)

    moved = dr.post(
        f"/wards/stays/{number}/transfer", {"bed": "MW1-09", "reason": "near the window"}
    )
    assert moved.status_code == 302
    board = ward.get("/wards/").content.decode()
    assert 'data-state="cleaning"' in cell(board, "MW1-07")
    assert 'data-state="occupied"' in cell(board, "MW1-09")
    refused = dr.post(f"/wards/stays/{number}/transfer", {"bed": "MW1-07", "reason": "back"})
    assert refused.status_code == 409 and "being cleaned" in refused.content.decode()
    assert 'value="back"' in refused.content.decode()

    ward.post(f"/wards/stays/{number}/chart", {"kind": "vitals", "pulse": "96", "spo2": "93"})
    ward.post(
        f"/wards/stays/{number}/chart",
        {"kind": "io", "intake_iv_ml": "500", "output_urine_ml": "300"},
    )
    ward.post(f"/wards/stays/{number}/chart", {"kind": "nursing_note", "text": "Slept well"})
    ward.post(
        f"/wards/stays/{number}/chart",
        {"kind": "medication", "drug": "Ceftriaxone", "dose": "1 g", "route": "IV"},
    )
    dr.post(f"/wards/stays/{number}/chart", {"kind": "progress_note", "text": "Afebrile"})
    dr.post(f"/wards/stays/{number}/lab-orders", {"tests": ["CBC", "CRP"], "note": ""})
    bad = ward.post(f"/wards/stays/{number}/chart", {"kind": "vitals", "pulse": "400"})
    assert bad.status_code == 422
    assert re.search(
        r'<div class="field small invalid">\s*<label for="vitals-pulse">', bad.content.decode()
    )
    assert 'value="400"' in bad.content.decode()

    stay = ward.get(f"/wards/stays/{number}").content.decode()
    for shown in ("96", "Slept well", "Ceftriaxone", "Afebrile", "CBC, CRP", "near the window"):
        assert shown in stay
    assert "Balance" in stay and "<strong>200 ml</strong>" in stay
    assert WardEntry.objects.filter(admission_no=number).count() == 5

    summary = {
        "type": "normal",
        "at": "",
        "diagnoses": "",
        "course": "IV antibiotics for five days",
        "condition": "Stable",
    }
    refused = dr.post(f"/wards/stays/{number}/discharge", summary)
    assert refused.status_code == 422
    page = refused.content.decode()
    assert "a discharge summary names the diagnoses" in page
    assert "IV antibiotics for five days</textarea>" in page  # what was typed stays
    assert re.search(r'id="discharge-diagnoses"[^>]* autofocus', page)

    summary["diagnoses"] = "Lobar pneumonia, right lower lobe"
    done = dr.post(f"/wards/stays/{number}/discharge", summary)
    assert done.status_code == 302
    stay = dr.get(f"/wards/stays/{number}").content.decode()
    assert (
        f"/wards/stays/{number}/discharge-summary.pdf" in stay and 'id="discharge-form"' not in stay
    )
    text = pdf.text(dr.get(f"/wards/stays/{number}/discharge-summary.pdf").content)
    assert "Ram Kumar Sharma" in text and "Lobar pneumonia" in text

    board = ward.get("/wards/").content.decode()
    assert 'data-state="cleaning"' in cell(board, "MW1-09")
    ward.post("/wards/beds/MW1-09/cleaned")
    assert Bed.objects.get(bed="MW1-09").state == "vacant"


def test_the_summary_of_a_stay_not_yet_discharged_is_refused(wards, registered, doctor):
    dr = signed_in(doctor)
    number = admitted(dr, registered["uhid"], "MW1-07", doctor)
    response = dr.get(f"/wards/stays/{number}/discharge-summary.pdf")
    assert response.status_code == 409 and b"not discharged" in response.content
    assert dr.get("/wards/stays/IP-nonsense").status_code == 400


def test_a_bed_out_of_service_needs_a_reason_and_takes_no_patient(wards, registered, nurse, doctor):
    ward = signed_in(nurse)
    response = ward.post(
        "/wards/beds/MW1-04/service", {"in_service": "0", "reason": ""}, follow=True
    )
    assert "a reason is needed" in response.content.decode()
    assert Bed.objects.get(bed="MW1-04").state == "vacant"
    response = ward.post("/wards/beds/MW1-04/service", {"in_service": "0", "reason": "broken rail"})
    assert response["Location"] == "/wards/MW1/#bed-MW1-04"
    assert Bed.objects.get(bed="MW1-04").state == "out_of_service"
    assert "broken rail" in ward.get("/wards/MW1/").content.decode()
    refused = ward.post("/wards/admit", admission_form(registered["uhid"], "MW1-04", doctor))
    assert refused.status_code == 409 and "out of service" in refused.content.decode()
    ward.post("/wards/beds/MW1-04/service", {"in_service": "1"})
    assert Bed.objects.get(bed="MW1-04").state == "vacant"


def test_a_reserved_bed_is_offered_to_its_patient(wards, registered, clerk):
    desk = signed_in(clerk)
    desk.post("/wards/beds/PVT-02/reservation", {"uhid": registered["uhid"], "note": "VIP"})
    page = desk.get("/wards/PVT/").content.decode()
    assert f"/wards/admit?bed=PVT-02&amp;uhid={registered['uhid']}" in page
    desk.post("/wards/beds/PVT-02/reservation", {"uhid": ""})
    assert Bed.objects.get(bed="PVT-02").state == "vacant"


def test_admission_advised_at_the_opd_is_admitted_with_one_click(
    wards, registered, clerk_api, api_as, clerk, doctor
):
    visit = clerk_api.post(
        "/api/v1/visits", {"uhid": registered["uhid"], "department": "MED"}
    ).json()["visit"]
    advice = api_as(doctor).post(
        f"/api/v1/visits/{visit}/admission-advice",
        {"urgency": "urgent", "reason": "Pneumonia, needs IV antibiotics"},
    )
    assert advice.status_code == 201, advice.content
    desk = signed_in(clerk)
    page = desk.get("/wards/admit").content.decode()
    link = re.search(rf'<tr data-visit="{visit}">.*?href="([^"]+)"', page, re.S)
    assert link and "urgent" in page and "Ram Kumar Sharma" in page
    form = desk.get(link.group(1).replace("&amp;", "&")).content.decode()
    assert f'value="{registered["uhid"]}"' in form and f'value="{visit}"' in form
    assert '<option value="opd" selected>' in form
    assert f'<option value="{doctor.username}" selected>' in form
    assert re.search(r'id="admit-bed"[^>]* autofocus', form)
    desk.post(
        "/wards/admit",
        admission_form(registered["uhid"], "MW1-11", doctor, source="opd", visit=visit),
    )
    row = Admission.objects.get(uhid=registered["uhid"])
    assert (row.source, row.visit, row.bed) == ("opd", visit, "MW1-11")
    assert f'data-visit="{visit}"' not in desk.get("/wards/admit").content.decode()


def ward_7() -> Chain:
    """A node enrolled as number 7, cut off from this one until its events arrive."""
    key = keys.generate()
    bootstrap.enrol(node(), node="ward-7", number=7, public_key=keys.public_text(key), actor="t")
    return Chain("ward-7", key, Origin.objects.get(name="ward-7").enrolment_hash)


def double_booked(clerk: Any, nurse: Any, doctor: Any, registered: dict) -> tuple[str, str]:
    """MW1-07 given to Ram here and, meanwhile, to Mohan at ward-7, a node cut off from
    this one: both events meet here. Returns (Ram's admission, Mohan's)."""
    ours = admitted(signed_in(nurse), registered["uhid"], "MW1-07", doctor)
    mohan = registration.do_register_patient(
        clerk.username, {"name_en": "Mohan Lal", "sex": "M", "age_years": 60}
    )
    ward7 = ward_7()
    theirs = events.ADMISSION.format(7, 1)
    event = ward7.next(
        events.PATIENT_ADMITTED,
        {
            "admission": theirs,
            "uhid": mohan.uhid,
            "ward": "MW1",
            "bed": "MW1-07",
            "attending": doctor.username,
            "diagnosis": "Stroke",
            "source": "emergency",
            "visit": "",
            "note": "",
        },
        hlc=HLC(wall_ms() - 60_000, 0),
        actor="sister-b",
    )
    assert len(ingest_remote(node().store, [event]).accepted) == 1
    return ours, theirs


def test_a_double_booked_bed_is_marked_and_resolved_from_the_worklist(
    wards, registered, clerk, nurse, doctor
):
    ours, theirs = double_booked(clerk, nurse, doctor, registered)
    client = signed_in(nurse)
    board = client.get("/wards/").content.decode()
    assert 'class="bed occupied double"' in cell(board, "MW1-07") and "×2" in cell(board, "MW1-07")
    assert "Double-booked: <strong>1</strong>" in board
    assert 'id="shared-bed"' in client.get(f"/wards/stays/{ours}").content.decode()

    page = client.get("/wards/conflicts").content.decode()
    opened = page.split('id="open-conflicts"')[1].split('id="resolved-conflicts"')[0]
    assert ours in opened and theirs in opened and "ward-7" in opened and "test-counter" in opened
    assert "Mohan Lal" in opened and "Bed given to two patients" in opened

    refused = client.post(
        f"/wards/stays/{theirs}/transfer", {"bed": "MW1-07", "reason": "", "back": "conflicts"}
    )
    assert refused.status_code == 409 and 'id="conflicts-error"' in refused.content.decode()
    moved = client.post(
        f"/wards/stays/{theirs}/transfer", {"bed": "MW1-08", "reason": "", "back": "conflicts"}
    )
    assert moved["Location"] == "/wards/conflicts"
    [conflict] = Conflict.objects.filter(kind="double_booked")
    assert not conflict.is_open
    page = client.get("/wards/conflicts").content.decode()
    assert theirs in page.split('id="resolved-conflicts"')[1] and "No open conflicts." in page
    assert 'id="shared-bed"' not in client.get(f"/wards/stays/{ours}").content.decode()


def test_discharges_that_differ_are_confirmed_by_a_doctor_from_the_worklist(
    wards, registered, doctor
):
    dr = signed_in(doctor)
    number = admitted(dr, registered["uhid"], "MW1-07", doctor)
    dr.post(f"/wards/stays/{number}/discharge", {"type": "normal", "diagnoses": "Pneumonia"})
    # Meanwhile, at ward-7, cut off: the patient left against advice an hour earlier.
    event = ward_7().next(
        events.PATIENT_DISCHARGED,
        {
            "admission": number,
            "uhid": registered["uhid"],
            "type": "lama",
            "at": wall_ms() - 3_600_000,
            **dict.fromkeys(("diagnoses", "procedures", "course"), ""),
            **dict.fromkeys(("condition", "medicines", "follow_up"), ""),
        },
        hlc=HLC(wall_ms() - 60_000, 0),
        actor="sister-b",
    )
    assert len(ingest_remote(node().store, [event]).accepted) == 1
    stay = dr.get(f"/wards/stays/{number}").content.decode()
    assert 'id="discharges-differ"' in stay
    page = dr.get("/wards/conflicts").content.decode()
    opened = page.split('id="open-conflicts"')[1].split('id="resolved-conflicts"')[0]
    assert "Discharged in different ways" in opened and "Left against medical advice" in opened
    # The earlier (ward-7's) stands until a doctor says otherwise.
    assert Admission.objects.get(admission_no=number).discharge["type"] == "lama"
    assert re.search(r'class="standing"><td>Left against', opened)
    ours = re.search(r'<tr data-discharge="([^"]+)"><td>Discharged \(normal\)', opened).group(1)

    refused = dr.post(
        f"/wards/stays/{number}/discharge/confirm",
        {"discharge": ours, "note": "", "back": "conflicts"},
    )
    assert refused.status_code == 422 and 'id="conflicts-error"' in refused.content.decode()
    done = dr.post(
        f"/wards/stays/{number}/discharge/confirm",
        {"discharge": ours, "note": "the LAMA form was for another patient", "back": "conflicts"},
    )
    assert done["Location"] == "/wards/conflicts"
    assert Admission.objects.get(admission_no=number).discharge["type"] == "normal"
    [conflict] = Conflict.objects.filter(kind="contradictory_discharge")
    assert not conflict.is_open
    assert "No open conflicts." in dr.get("/wards/conflicts").content.decode()


def test_the_midnight_census(wards, registered, nurse, doctor):
    client = signed_in(nurse)
    admitted(client, registered["uhid"], "ICU-03", doctor)

    def total(page: str) -> str:
        return re.search(r'<tr id="census-total">.*?</tr>', page, re.S).group(0)

    page = client.get("/wards/census").content.decode()
    row = re.search(r'<tr data-ward="ICU">.*?</tr>', page, re.S).group(0)
    assert '<td class="num">12</td>' in row
    assert '<td class="num" data-col="at_midnight">1</td>' in row and "8.3%" in row
    assert '<td class="num" data-col="admitted">1</td>' in row
    assert '<td class="num">186</td>' in total(page) and 'id="census-today"' in page
    yesterday = (timeutil.today() - timedelta(days=1)).isoformat()
    earlier = client.get(f"/wards/census?date={yesterday}").content.decode()
    assert 'data-col="at_midnight">0<' in total(earlier) and 'id="census-today"' not in earlier
    assert "A date is YYYY-MM-DD" in client.get("/wards/census?date=31-12-2024").content.decode()


def test_an_unknown_ward_is_not_found(wards, nurse):
    assert signed_in(nurse).get("/wards/NOPE/").status_code == 404


def test_the_board_in_hindi_names_wards_and_patients_in_hindi(wards, registered, nurse, doctor):
    client = signed_in(nurse)
    admitted(client, registered["uhid"], "MW1-07", doctor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    board = client.get("/wards/").content.decode()
    assert '<html lang="hi">' in board and "मेडिकल वार्ड 1 (पुरुष)" in board
    assert "राम कुमार शर्मा" in cell(board, "MW1-07")


def test_the_census_screen_answers_a_date_out_of_reach_with_today_and_a_message(wards, nurse):
    for day in ("0001-01-01", "9999-12-31", "2026-02-30"):
        response = signed_in(nurse).get(f"/wards/census?date={day}")
        assert response.status_code == 200
        assert "YYYY-MM-DD" in response.content.decode()
