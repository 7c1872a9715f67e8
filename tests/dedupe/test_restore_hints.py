"""A restore works out each registration's blocking keys from its body, in the process
that opens the backup (``scoring.filed_at_registration``), and files them as the
registration is projected; at the end ``rescore_all`` keeps them only for a patient whose
one patient event was that registration. Both halves are checked here: the body gives
the very record the table gives back, and a hint that no longer fits (a correction came
after the registration, the patient was filed twice, its UHID is nobody's) leaves the
tables of working everything out."""

import json
from typing import Any

import pytest
from django.db import DatabaseError, transaction

from nirantar.dedupe import projections, scoring
from nirantar.dedupe.models import BlockingKey, DuplicatePair
from nirantar.ledger import projection
from nirantar.ledger.models import Event
from nirantar.ledger.writer import node
from nirantar.registration import actions, matching
from nirantar.registration import candidates as registry
from nirantar.registration import events as registration_events

SUNITA = {
    "name_en": "Sunita Devi",
    "name_hi": "सुनीता देवी",
    "sex": "F",
    "date_of_birth": "1985-03-14",
    "guardian_relation": "W/O",
    "guardian_name": "Ramesh Kumar",
    "mobile": "9812345678",
    "address": {"line": "12 Civil Lines", "district": "  Sitapur ", "state": "Uttar Pradesh"},
}
PEOPLE: list[dict[str, Any]] = [
    SUNITA,
    {**SUNITA, "name_en": "Suneeta Devi", "mobile": ""},
    {"name_en": "Mohd. Irfan", "sex": "M", "age_years": 40},
    {"name_hi": "राम प्रसाद", "sex": "M", "age_years": 67, "address": {"state": "Bihar"}},
    {"name_en": "Baby of Kavita", "sex": "O", "age_months": 2},
]


def bodies() -> dict[str, dict[str, Any]]:
    found = (
        json.loads(body)
        for body in Event.objects.filter(type=registration_events.PATIENT_REGISTERED).values_list(
            "body", flat=True
        )
    )
    return {body["uhid"]: body for body in found}


def tables() -> tuple[set[tuple[str, str]], set[tuple[Any, ...]]]:
    return (
        set(BlockingKey.objects.values_list("key", "uhid")),
        {
            (a, b, score, json.dumps(evidence))
            for a, b, score, evidence in DuplicatePair.objects.values_list(
                "uhid_a", "uhid_b", "score", "evidence"
            )
        },
    )


def test_a_registrations_body_gives_the_record_and_keys_the_table_gives(clerk):
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    stored = registry.match_records(bodies())
    assert len(stored) == len(PEOPLE)
    for uhid, body in bodies().items():
        found_uhid, keys = scoring.filed_at_registration(body)
        record = stored[uhid][0]
        assert found_uhid == uhid
        assert scoring.record_of_registration(body) == record
        assert keys == sorted(matching.blocking_keys(record))


@pytest.mark.parametrize(
    "odd",
    [
        {"name_en": 7},
        {"name_hi": ["राम"]},
        {"mobile": 9812345678},
        {"date_of_birth": ""},
        {"date_of_birth": 1985},
        {"dob_estimated": "yes"},
        {"address": {"district": 12}},
        {"uhid": 1011},
    ],
)
def test_a_body_of_another_form_gives_no_keys_beside(odd):
    """The projection stores such a value as it comes, and the table may give it back
    otherwise (SQLite keeps 7 as the text "7"): no keys are worked out from the body, so
    the patient's are worked out from the table at the end."""
    body = {**SUNITA, "uhid": "101-0000001-3", **odd}
    with pytest.raises((TypeError, ValueError)):
        scoring.filed_at_registration(body)
    assert scoring.filed_at_registration({**SUNITA, "uhid": "101-0000001-3"})[1]


def _beside() -> int:
    return projection.beside_work().index(
        (registration_events.PATIENT_REGISTERED, scoring.filed_of_event)
    )


def _load(events: list, hints: list[tuple[str, Any]], committed: Any) -> None:
    """Project ``events`` as a restore does: in bulk, the registrations' keys worked
    out beside (``hints``, by content hash) handed over before the ingest, and the
    ingest committed before the end (``committed``: pytest-django's
    ``django_capture_on_commit_callbacks``, as the test's transaction never commits)."""
    projection.clear()
    with projection.bulk_loading():
        projection.take_beside({_beside(): hints})
        with committed(execute=True):
            assert not projection.apply_many(events)
        # Filed as they arrive: the registrations' keys are in before the end.
        assert BlockingKey.objects.exists()


def test_a_restore_files_keys_as_registrations_arrive_and_puts_right_what_changed(
    clerk, django_capture_on_commit_callbacks
):
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    # The second woman's mobile is added after she registered: her registration's keys
    # are stale (they lack the mobile's), and her pair's evidence changes.
    actions.do_correct_patient(clerk.username, uhids[1], {"mobile": "9812345678"}, "added")
    live = tables()
    assert ("m:9812345678", uhids[1]) in live[0]
    assert live[1], "the two Sunitas are a likely pair"
    projections.rescore_all()  # worked out afresh: what registering one by one gave
    assert tables() == live
    events = list(node().store.in_causal_order())
    registrations = {
        e.body["uhid"]: e for e in events if e.type == registration_events.PATIENT_REGISTERED
    }
    hints = {u: scoring.filed_of_event({"body": e.body}) for u, e in registrations.items()}
    now = registry.match_records([uhids[1]])[uhids[1]][0]
    assert scoring.record_of_registration(registrations[uhids[1]].body) != now

    # Every registration's true hint (the corrected one's stale): the tables of working
    # everything out.
    _load(
        events,
        [(registrations[u].hash, hint) for u, hint in hints.items()],
        django_capture_on_commit_callbacks,
    )
    assert tables() == live

    # A hint is trusted when the registration is the patient's one patient event: that
    # is what saves the work. So a planted key stays; any other wrong hint is put right
    # at the end.
    lies = {u: (registrations[u].hash, hint) for u, hint in hints.items()}
    lies[uhids[0]] = (registrations[uhids[0]].hash, (hints[uhids[0]][0], ["m:0000000000"]))
    # A hint naming a UHID no registered patient has: its keys are taken out again.
    lies[uhids[3]] = (registrations[uhids[3]].hash, ("999-NOBODY", *hints[uhids[3]][1:]))
    del lies[uhids[4]]  # no hint: the keys are worked out at the end
    _load(events, list(lies.values()), django_capture_on_commit_callbacks)
    keys, pairs = tables()
    assert keys - live[0] == {("m:0000000000", uhids[0])}
    assert live[0] - keys == {(k, uhids[0]) for k in hints[uhids[0]][1]}
    assert not any(uhid == "999-NOBODY" for _, uhid in keys)
    # The first Sunita, filed under the planted key only, shares none with the second.
    assert pairs == {p for p in live[1] if uhids[0] not in p[:2]} != live[1]


def _registration_of(events: list, uhid: str) -> Any:
    return next(
        e
        for e in events
        if e.type == registration_events.PATIENT_REGISTERED and e.body["uhid"] == uhid
    )


@pytest.mark.parametrize("hinted", [True, False], ids=["with keys", "without keys"])
def test_a_patient_filed_twice_during_a_restore_is_worked_out_again(
    clerk, django_capture_on_commit_callbacks, hinted
):
    """Each filing of a UHID adds its keys; the end cannot tell which still hold, so it
    works that patient's keys out afresh (say, a batch applied again one by one). So
    it does when the second registration came without keys from beside: the record may
    be that one's."""
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    live = tables()
    events = list(node().store.in_causal_order())
    registration = _registration_of(events, uhids[2])
    true = scoring.filed_of_event({"body": registration.body})
    planted = (true[0], ["m:0000000000"])
    projection.clear()
    with projection.bulk_loading():
        projection.take_beside({_beside(): [(registration.hash, planted)]})
        with django_capture_on_commit_callbacks(execute=True):
            assert not projection.apply_many(events)
        # Without keys: those from beside are another segment's.
        again = registration.hash if hinted else "another segment's"
        projection.take_beside({_beside(): [(again, true)]})
        with django_capture_on_commit_callbacks(execute=True):
            assert not projection.apply_many([registration])  # applied again: filed twice
        assert ("m:0000000000", uhids[2]) in tables()[0]
    assert tables() == live


def test_keys_a_rolled_back_ingest_filed_are_not_taken_as_filed(
    clerk, django_capture_on_commit_callbacks
):
    """An ingest that fails rolls its batch back and tries the events again one by one
    (``sync.ingest_remote``): the keys filed the first time are gone, and so must be the
    restore's note that they were filed - else the end would take the patient as filed
    and leave it under no key at all."""
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    live = tables()
    events = list(node().store.in_causal_order())
    hints = [
        (e.hash, scoring.filed_of_event({"body": e.body}))
        for e in events
        if e.type == registration_events.PATIENT_REGISTERED
    ]
    projection.clear()
    with projection.bulk_loading():
        projection.take_beside({_beside(): hints})
        with django_capture_on_commit_callbacks(execute=True):
            try:
                with transaction.atomic():
                    assert not projection.apply_many(events)
                    assert BlockingKey.objects.exists()
                    raise DatabaseError("a later event could not be stored")
            except DatabaseError:
                pass
            assert not BlockingKey.objects.exists()
            # Tried again, now without the keys from beside (those were for the batch).
            projection.take_beside({_beside(): [("another segment's", hints[0][1])]})
            assert not projection.apply_many(events)
        assert not BlockingKey.objects.exists()
    assert tables() == live
