"""POST /api/v1/patients"""

from nirantar.accounts.models import AuditEntry
from nirantar.ledger.models import Event
from nirantar.ledger.numbering import verhoeff_valid


def test_it_registers_a_patient_with_a_hindi_and_an_english_name(clerk_api, ram):
    response = clerk_api.post("/api/v1/patients", ram)
    assert response.status_code == 201
    body = response.json()
    assert body["name_hi"] == "राम कुमार शर्मा"
    assert body["name_en"] == "Ram Kumar Sharma"
    assert body["age"] == "45 Y" and body["dob_estimated"] is True
    assert body["address"] == ram["address"]
    assert body["registered_node"] == "test-counter"


def test_the_uhid_is_the_node_number_its_sequence_and_a_verhoeff_check_digit(clerk_api, ram):
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    node, seq, check = uhid.split("-")
    assert node == "101" and len(seq) == 7 and len(check) == 1
    assert verhoeff_valid(node + seq + check)


def test_each_patient_gets_the_next_uhid_of_this_node(clerk_api, ram):
    first = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    second = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    assert int(second.split("-")[1]) == int(first.split("-")[1]) + 1


def test_either_name_may_be_absent(clerk_api, ram):
    del ram["name_en"]
    assert clerk_api.post("/api/v1/patients", ram).status_code == 201
    ram["name_en"], ram["name_hi"] = "Ram Kumar Sharma", None
    assert clerk_api.post("/api/v1/patients", ram).status_code == 201


def test_an_infant_may_be_registered_by_months_and_days(clerk_api, ram):
    del ram["age_years"]
    ram.update(age_months=3, age_days=10, guardian_relation="D/O")
    body = clerk_api.post("/api/v1/patients", ram).json()
    assert body["age"] == "3 M"


def test_a_date_of_birth_may_replace_the_age(clerk_api, ram):
    del ram["age_years"]
    ram["date_of_birth"] = "1980-05-17"
    body = clerk_api.post("/api/v1/patients", ram).json()
    assert body["date_of_birth"] == "1980-05-17" and body["dob_estimated"] is False


def test_the_registration_is_a_signed_event_by_the_clerk(clerk_api, clerk, ram):
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    event = Event.objects.get(stream=f"patient:{uhid}", type="registration.patient_registered")
    assert event.actor == clerk.username
    assert event.origin == "test-counter"


def test_registering_is_not_a_read_and_is_not_audited_as_one(clerk_api, ram):
    uhid = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    assert not AuditEntry.objects.filter(patient=uhid).exists()


def test_a_doctor_may_not_register_and_nothing_is_written(api_as, doctor, ram, snapshot):
    api = api_as(doctor)
    before = snapshot()
    response = api.post("/api/v1/patients", ram)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert before.unchanged()
    from nirantar.accounts.models import DeniedAttempt

    attempt = DeniedAttempt.objects.get(actor=doctor.username)
    assert (attempt.permission, attempt.method, attempt.path) == (
        "registration.register",
        "POST",
        "/api/v1/patients",
    )


def test_without_a_valid_token_nothing_is_written(api_as, hospital, ram, snapshot):
    before = snapshot()
    response = api_as(None).post("/api/v1/patients", ram)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    forged = api_as(None)
    forged.headers = {"Authorization": "Bearer nrt_0000000000000000_not-a-real-token"}
    assert forged.post("/api/v1/patients", ram).status_code == 401
    assert before.unchanged()
