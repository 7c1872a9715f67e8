"""POST /fhir/Patient - registration through the counter's own action and rules."""

import json

import pytest

from nirantar.fhir.resources import uhid_system
from tests.fhir.conftest import asha


def test_it_registers_and_answers_201_with_location(clerk_fhir):
    response = clerk_fhir.post("/fhir/Patient", asha())
    assert response.status_code == 201
    body = response.json()
    assert response["Location"] == f"http://testserver/fhir/Patient/{body['id']}"
    assert body["name"] == [
        {"use": "official", "text": "Asha Sharma"},
        {"use": "official", "text": "आशा शर्मा"},
    ]
    assert {"system": "https://healthid.ndhm.gov.in", "value": "91-5101-6530-5101"}.items() <= (
        body["identifier"][1].items()
    )
    assert body["telecom"] == [{"system": "phone", "value": "+919812345678", "use": "mobile"}]
    assert (body["gender"], body["birthDate"]) == ("female", "1990-04-01")


def test_a_patient_created_through_fhir_is_found_at_the_counter(clerk_fhir, clerk_api):
    uhid = clerk_fhir.post("/fhir/Patient", asha()).json()["id"]
    for query in ("asha", "आशा", "9812345678", "91-5101-6530-5101", uhid):
        response = clerk_api.get(f"/api/v1/patients?q={query}")
        assert [p["uhid"] for p in response.json()["results"]] == [uhid], query
    counter = clerk_api.get(f"/api/v1/patients/{uhid}").json()
    assert (counter["name_en"], counter["name_hi"], counter["sex"]) == (
        "Asha Sharma",
        "आशा शर्मा",
        "F",
    )
    assert counter["abha_number"] == "91510165305101"
    assert counter["address"]["district"] == "Sitapur"


def test_a_hindi_only_name_is_registered_as_the_hindi_name(clerk_fhir, clerk_api):
    body = clerk_fhir.post("/fhir/Patient", asha(name=[{"text": "सुनीता देवी"}])).json()
    counter = clerk_api.get(f"/api/v1/patients/{body['id']}").json()
    assert (counter["name_en"], counter["name_hi"]) == ("", "सुनीता देवी")


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"gender": "unknown"}, "Patient.gender"),
        ({"birthDate": "1990"}, "Patient.birthDate"),
        ({"birthDate": "2999-01-01"}, "Patient.birthDate"),
        ({"name": [{"text": "R2-D2"}]}, "Patient.name"),
        ({"telecom": [{"system": "phone", "value": "12345"}]}, "Patient.telecom"),
        ({"identifier": [{"system": "https://healthid.ndhm.gov.in", "value": "12"}]}, None),
        ({"identifier": [{"system": "OUR-UHID-SYSTEM", "value": "101-0000001-3"}]}, None),
        ({"deceasedBoolean": True}, "Patient.deceased"),
        ({"active": False}, "Patient.active"),
        ({"address": [{"state": "Atlantis"}]}, "Patient.address"),
    ],
)
def test_a_business_rule_refusal_is_422_and_writes_nothing(
    clerk_fhir, snapshot, change, expression
):
    before = snapshot()
    body = json.loads(json.dumps(asha(**change)).replace("OUR-UHID-SYSTEM", uhid_system()))
    response = clerk_fhir.post("/fhir/Patient", body)
    assert response.status_code == 422, response.content
    issue = response.json()["issue"][0]
    assert issue["code"] in ("business-rule", "not-supported")
    if expression:
        assert issue["expression"] == [expression]
    assert issue["expression"][0].startswith("Patient.")
    assert before.unchanged()


@pytest.mark.parametrize(
    "body",
    [
        {"resourceType": "Patient", "gender": "male", "foo": 1},
        {"resourceType": "Patient", "birthDate": "1990-02-30"},
        {"resourceType": "Patient", "name": [{"given": ["Asha", 5]}]},
        {"resourceType": "Patient", "name": "Asha"},
        {"resourceType": "Patient", "gender": "banana"},
        {"resourceType": "Observation", "status": "final"},
        {"resourceType": "Spaceship"},
        {"gender": "male"},
        [],
        "Patient",
    ],
)
def test_a_malformed_resource_is_400_and_writes_nothing(clerk_fhir, snapshot, body):
    before = snapshot()
    response = clerk_fhir.post("/fhir/Patient", body)
    assert response.status_code == 400, response.content
    assert response.json()["issue"][0]["severity"] == "error"
    assert before.unchanged()


def test_fhirclient_problems_name_the_element(clerk_fhir):
    response = clerk_fhir.post("/fhir/Patient", {"resourceType": "Patient", "nickname": "x"})
    [issue] = response.json()["issue"]
    assert issue["code"] == "structure"
    assert "nickname" in issue["diagnostics"]
    assert "0x" not in issue["diagnostics"]


def test_the_body_must_be_json_of_a_json_type(clerk_fhir):
    assert clerk_fhir.post("/fhir/Patient", raw="{not json").status_code == 400
    assert clerk_fhir.post("/fhir/Patient", raw='{"birthDate": NaN}').status_code == 400
    deep = "[" * 100_000 + "]" * 100_000
    assert clerk_fhir.post("/fhir/Patient", raw=deep).status_code == 400
    huge = json.dumps(asha(text={"status": "generated", "div": "x" * 3_000_000}))
    assert clerk_fhir.post("/fhir/Patient", raw=huge).status_code == 413
    form = clerk_fhir.post("/fhir/Patient", raw="a=b", content_type="text/plain")
    assert form.status_code == 415
    as_json = clerk_fhir.post(
        "/fhir/Patient", raw=json.dumps(asha()), content_type="application/json"
    )
    assert as_json.status_code == 201


def test_only_those_who_may_register_may_create(fhir_as, doctor, snapshot):
    nobody, the_doctor = fhir_as(None), fhir_as(doctor)
    before = snapshot()
    assert nobody.post("/fhir/Patient", asha()).status_code == 401
    response = the_doctor.post("/fhir/Patient", {"not": "even a resource"})
    assert response.status_code == 403  # refused before the body is read
    assert before.unchanged()
