"""POST /api/v1/patients/merge and /unmerge: the rules, the errors, the audit, the roles."""

import json
from typing import Any

import pytest

from nirantar.accounts.models import AuditEntry
from nirantar.ledger.models import Event
from nirantar.registration.events import PATIENTS_MERGED, PATIENTS_UNMERGED, UHID

REASON = "same person: same mobile, father and village"


@pytest.fixture
def records_api(api_as: Any, records: Any) -> Any:
    return api_as(records)


@pytest.fixture
def twice(clerk_api: Any, ram: dict[str, Any]) -> tuple[str, str]:
    """The same person registered twice: (first UHID, second UHID)."""
    first = clerk_api.post("/api/v1/patients", ram).json()["uhid"]
    second = clerk_api.post("/api/v1/patients", {**ram, "mobile": "9876500000"}).json()["uhid"]
    return first, second


def merge(api: Any, survivor: str, duplicate: str, reason: str = REASON) -> Any:
    body = {"survivor": survivor, "duplicate": duplicate, "reason": reason}
    return api.post("/api/v1/patients/merge", body)


def unmerge(api: Any, survivor: str, duplicate: str, reason: str = REASON) -> Any:
    body = {"survivor": survivor, "duplicate": duplicate, "reason": reason}
    return api.post("/api/v1/patients/unmerge", body)


def register(api: Any, ram: dict[str, Any], **changes: Any) -> str:
    response = api.post("/api/v1/patients", {**ram, **changes})
    assert response.status_code == 201, response.content
    return response.json()["uhid"]


def test_records_staff_merge_a_duplicate_into_the_survivor(records_api, records, twice):
    survivor, duplicate = twice
    response = merge(records_api, survivor, duplicate.replace("-", ""))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merged"] is True
    assert (body["survivor"], body["duplicate"], body["shows_under"]) == (
        survivor,
        duplicate,
        survivor,
    )
    assert body["group"] == [survivor, duplicate]
    assert (body["reason"], body["actor"], body["conflict"]) == (REASON, records.username, "")
    event = Event.objects.get(type=PATIENTS_MERGED)
    assert event.actor == records.username
    assert event.stream == f"patient:{duplicate}"
    assert json.loads(event.body)["survivor"] == survivor


def test_the_old_uhid_answers_with_the_survivor_and_says_it_was_merged(
    clerk_api, records_api, clerk, twice
):
    survivor, duplicate = twice
    merge(records_api, survivor, duplicate)
    body = clerk_api.get(f"/api/v1/patients/{duplicate}").json()
    assert body["uhid"] == survivor
    assert body["merged_from"] == duplicate
    assert body["merged_uhids"] == [duplicate]
    assert body["mobile"] == "9876543210"  # the survivor's record, not the duplicate's
    own = clerk_api.get(f"/api/v1/patients/{survivor}").json()
    assert own["merged_from"] is None
    assert own["merged_uhids"] == [duplicate]
    # The read audited is the survivor's, the record that was shown.
    reads = AuditEntry.objects.filter(actor=clerk.username, action="patient.read")
    assert [e.patient for e in reads] == [survivor, survivor]


def test_unmerge_restores_both_records_exactly(clerk_api, records_api, twice):
    survivor, duplicate = twice
    before = {u: clerk_api.get(f"/api/v1/patients/{u}").json() for u in twice}
    merge(records_api, survivor, duplicate)
    response = unmerge(records_api, survivor, duplicate, "different people: twins")
    assert response.status_code == 200, response.content
    assert response.json()["merged"] is False
    assert response.json()["shows_under"] == duplicate
    after = {u: clerk_api.get(f"/api/v1/patients/{u}").json() for u in twice}
    assert after == before
    assert Event.objects.filter(type=PATIENTS_UNMERGED).count() == 1


def test_the_counter_finds_the_survivor_not_the_duplicate(clerk_api, records_api, twice):
    survivor, duplicate = twice
    merge(records_api, survivor, duplicate)
    for query in ("Ram Kumar", duplicate, "9876500000"):
        found = clerk_api.get(f"/api/v1/patients?q={query}").json()["results"]
        assert [p["uhid"] for p in found] == [survivor], query
        assert found[0]["merged_uhids"] == [duplicate]


def test_a_chain_is_followed_and_unmerging_its_middle_restores_the_first(
    clerk_api, records_api, ram
):
    a, b, c = (register(clerk_api, ram, mobile=f"98765000{i:02d}") for i in range(3))
    assert merge(records_api, b, a).status_code == 200
    assert merge(records_api, c, b).status_code == 200
    assert clerk_api.get(f"/api/v1/patients/{a}").json()["uhid"] == c
    assert clerk_api.get(f"/api/v1/patients/{c}").json()["merged_uhids"] == sorted([a, b])
    unmerge(records_api, c, b)
    assert clerk_api.get(f"/api/v1/patients/{a}").json()["uhid"] == b
    assert clerk_api.get(f"/api/v1/patients/{c}").json()["merged_uhids"] == []


def test_only_records_staff_may_merge_or_unmerge(api_as, clerk, doctor, twice, snapshot):
    survivor, duplicate = twice
    apis = [api_as(clerk), api_as(doctor)]
    state = snapshot()
    for api in apis:
        assert merge(api, survivor, duplicate).status_code == 403
        assert unmerge(api, survivor, duplicate).status_code == 403
    assert state.unchanged()


def test_a_reason_is_required(records_api, twice, snapshot):
    survivor, duplicate = twice
    state = snapshot()
    for reason in ("", "   ", "bad\x07"):
        response = merge(records_api, survivor, duplicate, reason)
        assert response.status_code == 400
        assert "reason" in response.json()["error"]["fields"]
    assert state.unchanged()


def test_both_uhids_must_be_registered(records_api, twice, snapshot):
    survivor, _ = twice
    nobody = UHID.format(101, 4242)
    state = snapshot()
    response = merge(records_api, survivor, nobody)
    assert response.status_code == 404
    assert response.json()["error"]["fields"] == {"duplicate": "not registered"}
    response = merge(records_api, nobody, survivor)
    assert response.json()["error"]["fields"] == {"survivor": "not registered"}
    response = merge(records_api, survivor, "101-0000001-0")  # a bad check digit
    assert response.status_code == 400
    assert "duplicate" in response.json()["error"]["fields"]
    assert state.unchanged()


def test_a_patient_cannot_be_merged_into_itself(records_api, twice, snapshot):
    survivor, _ = twice
    state = snapshot()
    response = merge(records_api, survivor, survivor.replace("-", ""))
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "duplicate": "a patient cannot be merged with itself"
    }
    assert state.unchanged()


def test_merging_into_a_uhid_merged_away_says_to_merge_into_its_survivor(
    clerk_api, records_api, ram, twice, snapshot
):
    survivor, duplicate = twice
    third = register(clerk_api, ram, mobile="9876511111")
    merge(records_api, survivor, duplicate)
    state = snapshot()
    response = merge(records_api, duplicate, third)
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"{duplicate} is itself merged into {survivor}: merge into {survivor} instead"
    )
    response = merge(records_api, third, duplicate)  # already merged elsewhere
    assert response.status_code == 409
    assert f"already merged into {survivor}" in response.json()["error"]["message"]
    response = merge(records_api, duplicate, survivor)  # the other way round: a cycle
    assert response.status_code == 409
    assert state.unchanged()


def test_unmerging_a_pair_that_is_not_merged_is_a_conflict(
    clerk_api, records_api, ram, twice, snapshot
):
    survivor, duplicate = twice
    state = snapshot()
    response = unmerge(records_api, survivor, duplicate)
    assert response.status_code == 409
    assert response.json()["error"]["message"] == f"{duplicate} is not merged into {survivor}"
    assert state.unchanged()
    merge(records_api, survivor, duplicate)
    third = register(clerk_api, ram, mobile="9876511111")
    response = unmerge(records_api, third, duplicate)
    assert response.status_code == 409
    assert f"it is merged into {survivor}" in response.json()["error"]["message"]
    unmerge(records_api, survivor, duplicate)
    assert unmerge(records_api, survivor, duplicate).status_code == 409  # not twice


def test_the_merges_of_a_uhid_are_listed_for_records_staff(api_as, records_api, clerk, twice):
    survivor, duplicate = twice
    merge(records_api, survivor, duplicate)
    unmerge(records_api, survivor, duplicate, "different people after all")
    listed = records_api.get(f"/api/v1/patients/{survivor}/merges").json()
    assert [(m["duplicate"], m["merged"], m["reason"]) for m in listed] == [
        (duplicate, False, "different people after all")
    ]
    assert api_as(clerk).get(f"/api/v1/patients/{survivor}/merges").status_code == 403


def test_a_missing_field_is_refused(records_api, twice):
    response = records_api.post("/api/v1/patients/merge", {"survivor": twice[0]})
    assert response.status_code in (400, 422)


def test_a_record_merged_away_is_not_corrected_its_survivor_is(
    clerk_api, records_api, twice, snapshot
):
    survivor, duplicate = twice
    merge(records_api, survivor, duplicate)
    state = snapshot()
    response = clerk_api.patch(f"/api/v1/patients/{duplicate}", {"name_en": "Ram K Sharma"})
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"{duplicate} is merged into {survivor}: correct {survivor} instead"
    )
    assert state.unchanged()
