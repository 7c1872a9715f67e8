"""A peer whose clock is far off raises an alarm, and can't carry this node's clock with it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine

from nirantar import operations
from nirantar.ledger import bootstrap, keys
from nirantar.ledger.hlc import HLC, wall_ms
from nirantar.ledger.models import Alarm, Origin, Peer
from nirantar.ledger.sync import ingest_remote
from nirantar.ledger.writer import node
from nirantar.registration import actions
from tests.ledger.factory import Chain


def test_an_event_from_a_clock_hours_ahead_raises_an_alarm_but_does_not_move_our_clock(clerk):
    local = node()
    key = keys.generate()
    bootstrap.enrol(local, node="ward-7", number=7, public_key=keys.public_text(key), actor="t")
    ward = Chain("ward-7", key, Origin.objects.get(name="ward-7").enrolment_hash)
    ahead = HLC(wall_ms() + 6 * 3600 * 1000, 0)
    report = ingest_remote(local.store, [ward.next(hlc=ahead)])
    assert len(report.accepted) == 1  # kept: it is signed and in order
    assert Alarm.objects.filter(kind="clock_skew", origin="ward-7").exists()
    patient = actions.do_register_patient(
        clerk.username, {"name_en": "Asha", "sex": "F", "age_years": 30}
    )
    written = local.store.get("test-counter", local.store.head("test-counter")[0])
    assert written.hlc < ahead  # our timestamps stay on our own clock
    assert patient.registered_at_ms < ahead.wall


def test_events_that_reached_no_peer_for_too_long_raise_a_backlog_alarm(clerk):
    Peer.objects.create(
        url="http://hub:8000",
        name="hub",
        added_at=datetime.now(UTC),
        their_vector={"test-counter": 1},
    )
    actions.do_register_patient(clerk.username, {"name_en": "Asha", "sex": "F", "age_years": 30})
    assert not [a for a in operations.status()["alarms"] if a["kind"] == "backlog"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=20)):
        alarms = [a for a in operations.status()["alarms"] if a["kind"] == "backlog"]
    # The oldest unsent event may be the session's founding, written before this test
    # (how long before depends on which tests ran first): at least 20 minutes old.
    assert alarms, "no backlog alarm"
    waited = re.search(r"reached no peer for (\d+) minutes", alarms[0]["detail"])
    assert waited and int(waited.group(1)) >= 20, alarms[0]["detail"]
