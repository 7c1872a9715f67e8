"""GET /api/v1/patients/{uhid} - and every read leaves exactly one audit entry."""

from nirantar.accounts.models import AuditEntry


def test_a_patient_is_read_by_uhid_with_or_without_dashes(clerk_api, registered):
    uhid = registered["uhid"]
    for typed in (uhid, uhid.replace("-", "")):
        response = clerk_api.get(f"/api/v1/patients/{typed}")
        assert response.status_code == 200
        assert response.json()["uhid"] == uhid


def test_each_read_adds_one_audit_entry_naming_who_and_how(clerk_api, clerk, registered):
    uhid = registered["uhid"]
    clerk_api.get(f"/api/v1/patients/{uhid}")
    entry = AuditEntry.objects.get(patient=uhid)
    assert (entry.actor, entry.action, entry.via, entry.node) == (
        clerk.username,
        "patient.read",
        "api",
        "test-counter",
    )
    assert entry.address == "127.0.0.1"


def test_an_unregistered_uhid_is_not_found(clerk_api, hospital):
    from nirantar.registration.events import UHID

    response = clerk_api.get(f"/api/v1/patients/{UHID.format(101, 4242)}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_someone_with_no_business_with_records_sees_nothing(api_as, outsider, registered):
    response = api_as(outsider).get(f"/api/v1/patients/{registered['uhid']}")
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(patient=registered["uhid"]).exists()
