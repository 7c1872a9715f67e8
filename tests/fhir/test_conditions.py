"""GET /fhir/Condition?patient= and /fhir/Condition/{id} - OPD diagnoses (ICD-10) and a
stay's admitting and discharge diagnoses (as the ward wrote them)."""

import re
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir import conditions
from nirantar.fhir.conditions import CATEGORY_SYSTEM, ICD10, VERIFICATION
from nirantar.registration.models import Visit
from nirantar.wards.models import Admission
from tests.fhir.conftest import assert_valid_r4

pytestmark = pytest.mark.django_db
FHIR_ID = re.compile(r"^[A-Za-z0-9\-\.]{1,64}$")


def created(api: Any, path: str, body: Any) -> dict[str, Any]:
    response = api.post(path, body)
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def diagnoses(registered, visit, api_as, doctor) -> dict[str, Any]:
    """At the visit: E11.9 final with a note; I10 provisional; A01.0 corrected to A09;
    J06.9 struck out - all through the OPD's JSON API, as the doctor records them."""
    doc = api_as(doctor)
    v = f"/api/v1/visits/{visit}"
    final = created(doc, f"{v}/diagnoses", {"code": "E11.9", "status": "final", "note": "HbA1c 8"})
    provisional = created(doc, f"{v}/diagnoses", {"code": "I10"})
    wrong = created(doc, f"{v}/diagnoses", {"code": "A01.0"})
    fixed = created(
        doc,
        f"{v}/diagnoses",
        {"code": "A09", "corrects": wrong["entry"], "reason": "Widal negative"},
    )
    struck = created(doc, f"{v}/diagnoses", {"code": "J06.9"})
    created(doc, f"/api/v1/entries/{struck['entry']}/strike", {"reason": "wrong patient"})
    return {
        "uhid": registered["uhid"],
        "final": "opd-" + final["entry"].replace(":", "."),
        "provisional": "opd-" + provisional["entry"].replace(":", "."),
        "wrong": "opd-" + wrong["entry"].replace(":", "."),
        "fixed": "opd-" + fixed["entry"].replace(":", "."),
        "struck": "opd-" + struck["entry"].replace(":", "."),
    }


@pytest.fixture
def stay(registered, visit, admit, api_as, doctor) -> str:
    """A stay admitted from the visit with a working diagnosis, then discharged."""
    number = admit(registered["uhid"], "MW1-02", source="opd", visit=visit, diagnosis="Fever ?")
    done = api_as(doctor).post(
        f"/api/v1/admissions/{number}/discharge",
        {"type": "normal", "diagnoses": "Enteric fever\nAnaemia"},
    )
    assert done.status_code == 200, done.content
    return number


def search(client, query: str) -> dict[str, Any]:
    response = client.get(f"/fhir/Condition?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_opd_diagnosis_is_an_icd10_encounter_diagnosis(fhir_as, doctor, diagnoses, visit):
    response = fhir_as(doctor).get(f"/fhir/Condition/{diagnoses['final']}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert FHIR_ID.match(body["id"]) and body["id"] == diagnoses["final"]
    assert body["code"] == {
        "coding": [
            {
                "system": ICD10,
                "code": "E11.9",
                "display": "Type 2 diabetes mellitus without complications",
            }
        ],
        "text": "Type 2 diabetes mellitus without complications",
    }
    assert body["verificationStatus"] == {"coding": [{"system": VERIFICATION, "code": "confirmed"}]}
    assert body["category"][0]["coding"][0]["system"] == CATEGORY_SYSTEM
    assert body["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    assert body["subject"] == {"reference": f"Patient/{diagnoses['uhid']}"}
    assert body["encounter"] == {"reference": f"Encounter/{visit}"}
    assert body["recorder"] == {"display": "Dr. Meera Iyer"}
    assert body["recordedDate"].startswith("20")
    assert body["note"] == [{"text": "HbA1c 8"}]
    assert "clinicalStatus" not in body
    provisional = fhir_as(doctor).get(f"/fhir/Condition/{diagnoses['provisional']}").json()
    assert provisional["verificationStatus"]["coding"][0]["code"] == "provisional"


def test_corrected_and_struck_diagnoses_are_not_current(fhir_as, doctor, diagnoses):
    client = fhir_as(doctor)
    body = search(client, f"patient={diagnoses['uhid']}")
    listed = {e["resource"]["id"]: e["resource"] for e in body["entry"]}
    assert set(listed) == {diagnoses["final"], diagnoses["provisional"], diagnoses["fixed"]}
    assert listed[diagnoses["fixed"]]["code"]["coding"][0]["code"] == "A09"
    for gone in ("wrong", "struck"):
        read = client.get(f"/fhir/Condition/{diagnoses[gone]}")
        assert read.status_code == 200
        status = read.json()["verificationStatus"]["coding"][0]["code"]
        assert status == "entered-in-error", gone


def test_a_stays_admitting_and_discharge_diagnoses_are_text(fhir_as, nurse, registered, stay):
    client = fhir_as(nurse)
    admitting = client.get(f"/fhir/Condition/{stay}-admitting").json()
    assert admitting["code"] == {"text": "Fever ?"}
    assert admitting["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert admitting["encounter"] == {"reference": f"Encounter/{stay}"}
    assert admitting["subject"] == {"reference": f"Patient/{registered['uhid']}"}
    assert admitting["recorder"] == {"display": "Kavita"}
    discharge = client.get(f"/fhir/Condition/{stay}-discharge").json()
    assert discharge["code"] == {"text": "Enteric fever\nAnaemia"}
    assert discharge["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert discharge["recorder"] == {"display": "Dr. Meera Iyer"}
    body = search(client, f"subject=Patient/{registered['uhid']}&encounter=Encounter/{stay}")
    assert {e["resource"]["id"] for e in body["entry"]} == {
        f"{stay}-admitting",
        f"{stay}-discharge",
    }


def test_search_by_patient_or_encounter_newest_first_and_paged(
    fhir_as, doctor, diagnoses, visit, stay
):
    client = fhir_as(doctor)
    uhid = diagnoses["uhid"]
    body = search(client, f"patient={uhid}")
    assert body["total"] == 5
    dates = [e["resource"]["recordedDate"] for e in body["entry"]]
    assert dates == sorted(dates, reverse=True)
    only_visit = search(client, f"encounter={visit}")
    assert only_visit["total"] == 3
    assert {e["resource"]["encounter"]["reference"] for e in only_visit["entry"]} == {
        f"Encounter/{visit}"
    }
    assert search(client, f"patient={uhid}&encounter=Encounter/{stay}")["total"] == 2
    first = search(client, f"patient={uhid}&_count=2")
    assert len(first["entry"]) == 2
    [after] = [link["url"] for link in first["link"] if link["relation"] == "next"]
    second = search(client, after[after.index("?") + 1 :])
    assert len(second["entry"]) == 2
    seen = {e["resource"]["id"] for e in first["entry"] + second["entry"]}
    assert len(seen) == 4


def test_reads_and_searches_are_audited(fhir_as, doctor, diagnoses, stay):
    client = fhir_as(doctor)
    search(client, f"patient={diagnoses['uhid']}")
    client.get(f"/fhir/Condition/{diagnoses['final']}")
    client.get(f"/fhir/Condition/{stay}-discharge")
    actions = list(
        AuditEntry.objects.filter(
            patient=diagnoses["uhid"], via="fhir", actor=doctor.username
        ).values_list("action", flat=True)
    )
    # The search reads the OPD record and the stays, each through its own accessor.
    assert sorted(actions) == sorted(
        ["condition.search", "condition.search", "condition.read", "condition.read"]
    )


def test_the_builders_give_what_stands_without_auditing(diagnoses, visit, stay):
    built = conditions.of_visit(Visit.objects.get(visit_no=visit))
    assert {c["id"] for c in built} == {
        diagnoses["final"],
        diagnoses["provisional"],
        diagnoses["fixed"],
    }
    stays = conditions.of_admission(Admission.objects.get(admission_no=stay))
    assert [c["id"] for c in stays] == [f"{stay}-admitting", f"{stay}-discharge"]
    for c in built + stays:
        assert_valid_r4(c)
        assert c["subject"] == {"reference": f"Patient/{diagnoses['uhid']}"}
        assert c["encounter"]["reference"].startswith("Encounter/")
    assert not AuditEntry.objects.filter(patient=diagnoses["uhid"]).exclude(via="api").exists()


def test_bad_searches_are_400_and_unknown_ids_404(fhir_as, doctor, diagnoses, visit, stay):
    client = fhir_as(doctor)
    uhid = diagnoses["uhid"]
    for query in (
        "",
        "patient=banana",
        "encounter=banana",
        "encounter=Encounter/OP-1",
        f"patient={uhid}&code=E11.9",
        f"patient={uhid}&_count=x",
    ):
        response = client.get(f"/fhir/Condition?{query}")
        assert response.status_code == 400, query
        assert response.json()["resourceType"] == "OperationOutcome"
    nobody = search(client, "patient=101-0009999-5")
    assert nobody["total"] == 0 and "entry" not in nobody
    for bad in (
        "opd-x.1",
        "opd-node-a.99999",
        diagnoses["final"] + "0",
        f"{visit}-admitting",
        "IP-101-9999999-1-admitting",
        "1",
        "x" * 300,
    ):
        response = client.get(f"/fhir/Condition/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"


def test_a_stay_not_yet_discharged_has_no_discharge_condition(fhir_as, nurse, registered, admit):
    number = admit(registered["uhid"], "MW1-01")  # no diagnosis written
    client = fhir_as(nurse)
    for part in ("admitting", "discharge"):
        assert client.get(f"/fhir/Condition/{number}-{part}").status_code == 404


def test_roles_without_the_right_are_refused_and_nothing_is_audited(
    fhir_as, clerk, lab_tech, auditor, diagnoses
):
    for user in (clerk, lab_tech, auditor, None):
        client = fhir_as(user)
        response = client.get(f"/fhir/Condition?patient={diagnoses['uhid']}")
        assert response.status_code in (401, 403)
        assert client.get(f"/fhir/Condition/{diagnoses['final']}").status_code in (401, 403)
    assert not AuditEntry.objects.filter(patient=diagnoses["uhid"], via="fhir").exists()
