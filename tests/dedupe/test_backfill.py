"""A restore of a big registry may leave the duplicate worklist for later: the blocking
table is filled, the pairs are worked out by ``backfill`` while the node serves. Once it
is done the worklist is the one ``rescore_all`` gives - also when registrations and
corrections arrive between the backfill's snapshot and its writes, and when a bucket
becomes crowded meanwhile."""

import json
import threading
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from nirantar import sql
from nirantar.cli import main
from nirantar.dedupe import backfill, projections
from nirantar.dedupe.models import BlockingKey, DuplicatePair
from nirantar.ledger import hlc
from nirantar.registration import actions
from nirantar.registration import candidates as registry
from tests.conftest import make_user

SUNITA = {
    "name_en": "Sunita Devi",
    "sex": "F",
    "date_of_birth": "1985-03-14",
    "guardian_relation": "W/O",
    "guardian_name": "Ramesh Kumar",
    "mobile": "9812345678",
    "address": {"district": "Sitapur", "state": "Uttar Pradesh"},
}
RAJESH = {
    "name_en": "Rajesh Kumar Yadav",
    "sex": "M",
    "age_years": 52,
    "mobile": "9123456780",
    "address": {"district": "Lucknow", "state": "Uttar Pradesh"},
}
PEOPLE: list[dict[str, Any]] = [
    SUNITA,
    {**SUNITA, "name_en": "Suneeta Devi", "mobile": ""},
    {**SUNITA, "name_en": "Sunita", "guardian_name": "Ramesh", "date_of_birth": "1986-01-02"},
    RAJESH,
    {**RAJESH, "name_en": "Rajesh Yadav"},
    {**RAJESH, "name_en": "Rakesh Yadav", "mobile": "9000000001"},
    {"name_en": "Mohd. Irfan", "sex": "M", "age_years": 40},
]


@pytest.fixture(autouse=True)
def no_marker_left():
    yield
    backfill.marker().unlink(missing_ok=True)


def pairs() -> dict[str, tuple[Any, ...]]:
    return {
        row[0]: (*row[1:4], json.dumps(row[4]), row[5])
        for row in DuplicatePair.objects.values_list(
            "pair", "uhid_a", "uhid_b", "score", "evidence", "found_at_ms"
        )
    }


def keys() -> set[tuple[str, str]]:
    return set(BlockingKey.objects.values_list("key", "uhid"))


def left_for_later() -> None:
    """The state a restore with ``--worklist later`` leaves: keys filed, no pairs."""
    projections.rescore_all(pairs=False)
    backfill.leave_for_later(len(PEOPLE))
    assert keys() and not pairs()
    assert backfill.pending()["patients"] == len(PEOPLE)


def worked_out_at_once() -> tuple[set[tuple[str, str]], dict[str, tuple[Any, ...]]]:
    projections.rescore_all()
    return keys(), pairs()


def test_the_backfill_lists_what_working_everything_out_at_once_lists(clerk, monkeypatch):
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    # A minute later, the second Sunita's mobile: her pairs were found when she last
    # changed, her newest stamp, not her first.
    wall_ms = hlc.wall_ms
    monkeypatch.setattr(hlc, "wall_ms", lambda: wall_ms() + 60_000)
    actions.do_correct_patient(clerk.username, uhids[1], {"mobile": "9812345678"}, "added")
    expected = worked_out_at_once()
    assert any(uhids[1] in row[:2] for row in expected[1].values())
    assert len(expected[1]) >= 2, "the test needs likely pairs"
    left_for_later()
    done = backfill.backfill()
    assert (keys(), pairs()) == expected
    assert done.likely == done.written == len(expected[1]) and done.skipped == 0
    # Nothing was written meanwhile: no record or key had to be read again.
    assert done.rechecked == 0
    assert backfill.pending() is None and not backfill.marker().exists()
    # Run again (say serve started it twice): nothing changes.
    backfill.backfill()
    assert (keys(), pairs()) == expected


def test_rebuild_check_says_the_worklist_is_pending_not_different(clerk):
    """The rebuild works the worklist out in full; until the backfill has, the IT team
    checking a restored node is told it is pending - and any other difference still
    fails the check."""
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    left_for_later()
    check = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert check.exit_code == 0, check.output
    assert "PENDING: dedupe.DuplicatePair" in check.output
    assert "reproduces every other table" in check.output
    BlockingKey.objects.all().delete()  # damage that is no backfill's to mend
    check = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert check.exit_code == 1 and "DIFFERENT: dedupe.BlockingKey" in check.output
    projections.rescore_all(pairs=False)
    filled = CliRunner().invoke(main, ["dedupe", "backfill"], catch_exceptions=False)
    assert filled.exit_code == 0, filled.output
    assert "(0 left to the registrations made meanwhile; 0 checked again" in filled.output
    check = CliRunner().invoke(main, ["rebuild", "--check"], catch_exceptions=False)
    assert check.exit_code == 0 and "PENDING" not in check.output
    assert "reproduces every table" in check.output


@pytest.mark.parametrize("crowded", [128, 3])
def test_work_done_meanwhile_is_neither_lost_nor_overwritten(clerk, monkeypatch, crowded):
    monkeypatch.setattr(projections, "CROWDED", crowded)
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    left_for_later()

    def meanwhile() -> None:
        # After the snapshot was scored, before anything is written: a correction makes
        # a listed pair unlikely, another makes a new one; a new patient arrives, a
        # likely duplicate (at CROWDED 3 she also crowds the Sunitas' year bands).
        actions.do_correct_patient(clerk.username, uhids[4], {"name_en": "Mukesh Verma"}, "x")
        actions.do_correct_patient(clerk.username, uhids[5], {"name_en": "Rajesh K Yadav"}, "x")
        actions.do_register_patient(clerk.username, {**SUNITA, "name_en": "Sunitha Devi"})

    done = backfill.backfill(between=meanwhile)
    listed = (keys(), pairs())
    assert listed == worked_out_at_once()
    assert done.skipped > 0, "some scored pairs were left to the registrations meanwhile"
    assert done.rechecked == done.likely  # each pair checked against the table as it is


def test_the_backfill_reports_its_progress(clerk):
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    left_for_later()
    seen: list[tuple[str, int, int]] = []
    backfill.backfill(progress=lambda *step: seen.append(step))
    assert seen[0][0] == "read" and {stage for stage, _, _ in seen[1:]} == {"pairs"}
    assert all(done <= total == seen[0][2] for _, done, total in seen)
    assert seen[-1][1] == seen[-1][2] > 0


def test_a_pair_whose_bucket_becomes_crowded_meanwhile_is_not_written(clerk, monkeypatch):
    # Two spellings of one woman sharing only her first name's year bands: a pair while
    # the bucket is roomy, none once namesakes crowd it (tests/dedupe/test_crowded.py).
    monkeypatch.setattr(projections, "CROWDED", 3)
    alone = {key: value for key, value in SUNITA.items() if "guardian" not in key}
    alone.update(name_en="Sunita", mobile="")
    her = actions.do_register_patient(clerk.username, alone).uhid
    again = actions.do_register_patient(clerk.username, {**alone, "name_en": "Suneeta"}).uhid
    left_for_later()

    def namesakes_arrive() -> None:
        for day in ("1986-07-20", "1987-11-02"):
            actions.do_register_patient(clerk.username, {**alone, "date_of_birth": day})

    done = backfill.backfill(between=namesakes_arrive)
    assert done.likely == 1 and done.written == 0
    assert f"{min(her, again)}|{max(her, again)}" not in pairs()
    assert (keys(), pairs()) == worked_out_at_once()


def test_a_marker_that_cannot_be_read_still_means_the_worklist_is_to_be_done(clerk):
    for data in PEOPLE[:3]:
        actions.do_register_patient(clerk.username, dict(data))
    expected = worked_out_at_once()
    projections.rescore_all(pairs=False)
    backfill.marker().write_text("{not json")
    assert backfill.pending() == {"patients": 0, "since": None}
    backfill.backfill()
    assert backfill.pending() is None and (keys(), pairs()) == expected


def test_a_patient_registered_while_the_snapshot_is_read_is_left_to_her_registration(
    clerk, monkeypatch
):
    """The records are read, then the blocking table: a patient registered in between is
    in the second and not the first. Her registration scored her pairs itself; the
    backfill leaves them to it, and finishes."""
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    left_for_later()
    read_records = registry.every_match_record

    def then_an_arrival() -> Any:
        records = read_records()
        actions.do_register_patient(clerk.username, {**SUNITA, "name_en": "Sunitha Devi"})
        return records

    monkeypatch.setattr(registry, "every_match_record", then_an_arrival)
    done = backfill.backfill()
    monkeypatch.setattr(registry, "every_match_record", read_records)
    listed = (keys(), pairs())
    assert listed == worked_out_at_once()
    assert done.patients == len(PEOPLE) and backfill.pending() is None


@pytest.mark.parametrize("crowded", [128, 2])
def test_the_candidates_read_from_the_table_are_those_of_its_keys_listed(
    clerk, monkeypatch, crowded
):
    """``table_candidates`` reads the blocking table grouped by key, straight into
    arrays: the same pairs as ``candidate_codes`` of the table listed patient by patient,
    in UHID order; of those patients, the ones who share a key."""
    monkeypatch.setattr(projections, "CROWDED", crowded)
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    listed: dict[str, list[str]] = {}
    for uhid, key in BlockingKey.objects.values_list("uhid", "key"):
        listed.setdefault(uhid, []).append(key)
    filed = [(uhid, sorted(listed[uhid])) for uhid in sorted(listed)]
    uhids, codes = projections.table_candidates()
    expected_uhids, expected = projections.candidate_codes(filed)

    def named(uhids: list[str], codes: Any) -> list[tuple[str, str]]:
        return [(uhids[code // len(uhids)], uhids[code % len(uhids)]) for code in codes.tolist()]

    assert named(uhids, codes) == named(expected_uhids, expected) and len(codes) >= 3
    shared = Counter(BlockingKey.objects.values_list("key", flat=True))
    sharing = {u for u, k in BlockingKey.objects.values_list("uhid", "key") if shared[k] > 1}
    assert uhids == sorted(sharing) and len(uhids) < len(expected_uhids)
    sizes = Counter(key for key, _ in BlockingKey.objects.values_list("key", "uhid"))
    assert (max(sizes.values()) > crowded) == (crowded == 2)  # both ways of pairing tried


def test_the_texts_the_database_writes_are_read_a_part_at_a_time_whole(clerk, monkeypatch):
    """The blocking table's groups and the patients' spellings are each read as one text
    a statement - a statement for a part of the table (the databases' limit of a text is
    1 GB): read a key and a patient at a time, they are the same."""
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    connection.ensure_connection()
    whole = projections.groups_text(connection.connection, connection.vendor)
    spelt = registry.spellings_text()
    monkeypatch.setattr(projections, "GROUPS_AT_ONCE", 1)
    monkeypatch.setattr(registry, "SPELLINGS_AT_ONCE", 1)
    parts = projections.groups_text(connection.connection, connection.vendor)
    assert sorted(parts.split("\x1e")) == sorted(whole.split("\x1e")) and whole.count("\x1e") >= 2
    spellings = sorted(registry.spellings_text().split("\x1e"))
    assert spellings == sorted(spelt.split("\x1e"))
    assert spellings == sorted(f"{p['name_en']}\x1f{p.get('name_hi', '')}" for p in PEOPLE)


@pytest.mark.django_db(transaction=True)
def test_a_correction_committed_from_another_connection_waits_for_the_chunk(clerk, monkeypatch):
    """Committed work, each side on its own connection (the node serves while the
    backfill runs in a process of its own). A correction arriving while a chunk is being
    written waits for it - SQLite's write lock, PostgreSQL's lock on the patients' table -
    and its own rescoring then takes off the pair the chunk wrote for the old record.
    Without that wait its rescore would run first, and the chunk's pair would stay."""
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    left_for_later()
    insert = backfill.bulk.insert_ignore
    seen: dict[str, Any] = {}

    def correct() -> None:
        try:
            actions.do_correct_patient(clerk.username, uhids[4], {"name_en": "Mukesh Verma"}, "x")
            seen["corrected"] = True
        finally:
            connection.close()

    def insert_with_a_correction_arriving(table: str, *args: Any, **kwargs: Any) -> Any:
        if table == DuplicatePair._meta.db_table and "thread" not in seen:
            seen["thread"] = threading.Thread(target=correct)
            seen["thread"].start()
            seen["thread"].join(timeout=1.5)
            seen["waited"] = seen["thread"].is_alive()
            seen["written"] = {row[0] for row in args[1]}
        return insert(table, *args, **kwargs)

    monkeypatch.setattr(backfill.bulk, "insert_ignore", insert_with_a_correction_arriving)
    done = backfill.backfill()
    seen["thread"].join(timeout=30)
    assert seen.get("corrected"), "the correction went through once the chunk was in"
    assert seen["waited"], "the correction waited for the chunk"
    assert done.likely == done.written > 0
    old_pair = f"{min(uhids[3], uhids[4])}|{max(uhids[3], uhids[4])}"
    assert old_pair in seen["written"], "the chunk wrote the pair of the old record"
    listed = (keys(), pairs())
    assert old_pair not in listed[1]
    assert listed == worked_out_at_once()


@pytest.mark.django_db(transaction=True)
def test_work_committed_meanwhile_from_another_connection_is_seen(clerk):
    """As above, committed from another connection between the snapshot and the writes:
    every chunk is then checked in full."""
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    left_for_later()

    def elsewhere() -> None:
        try:
            actions.do_correct_patient(clerk.username, uhids[4], {"name_en": "Mukesh Verma"}, "x")
            actions.do_register_patient(clerk.username, {**SUNITA, "name_en": "Sunitha Devi"})
        finally:
            connection.close()

    def meanwhile() -> None:
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join(timeout=30)

    done = backfill.backfill(between=meanwhile)
    assert done.rechecked == done.likely and done.skipped > 0
    assert (keys(), pairs()) == worked_out_at_once()


@pytest.mark.django_db(transaction=True)
def test_the_backfills_own_commits_leave_it_quiet(clerk, monkeypatch):
    """A chunk a transaction, each committed: the backfill's own commits are not taken
    for someone else's, so nothing is read again."""
    monkeypatch.setattr(backfill, "WRITE_CHUNK", 1)
    monkeypatch.setattr(sql, "COPY_FROM_ROWS", 1)  # a chunk of one would go by COPY
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    expected = worked_out_at_once()
    left_for_later()
    with CaptureQueriesContext(connection) as queries:
        done = backfill.backfill()
    assert done.written == len(expected[1]) >= 2 and done.rechecked == 0
    assert (keys(), pairs()) == expected
    # Nor did it search the patients' table for who wrote them (PostgreSQL): no
    # transaction but its own ended between its chunks - no subtransaction either.
    assert not [q for q in queries if "xmin" in q["sql"]]


def test_a_chunk_undone_by_a_deadlock_is_written_again(clerk, monkeypatch):
    """PostgreSQL undoes one side of a deadlock (the chunk's table lock against a sync
    batch that wrote a pair, then a patient): the chunk is tried again, not lost."""
    import psycopg.errors
    from django.db import OperationalError

    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    expected = worked_out_at_once()
    left_for_later()
    write, tries = backfill._write, []

    def deadlocked_once(*args: Any) -> int:
        tries.append(1)
        if len(tries) == 1:
            raise OperationalError("deadlock detected") from psycopg.errors.DeadlockDetected()
        return write(*args)

    monkeypatch.setattr(backfill, "_write", deadlocked_once)
    backfill.backfill()
    assert len(tries) == 2 and (keys(), pairs()) == expected
    monkeypatch.setattr(backfill, "DEADLOCK_TRIES", 1)
    tries.clear()
    left_for_later()
    with pytest.raises(OperationalError):
        backfill.backfill()


@pytest.mark.django_db(transaction=True)
def test_other_work_committed_meanwhile_is_told_apart_from_a_patients_on_postgresql(
    clerk, monkeypatch
):
    """After a restore PostgreSQL's autovacuum analyzes the new tables, each time ending a
    transaction: work that wrote no patient's row leaves the backfill quiet there. SQLite
    can tell only that someone committed, and checks the rest in full."""
    monkeypatch.setattr(backfill, "WRITE_CHUNK", 1)
    for data in PEOPLE:
        actions.do_register_patient(clerk.username, dict(data))
    expected = worked_out_at_once()
    left_for_later()
    write, added = backfill._write, []

    def elsewhere() -> None:
        try:
            added.append(make_user(f"nurse{len(added)}", "nurse"))
        finally:
            connection.close()

    def write_after_other_work(*args: Any) -> int:
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join(timeout=30)
        return write(*args)

    monkeypatch.setattr(backfill, "_write", write_after_other_work)
    done = backfill.backfill()
    assert len(added) == done.likely >= 2
    assert (keys(), pairs()) == expected
    assert done.rechecked == (0 if connection.vendor == "postgresql" else done.likely)


def test_rounds_judged_by_worker_processes_are_written_as_they_come(clerk, monkeypatch):
    """From ``PARALLEL_FROM`` patients the exact scoring is the workers' and each round's
    pairs are written while they judge the next: the list is the same, with work done
    meanwhile, and the progress says so in order."""
    from nirantar.dedupe import scoring

    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    left_for_later()
    monkeypatch.setattr(scoring, "PARALLEL_FROM", 1)
    monkeypatch.setattr(projections, "SCORING_ROUND", 1)  # a candidate a round

    def meanwhile() -> None:
        actions.do_correct_patient(clerk.username, uhids[4], {"name_en": "Mukesh Verma"}, "x")

    # The screen is given every registered patient's names, worked out by the worker.
    records = registry.every_match_record()  # as the backfill's snapshot reads them
    given: list[Any] = []
    screen_of = projections.screen_of

    def screen_given(records: Any, names: Any = None) -> Any:
        given.append(names)
        return screen_of(records, names)

    monkeypatch.setattr(projections, "screen_of", screen_given)
    seen: list[tuple[str, int, int]] = []
    done = backfill.backfill(progress=lambda *step: seen.append(step), between=meanwhile)
    assert given == [{(r.name_en, r.name_hi): r.names() for r in records.values()}]
    assert (keys(), pairs()) == worked_out_at_once()
    assert done.candidates > 2 and done.skipped == 1
    judged = [d for stage, d, _ in seen if stage == "pairs"]
    assert judged == list(range(1, done.candidates + 1))  # a round a candidate, in order
    assert {t for _, _, t in seen} == {done.candidates}


@pytest.mark.django_db(transaction=True)
def test_a_correction_begun_before_the_snapshot_and_committed_after_it_is_seen(clerk, monkeypatch):
    """A transaction already running when the backfill reads its snapshot, whose
    correction the snapshot cannot see, commits before the first chunk: PostgreSQL lists
    it among the snapshot's running transactions (``xip``), and its ending is a change.
    (On SQLite its write lock would keep the other writer here out: PostgreSQL only.)"""
    if connection.vendor != "postgresql":
        pytest.skip("a second writer running beside the first is PostgreSQL's case")
    uhids = [actions.do_register_patient(clerk.username, dict(data)).uhid for data in PEOPLE]
    left_for_later()
    wrote, go = threading.Event(), threading.Event()
    rescore = projections.rescore

    def rescore_later(*args: Any) -> Any:
        # In the correction's transaction, its patient's row written: wait.
        wrote.set()
        go.wait(30)
        return rescore(*args)

    def correct_slowly() -> None:
        try:
            actions.do_correct_patient(clerk.username, uhids[4], {"name_en": "Mukesh Verma"}, "x")
        finally:
            connection.close()

    def a_later_one_ends_first() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_current_xact_id()")
        finally:
            connection.close()

    monkeypatch.setattr(projections, "rescore", rescore_later)
    slow = threading.Thread(target=correct_slowly)
    slow.start()
    assert wrote.wait(30)
    later = threading.Thread(target=a_later_one_ends_first)
    later.start()
    later.join(30)

    def meanwhile() -> None:
        go.set()
        slow.join(30)

    done = backfill.backfill(between=meanwhile)
    monkeypatch.setattr(projections, "rescore", rescore)
    assert not slow.is_alive()
    assert done.rechecked == done.likely and done.skipped > 0
    assert (keys(), pairs()) == worked_out_at_once()
