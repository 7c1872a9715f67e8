"""What a disabled user did at nodes that had not heard yet: shown to administrators."""

from __future__ import annotations

from nirantar.accounts import actions as accounts
from nirantar.ledger import bootstrap, keys
from nirantar.ledger.hlc import HLC
from nirantar.ledger.models import Origin
from nirantar.ledger.sync import ingest_remote
from tests.ledger.factory import Chain


def _ward(local):
    bootstrap.enrol(
        local, node="ward-7", number=7, public_key=keys.public_text(local.key), actor="test"
    )
    return Chain("ward-7", local.key, Origin.objects.get(name="ward-7").enrolment_hash)


def _read_at_ward(ward, wall, actor="kavita"):
    return ward.next(
        "accounts.record_accessed",
        {
            "patient": "10100000017",
            "action": "patient.read",
            "via": "screen",
            "address": "",
            "reason": "",
            "break_glass": False,
        },
        stream="audit:10100000017",
        hlc=HLC(wall, 0),
        actor=actor,
    )


def test_events_after_the_disabling_are_listed_whatever_order_they_arrive(
    hospital, nurse, admin, clerk, api_as
):
    ward = _ward(hospital)
    before = hospital.store.max_hlc().wall + 10
    # The ward saw the nurse work before she was disabled, and again after.
    ingest_remote(hospital.store, [_read_at_ward(ward, before)])
    accounts.do_change_user("it-admin", nurse.username, active=False)
    disabled_at = nurse.__class__.objects.get(pk=nurse.pk).field_stamps["is_active"][0]
    ingest_remote(hospital.store, [_read_at_ward(ward, disabled_at + 5_000)])

    status = api_as(admin).get("/api/v1/status").json()
    [late] = status["after_disable"]
    assert late["username"] == nurse.username
    assert late["disabled_by"] == "it-admin" and late["disabled_on"] == hospital.name
    assert [(e["origin"], e["seq"], e["type"]) for e in late["events"]] == [
        ("ward-7", 2, "accounts.record_accessed")
    ]
    # Another role sees the node's status, not who did what.
    assert api_as(clerk).get("/api/v1/status").json()["after_disable"] == []


def test_an_active_user_and_a_user_with_no_late_work_are_not_listed(hospital, nurse, admin, api_as):
    ward = _ward(hospital)
    ingest_remote(hospital.store, [_read_at_ward(ward, hospital.store.max_hlc().wall + 10)])
    assert api_as(admin).get("/api/v1/status").json()["after_disable"] == []
    accounts.do_change_user("it-admin", nurse.username, active=False)
    assert api_as(admin).get("/api/v1/status").json()["after_disable"] == []
