"""GET /fhir/Composition/{id} and /$document - ABDM health-record documents (NRCeS)."""

import base64
from typing import Any

import pytest
from fhirclient.models import fhirelementfactory

from nirantar.accounts.models import AuditEntry
from nirantar.fhir.documents import CONFIDENTIALITY, LOINC, NRCES, SCT, URI_SYSTEM

pytestmark = pytest.mark.django_db

SUMMARY = {
    "type": "normal",
    "diagnoses": "Community-acquired pneumonia\nType 2 diabetes <uncontrolled>",
    "procedures": "Chest X-ray",
    "course": "IV antibiotics for 5 days; afebrile since day 3.",
    "condition": "Stable",
    "medicines": "Amoxicillin 500 mg TDS x 5 days",
    "follow_up": "Review in Medicine OPD after 1 week",
}


@pytest.fixture
def stay(registered, visit, admit, api_as, doctor) -> str:
    """A stay admitted from the OPD and discharged by the doctor with a full summary."""
    number = admit(registered["uhid"], "MW1-02", source="opd", visit=visit)
    done = api_as(doctor).post(f"/api/v1/admissions/{number}/discharge", SUMMARY)
    assert done.status_code == 200, done.content
    return number


def document(client, key: str) -> dict[str, Any]:
    response = client.get(f"/fhir/Composition/{key}/$document")
    assert response.status_code == 200, response.content
    return response.json()


def references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for v in node.values() for r in references(v)]
    if isinstance(node, list):
        return [r for v in node for r in references(v)]
    return []


def assert_a_whole_document(body: dict[str, Any], profile: str) -> dict[str, Any]:
    """The FHIR document rules and NRCeS's DocumentBundle: returns the resources by type."""
    assert body["resourceType"] == "Bundle" and body["type"] == "document"
    assert body["meta"]["profile"] == [NRCES + "DocumentBundle"]
    assert body["meta"]["versionId"]
    assert body["meta"]["security"] == [
        {"system": CONFIDENTIALITY, "code": "V", "display": "very restricted"}
    ]
    assert body["identifier"]["system"] == URI_SYSTEM
    assert body["identifier"]["value"].startswith("urn:uuid:")
    assert body["timestamp"]
    entries = body["entry"]
    composition = entries[0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["meta"]["profile"] == [NRCES + profile]
    full_urls = [e["fullUrl"] for e in entries]
    assert len(set(full_urls)) == len(full_urls), "each resource once"
    assert all(u.startswith("urn:uuid:") for u in full_urls)
    keys = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in entries]
    assert len(set(keys)) == len(keys)
    for entry in entries:
        # every entry is R4 on its own too (the client validated the Bundle as a whole)
        resource = entry["resource"]
        fhirelementfactory.FHIRElementFactory.instantiate(resource["resourceType"], resource)
        for ref in references(resource):
            assert ref in full_urls, f"{ref} in {resource['resourceType']} is not in the bundle"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    by_url = {e["fullUrl"]: e["resource"] for e in entries}
    assert by_url[composition["subject"]["reference"]]["resourceType"] == "Patient"
    for author in composition["author"]:
        assert by_url[author["reference"]]["resourceType"] == "Practitioner"
    assert by_url[composition["custodian"]["reference"]]["resourceType"] == "Organization"
    # NRCeS's Patient: name.text, and every identifier typed with system, code and display
    [patient] = by_type["Patient"]
    assert patient["name"][0]["text"]
    for identifier in patient["identifier"]:
        assert {"system", "code", "display"} <= set(identifier["type"]["coding"][0])
    return {"composition": composition, "by_url": by_url, **by_type}


def test_a_discharge_summary_is_a_whole_nrces_document(fhir_as, doctor, registered, stay):
    body = document(fhir_as(doctor), f"dischargesummary-{stay}")
    found = assert_a_whole_document(body, "DischargeSummaryRecord")
    composition, by_url = found["composition"], found["by_url"]
    assert composition["id"] == f"dischargesummary-{stay}"
    assert composition["type"]["coding"] == [
        {"system": SCT, "code": "373942005", "display": "Discharge summary"}
    ]
    assert composition["status"] == "final"
    assert composition["title"]
    assert composition["date"]
    encounter = by_url[composition["encounter"]["reference"]]
    assert encounter["resourceType"] == "Encounter" and encounter["id"] == stay
    assert encounter["class"]["code"] == "IMP"
    assert encounter["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "home"
    assert by_url[composition["subject"]["reference"]]["id"] == registered["uhid"]
    [author] = found["Practitioner"]
    assert author["id"] == doctor.username
    assert author["name"] == [{"text": "Dr. Meera Iyer"}]
    [hospital] = found["Organization"]
    assert hospital["name"]
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    assert set(sections) == {
        "1003640003",  # procedures (NRCeS slice)
        "1003606003",  # medications (NRCeS slice)
        "734163000",  # care plan: follow-up (NRCeS slice)
        "373942005",  # the printed summary as a DocumentReference (NRCeS slice)
        "11535-2",  # diagnoses, after the slices
        "8648-8",  # course
        "10184-0",  # condition at discharge
    }
    assert sections["1003606003"]["code"]["coding"][0] == {
        "system": SCT,
        "code": "1003606003",
        "display": "Medication history section",
    }
    assert sections["11535-2"]["code"]["coding"][0]["system"] == LOINC
    # NRCeS's slices first, in the profile's order (its slicing is open at the end only)
    codes = [s["code"]["coding"][0]["code"] for s in composition["section"]]
    assert codes[:4] == ["1003606003", "1003640003", "734163000", "373942005"]
    diagnoses = sections["11535-2"]["text"]
    assert diagnoses["status"] == "generated"
    assert diagnoses["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert "&lt;uncontrolled&gt;" in diagnoses["div"] and "<br/>" in diagnoses["div"]
    [reference] = sections["373942005"]["entry"]
    printed = by_url[reference["reference"]]
    assert printed["resourceType"] == "DocumentReference"
    attachment = printed["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert base64.b64decode(attachment["data"]).startswith(b"%PDF")
    # the bed and ward the stay names are in the document, so its references resolve
    assert {r["id"] for r in found["Location"]} == {"MW1-02", "MW1"}


def test_the_composition_alone_has_relative_references(fhir_as, doctor, registered, stay):
    response = fhir_as(doctor).get(f"/fhir/Composition/dischargesummary-{stay}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resourceType"] == "Composition"
    assert body["subject"] == {"reference": f"Patient/{registered['uhid']}"}
    assert body["encounter"] == {"reference": f"Encounter/{stay}"}
    assert body["author"] == [{"reference": f"Practitioner/{doctor.username}"}]
    assert body["identifier"]["value"].startswith("urn:uuid:")


def test_the_same_record_gives_the_same_document(fhir_as, doctor, stay):
    client = fhir_as(doctor)
    first, second = (
        document(client, f"dischargesummary-{stay}"),
        document(client, f"dischargesummary-{stay}"),
    )
    assert first["meta"]["versionId"] == second["meta"]["versionId"]
    assert first["identifier"] == second["identifier"]
    assert [e["fullUrl"] for e in first["entry"]] == [e["fullUrl"] for e in second["entry"]]


def test_a_read_is_audited_once_as_the_discharge_summary(fhir_as, nurse, registered, stay):
    document(fhir_as(nurse), f"dischargesummary-{stay}")
    entries = AuditEntry.objects.filter(
        patient=registered["uhid"], via="fhir", actor=nurse.username
    )
    assert [e.action for e in entries] == ["wards.discharge_summary"]


def test_a_stay_not_yet_discharged_has_no_summary(fhir_as, doctor, registered, admit):
    number = admit(registered["uhid"], "MW1-03")
    client = fhir_as(doctor)
    for path in (f"dischargesummary-{number}", f"dischargesummary-{number}/$document"):
        response = client.get(f"/fhir/Composition/{path}")
        assert response.status_code == 404, path
        assert response.json()["issue"][0]["code"] == "not-found"


def test_unknown_and_malformed_ids_are_404(fhir_as, doctor, stay):
    client = fhir_as(doctor)
    for bad in (
        "dischargesummary-IP-101-9999999-1",
        "dischargesummary-banana",
        "dischargesummary-",
        stay,
        "summary-" + stay,
        "x" * 300,
    ):
        for suffix in ("", "/$document"):
            response = client.get(f"/fhir/Composition/{bad}{suffix}")
            assert response.status_code == 404, bad + suffix
            assert response.json()["issue"][0]["code"] == "not-found"


def test_document_parameters_are_refused(fhir_as, doctor, stay):
    response = fhir_as(doctor).get(
        f"/fhir/Composition/dischargesummary-{stay}/$document?persist=true"
    )
    assert response.status_code == 400


def test_roles_without_the_chart_right_are_refused_and_nothing_is_audited(
    fhir_as, clerk, lab_tech, auditor, registered, stay
):
    for user in (clerk, lab_tech, auditor, None):
        client = fhir_as(user)
        for suffix in ("", "/$document"):
            status = client.get(f"/fhir/Composition/dischargesummary-{stay}{suffix}").status_code
            assert status in (401, 403), (user, suffix, status)
    assert not AuditEntry.objects.filter(patient=registered["uhid"], via="fhir").exists()


def test_a_discharge_without_a_summary_still_makes_a_document(
    fhir_as, doctor, registered, admit, api_as
):
    number = admit(registered["uhid"], "MW1-04")
    assert (
        api_as(doctor).post(f"/api/v1/admissions/{number}/discharge", {"type": "lama"}).status_code
        == 200
    )
    body = document(fhir_as(doctor), f"dischargesummary-{number}")
    found = assert_a_whole_document(body, "DischargeSummaryRecord")
    codes = {s["code"]["coding"][0]["code"] for s in found["composition"]["section"]}
    assert "373942005" in codes  # the printed summary, even without the doctor's words


def test_the_capability_statement_names_the_documents_and_document_operation(fhir_as):
    [rest] = fhir_as(None).get("/fhir/metadata").json()["rest"]
    [composition] = [r for r in rest["resource"] if r["type"] == "Composition"]
    assert [i["code"] for i in composition["interaction"]] == ["read"]
    assert NRCES + "DischargeSummaryRecord" in composition["supportedProfile"]
    [operation] = composition["operation"]
    assert operation["name"] == "document"
    assert operation["definition"].endswith("/OperationDefinition/Composition-document")
