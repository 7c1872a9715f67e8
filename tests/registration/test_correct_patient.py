"""PATCH /api/v1/patients/{uhid} - corrections are last-writer-wins, history keeps every value."""


def test_a_correction_changes_only_the_given_fields(api_as, records, registered):
    api = api_as(records)
    response = api.patch(
        f"/api/v1/patients/{registered['uhid']}",
        {"mobile": "9000000001", "address": {"district": "Lucknow"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["mobile"] == "9000000001"
    assert body["address"]["district"] == "Lucknow"
    assert body["address"]["pin"] == "261001"
    assert body["name_hi"] == registered["name_hi"]


def test_the_overwritten_value_stays_in_the_history(api_as, records, registered):
    api = api_as(records)
    uhid = registered["uhid"]
    api.patch(f"/api/v1/patients/{uhid}", {"name_en": "Ram K. Sharma", "reason": "as on Aadhaar"})
    history = api.get(f"/api/v1/patients/{uhid}/history").json()["changes"]
    names = [(c["value"], c["current"], c["kind"]) for c in history if c["field"] == "name_en"]
    assert names == [
        ("Ram Kumar Sharma", False, "registered"),
        ("Ram K. Sharma", True, "corrected"),
    ]
    assert [c["reason"] for c in history if c["kind"] == "corrected"] == ["as on Aadhaar"]


def test_a_patient_must_keep_a_name(api_as, records, registered, snapshot):
    api = api_as(records)
    before = snapshot()
    response = api.patch(f"/api/v1/patients/{registered['uhid']}", {"name_en": None, "name_hi": ""})
    assert response.status_code == 400
    assert before.unchanged()


def test_a_bad_correction_writes_nothing(api_as, records, registered, snapshot):
    api = api_as(records)
    before = snapshot()
    response = api.patch(f"/api/v1/patients/{registered['uhid']}", {"mobile": "123"})
    assert response.status_code == 400
    assert "mobile" in response.json()["error"]["fields"]
    assert before.unchanged()


def test_a_doctor_may_read_but_not_correct(api_as, doctor, registered):
    api = api_as(doctor)
    assert api.get(f"/api/v1/patients/{registered['uhid']}").status_code == 200
    assert (
        api.patch(f"/api/v1/patients/{registered['uhid']}", {"mobile": "9000000001"}).status_code
        == 403
    )


def test_an_empty_correction_is_still_an_audited_read(api_as, records, registered):
    from nirantar.accounts.models import AuditEntry

    response = api_as(records).patch(f"/api/v1/patients/{registered['uhid']}", {})
    assert response.status_code == 200
    assert (
        AuditEntry.objects.filter(patient=registered["uhid"], actor=records.username).count() == 1
    )


def test_a_registration_keeps_one_stamp_and_a_correction_adds_its_fields_alone(
    api_as, records, registered
):
    from nirantar.ledger.writer import node
    from nirantar.registration.models import Patient

    uhid = registered["uhid"]

    def stamps() -> list[list]:
        return [
            [e.hlc.wall, e.hlc.counter, e.origin] for e in node().store.stream(f"patient:{uhid}")
        ]

    # Every field set by the one registration: its stamp once, for them all.
    (registration,) = stamps()
    assert Patient.objects.get(uhid=uhid).field_stamps == {"*": registration}
    api_as(records).patch(f"/api/v1/patients/{uhid}", {"mobile": "9000000001"})
    _, correction = stamps()
    assert Patient.objects.get(uhid=uhid).field_stamps == {"*": registration, "mobile": correction}
    history = api_as(records).get(f"/api/v1/patients/{uhid}/history").json()["changes"]
    current = {(c["field"], c["kind"]): c["current"] for c in history}
    assert current[("mobile", "registered")] is False
    assert current[("mobile", "corrected")] is True
    assert current[("name_en", "registered")] is True
