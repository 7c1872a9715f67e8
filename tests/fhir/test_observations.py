"""GET /fhir/Observation?patient= and /fhir/Observation/{id} - verified laboratory results."""

import re
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir.observations import INTERPRETATION, LOINC, UCUM
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_results(registered, visit, api_as, doctor, lab_tech) -> dict[str, Any]:
    """A CBC (verified) and a urine routine (entered, not verified) for the visit, made
    through the JSON API as the doctor, the lab and the pathologist make them."""
    pathologist = api_as(make_user("nandita", "pathologist", "Dr. Nandita Rao"))
    lab = api_as(lab_tech)
    ordered = api_as(doctor).post(f"/api/v1/visits/{visit}/lab-orders", {"tests": ["CBC", "URINE"]})
    assert ordered.status_code == 201, ordered.content
    collected = lab.post(f"/api/v1/lab/orders/{ordered.json()['order']}/collect")
    assert collected.status_code == 201, collected.content
    samples = {t: s["accession"] for s in collected.json()["samples"] for t in s["tests"]}
    for accession in set(samples.values()):
        assert lab.post(f"/api/v1/lab/samples/{accession}/receive").status_code == 200
    cbc, urine = samples["CBC"], samples["URINE"]
    values = {"HGB": "6.5", "WBC": "7.24", "PLT": "250"}
    assert lab.post(f"/api/v1/lab/samples/{cbc}/results", {"values": values}).status_code == 201
    verified = pathologist.post(f"/api/v1/lab/samples/{cbc}/verify")
    assert verified.status_code == 200, verified.content
    urine_values = {"values": {"U-PROT": "Trace"}}
    assert lab.post(f"/api/v1/lab/samples/{urine}/results", urine_values).status_code == 201
    return {"cbc": cbc, "urine": urine, "pathologist": pathologist, "uhid": registered["uhid"]}


def search(client, query: str) -> dict[str, Any]:
    response = client.get(f"/fhir/Observation?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_verified_results_are_final_observations_with_loinc_ucum_and_range(
    fhir_as, doctor, lab_results, visit
):
    body = search(fhir_as(doctor), f"patient={lab_results['uhid']}")
    by_code = {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in body["entry"]}
    assert set(by_code) == {"718-7", "6690-2", "777-3"}  # HGB, WBC, PLT: not the urine
    hgb = by_code["718-7"]
    assert hgb["status"] == "final"
    assert hgb["code"]["coding"][0]["system"] == LOINC
    assert hgb["category"][0]["coding"][0]["code"] == "laboratory"
    assert hgb["subject"] == {"reference": f"Patient/{lab_results['uhid']}"}
    assert hgb["encounter"] == {"reference": f"Encounter/{visit}"}
    assert hgb["valueQuantity"] == {"value": 6.5, "unit": "g/dL", "system": UCUM, "code": "g/dL"}
    assert hgb["interpretation"][0]["coding"][0] == {
        "system": INTERPRETATION,
        "code": "LL",
        "display": "Critical low",
    }
    assert hgb["referenceRange"][0]["low"]["value"] == 13.0  # a man's range
    assert hgb["effectiveDateTime"] and hgb["issued"]
    wbc = by_code["6690-2"]
    assert wbc["valueQuantity"]["code"] == "10*3/uL"
    assert wbc["interpretation"][0]["coding"][0]["code"] == "N"


def test_one_result_reads_by_its_id_and_the_read_is_audited(fhir_as, doctor, lab_results):
    client = fhir_as(doctor)
    entry = search(client, f"patient={lab_results['uhid']}")["entry"][0]
    key = entry["resource"]["id"]
    assert re.match(r"^[A-Za-z0-9\-\.]{1,64}$", key), key  # FHIR's id (fhirclient can't tell)
    response = client.get(f"/fhir/Observation/{key}")
    assert response.status_code == 200
    assert response.json() == entry["resource"]
    actions = set(
        AuditEntry.objects.filter(
            patient=lab_results["uhid"], via="fhir", actor=doctor.username
        ).values_list("action", flat=True)
    )
    assert actions == {"observation.search", "lab.result"}


def test_an_unverified_result_is_not_served(fhir_as, lab_tech, lab_results):
    from nirantar.lab.models import Result

    client = fhir_as(lab_tech)
    pending = Result.objects.get(accession=lab_results["urine"], analyte="U-PROT")
    key = "lab-" + pending.result_id.replace(":", ".")
    assert client.get(f"/fhir/Observation/{key}").status_code == 404
    query = f"patient={lab_results['uhid']}&code=http://loinc.org|2888-6"
    assert search(client, query)["total"] == 0


def test_a_verified_amendment_is_amended(fhir_as, doctor, lab_results):
    url = f"/api/v1/lab/samples/{lab_results['cbc']}"
    amend = {"values": {"HGB": "7.5"}, "reason": "haemolysed"}
    assert lab_results["pathologist"].post(f"{url}/amend", amend).status_code == 201
    client = fhir_as(doctor)
    query = f"patient={lab_results['uhid']}&code=718-7"
    [before] = search(client, query)["entry"]  # awaiting verification: the verified value
    assert before["resource"]["valueQuantity"]["value"] == 6.5
    assert lab_results["pathologist"].post(f"{url}/verify").status_code == 200
    [after] = search(client, query)["entry"]
    assert after["resource"]["status"] == "amended"
    assert after["resource"]["valueQuantity"]["value"] == 7.5


def test_search_filters_by_code_and_category_and_pages(fhir_as, doctor, lab_results):
    client = fhir_as(doctor)
    uhid = lab_results["uhid"]
    assert search(client, f"subject=Patient/{uhid}&code=http://loinc.org|718-7")["total"] == 1
    assert search(client, f"patient={uhid}&code=718-7,777-3")["total"] == 2
    assert search(client, f"patient={uhid}&category=laboratory")["total"] == 3
    first = search(client, f"patient={uhid}&_count=2")
    assert len(first["entry"]) == 2
    [after] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = search(client, after[after.index("?") + 1 :])
    assert len(second["entry"]) == 1
    seen = {e["resource"]["id"] for e in first["entry"] + second["entry"]}
    assert len(seen) == 3


def test_bad_searches_are_400_and_unknown_ids_404(fhir_as, doctor, lab_results):
    client = fhir_as(doctor)
    uhid = lab_results["uhid"]
    for query in (
        "",
        "code=718-7",
        f"patient={uhid}&category=imaging",
        f"patient={uhid}&code=http://snomed.info/sct|1",
        f"patient={uhid}&value-quantity=5",
    ):
        response = client.get(f"/fhir/Observation?{query}")
        assert response.status_code == 400, query
        assert response.json()["resourceType"] == "OperationOutcome"
    for bad in ("lab-x-1", "lab-node-99999999", "1", "x" * 300):
        response = client.get(f"/fhir/Observation/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"


def test_roles_without_the_right_are_refused_and_nothing_is_audited(
    fhir_as, clerk, auditor, lab_results
):
    for user in (clerk, auditor, None):
        response = fhir_as(user).get(f"/fhir/Observation?patient={lab_results['uhid']}")
        assert response.status_code in (401, 403)
    assert not AuditEntry.objects.filter(patient=lab_results["uhid"], via="fhir").exists()
