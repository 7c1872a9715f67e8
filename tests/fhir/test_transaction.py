"""POST /fhir/ with a transaction Bundle of Patient creates: all of them, or none."""

from nirantar.errors import ValidationFailed
from nirantar.fhir import views
from nirantar.registration.models import Patient
from tests.fhir.conftest import asha


def entry(resource, method="POST", url="Patient"):
    return {"resource": resource, "request": {"method": method, "url": url}}


def bundle(*entries, kind="transaction"):
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def ravi():
    return asha(
        name=[{"given": ["Ravi"], "family": "Kumar"}],
        gender="male",
        identifier=[],
        telecom=[{"system": "phone", "value": "9000000001", "use": "mobile"}],
    )


def test_it_registers_every_entry(clerk_fhir):
    response = clerk_fhir.post("/fhir/", bundle(entry(asha()), entry(ravi())))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "transaction-response"
    results = body["entry"]
    assert [e["response"]["status"] for e in results] == ["201 Created", "201 Created"]
    assert [e["resource"]["name"][0]["text"] for e in results] == ["Asha Sharma", "Ravi Kumar"]
    for result in results:
        uhid = result["resource"]["id"]
        assert result["response"]["location"] == f"Patient/{uhid}"
        assert clerk_fhir.get(f"/fhir/Patient/{uhid}").status_code == 200


def test_one_refused_entry_writes_nothing_and_names_the_entry(clerk_fhir, snapshot):
    before = snapshot()
    bad = ravi()
    bad["birthDate"] = "1990"
    response = clerk_fhir.post("/fhir/", bundle(entry(asha()), entry(bad)))
    assert response.status_code == 422
    [issue] = response.json()["issue"]
    assert issue["expression"] == ["Bundle.entry[1].resource.birthDate"]
    assert issue["diagnostics"].startswith("Bundle.entry[1]: ")
    assert before.unchanged()
    assert not Patient.objects.exists()


def test_a_malformed_entry_writes_nothing(clerk_fhir, snapshot):
    before = snapshot()
    broken = {"resourceType": "Patient", "gender": ["male"]}
    response = clerk_fhir.post("/fhir/", bundle(entry(asha()), entry(broken)))
    assert response.status_code == 400
    assert before.unchanged()


def test_only_patient_creates_in_a_transaction(clerk_fhir, snapshot):
    before = snapshot()
    for wrong in (entry(asha(), method="PUT"), entry(asha(), url="Observation")):
        response = clerk_fhir.post("/fhir/", bundle(entry(asha()), wrong))
        assert response.status_code == 422
        assert response.json()["issue"][0]["expression"] == ["Bundle.entry[1].request"]
    assert clerk_fhir.post("/fhir/", bundle(entry(asha()), kind="batch")).status_code == 400
    assert clerk_fhir.post("/fhir/", asha()).status_code == 400
    assert before.unchanged()


def test_an_empty_transaction_does_nothing(clerk_fhir):
    response = clerk_fhir.post("/fhir/", bundle())
    assert response.status_code == 200
    assert "entry" not in response.json()


def test_a_transaction_needs_the_right_to_register(fhir_as, nurse, snapshot):
    as_nurse = fhir_as(nurse)
    before = snapshot()
    assert as_nurse.post("/fhir/", bundle(entry(asha()))).status_code == 403
    assert fhir_as(None).post("/fhir/", bundle(entry(asha()))).status_code == 401
    assert before.unchanged()


def test_a_failure_while_writing_undoes_the_entries_already_written(
    clerk_fhir, snapshot, monkeypatch
):
    """The checks run before writing; this is the case they can't see (e.g. a fault)."""
    real = views.registration.do_register_patient
    calls = []

    def second_fails(actor, data):
        calls.append(data)
        if len(calls) == 2:
            raise ValidationFailed("refused while writing", {"mobile": "taken"})
        return real(actor, data)

    monkeypatch.setattr(views.registration, "do_register_patient", second_fails)
    before = snapshot()
    response = clerk_fhir.post("/fhir/", bundle(entry(asha()), entry(ravi())))
    assert response.status_code == 422
    assert len(calls) == 2
    assert before.unchanged()
    assert not Patient.objects.exists()
