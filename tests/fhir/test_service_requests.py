"""GET /fhir/ServiceRequest?patient= and /fhir/ServiceRequest/{id} - laboratory orders,
one ServiceRequest per ordered test."""

import re
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir import service_requests
from nirantar.fhir.observations import LOINC
from nirantar.fhir.service_requests import ORDER_SYSTEM, SNOMED, TEST_SYSTEM
from nirantar.registration.models import Visit
from tests.conftest import make_user
from tests.fhir.conftest import assert_valid_r4

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(registered, visit, api_as, doctor, lab_tech) -> dict[str, Any]:
    """The doctor orders a CBC and a random glucose from the visit (the glucose is then
    collected, resulted, verified and reported); the lab counter orders a thyroid profile
    from a paper prescription. All through the JSON API."""
    pathologist = api_as(make_user("nandita", "pathologist", "Dr. Nandita Rao"))
    lab = api_as(lab_tech)
    body = {"tests": ["CBC", "RBS"], "note": "fasting since 10 pm"}
    ordered = api_as(doctor).post(f"/api/v1/visits/{visit}/lab-orders", body)
    assert ordered.status_code == 201, ordered.content
    number = ordered.json()["order"]
    collected = lab.post(f"/api/v1/lab/orders/{number}/collect")
    assert collected.status_code == 201, collected.content
    samples = {t: s["accession"] for s in collected.json()["samples"] for t in s["tests"]}
    rbs = samples["RBS"]
    assert lab.post(f"/api/v1/lab/samples/{rbs}/receive").status_code == 200
    entered = lab.post(f"/api/v1/lab/samples/{rbs}/results", {"values": {"GLUR": "110"}})
    assert entered.status_code == 201, entered.content
    assert pathologist.post(f"/api/v1/lab/samples/{rbs}/verify").status_code == 200
    assert pathologist.post(f"/api/v1/lab/samples/{rbs}/report").status_code == 200
    counter = lab.post("/api/v1/lab/orders", {"uhid": registered["uhid"], "tests": ["TFT"]})
    assert counter.status_code == 201, counter.content
    return {
        "uhid": registered["uhid"],
        "order": number,
        "counter": counter.json()["order"],
        "samples": samples,
    }


def search(client, query: str) -> dict[str, Any]:
    response = client.get(f"/fhir/ServiceRequest?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def by_test(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for entry in body.get("entry", []):
        [ours] = [c for c in entry["resource"]["code"]["coding"] if c["system"] == TEST_SYSTEM]
        found[ours["code"]] = entry["resource"]
    return found


def test_each_ordered_test_is_a_service_request_sharing_the_orders_requisition(
    fhir_as, doctor, orders, visit
):
    body = search(fhir_as(doctor), f"patient={orders['uhid']}")
    assert body["total"] == 3
    found = by_test(body)
    assert set(found) == {"CBC", "RBS", "TFT"}
    cbc, rbs, tft = found["CBC"], found["RBS"], found["TFT"]
    assert cbc["id"] == orders["order"].lower() + "-cbc"
    for resource in found.values():
        assert re.match(r"^[A-Za-z0-9\-\.]{1,64}$", resource["id"]), resource["id"]
        assert resource["intent"] == "order"
        assert resource["category"] == [
            {"coding": [{"system": SNOMED, "code": "108252007", "display": "Laboratory procedure"}]}
        ]
        assert resource["subject"] == {"reference": f"Patient/{orders['uhid']}"}
        assert resource["authoredOn"]
    assert (
        cbc["requisition"]
        == rbs["requisition"]
        == {"system": ORDER_SYSTEM, "value": orders["order"]}
    )
    assert tft["requisition"]["value"] == orders["counter"]
    assert cbc["code"]["coding"] == [
        {"system": LOINC, "code": "58410-2", "display": "Complete blood count"},
        {"system": TEST_SYSTEM, "code": "CBC", "display": "Complete blood count"},
    ]
    assert rbs["code"]["coding"][0] == {
        "system": LOINC,
        "code": "2345-7",
        "display": "Blood glucose, random",
    }
    assert [c["system"] for c in tft["code"]["coding"]] == [TEST_SYSTEM]  # no LOINC panel held
    assert rbs["status"] == "completed"  # its report is issued
    assert cbc["status"] == "active"  # collected, not reported
    assert tft["status"] == "active"  # not collected
    assert cbc["encounter"] == rbs["encounter"] == {"reference": f"Encounter/{visit}"}
    assert "encounter" not in tft  # ordered at the lab counter, from no visit
    assert cbc["requester"] == {"display": "Dr. Meera Iyer"}
    assert cbc["note"] == [{"text": "fasting since 10 pm"}]
    assert "note" not in tft
    # The newest order first.
    assert body["entry"][0]["resource"]["id"] == tft["id"]


def test_one_reads_by_its_id_in_either_case_and_reads_are_audited(fhir_as, nurse, orders):
    client = fhir_as(nurse)  # a nurse, who collects, may see what is ordered
    wanted = by_test(search(client, f"patient={orders['uhid']}"))["CBC"]
    response = client.get(f"/fhir/ServiceRequest/{wanted['id']}")
    assert response.status_code == 200
    assert response.json() == wanted
    assert client.get(f"/fhir/ServiceRequest/{wanted['id'].upper()}").json() == wanted
    actions = set(
        AuditEntry.objects.filter(
            patient=orders["uhid"], via="fhir", actor=nurse.username
        ).values_list("action", flat=True)
    )
    assert actions == {"servicerequest.search", "lab.order"}


def test_search_by_encounter_and_pages(fhir_as, lab_tech, orders, visit):
    client = fhir_as(lab_tech)
    uhid = orders["uhid"]
    assert set(by_test(search(client, f"patient={uhid}&encounter=Encounter/{visit}"))) == {
        "CBC",
        "RBS",
    }
    assert search(client, f"subject=Patient/{uhid}&encounter={visit.lower()}")["total"] == 2
    assert search(client, f"patient={uhid}&encounter=OP-101-0000002-1")["total"] == 0
    first = search(client, f"patient={uhid}&_count=2")
    assert len(first["entry"]) == 2
    [after] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = search(client, after[after.index("?") + 1 :])
    seen = {e["resource"]["id"] for e in first["entry"] + second["entry"]}
    assert len(seen) == 3


def test_a_patient_nobody_holds_is_an_empty_answer(fhir_as, doctor, orders):
    assert search(fhir_as(doctor), "patient=101-0000099-2")["total"] == 0


def test_bad_searches_are_400_and_unknown_ids_404(fhir_as, doctor, orders):
    client = fhir_as(doctor)
    uhid = orders["uhid"]
    for query in (
        "",
        "encounter=OP-101-0000001-3",
        "patient=12345",
        f"patient={uhid}&subject=Patient/101-0000099-9",
        f"patient={uhid}&encounter=Patient/x",
        f"patient={uhid}&status=active",
        f"patient={uhid}&_count=1000",
    ):
        response = client.get(f"/fhir/ServiceRequest?{query}")
        assert response.status_code == 400, query
        assert response.json()["resourceType"] == "OperationOutcome"
    number = orders["order"].lower()
    for bad in (
        "x",
        "lo-101-0000001-9-cbc",  # a wrong check digit
        "lo-101-0000999-3-cbc",  # no such order
        f"{number}-tft",  # a test not in that order
        f"{number}",
        "x" * 300,
    ):
        response = client.get(f"/fhir/ServiceRequest/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"
    # A 404 names no patient: nothing was read, nothing audited.
    assert not AuditEntry.objects.filter(action="lab.order", via="fhir").exists()


def test_roles_without_the_right_are_refused_and_nothing_is_audited(
    fhir_as, clerk, auditor, orders
):
    number = orders["order"].lower()
    for user in (clerk, auditor, None):
        client = fhir_as(user)
        assert client.get(f"/fhir/ServiceRequest?patient={orders['uhid']}").status_code in (
            401,
            403,
        )
        assert client.get(f"/fhir/ServiceRequest/{number}-cbc").status_code in (401, 403)
    assert not AuditEntry.objects.filter(patient=orders["uhid"], via="fhir").exists()


def test_of_visit_builds_the_visits_requests_for_a_document(orders, visit):
    """The builder the ABDM documents call: valid R4, nothing audited."""
    row = Visit.objects.get(visit_no=visit)
    before = AuditEntry.objects.count()
    found = service_requests.of_visit(row)
    assert [r["id"] for r in found] == [
        f"{orders['order'].lower()}-cbc",
        f"{orders['order'].lower()}-rbs",
    ]
    for resource in found:
        assert_valid_r4(resource)
        assert resource["subject"] == {"reference": f"Patient/{orders['uhid']}"}
    assert AuditEntry.objects.count() == before


def test_a_ward_order_names_the_stay_as_its_encounter(fhir_as, api_as, doctor, registered, admit):
    stay = admit(registered["uhid"], "MW1-01")
    body = {"tests": ["KFT"], "note": "before the contrast scan"}
    ordered = api_as(doctor).post(f"/api/v1/admissions/{stay}/lab-orders", body)
    assert ordered.status_code == 201, ordered.content
    client = fhir_as(doctor)
    [kft] = search(client, f"patient={registered['uhid']}&encounter=Encounter/{stay}")["entry"]
    assert kft["resource"]["encounter"] == {"reference": f"Encounter/{stay}"}
    assert kft["resource"]["code"]["coding"][0]["code"] == "24362-6"
    assert kft["resource"]["status"] == "active"
    assert client.get(f"/fhir/{kft['resource']['encounter']['reference']}").status_code == 200
