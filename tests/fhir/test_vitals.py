"""GET /fhir/Observation?category=vital-signs and /fhir/Observation/vs-... - vital signs
from the OPD and the ward chart, coded as the R4 vital-signs profiles code them."""

import re
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir import vitals
from nirantar.fhir.observations import CATEGORY_SYSTEM, LOINC, UCUM
from nirantar.registration.models import Visit
from nirantar.wards.models import Admission
from tests.conftest import make_user
from tests.fhir.conftest import assert_valid_r4

pytestmark = pytest.mark.django_db
FHIR_ID = re.compile(r"^[A-Za-z0-9\-\.]{1,64}$")
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


def created(api: Any, path: str, body: Any) -> dict[str, Any]:
    response = api.post(path, body)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def vs(entry: dict[str, Any], part: str) -> str:
    return f"vs-{entry['entry'].replace(':', '.')}-{part}"


@pytest.fixture
def opd(registered, visit, api_as, nurse) -> dict[str, Any]:
    """Every reading at the OPD; then a pulse corrected, and a temperature struck out."""
    api = api_as(nurse)
    v = f"/api/v1/visits/{visit}/vitals"
    full = created(api, v, VITALS)
    wrong = created(api, v, {"pulse": 180})
    fixed = created(api, v, {"pulse": 80, "corrects": wrong["entry"], "reason": "miscounted"})
    struck = created(api, v, {"temperature_c": 39})
    doctor = api_as(make_user("ravi", "doctor", "Dr. Ravi Rao"))
    created(doctor, f"/api/v1/entries/{struck['entry']}/strike", {"reason": "other patient"})
    return {
        "uhid": registered["uhid"],
        "full": full,
        "wrong": wrong,
        "fixed": fixed,
        "struck": struck,
    }


@pytest.fixture
def ward(registered, admit, api_as, nurse) -> dict[str, Any]:
    """A stay's chart: BP and pulse, then a corrected pulse; a temperature."""
    number = admit(registered["uhid"], "MW1-03")
    url = f"/api/v1/admissions/{number}/entries"
    api = api_as(nurse)
    first = created(
        api, url, {"kind": "vitals", "data": {"pulse": 112, "bp_systolic": 100, "bp_diastolic": 60}}
    )
    fixed = created(api, url, {"kind": "vitals", "data": {"pulse": 92}, "corrects": first["entry"]})
    fever = created(api, url, {"kind": "vitals", "data": {"temperature_c": 38.45}})
    return {"admission": number, "first": first, "fixed": fixed, "fever": fever}


def search(client, query: str) -> dict[str, Any]:
    response = client.get(f"/fhir/Observation?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def quantity(value: Any, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def test_every_opd_reading_is_a_vital_signs_observation(fhir_as, doctor, opd, visit):
    client = fhir_as(doctor)
    expected = {
        "pulse": ("8867-4", quantity(78, "beats/minute", "/min")),
        "rr": ("9279-1", quantity(16, "breaths/minute", "/min")),
        "temp": ("8310-5", quantity(37.2, "Cel", "Cel")),
        "spo2": ("2708-6", quantity(98, "%", "%")),
        "weight": ("29463-7", quantity(70, "kg", "kg")),
        "height": ("8302-2", quantity(170, "cm", "cm")),
        "bmi": ("39156-5", quantity(24.2, "kg/m2", "kg/m2")),
    }
    for part, (code, value) in expected.items():
        response = client.get(f"/fhir/Observation/{vs(opd['full'], part)}")
        assert response.status_code == 200, (part, response.content)
        body = response.json()
        assert FHIR_ID.match(body["id"])
        assert body["status"] == "final"
        assert body["category"][0]["coding"][0] == {
            "system": CATEGORY_SYSTEM,
            "code": "vital-signs",
            "display": "Vital Signs",
        }
        assert body["code"]["coding"][0]["system"] == LOINC
        assert body["code"]["coding"][0]["code"] == code, part
        assert body["valueQuantity"] == value, part
        assert body["subject"] == {"reference": f"Patient/{opd['uhid']}"}
        assert body["encounter"] == {"reference": f"Encounter/{visit}"}
        assert body["performer"] == [{"display": "Kavita"}]
        assert body["effectiveDateTime"].startswith("20")
    spo2 = client.get(f"/fhir/Observation/{vs(opd['full'], 'spo2')}").json()
    assert [c["code"] for c in spo2["code"]["coding"]] == ["2708-6", "59408-5"]


def test_blood_pressure_is_one_panel_with_two_components(fhir_as, doctor, opd):
    body = fhir_as(doctor).get(f"/fhir/Observation/{vs(opd['full'], 'bp')}").json()
    assert body["code"]["coding"][0]["code"] == "85354-9"
    assert "valueQuantity" not in body
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]) for c in body["component"]] == [
        ("8480-6", quantity(130, "mmHg", "mm[Hg]")),
        ("8462-4", quantity(85, "mmHg", "mm[Hg]")),
    ]


def test_corrected_and_struck_readings_are_not_current(fhir_as, doctor, opd):
    client = fhir_as(doctor)
    body = search(client, f"patient={opd['uhid']}&category=vital-signs")
    ids = {e["resource"]["id"] for e in body["entry"]}
    assert vs(opd["fixed"], "pulse") in ids
    assert vs(opd["wrong"], "pulse") not in ids and vs(opd["struck"], "temp") not in ids
    assert body["total"] == 9  # eight from the full reading (BP one panel, BMI), one fixed
    fixed = client.get(f"/fhir/Observation/{vs(opd['fixed'], 'pulse')}").json()
    assert fixed["status"] == "corrected" and fixed["valueQuantity"]["value"] == 80
    for gone, part in (("wrong", "pulse"), ("struck", "temp")):
        read = client.get(f"/fhir/Observation/{vs(opd[gone], part)}")
        assert read.status_code == 200
        assert read.json()["status"] == "entered-in-error", gone


def test_ward_chart_vitals_are_observations_of_the_stay(fhir_as, nurse, registered, ward):
    client = fhir_as(nurse)
    stay = {"reference": f"Encounter/{ward['admission']}"}
    fever = client.get(f"/fhir/Observation/{vs(ward['fever'], 'temp')}").json()
    assert fever["valueQuantity"] == quantity(38.5, "Cel", "Cel")  # the chart keeps one decimal
    assert fever["encounter"] == stay and fever["status"] == "final"
    body = search(client, f"patient={registered['uhid']}&category=vital-signs")
    by_id = {e["resource"]["id"]: e["resource"] for e in body["entry"]}
    assert set(by_id) == {
        vs(ward["fixed"], "pulse"),
        vs(ward["fever"], "temp"),
    }
    assert by_id[vs(ward["fixed"], "pulse")]["status"] == "corrected"
    old = client.get(f"/fhir/Observation/{vs(ward['first'], 'bp')}").json()
    assert old["status"] == "entered-in-error"
    assert [c["valueQuantity"]["value"] for c in old["component"]] == [100, 60]


def test_code_searches_by_loinc_across_vitals_and_results(fhir_as, doctor, opd, ward):
    client = fhir_as(doctor)
    uhid = opd["uhid"]
    pulses = search(client, f"patient={uhid}&code=http://loinc.org|8867-4")
    assert {e["resource"]["id"] for e in pulses["entry"]} == {
        vs(opd["full"], "pulse"),
        vs(opd["fixed"], "pulse"),
        vs(ward["fixed"], "pulse"),
    }
    both = search(client, f"patient={uhid}&code=85354-9,29463-7")
    assert both["total"] == 2
    dates = [e["resource"]["effectiveDateTime"] for e in pulses["entry"]]
    assert dates == sorted(dates, reverse=True)
    assert search(client, f"patient={uhid}&category=laboratory")["total"] == 0
    assert search(client, f"patient={uhid}")["total"] == 11  # no category: all of them


def test_the_search_reads_each_part_through_its_own_audited_accessor(fhir_as, doctor, opd, ward):
    client = fhir_as(doctor)
    search(client, f"patient={opd['uhid']}")
    client.get(f"/fhir/Observation/{vs(opd['full'], 'bp')}")
    client.get(f"/fhir/Observation/{vs(ward['fever'], 'temp')}")
    actions = sorted(
        AuditEntry.objects.filter(patient=opd["uhid"], via="fhir").values_list("action", flat=True)
    )
    # laboratory, OPD and ward parts; then two reads
    assert actions == ["observation.read"] * 2 + ["observation.search"] * 3


def test_a_laboratory_user_gets_results_but_no_vital_signs(fhir_as, lab_tech, opd):
    client = fhir_as(lab_tech)
    plain = search(client, f"patient={opd['uhid']}")
    assert plain["total"] == 0  # the lab's right reads results only
    refused = client.get(f"/fhir/Observation?patient={opd['uhid']}&category=vital-signs")
    assert refused.status_code == 403
    assert client.get(f"/fhir/Observation/{vs(opd['full'], 'bp')}").status_code == 403
    actions = list(
        AuditEntry.objects.filter(patient=opd["uhid"], via="fhir").values_list("action", flat=True)
    )
    assert actions == ["observation.search"]  # the laboratory part only


def test_the_builders_give_what_stands_without_auditing(opd, ward, visit):
    built = vitals.of_visit(Visit.objects.get(visit_no=visit))
    assert len(built) == 9
    assert {o["encounter"]["reference"] for o in built} == {f"Encounter/{visit}"}
    stay = vitals.of_admission(Admission.objects.get(admission_no=ward["admission"]))
    assert [o["id"] for o in stay] == [vs(ward["fixed"], "pulse"), vs(ward["fever"], "temp")]
    for o in built + stay:
        assert_valid_r4(o)
        assert o["subject"] == {"reference": f"Patient/{opd['uhid']}"}
    assert not AuditEntry.objects.filter(patient=opd["uhid"], via="fhir").exists()


def test_bad_searches_are_400_and_unknown_ids_404(fhir_as, doctor, opd):
    client = fhir_as(doctor)
    uhid = opd["uhid"]
    for query in (
        f"patient={uhid}&category=imaging",
        f"patient={uhid}&category=http://example.org|vital-signs",
        f"patient={uhid}&code=http://snomed.info/sct|1",
    ):
        response = client.get(f"/fhir/Observation?{query}")
        assert response.status_code == 400, query
    for bad in (
        vs(opd["fixed"], "bp"),  # that reading has no BP
        vs(opd["full"], "glucose"),
        "vs-node-a.99999-bp",
        "vs-" + opd["full"]["entry"].replace(":", "."),
    ):
        response = client.get(f"/fhir/Observation/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"
