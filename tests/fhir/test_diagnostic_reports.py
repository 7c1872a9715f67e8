"""GET /fhir/DiagnosticReport?patient= and /fhir/DiagnosticReport/{id} - issued laboratory
reports, with the signed report PDF as presentedForm."""

import base64
import hashlib
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir import diagnostic_reports
from nirantar.fhir.diagnostic_reports import ACCESSION_SYSTEM, V2_0074
from nirantar.fhir.observations import LOINC
from nirantar.lab import report
from nirantar.lab.models import Sample
from nirantar.registration.models import Visit
from tests.conftest import make_user
from tests.fhir.conftest import assert_valid_r4

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports(registered, visit, api_as, doctor, lab_tech) -> dict[str, Any]:
    """From the visit the doctor orders a CBC, a liver and a kidney profile (one serum tube
    for both) and a random glucose. The CBC and the serum tube are resulted, verified and
    reported; the glucose is verified only. All through the JSON API."""
    pathologist = api_as(make_user("nandita", "pathologist", "Dr. Nandita Rao"))
    lab = api_as(lab_tech)
    tests = ["CBC", "LFT", "KFT", "RBS"]
    ordered = api_as(doctor).post(f"/api/v1/visits/{visit}/lab-orders", {"tests": tests})
    assert ordered.status_code == 201, ordered.content
    number = ordered.json()["order"]
    collected = lab.post(f"/api/v1/lab/orders/{number}/collect")
    assert collected.status_code == 201, collected.content
    samples = {t: s["accession"] for s in collected.json()["samples"] for t in s["tests"]}
    assert samples["LFT"] == samples["KFT"]
    values = {
        samples["CBC"]: {"HGB": "13.5", "WBC": "7.2", "PLT": "250"},
        samples["LFT"]: {"TBIL": "0.8", "ALT": "30", "UREA": "25", "CREAT": "0.9"},
        samples["RBS"]: {"GLUR": "110"},
    }
    for accession, entered in values.items():
        assert lab.post(f"/api/v1/lab/samples/{accession}/receive").status_code == 200
        response = lab.post(f"/api/v1/lab/samples/{accession}/results", {"values": entered})
        assert response.status_code == 201, response.content
        assert pathologist.post(f"/api/v1/lab/samples/{accession}/verify").status_code == 200
    for accession in (samples["CBC"], samples["LFT"]):
        assert pathologist.post(f"/api/v1/lab/samples/{accession}/report").status_code == 200
    return {
        "uhid": registered["uhid"],
        "order": number,
        "cbc": samples["CBC"],
        "serum": samples["LFT"],
        "rbs": samples["RBS"],
        "pathologist": pathologist,
        "doctor": api_as(doctor),
    }


def search(client, query: str) -> dict[str, Any]:
    response = client.get(f"/fhir/DiagnosticReport?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["id"]: e["resource"] for e in body.get("entry", [])}


def observation_ids(client, uhid: str, accession: str) -> set[str]:
    """The Observations /fhir/Observation serves for one sample's results."""
    body = client.get(f"/fhir/Observation?patient={uhid}").json()
    sample = Sample.objects.get(accession=accession)
    return {
        e["resource"]["id"]
        for e in body["entry"]
        if e["resource"]["identifier"][0]["value"] in sample.verified_results
    }


def test_each_issued_report_is_a_diagnostic_report_linked_to_its_results_and_orders(
    fhir_as, doctor, reports, visit
):
    client = fhir_as(doctor)
    body = search(client, f"patient={reports['uhid']}")
    found = by_id(body)
    # The glucose is verified but no report was issued: not a DiagnosticReport.
    assert set(found) == {reports["cbc"], reports["serum"]}
    cbc, serum = found[reports["cbc"]], found[reports["serum"]]
    assert cbc["identifier"] == [{"system": ACCESSION_SYSTEM, "value": reports["cbc"]}]
    assert cbc["status"] == "final"
    assert cbc["category"][0]["coding"][:2] == [
        {"system": V2_0074, "code": "LAB", "display": "Laboratory"},
        {"system": V2_0074, "code": "HM", "display": "Hematology"},
    ]
    assert cbc["code"]["coding"][0] == {
        "system": LOINC,
        "code": "58410-2",
        "display": "Complete blood count",
    }
    # Two panels in one tube: named, not coded (one coding can't stand for two panels).
    assert serum["code"] == {"text": "Liver function tests, Kidney function tests"}
    assert serum["category"][0]["coding"][1]["code"] == "CH"
    for resource in (cbc, serum):
        assert resource["subject"] == {"reference": f"Patient/{reports['uhid']}"}
        assert resource["encounter"] == {"reference": f"Encounter/{visit}"}
        assert resource["effectiveDateTime"] and resource["issued"]
        assert resource["resultsInterpreter"] == [{"display": "Dr. Nandita Rao"}]
        assert resource["performer"][0]["display"].startswith("Laboratory")
    number = reports["order"].lower()
    assert cbc["basedOn"] == [{"reference": f"ServiceRequest/{number}-cbc"}]
    assert serum["basedOn"] == [
        {"reference": f"ServiceRequest/{number}-lft"},
        {"reference": f"ServiceRequest/{number}-kft"},
    ]
    for ref in cbc["basedOn"] + serum["basedOn"]:
        assert client.get(f"/fhir/{ref['reference']}").status_code == 200
    for accession, resource in ((reports["cbc"], cbc), (reports["serum"], serum)):
        results = {r["reference"].removeprefix("Observation/") for r in resource["result"]}
        assert results == observation_ids(client, reports["uhid"], accession)
        assert len(results) == (3 if resource is cbc else 4)
    for ref in cbc["result"]:
        assert client.get(f"/fhir/{ref['reference']}").status_code == 200


def test_a_search_links_the_signed_pdf_and_the_link_serves_it(fhir_as, doctor, reports):
    body = search(fhir_as(doctor), f"patient={reports['uhid']}")
    [form] = by_id(body)[reports["cbc"]]["presentedForm"]
    assert "data" not in form  # a page of inline PDFs would be megabytes
    assert form["contentType"] == "application/pdf"
    assert form["title"] == f"Laboratory report {reports['cbc']}"
    assert form["creation"]
    path = f"/api/v1/lab/samples/{reports['cbc']}/report.pdf"
    assert form["url"] == f"http://testserver{path}"
    # The same bearer token reads it: the laboratory's own signed report.
    pdf = reports["doctor"].get(path)
    assert pdf.status_code == 200
    assert report.check_pdf(pdf.content).genuine


def test_a_read_carries_the_signed_pdf_the_laboratory_serves(fhir_as, doctor, reports):
    client = fhir_as(doctor)
    response = client.get(f"/fhir/DiagnosticReport/{reports['cbc']}")
    assert response.status_code == 200
    resource = response.json()
    listed = by_id(search(client, f"patient={reports['uhid']}"))[reports["cbc"]]
    assert {k: v for k, v in resource.items() if k != "presentedForm"} == {
        k: v for k, v in listed.items() if k != "presentedForm"
    }
    [form] = resource["presentedForm"]
    pdf = base64.b64decode(form["data"], validate=True)
    assert pdf.startswith(b"%PDF-")
    assert form["size"] == len(pdf)
    sha1 = hashlib.sha1(pdf, usedforsecurity=False).digest()  # Attachment.hash is SHA-1
    assert form["hash"] == base64.b64encode(sha1).decode()
    check = report.check_pdf(pdf)
    assert check.genuine, check.message
    assert check.accession == reports["cbc"]
    # Signed over the same content hash as the report the laboratory issued and serves.
    sample = Sample.objects.get(accession=reports["cbc"])
    served = reports["doctor"].get(f"/api/v1/lab/samples/{reports['cbc']}/report.pdf").content
    assert report.TRAILER_RE.search(pdf[-400:])[3].decode() == sample.report_hash
    assert report.TRAILER_RE.search(served[-400:])[3].decode() == sample.report_hash
    # An accession typed without its dashes names the same report.
    compact = reports["cbc"].replace("-", "")
    assert client.get(f"/fhir/DiagnosticReport/{compact}").json()["id"] == reports["cbc"]


def test_reads_and_searches_are_audited(fhir_as, nurse, reports):
    client = fhir_as(nurse)
    assert client.get(f"/fhir/DiagnosticReport?patient={reports['uhid']}").status_code == 200
    assert client.get(f"/fhir/DiagnosticReport/{reports['serum']}").status_code == 200
    actions = list(
        AuditEntry.objects.filter(
            patient=reports["uhid"], via="fhir", actor=nurse.username
        ).values_list("action", flat=True)
    )
    assert sorted(actions) == ["diagnosticreport.search", "lab.report"]


def test_an_amended_report_is_left_out_until_issued_again_then_amended(fhir_as, doctor, reports):
    client = fhir_as(doctor)
    url = f"/api/v1/lab/samples/{reports['cbc']}"
    amend = {"values": {"HGB": "12.5"}, "reason": "clotted sample rerun"}
    assert reports["pathologist"].post(f"{url}/amend", amend).status_code == 201
    # The signed report no longer says what the results say: neither is served.
    assert reports["cbc"] not in by_id(search(client, f"patient={reports['uhid']}"))
    response = client.get(f"/fhir/DiagnosticReport/{reports['cbc']}")
    assert response.status_code == 409
    assert response.json()["issue"][0]["code"] == "conflict"
    assert reports["pathologist"].post(f"{url}/verify").status_code == 200
    assert client.get(f"/fhir/DiagnosticReport/{reports['cbc']}").status_code == 409
    assert reports["pathologist"].post(f"{url}/report").status_code == 200
    resource = client.get(f"/fhir/DiagnosticReport/{reports['cbc']}").json()
    assert resource["status"] == "amended"
    results = {r["reference"].removeprefix("Observation/") for r in resource["result"]}
    assert results == observation_ids(client, reports["uhid"], reports["cbc"])
    pdf = base64.b64decode(resource["presentedForm"][0]["data"])
    assert report.check_pdf(pdf).genuine


def test_search_by_encounter_and_pages(fhir_as, doctor, reports, visit):
    client = fhir_as(doctor)
    uhid = reports["uhid"]
    assert search(client, f"patient={uhid}&encounter=Encounter/{visit}")["total"] == 2
    assert search(client, f"subject=Patient/{uhid}&encounter={visit}")["total"] == 2
    assert search(client, f"patient={uhid}&encounter=OP-101-0000002-1")["total"] == 0
    first = search(client, f"patient={uhid}&_count=1")
    assert len(first["entry"]) == 1
    [after] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = search(client, after[after.index("?") + 1 :])
    assert {e["resource"]["id"] for e in first["entry"] + second["entry"]} == {
        reports["cbc"],
        reports["serum"],
    }


def test_bad_searches_are_400_and_unknown_ids_404(fhir_as, doctor, reports):
    client = fhir_as(doctor)
    uhid = reports["uhid"]
    for query in (
        "",
        "encounter=OP-101-0000001-3",
        "patient=12345",
        f"patient={uhid}&encounter=Patient/x",
        f"patient={uhid}&code=http://loinc.org|58410-2",
        f"patient={uhid}&_count=x",
    ):
        response = client.get(f"/fhir/DiagnosticReport?{query}")
        assert response.status_code == 400, query
        assert response.json()["resourceType"] == "OperationOutcome"
    for bad in (
        reports["rbs"],  # verified, but no report issued
        "S-101-0000099-2",  # well formed, no such sample
        "S-101-0000001-9",  # a wrong check digit
        "lab-x",
        "x" * 300,
    ):
        response = client.get(f"/fhir/DiagnosticReport/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"
    # A 404 names no patient: nothing was read, nothing audited.
    assert not AuditEntry.objects.filter(action="lab.report", via="fhir").exists()


def test_roles_without_the_right_are_refused_and_nothing_is_audited(
    fhir_as, clerk, auditor, reports
):
    for user in (clerk, auditor, None):
        client = fhir_as(user)
        response = client.get(f"/fhir/DiagnosticReport?patient={reports['uhid']}")
        assert response.status_code in (401, 403)
        response = client.get(f"/fhir/DiagnosticReport/{reports['cbc']}")
        assert response.status_code in (401, 403)
    assert not AuditEntry.objects.filter(patient=reports["uhid"], via="fhir").exists()


def test_the_builders_for_documents_give_reports_with_their_observations(reports, visit):
    """What the ABDM documents call: valid R4, the PDF inline, nothing audited."""
    row = Visit.objects.get(visit_no=visit)
    before = AuditEntry.objects.count()
    found = diagnostic_reports.reports_of_visit(row)
    assert [r["id"] for r, _ in found] == [reports["cbc"], reports["serum"]]
    for resource, observations in found:
        assert_valid_r4(resource)
        assert resource["subject"] == {"reference": f"Patient/{reports['uhid']}"}
        assert report.check_pdf(base64.b64decode(resource["presentedForm"][0]["data"])).genuine
        for observation in observations:
            assert_valid_r4(observation)
            assert observation["subject"] == resource["subject"]
        assert [f"Observation/{o['id']}" for o in observations] == [
            r["reference"] for r in resource["result"]
        ]
    single = diagnostic_reports.report_of(Sample.objects.get(accession=reports["serum"]))
    assert {k: v for k, v in single.items() if k != "presentedForm"} == {
        k: v for k, v in found[1][0].items() if k != "presentedForm"
    }
    linked = diagnostic_reports.report_of(
        Sample.objects.get(accession=reports["serum"]), with_pdf=False
    )
    assert_valid_r4(linked)
    assert linked["presentedForm"][0]["url"].endswith(f"/{reports['serum']}/report.pdf")
    assert AuditEntry.objects.count() == before
