"""Projections converge by construction: any order of the same events gives the same tables,
and `rebuild` (recompute everything from the log) gives what the live node shows."""

from __future__ import annotations

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nirantar.cli import main
from nirantar.ledger import projection
from nirantar.ledger.hlc import HLC
from nirantar.ledger.writer import node
from nirantar.registration import actions
from tests.ledger.factory import Chain


def _history(clerk, records) -> list:
    """A realistic mix: registrations, visits, and corrections made apart on three nodes."""
    ram = actions.do_register_patient(
        clerk.username,
        {
            "name_en": "Ram Kumar Sharma",
            "name_hi": "राम कुमार शर्मा",
            "sex": "M",
            "age_years": 45,
            "mobile": "9876543210",
            "address": {"district": "Sitapur", "state": "Uttar Pradesh"},
        },
    )
    sita = actions.do_register_patient(
        clerk.username, {"name_hi": "सीता देवी", "sex": "F", "date_of_birth": "1990-01-02"}
    )
    actions.do_register_visit(clerk.username, ram.uhid, "Medicine")
    actions.do_register_visit(clerk.username, sita.uhid, "OBG")
    actions.do_register_visit(clerk.username, ram.uhid, "Medicine")
    actions.do_correct_patient(records.username, ram.uhid, {"mobile": "9123456780"}, "typo")
    local = node()
    events = list(local.store.in_causal_order())
    # Two other nodes correct the same patient while partitioned: same wall clock,
    # so the tie is broken by origin name; a third correction arrives "late".
    last = events[-1].hlc
    ward = Chain("ward-7", local.key, "0" * 64)
    lab = Chain("lab-main", local.key, "0" * 64)
    extra = [
        ward.next(
            "registration.patient_corrected",
            {"uhid": ram.uhid, "changes": {"district": "Lucknow"}, "reason": ""},
            stream=f"patient:{ram.uhid}",
            hlc=HLC(last.wall + 10, 0),
        ),
        lab.next(
            "registration.patient_corrected",
            {
                "uhid": ram.uhid,
                "changes": {"district": "Kanpur", "name_en": "Ram K. Sharma"},
                "reason": "",
            },
            hlc=HLC(last.wall + 10, 0),
        ),
        lab.next(
            "registration.patient_corrected",
            {"uhid": sita.uhid, "changes": {"name_en": "Sita Devi"}, "reason": ""},
            hlc=HLC(last.wall - 5, 3),
        ),
    ]
    return events + extra


def _replay(events) -> dict:
    projection.clear()
    for event in events:
        projection.apply(event)
    return projection.dump()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_order_of_the_same_events_gives_the_same_tables(clerk, records, data):
    events = _history_once(clerk, records)
    expected = _replay(sorted(events, key=lambda e: e.order_key))
    shuffled = data.draw(st.permutations(events))
    assert _replay(shuffled) == expected


_cache: dict[str, list] = {}


def _history_once(clerk, records) -> list:
    # Hypothesis re-runs the body many times in one test transaction; build the events once.
    key = f"{clerk.pk}:{records.pk}"
    if key not in _cache:
        _cache.clear()
        _cache[key] = _history(clerk, records)
    return _cache[key]


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_applying_events_in_batches_gives_the_same_tables_as_one_by_one(clerk, records, data):
    events = _history_once(clerk, records)
    expected = _replay(events)
    shuffled = data.draw(st.permutations(events))
    size = data.draw(st.integers(1, len(events)))
    projection.clear()
    for start in range(0, len(shuffled), size):
        assert projection.apply_many(shuffled[start : start + size]) == []
    assert projection.dump() == expected


def test_the_later_correction_wins_and_the_loser_stays_in_the_history(clerk, records):
    from nirantar.ledger import bootstrap, keys
    from nirantar.ledger.models import Origin
    from nirantar.ledger.sync import ingest_remote
    from nirantar.registration import queries
    from nirantar.registration.models import Patient

    local = node()
    for name, number in (("ward-7", 7), ("lab-main", 8)):
        bootstrap.enrol(
            local, node=name, number=number, public_key=keys.public_text(local.key), actor="test"
        )
    ram = actions.do_register_patient(
        clerk.username,
        {
            "name_en": "Ram Kumar Sharma",
            "sex": "M",
            "age_years": 45,
            "address": {"district": "Sitapur", "state": "Uttar Pradesh"},
        },
    )
    wall = local.store.max_hlc().wall + 10
    ward = Chain("ward-7", local.key, Origin.objects.get(name="ward-7").enrolment_hash)
    lab = Chain("lab-main", local.key, Origin.objects.get(name="lab-main").enrolment_hash)
    # Corrected apart, at the same wall-clock instant: the tie goes to the greater origin name.
    ingest_remote(
        local.store,
        [
            lab.next(
                "registration.patient_corrected",
                {"uhid": ram.uhid, "changes": {"district": "Kanpur"}, "reason": ""},
                hlc=HLC(wall, 0),
            ),
            ward.next(
                "registration.patient_corrected",
                {"uhid": ram.uhid, "changes": {"district": "Lucknow"}, "reason": ""},
                hlc=HLC(wall, 0),
            ),
        ],
    )
    patient = Patient.objects.get(uhid=ram.uhid)
    assert patient.district == "Lucknow"
    districts = {(c.value, c.current) for c in queries.history(patient) if c.field == "district"}
    assert districts == {("Sitapur", False), ("Kanpur", False), ("Lucknow", True)}


def test_rebuild_reproduces_the_live_tables(clerk, records):
    _history(clerk, records)
    live = projection.dump()
    result = CliRunner().invoke(main, ["rebuild"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert projection.dump() == live
    check = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert check.exit_code == 0 and "reproduces every table" in check.output


def test_rebuild_check_notices_a_table_edited_behind_the_logs_back(registered):
    from nirantar.registration.models import Patient

    Patient.objects.filter(uhid=registered["uhid"]).update(mobile="9000000000")
    result = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "registration.Patient" in result.output


def test_a_uhid_minted_in_another_nodes_number_space_is_not_projected(clerk):
    from nirantar.ledger import bootstrap, keys
    from nirantar.ledger.models import Alarm, Origin
    from nirantar.ledger.sync import ingest_remote
    from nirantar.registration.events import UHID
    from nirantar.registration.models import Patient

    local = node()
    # An enrolled node (number 7) writes a registration numbered as if it were node 101.
    rogue_key = keys.generate()
    bootstrap.enrol(
        local, node="ward-9", number=7, public_key=keys.public_text(rogue_key), actor="test"
    )
    chain = Chain("ward-9", rogue_key, Origin.objects.get(name="ward-9").enrolment_hash)
    stolen = UHID.format(101, 9000)
    event = chain.next(
        "registration.patient_registered",
        {
            "uhid": stolen,
            "name_en": "Fake",
            "name_hi": "",
            "sex": "M",
            "date_of_birth": None,
            "dob_estimated": False,
            "age_given": None,
            "guardian_relation": "",
            "guardian_name": "",
            "mobile": "",
            "abha_number": "",
            "category": "general",
            "address": {"line": "", "district": "", "state": "", "pin": ""},
        },
    )
    ingest_remote(local.store, [event])
    assert local.store.get("ward-9", 1) == event  # kept in the log...
    assert not Patient.objects.filter(uhid=stolen).exists()  # ...but not believed
    assert Alarm.objects.filter(kind="projection_failed", origin="ward-9").exists()
