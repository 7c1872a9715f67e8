"""The official FHIR R4 example Patients, posted to /fhir/Patient.

Each is accepted (201) or refused with an OperationOutcome naming the element - never
a 5xx. "Intact" for an accepted one means what the registration record can hold: the
chosen name's given and family parts, in order, as the name's text; gender; birthDate.
Their identifiers are medical record numbers of other hospitals (urn:oid:...), which
the record has no place for: they are reported as not kept (Prefer:
return=OperationOutcome), as is everything else the record can't hold. An ABHA
number is kept - see test_create_patient.py.
"""

import pytest

from nirantar.fhir.resources import uhid_system
from nirantar.registration.models import Patient
from tests.fhir.conftest import EXAMPLES, example

ACCEPTED = {
    "patient-example-xcda.json": "Henry Levin",
    "patient-glossy-example.json": "Henry Levin",  # the suffix "The 7th" is a title
    "patient-example-infant-mom.json": "Leia Solo",  # official name; the maiden name dropped
}
REFUSED = {
    "patient-example-a.json": (422, "Patient.birthDate"),  # no date of birth
    "patient-example-b.json": (422, "Patient.birthDate"),
    "patient-example-newborn.json": (422, "Patient.name"),  # no name at all
    "patient-example-f001-pieter.json": (422, "Patient.address[0].country"),  # Amsterdam
    "patient-example-f201-roel.json": (422, "Patient.address[0].country"),
}


def test_every_copied_example_is_covered():
    assert {p.name for p in EXAMPLES.glob("*.json")} == set(ACCEPTED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_an_accepted_example_reads_back_with_its_name_intact(clerk_fhir, name):
    posted = example(name)
    response = clerk_fhir.post("/fhir/Patient", posted)
    assert response.status_code == 201, response.content
    uhid = response.json()["id"]
    back = clerk_fhir.get(f"/fhir/Patient/{uhid}").json()
    [official] = [n for n in posted["name"] if n.get("use", "official") == "official"]
    assert back["name"] == [{"use": "official", "text": ACCEPTED[name]}]
    assert ACCEPTED[name] == " ".join([*official["given"], official["family"]])
    assert back["gender"] == posted["gender"]
    assert back["birthDate"] == posted["birthDate"]
    assert back["identifier"] == [
        {
            "use": "official",
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                ],
                "text": "UHID",
            },
            "system": uhid_system(),
            "value": uhid,
        }
    ]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_refused_example_gets_an_operation_outcome_naming_the_element(clerk_fhir, snapshot, name):
    before = snapshot()
    response = clerk_fhir.post("/fhir/Patient", example(name))
    status, expression = REFUSED[name]
    assert response.status_code == status, response.content
    [problem] = response.json()["issue"]
    assert problem["severity"] == "error"
    assert problem["expression"] == [expression]
    assert problem["diagnostics"]
    assert before.unchanged()


def test_what_is_not_kept_is_reported_when_asked(clerk_fhir):
    response = clerk_fhir.client.post(
        "/fhir/Patient",
        data=(EXAMPLES / "patient-example-infant-mom.json").read_text(),
        content_type="application/fhir+json",
        headers={**clerk_fhir.headers, "Prefer": "return=OperationOutcome"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    not_kept = [i["expression"][0] for i in body["issue"]]
    assert not_kept == [
        "Patient.id",
        "Patient.text",
        "Patient.maritalStatus",
        "Patient.generalPractitioner",
        "Patient.meta",
        "Patient.name[1]",
    ]
    assert {i["severity"] for i in body["issue"]} == {"information"}
    assert Patient.objects.filter(name_en="Leia Solo").count() == 1
