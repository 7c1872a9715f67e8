"""GET /fhir/Composition/{id} and /$document - ABDM health-record documents (NRCeS)."""

import base64
import re
from typing import Any

import pytest
from fhirclient.models import fhirelementfactory

from nirantar.accounts.models import AuditEntry
from nirantar.fhir.documents import CONFIDENTIALITY, LOINC, NRCES, SCT, URI_SYSTEM
from tests.conftest import make_user

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


# -- with the clinical builders: Conditions, vital signs, orders, reports ------------------


def created(api: Any, path: str, body: Any = None) -> dict[str, Any]:
    response = api.post(path, body)
    assert response.status_code in (200, 201), (path, response.content)
    return response.json()  # type: ignore[no-any-return]


def issue_report(api_as, lab_tech, order: str, values: dict[str, str]) -> tuple[str, Any]:
    """Collect, result, verify and issue the report of an order's one sample."""
    pathologist = api_as(make_user("nandita", "pathologist", "Dr. Nandita Rao"))
    lab = api_as(lab_tech)
    [sample] = created(lab, f"/api/v1/lab/orders/{order}/collect")["samples"]
    accession = sample["accession"]
    created(lab, f"/api/v1/lab/samples/{accession}/receive")
    created(lab, f"/api/v1/lab/samples/{accession}/results", {"values": values})
    created(pathologist, f"/api/v1/lab/samples/{accession}/verify")
    created(pathologist, f"/api/v1/lab/samples/{accession}/report")
    return accession, pathologist


CBC = {"HGB": "13.5", "WBC": "7.2", "PLT": "250"}


@pytest.fixture
def charted_stay(registered, admit, api_as, doctor, nurse, lab_tech) -> dict[str, Any]:
    """A stay with a working diagnosis, charted vitals and an issued CBC, discharged."""
    number = admit(registered["uhid"], "MW1-05", diagnosis="Fever ?")
    created(
        api_as(nurse),
        f"/api/v1/admissions/{number}/entries",
        {"kind": "vitals", "data": {"pulse": 96, "temperature_c": 38.5}},
    )
    order = created(api_as(doctor), f"/api/v1/admissions/{number}/lab-orders", {"tests": ["CBC"]})
    accession, _ = issue_report(api_as, lab_tech, order["order"], CBC)
    created(api_as(doctor), f"/api/v1/admissions/{number}/discharge", SUMMARY)
    return {"stay": number, "cbc": accession}


def test_a_discharge_summary_lists_the_stays_issued_reports(fhir_as, doctor, charted_stay):
    body = document(fhir_as(doctor), f"dischargesummary-{charted_stay['stay']}")
    found = assert_a_whole_document(body, "DischargeSummaryRecord")
    by_url = found["by_url"]
    [investigations] = [
        s for s in found["composition"]["section"] if s["code"]["coding"][0]["code"] == "721981007"
    ]
    assert investigations["code"]["coding"][0]["display"] == "Diagnostic studies report"
    [report] = [by_url[e["reference"]] for e in investigations["entry"]]
    assert report["id"] == charted_stay["cbc"]
    assert by_url[report["encounter"]["reference"]]["id"] == charted_stay["stay"]
    assert by_url[report["resultsInterpreter"][0]["reference"]]["name"] == [
        {"text": "Dr. Nandita Rao"}
    ]
    assert by_url[report["performer"][0]["reference"]]["resourceType"] == "Organization"
    # the signed PDF is linked, not inline: each is in its own DiagnosticReportRecord
    form = report["presentedForm"][0]
    assert "data" not in form
    assert form["url"].endswith(f"/api/v1/lab/samples/{charted_stay['cbc']}/report.pdf")
    assert [by_url[r["reference"]]["resourceType"] for r in report["result"]] == ["Observation"] * 3


def test_a_discharge_summary_holds_the_stays_diagnoses_vitals_and_reports(
    fhir_as, doctor, nurse, charted_stay
):
    body = document(fhir_as(doctor), f"dischargesummary-{charted_stay['stay']}")
    found = assert_a_whole_document(body, "DischargeSummaryRecord")
    by_url = found["by_url"]
    sections = {s["code"]["coding"][0]["code"]: s for s in found["composition"]["section"]}
    codes = list(sections)
    assert codes[:6] == [
        "425044008",
        "721981007",
        "1003606003",
        "1003640003",
        "734163000",
        "373942005",
    ]
    readings = [by_url[e["reference"]] for e in sections["425044008"]["entry"]]
    assert {r["code"]["coding"][0]["code"] for r in readings} >= {"8867-4", "8310-5"}
    assert all(by_url[r["performer"][0]["reference"]]["id"] == nurse.username for r in readings)
    [report] = [by_url[e["reference"]] for e in sections["721981007"]["entry"]]
    assert report["resourceType"] == "DiagnosticReport" and report["id"] == charted_stay["cbc"]
    assert by_url[report["resultsInterpreter"][0]["reference"]]["id"] == "nandita"
    assert len(report["result"]) == 3
    diagnoses = [by_url[e["reference"]] for e in sections["11535-2"]["entry"]]
    assert [d["id"] for d in diagnoses] == [
        f"{charted_stay['stay']}-admitting",
        f"{charted_stay['stay']}-discharge",
    ]
    assert by_url[diagnoses[1]["recorder"]["reference"]]["id"] == doctor.username


@pytest.fixture
def consultation(registered, visit, api_as, doctor, nurse) -> dict[str, Any]:
    """At the OPD visit: complaints and vitals (nurse), an allergy, findings, a diagnosis,
    a prescription, a lab order and advice with a follow-up date (doctor)."""
    from datetime import timedelta

    from nirantar import timeutil

    v = f"/api/v1/visits/{visit}"
    created(api_as(nurse), f"{v}/notes", {"kind": "complaints", "text": "Fever for 3 days"})
    created(api_as(nurse), f"{v}/vitals", {"pulse": 92, "bp_systolic": 130, "bp_diastolic": 84})
    doc = api_as(doctor)
    created(doc, f"{v}/allergies", {"substance": "Penicillin", "reaction": "Rash"})
    created(doc, f"{v}/notes", {"kind": "findings", "text": "Throat congested"})
    created(doc, f"{v}/diagnoses", {"code": "J06.9", "status": "final"})
    prescription = created(
        doc,
        f"{v}/prescriptions",
        {
            "items": [
                {"drug": "PARA500", "dose": "1 tablet", "frequency": "SOS", "duration_days": 3}
            ]
        },
    )
    order = created(doc, f"{v}/lab-orders", {"tests": ["CBC"]})
    day = (timeutil.today() + timedelta(days=7)).isoformat()
    created(doc, f"{v}/notes", {"kind": "advice", "text": "Plenty of fluids", "follow_up": day})
    return {
        "visit": visit,
        "uhid": registered["uhid"],
        "prescription": prescription,
        "order": order,
        "day": day,
    }


def test_an_opd_consultation_is_a_whole_op_consult_record(
    fhir_as, doctor, nurse, consultation, api_as
):
    visit = consultation["visit"]
    body = document(fhir_as(doctor), f"opconsult-{visit}")
    found = assert_a_whole_document(body, "OPConsultRecord")
    composition, by_url = found["composition"], found["by_url"]
    assert composition["type"]["coding"] == [
        {"system": SCT, "code": "371530004", "display": "Clinical consultation report"}
    ]
    assert composition["status"] == "preliminary"  # the doctor has not closed the visit
    assert by_url[composition["encounter"]["reference"]]["id"] == visit
    assert [by_url[a["reference"]]["id"] for a in composition["author"]] == [doctor.username]
    sections = {s["code"]["coding"][0]["code"]: s for s in composition["section"]}
    assert list(sections) == [
        "422843007",
        "425044008",
        "722446000",
        "721963009",
        "721912009",
        "390906007",
        "29548-5",
    ]
    assert "Fever for 3 days" in sections["422843007"]["text"]["div"]
    exam = sections["425044008"]
    assert "Throat congested" in exam["text"]["div"]
    assert {by_url[e["reference"]]["resourceType"] for e in exam["entry"]} == {"Observation"}
    [allergy] = [by_url[e["reference"]] for e in sections["722446000"]["entry"]]
    assert allergy["resourceType"] == "AllergyIntolerance"
    assert allergy["code"]["text"] == "Penicillin"
    assert allergy["reaction"][0]["manifestation"][0]["text"] == "Rash"
    [request] = [by_url[e["reference"]] for e in sections["721963009"]["entry"]]
    assert request["resourceType"] == "ServiceRequest"
    assert by_url[request["requester"]["reference"]]["id"] == doctor.username
    [medicine] = [by_url[e["reference"]] for e in sections["721912009"]["entry"]]
    assert medicine["resourceType"] == "MedicationRequest"
    [appointment] = [by_url[e["reference"]] for e in sections["390906007"]["entry"]]
    assert appointment["resourceType"] == "Appointment"
    assert appointment["requestedPeriod"][0]["start"] == consultation["day"]
    assert "Plenty of fluids" in sections["390906007"]["text"]["div"]
    [diagnosis] = [by_url[e["reference"]] for e in sections["29548-5"]["entry"]]
    assert diagnosis["code"]["coding"][0]["code"] == "J06.9"
    assert created(api_as(doctor), f"/api/v1/visits/{visit}/start") is not None
    created(api_as(doctor), f"/api/v1/visits/{visit}/close")
    assert (
        document(fhir_as(doctor), f"opconsult-{visit}")["entry"][0]["resource"]["status"] == "final"
    )


def test_a_prescription_is_a_prescription_record_with_the_printed_pdf(
    fhir_as, doctor, consultation, api_as
):
    visit = consultation["visit"]
    body = document(fhir_as(doctor), f"prescription-{visit}")
    found = assert_a_whole_document(body, "PrescriptionRecord")
    composition, by_url = found["composition"], found["by_url"]
    assert composition["type"]["coding"] == [
        {"system": SCT, "code": "440545006", "display": "Prescription record"}
    ]
    assert composition["status"] == "final"
    [section] = composition["section"]
    assert section["code"]["coding"] == [
        {"system": SCT, "code": "440545006", "display": "Prescription record"}
    ]
    assert [e["type"] for e in section["entry"]] == ["MedicationRequest", "Binary"]
    binary = by_url[section["entry"][1]["reference"]]
    assert binary["contentType"] == "application/pdf"
    assert base64.b64decode(binary["data"]).startswith(b"%PDF")
    medicine = by_url[section["entry"][0]["reference"]]
    assert by_url[medicine["requester"]["reference"]]["id"] == doctor.username
    # a corrected prescription: the record says so
    created(
        api_as(doctor),
        f"/api/v1/visits/{visit}/prescriptions",
        {
            "items": [
                {"drug": "PARA500", "dose": "1 tablet", "frequency": "TDS", "duration_days": 3}
            ],
            "corrects": consultation["prescription"]["entry"],
            "reason": "dose",
        },
    )
    again = document(fhir_as(doctor), f"prescription-{visit}")
    assert again["entry"][0]["resource"]["status"] == "amended"
    assert again["meta"]["versionId"] != body["meta"]["versionId"]


def test_opd_documents_are_audited_once_and_need_the_clinical_right(
    fhir_as, nurse, clerk, lab_tech, consultation
):
    visit, uhid = consultation["visit"], consultation["uhid"]
    for kind in ("opconsult", "prescription"):
        document(fhir_as(nurse), f"{kind}-{visit}")
    actions = list(
        AuditEntry.objects.filter(patient=uhid, via="fhir", actor=nurse.username).values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["opd.opconsult", "opd.prescription"]
    for user in (clerk, lab_tech):
        for kind in ("opconsult", "prescription"):
            assert (
                fhir_as(user).get(f"/fhir/Composition/{kind}-{visit}/$document").status_code == 403
            )
    assert (
        not AuditEntry.objects.filter(patient=uhid, via="fhir")
        .exclude(actor=nurse.username)
        .exists()
    )


def test_a_visit_with_nothing_recorded_has_no_documents(fhir_as, doctor, visit):
    for kind in ("opconsult", "prescription"):
        for suffix in ("", "/$document"):
            response = fhir_as(doctor).get(f"/fhir/Composition/{kind}-{visit}{suffix}")
            assert response.status_code == 404, (kind, suffix)


def test_a_laboratory_report_is_a_diagnostic_report_record(fhir_as, lab_tech, api_as, consultation):
    accession, _ = issue_report(api_as, lab_tech, consultation["order"]["order"], CBC)
    body = document(fhir_as(lab_tech), f"diagnosticreport-{accession}")
    found = assert_a_whole_document(body, "DiagnosticReportRecord")
    composition, by_url = found["composition"], found["by_url"]
    assert composition["type"]["coding"][0]["code"] == "721981007"
    assert [by_url[a["reference"]]["id"] for a in composition["author"]] == ["nandita"]
    [section] = composition["section"]
    assert section["code"]["coding"] == [
        {"system": SCT, "code": "4321000179101", "display": "Hematology report"}
    ]
    [entry] = section["entry"]
    assert entry["type"] == "DiagnosticReport"
    report = by_url[entry["reference"]]
    form = report["presentedForm"][0]
    assert form["contentType"] == "application/pdf"
    assert base64.b64decode(form["data"]).startswith(b"%PDF")
    results = [by_url[r["reference"]] for r in report["result"]]
    assert {r["code"]["coding"][0]["code"] for r in results} == {"718-7", "6690-2", "777-3"}
    assert by_url[composition["encounter"]["reference"]]["id"] == consultation["visit"]
    entries = AuditEntry.objects.filter(
        patient=consultation["uhid"], via="fhir", actor=lab_tech.username
    )
    assert [e.action for e in entries] == ["lab.report"]
    again = document(fhir_as(lab_tech), f"diagnosticreport-{accession}")
    assert again["meta"]["versionId"] == body["meta"]["versionId"]  # its PDF made again


def test_a_report_not_issued_has_no_document_and_clerks_are_refused(
    fhir_as, lab_tech, clerk, api_as, consultation
):
    lab = api_as(lab_tech)
    [sample] = created(lab, f"/api/v1/lab/orders/{consultation['order']['order']}/collect")[
        "samples"
    ]
    key = f"diagnosticreport-{sample['accession']}"
    assert fhir_as(lab_tech).get(f"/fhir/Composition/{key}/$document").status_code == 404
    assert fhir_as(clerk).get(f"/fhir/Composition/{key}/$document").status_code == 403
    for bad in ("diagnosticreport-S-101-9999999-1", "diagnosticreport-x"):
        assert fhir_as(lab_tech).get(f"/fhir/Composition/{bad}").status_code == 404


def test_without_the_pdf_renderer_a_document_is_sent_without_its_pdf(
    fhir_as, doctor, stay, monkeypatch
):
    from nirantar.printing.renderer import RendererUnavailable
    from nirantar.wards import documents as ward_documents

    def unavailable(found: Any) -> bytes:
        raise RendererUnavailable("no Chromium here")

    monkeypatch.setattr(ward_documents, "discharge_summary_pdf", unavailable)
    body = document(fhir_as(doctor), f"dischargesummary-{stay}")
    found = assert_a_whole_document(body, "DischargeSummaryRecord")
    assert "DocumentReference" not in found
    codes = {s["code"]["coding"][0]["code"] for s in found["composition"]["section"]}
    assert "373942005" not in codes and "11535-2" in codes


def test_a_username_that_is_no_fhir_id_still_names_one_practitioner():
    from nirantar.fhir.documents import practitioner_id

    assert practitioner_id("meera") == "meera"
    odd = {practitioner_id(name) for name in ("dr_rao", "dr-rao", "dr rao", "x" * 150)}
    assert len(odd) == 4
    assert all(re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", key) for key in odd)


def test_another_hospitals_document_of_the_same_numbers_has_other_uuids(
    fhir_as, doctor, stay, settings
):
    """Every hospital numbers from 101-0000001-3: the uuids are made in the hospital's
    own namespace (its UHID system), so two hospitals' documents never share a fullUrl."""
    ours = document(fhir_as(doctor), f"dischargesummary-{stay}")
    settings.FHIR_UHID_SYSTEM = "https://other-hospital.example.in/fhir/uhid"
    theirs = document(fhir_as(doctor), f"dischargesummary-{stay}")
    assert not {e["fullUrl"] for e in ours["entry"]} & {e["fullUrl"] for e in theirs["entry"]}
    assert ours["identifier"] != theirs["identifier"]
