"""A restore makes new patients' and visits' rows beside the ingest, in the process that
opens the backup, from each event's line (``rows.first_registration_of``, ``rows.visit_of``).
The tables must come out exactly as the projection makes them itself - and a row made
beside is used only for the very event it was made from."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from nirantar import sql
from nirantar.ledger import projection
from nirantar.ledger.canonical import canonical_text
from nirantar.ledger.writer import node
from nirantar.registration import actions, rows
from nirantar.registration import events as registration_events
from nirantar.registration import projections as registration
from nirantar.registration.models import Patient, Visit

# Every kind of field a registration sets: both scripts, a date or an age, a guardian,
# an address with a PIN, a category; and the sparse ones (one script, an infant).
PEOPLE = [
    {
        "name_en": "Anita Sharma",
        "name_hi": "अनीता शर्मा",
        "sex": "F",
        "date_of_birth": "1979-11-02",
        "guardian_relation": "D/O",
        "guardian_name": "Mohan Lal Sharma",
        "mobile": "9415012345",
        "category": "bpl",
        "address": {
            "line": "Gali 4, Sadar",
            "district": "Agra",
            "state": "Uttar Pradesh",
            "pin": "282001",
        },
    },
    {"name_hi": "राम प्रसाद", "sex": "M", "age_years": 67},
    {"name_en": "Baby of Kavita", "sex": "O", "age_months": 2},
]


@pytest.fixture(autouse=True)
def nothing_left_beside():
    yield
    registration._made_beside.clear()
    registration._visits_beside.clear()


def lines() -> list:
    """Every event, with its fields as a backup's line gives them to the worker process."""
    found = list(node().store.in_causal_order())
    return [(e, json.loads(canonical_text(e.to_wire()))) for e in found]


def made_beside(found) -> None:
    for event, data in found:
        if event.type == registration_events.PATIENT_REGISTERED:
            made = rows.first_registration_of(registration.LAYOUT, data)
            registration._take_made([(event.hash, made)])
        elif event.type == registration_events.VISIT_REGISTERED:
            registration._take_visits([(event.hash, rows.visit_of(data))])


def test_rows_made_beside_give_the_tables_the_projection_gives(clerk):
    for data in PEOPLE:
        patient = actions.do_register_patient(clerk.username, dict(data))
        actions.do_register_visit(clerk.username, patient.uhid, "Medicine")
    # One corrected: her registration and correction are projected field by field.
    first = Patient.objects.order_by("uhid").first()
    actions.do_correct_patient(clerk.username, first.uhid, {"mobile": "9000000001"}, "typo")
    expected = projection.dump()
    found = lines()
    events = [event for event, _ in found]

    projection.clear()
    made_beside(found)
    assert not projection.apply_many(events)
    assert projection.dump() == expected
    # Every row made beside for a patient projected whole, and every visit's, was taken.
    assert len(registration._made_beside) == 1  # the corrected one's registration
    assert not registration._visits_beside


def test_a_row_made_beside_is_taken_for_the_event_it_is_filed_under_and_only_it(clerk):
    uhids = [actions.do_register_patient(clerk.username, dict(d)).uhid for d in PEOPLE[:2]]
    found = lines()
    registrations = [(e, d) for e, d in found if e.type == registration_events.PATIENT_REGISTERED]
    projection.clear()
    # The second's row, but with a name its event does not hold, filed under the second's
    # hash: it is that event's row then, whatever it says - so the hash must be the
    # content's own. Its body is not read for it.
    number, seq, row = rows.first_registration_of(registration.LAYOUT, registrations[1][1])
    row = list(row)
    row[registration.PATIENT_COLUMNS.index("name_en")] = "Made Beside"
    registration._take_made([(registrations[1][0].hash, (number, seq, row))])
    registration._take_made([("0" * 64, (number, seq, row))])  # no such event: never used
    assert not projection.apply_many([e for e, _ in registrations])
    shown = dict(Patient.objects.values_list("uhid", "name_en"))
    assert shown == {uhids[0]: PEOPLE[0]["name_en"], uhids[1]: "Made Beside"}
    assert list(registration._made_beside) == ["0" * 64]


def test_many_rows_sent_by_copy_give_the_tables_sent_by_json(clerk, monkeypatch):
    """Many rows (a restore's, a catch-up's) go to PostgreSQL by COPY (``sql._copy_in``);
    fewer - or many, one of which is there already - as one JSON parameter. Both ways must
    write the same rows: text COPY escapes (a backslash, ``\\N``, a tab), a quote, both
    scripts, a date and none, a JSON column - and none twice."""
    tricky = {
        **PEOPLE[0],
        "name_en": "Anu D'Souza",
        "address": {**PEOPLE[0]["address"], "line": 'C:\\ward\\4, \\N, "Sadar"\tGate 2'},
    }
    for data in [*PEOPLE, tricky]:
        patient = actions.do_register_patient(clerk.username, dict(data))
        actions.do_register_visit(clerk.username, patient.uhid, "Medicine")
    expected = projection.dump()
    events = [event for event, _ in lines()]

    for threshold in (10**9, 2):  # every batch by JSON; then every batch of two rows or more
        monkeypatch.setattr(sql, "COPY_FROM_ROWS", threshold)
        projection.clear()
        with CaptureQueriesContext(connection) as queries:
            assert not projection.apply_many(events)
        by_json = " ".join(q["sql"] for q in queries if "json_populate_recordset" in q["sql"])
        if connection.vendor == "postgresql":
            # COPY is not among the statements Django sees: the patients' and visits' rows
            # went by JSON, or (every batch of two or more) not.
            copied = threshold == 2
            assert ("INSERT INTO registration_patient" in by_json) is not copied, by_json
            assert ("INSERT INTO registration_visit" in by_json) is not copied, by_json
        assert projection.dump() == expected
    # Sent again, by COPY: every row is there already, and none is written twice.
    assert not projection.apply_many(events)
    assert projection.dump() == expected


def test_a_row_copied_that_breaks_a_unique_key_is_refused_unless_skipping(clerk, monkeypatch):
    monkeypatch.setattr(sql, "COPY_FROM_ROWS", 2)
    columns = ["visit_no", "uhid", "department", "room_en", "room_hi", "token", "token_no"]
    columns += ["counter", "local_date", "at_ms", "registered_by", "node"]
    row = ["V-1", "101-0000001-3", "MED", "Room 1", "कक्ष 1", "M-1", 1, "1", "2026-11-28"]
    row += [1, "asha", "hub"]
    other = ["V-2", *row[1:]]
    with CaptureQueriesContext(connection) as queries:
        sql.insert_many("registration_visit", columns, [row, other])
    assert not [q for q in queries if "json_populate_recordset" in q["sql"]]  # by COPY
    with CaptureQueriesContext(connection) as queries:
        sql.insert_many("registration_visit", columns, [row, other])  # skipped, both
    if connection.vendor == "postgresql":  # COPY refused them whole: the JSON way skipped them
        assert [q for q in queries if "json_populate_recordset" in q["sql"]]
    assert sorted(Visit.objects.values_list("visit_no", flat=True)) == ["V-1", "V-2"]
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.insert_many("registration_visit", columns, [other, ["V-3", *row[1:]]], ignore=False)
    assert sorted(Visit.objects.values_list("visit_no", flat=True)) == ["V-1", "V-2"]
