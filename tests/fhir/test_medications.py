"""GET /fhir/MedicationRequest?patient= and /fhir/MedicationRequest/{id} - OPD
prescriptions, one MedicationRequest per medicine."""

import re
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir import medications
from nirantar.fhir.medications import FORMULARY_SYSTEM, GTS, UCUM
from nirantar.registration.models import Visit
from tests.fhir.conftest import assert_valid_r4

pytestmark = pytest.mark.django_db
FHIR_ID = re.compile(r"^[A-Za-z0-9\-\.]{1,64}$")
METFORMIN = {
    "drug": "MET500",
    "dose": "1 tablet",
    "frequency": "BD",
    "duration_days": 30,
    "instructions": "after food",
}
UNLISTED = {
    "drug": "Chyawanprash",
    "dose": "1 spoon",
    "route": "oral",
    "frequency": "HS",
    "duration_days": 15,
}
AS_NEEDED = {"drug": "PARA500", "dose": "1 tablet", "frequency": "SOS", "duration_days": 3}


def created(api: Any, path: str, body: Any) -> dict[str, Any]:
    response = api.post(path, body)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def key(entry: dict[str, Any], n: int) -> str:
    return f"opd-{entry['entry'].replace(':', '.')}-{n}"


@pytest.fixture
def prescribed(registered, visit, api_as, doctor) -> dict[str, Any]:
    """Metformin, a drug written in, and paracetamol when needed; then a second
    prescription corrected by a third, and a fourth struck out."""
    doc = api_as(doctor)
    v = f"/api/v1/visits/{visit}/prescriptions"
    first = created(doc, v, {"items": [METFORMIN, UNLISTED, AS_NEEDED]})
    wrong = created(doc, v, {"items": [METFORMIN | {"frequency": "TDS"}]})
    fixed = created(
        doc,
        v,
        {"items": [METFORMIN | {"frequency": "OD"}], "corrects": wrong["entry"], "reason": "dose"},
    )
    struck = created(doc, v, {"items": [AS_NEEDED]})
    created(doc, f"/api/v1/entries/{struck['entry']}/strike", {"reason": "wrong patient"})
    return {
        "uhid": registered["uhid"],
        "first": first,
        "wrong": wrong,
        "fixed": fixed,
        "struck": struck,
    }


def search(client, query: str) -> dict[str, Any]:
    response = client.get(f"/fhir/MedicationRequest?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_formulary_drug_is_an_order_with_its_code_dosage_and_duration(
    fhir_as, doctor, prescribed, visit
):
    response = fhir_as(doctor).get(f"/fhir/MedicationRequest/{key(prescribed['first'], 1)}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert FHIR_ID.match(body["id"])
    assert (body["status"], body["intent"]) == ("active", "order")
    assert body["medicationCodeableConcept"] == {
        "text": "Metformin 500 mg tablet",
        "coding": [
            {"system": FORMULARY_SYSTEM, "code": "MET500", "display": "Metformin 500 mg tablet"}
        ],
    }
    assert body["subject"] == {"reference": f"Patient/{prescribed['uhid']}"}
    assert body["encounter"] == {"reference": f"Encounter/{visit}"}
    assert body["requester"] == {"display": "Dr. Meera Iyer"}
    assert body["authoredOn"].startswith("20")
    [dosage] = body["dosageInstruction"]
    assert dosage["text"] == "1 tablet, by mouth, twice a day (BD), for 30 days, after food"
    assert dosage["patientInstruction"] == "मुँह से, दिन में दो बार, खाना खाने के बाद, 30 दिन"
    thirty = {"value": 30, "unit": "days", "system": UCUM, "code": "d"}
    assert dosage["timing"] == {
        "code": {"text": "twice a day", "coding": [{"system": GTS, "code": "BID"}]},
        "repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "boundsDuration": thirty},
    }
    assert dosage["route"] == {"text": "oral"}
    assert body["dispenseRequest"] == {"expectedSupplyDuration": thirty}


def test_a_written_in_drug_is_text_and_bedtime_and_as_needed_are_timed(fhir_as, doctor, prescribed):
    client = fhir_as(doctor)
    written = client.get(f"/fhir/MedicationRequest/{key(prescribed['first'], 2)}").json()
    assert written["medicationCodeableConcept"] == {"text": "Chyawanprash"}
    timing = written["dosageInstruction"][0]["timing"]
    assert timing["repeat"]["when"] == ["HS"] and timing["repeat"]["frequency"] == 1
    assert timing["repeat"]["boundsDuration"]["value"] == 15
    sos = client.get(f"/fhir/MedicationRequest/{key(prescribed['first'], 3)}").json()
    assert sos["dosageInstruction"][0]["asNeededBoolean"] is True
    assert sos["dosageInstruction"][0]["timing"]["code"]["text"] == "when needed"
    assert sos["medicationCodeableConcept"]["coding"][0]["code"] == "PARA500"


def test_corrected_and_struck_prescriptions_are_not_current(fhir_as, doctor, prescribed):
    client = fhir_as(doctor)
    body = search(client, f"patient={prescribed['uhid']}")
    ids = [e["resource"]["id"] for e in body["entry"]]
    # Newest prescription first, each in its own order.
    assert ids == [key(prescribed["fixed"], 1), *(key(prescribed["first"], n) for n in (1, 2, 3))]
    fixed = body["entry"][0]["resource"]
    assert fixed["dosageInstruction"][0]["timing"]["code"]["coding"][0]["code"] == "QD"
    for gone in ("wrong", "struck"):
        read = client.get(f"/fhir/MedicationRequest/{key(prescribed[gone], 1)}")
        assert read.status_code == 200
        assert read.json()["status"] == "entered-in-error", gone


def test_a_course_that_has_ended_is_completed(fhir_as, doctor, prescribed, monkeypatch):
    from datetime import timedelta

    from nirantar import timeutil

    later = timeutil.now() + timedelta(days=20)
    monkeypatch.setattr(timeutil, "now", lambda: later)
    client = fhir_as(doctor)
    statuses = {
        n: client.get(f"/fhir/MedicationRequest/{key(prescribed['first'], n)}").json()["status"]
        for n in (1, 2, 3)
    }
    assert statuses == {1: "active", 2: "completed", 3: "completed"}  # 30, 15 and 3 days


def test_search_by_encounter_and_paging(fhir_as, doctor, prescribed, visit, clerk_api):
    client = fhir_as(doctor)
    uhid = prescribed["uhid"]
    assert search(client, f"encounter=Encounter/{visit}")["total"] == 4
    assert search(client, f"subject=Patient/{uhid}&encounter={visit}")["total"] == 4
    other = clerk_api.post("/api/v1/visits", {"uhid": uhid, "department": "ENT"}).json()["visit"]
    assert search(client, f"patient={uhid}&encounter={other}")["total"] == 0
    first = search(client, f"patient={uhid}&_count=3")
    [after] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = search(client, after[after.index("?") + 1 :])
    assert len(first["entry"]) == 3 and len(second["entry"]) == 1


def test_reads_are_audited_and_the_builder_is_not(fhir_as, doctor, prescribed, visit):
    built = medications.of_visit(Visit.objects.get(visit_no=visit))
    assert [m["id"] for m in built] == [
        key(prescribed["first"], 1),
        key(prescribed["first"], 2),
        key(prescribed["first"], 3),
        key(prescribed["fixed"], 1),
    ]
    for m in built:
        assert_valid_r4(m)
        assert m["subject"] == {"reference": f"Patient/{prescribed['uhid']}"}
        assert m["encounter"] == {"reference": f"Encounter/{visit}"}
    assert not AuditEntry.objects.filter(patient=prescribed["uhid"], via="fhir").exists()
    client = fhir_as(doctor)
    search(client, f"patient={prescribed['uhid']}")
    client.get(f"/fhir/MedicationRequest/{key(prescribed['first'], 1)}")
    actions = set(
        AuditEntry.objects.filter(patient=prescribed["uhid"], via="fhir").values_list(
            "action", flat=True
        )
    )
    assert actions == {"medication.search", "medication.read"}


def test_bad_searches_are_400_and_unknown_ids_404(fhir_as, doctor, prescribed):
    client = fhir_as(doctor)
    uhid = prescribed["uhid"]
    for query in ("", "patient=banana", "encounter=x", f"patient={uhid}&status=active"):
        response = client.get(f"/fhir/MedicationRequest?{query}")
        assert response.status_code == 400, query
        assert response.json()["resourceType"] == "OperationOutcome"
    for bad in (
        key(prescribed["first"], 4),
        key(prescribed["first"], 0),
        key(prescribed["first"], 1)[:-2],
        "opd-node-a.1-1",
        "x" * 300,
    ):
        response = client.get(f"/fhir/MedicationRequest/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"


def test_roles_without_the_right_are_refused_and_nothing_is_audited(
    fhir_as, clerk, lab_tech, auditor, prescribed
):
    for user in (clerk, lab_tech, auditor, None):
        client = fhir_as(user)
        response = client.get(f"/fhir/MedicationRequest?patient={prescribed['uhid']}")
        assert response.status_code in (401, 403)
        read = client.get(f"/fhir/MedicationRequest/{key(prescribed['first'], 1)}")
        assert read.status_code in (401, 403)
    assert not AuditEntry.objects.filter(patient=prescribed["uhid"], via="fhir").exists()
