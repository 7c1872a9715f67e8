"""GET /fhir/Patient/{UHID} - one record, audited like every read."""

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.fhir import views
from tests.fhir.conftest import asha


@pytest.fixture
def made(clerk_fhir):
    response = clerk_fhir.post("/fhir/Patient", asha())
    assert response.status_code == 201, response.content
    return response.json()


def test_it_reads_a_patient_by_uhid_with_or_without_dashes(clerk_fhir, made):
    for uhid in (made["id"], made["id"].replace("-", "")):
        response = clerk_fhir.get(f"/fhir/Patient/{uhid}")
        assert response.status_code == 200
        assert response.json() == made


def test_each_read_is_audited_as_the_api_audits_it(clerk_fhir, clerk, made):
    clerk_fhir.get(f"/fhir/Patient/{made['id']}")
    entry = AuditEntry.objects.get(patient=made["id"], action="patient.read")
    assert (entry.actor, entry.via) == (clerk.username, "fhir")


def test_an_unknown_or_malformed_id_is_404(clerk_fhir, made):
    uhid = made["id"]
    wrong_check_digit = uhid[:-1] + str((int(uhid[-1]) + 3) % 10)
    for bad in ("101-0009999-0", wrong_check_digit, "banana", "x" * 300):
        response = clerk_fhir.get(f"/fhir/Patient/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["issue"][0]["code"] == "not-found"


def test_no_token_is_401_and_a_bad_one_too(fhir_as, made):
    for client in (fhir_as(None),):
        response = client.get(f"/fhir/Patient/{made['id']}")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["issue"][0]["code"] == "login"
    forged = fhir_as(None)
    forged.headers = {"Authorization": "Bearer nrt_0000_forged"}
    assert forged.get(f"/fhir/Patient/{made['id']}").status_code == 401


def test_a_role_without_the_right_is_refused_and_nothing_is_audited(fhir_as, auditor, made):
    response = fhir_as(auditor).get(f"/fhir/Patient/{made['id']}")
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"
    assert not AuditEntry.objects.filter(patient=made["id"]).exists()


def test_breaking_the_glass_needs_a_reason_and_is_flagged(fhir_as, lab_tech, made):
    client = fhir_as(lab_tech)
    refused = client.get(f"/fhir/Patient/{made['id']}")
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    assert "reason" in refused.json()["issue"][0]["diagnostics"]
    response = client.get(
        f"/fhir/Patient/{made['id']}", **{"X-Emergency-Reason": "collapsed at the lab counter"}
    )
    assert response.status_code == 200
    assert AuditEntry.objects.get(patient=made["id"], actor=lab_tech.username).break_glass


def test_a_patient_registered_at_the_counter_reads_back_in_fhir(clerk_fhir, registered):
    body = clerk_fhir.get(f"/fhir/Patient/{registered['uhid']}").json()
    assert [n["text"] for n in body["name"]] == ["Ram Kumar Sharma", "राम कुमार शर्मा"]
    assert body["gender"] == "male"
    assert body["telecom"] == [{"system": "phone", "value": "+919876543210", "use": "mobile"}]
    assert body["address"][0]["postalCode"] == "261001"
    assert body["contact"][0]["name"]["text"] == "Shyam Lal"
    assert body["contact"][0]["relationship"][0]["text"] == "S/O"


def test_an_invalid_resource_of_ours_is_logged_and_answered_500(
    clerk_fhir, made, monkeypatch, caplog
):
    """Every resource is validated before it is sent: a bug of ours must not reach a client
    as if it were FHIR."""
    monkeypatch.setattr(
        views.resources, "patient_resource", lambda p, **_: {"resourceType": "Patient", "gender": 5}
    )
    response = clerk_fhir.client.get(f"/fhir/Patient/{made['id']}", headers=clerk_fhir.headers)
    assert response.status_code == 500
    assert response.json()["issue"][0]["code"] == "exception"
    assert "invalid FHIR Patient" in caplog.text
