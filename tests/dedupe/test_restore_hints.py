"""A restore works out each registration's blocking keys from its body, in the process
that opens the backup (``scoring.filed_at_registration``), and ``rescore_all`` takes them
only for a patient whose record still has the fields they came from. Both halves are
checked here: the body gives the very record the table gives back, and a hint that no
longer fits (a correction came after the registration) changes nothing."""

import json
from typing import Any

from nirantar.dedupe import projections, scoring
from nirantar.dedupe.models import BlockingKey, DuplicatePair
from nirantar.ledger.models import Event
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
        found_uhid, fields, keys = scoring.filed_at_registration(body)
        record = stored[uhid][0]
        assert found_uhid == uhid
        assert fields == scoring.record_fields(record)
        assert keys == sorted(matching.blocking_keys(record))


def test_hints_that_no_longer_fit_the_record_change_nothing(clerk):
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    # The second woman's mobile is added after she registered: her registration's keys
    # are stale (they lack the mobile's), and her pair's evidence changes.
    actions.do_correct_patient(clerk.username, uhids[1], {"mobile": "9812345678"}, "added")
    projections.rescore_all()
    worked_out = tables()
    assert ("m:9812345678", uhids[1]) in worked_out[0]
    assert worked_out[1], "the two Sunitas are a likely pair"
    hints = {
        uhid: (fields, keys)
        for uhid, fields, keys in map(scoring.filed_at_registration, bodies().values())
    }
    now = registry.match_records([uhids[1]])[uhids[1]][0]
    assert hints[uhids[1]][0] != scoring.record_fields(now)
    # Hints, the stale one among them, give the same tables as working everything out.
    projections.rescore_all(dict(hints))
    assert tables() == worked_out
    # A hint is taken as it stands when its fields fit: that is what saves the work.
    fitting = {uhids[0]: (hints[uhids[0]][0], ["m:0000000000"])}
    projections.rescore_all(fitting)
    assert ("m:0000000000", uhids[0]) in tables()[0]
