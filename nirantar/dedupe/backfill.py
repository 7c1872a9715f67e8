"""The duplicate worklist among restored patients, worked out while the node serves.

A restore of a big registry files every patient's blocking keys but can leave the pairs
for later (``nirantar restore --worklist later``; by default from ``LATER_FROM``
patients): scoring them grows faster than the registry - 18 s at half a million
patients on the test machine, on top of the restore's 40 s - and the counters, wards and
laboratory need none of it to work again. The node then works the worklist out beside its
service (``nirantar serve`` starts ``nirantar dedupe backfill`` while the marker file is
there), or the IT team runs that command at once.

Why the node may keep serving meanwhile: every registration or correction arriving
during the backfill files its patient's keys and scores that patient's pairs itself
against the whole blocking table, which the restore filled (``projections.rescore``).
The backfill scores, from a snapshot read without holding the write lock, the pairs
``rescore_all`` would list, a round at a time; and writes each round's as soon as it is
judged, a chunk at a time, each chunk in a short write transaction that first reads the
records and keys as they are *now* (or, while nothing has been written since the
snapshot, only when its records last changed: ``_Quiet``). A pair is
written only if neither record changed since the snapshot (else the live path has
scored that patient's pairs already, on the record as it is) and it still ``qualifies``
(a bucket that became crowded since takes it off, as the live path does). Rows are
inserted if absent. So, once done, the worklist is what ``rescore_all`` gives for the
records as they then stand - the test checks this with registrations and corrections
arriving between the snapshot and the writes.
"""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction

from nirantar import config
from nirantar.dedupe import projections, scoring
from nirantar.dedupe.models import BlockingKey, DuplicatePair
from nirantar.ledger import bulk
from nirantar.registration import candidates as registry
from nirantar.registration import matching
from nirantar.registration.models import Patient

# From this many restored patients, ``--worklist auto`` leaves the pairs for later.
# Measured here before the bulk screen (``screen``): about 5 s of pairs at 50,000
# patients, 40 s at 150,000; with it, the backfill of 500,000 took 30 s.
LATER_FROM = 100_000
MARKER = config.WORKLIST_PENDING
WRITE_CHUNK = 2_000  # pairs a write transaction: a counter waits at most that long
DEADLOCK_TRIES = 5
# PostgreSQL: beyond this many transactions ended since the last chunk, the chunk is
# checked in full rather than the patients' table searched for their rows.
ENDED_AT_MOST = 1_000


def marker() -> Path:
    return Path(settings.DATA_DIR) / MARKER


def pending() -> dict[str, Any] | None:
    """What the marker says (patients, since when), if the worklist is still to be done:
    patients 0 and since None if the marker can't be read (it is still there)."""
    try:
        said = json.loads(marker().read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        said = {}
    if not isinstance(said, dict):
        said = {}
    patients = said.get("patients")
    return {
        "patients": patients if isinstance(patients, int) else 0,
        "since": said.get("since"),
    }


def leave_for_later(patients: int) -> None:
    marker().write_text(
        json.dumps({"patients": patients, "since": datetime.now(UTC).isoformat(timespec="seconds")})
    )


@dataclass
class Backfilled:
    patients: int = 0
    candidates: int = 0
    screened: int = 0  # candidates the screen let through to the exact scoring
    likely: int = 0
    written: int = 0
    rechecked: int = 0  # likely pairs whose records and keys were read again to write
    seconds: float = 0.0

    @property
    def skipped(self) -> int:
        """Likely pairs not written: a record changed since the snapshot, or the pair no
        longer qualifies (the registrations made meanwhile scored those)."""
        return self.likely - self.written


def backfill(
    progress: Callable[[str, int, int], None] | None = None,
    between: Callable[[], None] | None = None,
    *,
    keep: bool = False,
) -> Backfilled:
    """Work out and write the worklist left for later; remove the marker when done.

    ``progress("read", total, total)`` once the records and the ``total`` candidate pairs
    are read; ``progress("pairs", done, total)`` after each round: ``done`` have been
    judged and their likely pairs written.
    ``between`` runs after the snapshot is read and its first pairs judged, before
    anything is written (for tests: what the node does meanwhile). ``keep``: the
    process ends as soon as this returns (``cli.run``), so the cyclic garbage collector
    is left paused, and the records, the screen and the candidates are kept, not freed
    an object at a time first (0.9 s at 500,000 patients, with the collection).
    """
    with bulk.collector_paused(resume=not keep):  # half a million records live to the end
        return _backfill(progress, between, keep)


def _backfill(
    progress: Callable[[str, int, int], None] | None,
    between: Callable[[], None] | None,
    keep: bool,
) -> Backfilled:
    started = time.perf_counter()
    done = Backfilled()
    quiet = _Quiet()  # before the snapshot is read
    big = Patient.objects.filter(is_registered=True).count() >= scoring.PARALLEL_FROM
    # A worker to make the candidate pairs in, started first: it starts while the
    # records are read. It and the thread below are gone before the rounds' workers are
    # forked (``projections.rounds_of``).
    with scoring.pool() if big else nullcontext() as workers:
        # The names of every spelling are worked out by the worker, first, while this
        # process reads the records (it worked them out itself for the screen: 2.2 s of
        # its 5 s at 500,000 patients, the worker's core idle meanwhile).
        named = (
            workers.submit(matching.names_of_text, registry.spellings_text()) if workers else None
        )
        records = registry.every_match_record()
        done.patients = len(records)
        # Then, in a thread on this process's connection (its own until the thread is
        # done): the blocking table grouped by key, sent to a worker to make the pairs
        # of; and when each patient last changed. The database does both without
        # Python's lock while this process builds the screen (the table's 0.8 s and
        # the writes' 2.8 s were this process's before).
        connection.ensure_connection()
        raw, vendor = connection.connection, connection.vendor
        with concurrent.futures.ThreadPoolExecutor(1) as reading:
            grouped = reading.submit(_grouped, raw, vendor, workers)
            stamps = reading.submit(registry.every_last_change, raw, vendor)
            sieve = projections.screen_of(records, named.result() if named else None)
            del named
            made = grouped.result()
            candidates = (
                made.result()
                if isinstance(made, concurrent.futures.Future)
                else scoring.candidates_of_text(made, projections.CROWDED)
            )
            read = stamps.result()
    # Keyed by the records' own UHIDs: the statement's copies go (100 MB otherwise).
    last = {uhid: read[uhid] for uhid in records if uhid in read}
    del grouped, made, stamps, read
    if progress is not None:
        progress("read", len(candidates[1]), len(candidates[1]))
    rounds = projections.rounds_of(records, sieve, candidates, big, counted=done)
    _write_rounds(rounds, records, last, quiet, done, progress, between)
    marker().unlink(missing_ok=True)
    if keep:
        _kept.append((records, sieve, candidates, last))
    done.seconds = time.perf_counter() - started
    return done


# What ``backfill(keep=True)`` keeps until its process ends.
_kept: list[Any] = []


def _grouped(
    raw: Any, vendor: str, workers: concurrent.futures.ProcessPoolExecutor | None
) -> str | concurrent.futures.Future[tuple[list[str], Any]]:
    """The blocking table's groups (``projections.groups_text``), sent on to a worker to
    make the candidate pairs of, if there are workers; else the text."""
    text = projections.groups_text(raw, vendor)
    if workers is None:
        return text
    return workers.submit(scoring.candidates_of_text, text, projections.CROWDED)


def _write_rounds(
    rounds: Iterator[tuple[int, list[projections.Pair]]],
    records: dict[str, Any],
    last: dict[str, int],
    quiet: _Quiet,
    done: Backfilled,
    progress: Callable[[str, int, int], None] | None,
    between: Callable[[], None] | None,
) -> None:
    """Write each round's likely pairs as soon as they are judged, while the workers
    judge the next: the writes overlap the scoring."""
    for judged, found in rounds:
        if between is not None:
            between()
            between = None
        done.likely += len(found)
        found.sort()
        for start in range(0, len(found), WRITE_CHUNK):
            chunk = found[start : start + WRITE_CHUNK]
            for attempt in range(1, DEADLOCK_TRIES + 1):
                try:
                    done.written += _write(chunk, records, last, quiet, done)
                    break
                except OperationalError as exc:
                    # PostgreSQL: the chunk's lock on the patients' table and a writer's
                    # row lock each waited for the other, and the chunk was the one undone.
                    if (
                        getattr(exc.__cause__, "sqlstate", None) != "40P01"
                        or attempt == DEADLOCK_TRIES
                    ):
                        raise
        if progress is not None:
            progress("pairs", judged, done.candidates)


def _write(
    chunk: list[projections.Pair],
    snapshot: dict[str, Any],
    last: dict[str, int],
    quiet: _Quiet,
    done: Backfilled,
) -> int:
    """Write the pairs of ``chunk`` whose records are as in ``snapshot`` and that still
    qualify, in one write transaction; how many were written. While nothing has been
    written to the database since the snapshot was read (``quiet``), every one does,
    with when each record last changed as ``last`` read it (after the snapshot, so the
    same while quiet)."""
    with transaction.atomic():
        checked = not quiet.still()
        if not checked:
            rows = [
                (f"{a}|{b}", a, b, score, evidence, max(last[a], last[b]))
                for a, b, score, evidence in chunk
            ]
        else:
            uhids = {u for a, b, _, _ in chunk for u in (a, b)}
            now = registry.match_records(uhids)
            keys = projections.filed_keys(uhids)
            sizes = projections._sizes(k for filed in keys.values() for k in filed)
            rows = [
                projections.scored_row((a, b, score, evidence), now)
                for a, b, score, evidence in chunk
                if a in now
                and b in now
                and now[a][0] == snapshot[a]
                and now[b][0] == snapshot[b]
                and projections.qualifies(
                    keys.get(a, set()) & keys.get(b, set()), sizes.__getitem__
                )
            ]
        bulk.insert_ignore(
            DuplicatePair._meta.db_table,
            projections.PAIR_COLUMNS,
            rows,
            json_columns=("evidence",),
            # Not by COPY, whose savepoint is a subtransaction: its id, ended by the next
            # chunk, would cost ``_Quiet`` a search of the patients' table each chunk
            # (PostgreSQL at 500,000 patients: 37 s, against 27.5 s without).
            copy=False,
        )
        quiet.wrote()
    done.rechecked += len(chunk) if checked else 0
    return len(rows)


class _Quiet:
    """Whether the database is as the snapshot read it, but for the backfill's own rows.
    ``still`` runs first in each chunk's write transaction; ``wrote`` after its rows.

    On SQLite: ``PRAGMA data_version`` changes when another connection commits, and the
    connection's count of rows changed moves with any write of its own - the backfill's
    rows, noted after each chunk, and anything else. A write transaction takes the lock
    at once (``transaction_mode`` IMMEDIATE), so nothing can commit between this check
    and the chunk's rows.

    On PostgreSQL: each chunk first locks the patients' table in SHARE mode, so no record
    (nor, written with it, key) can change until the chunk commits - a correction waits,
    and its own rescoring then replaces the chunk's pair. Then: a transaction that ends
    moves the snapshot's ``xmax`` past its id or takes it off ``xip``, and the
    connection's own uncommitted writes to the patients' and keys' tables move
    ``pg_stat_xact_user_tables``. Transactions that ended since the last chunk are
    looked for in the patients' table (a row whose ``xmin`` is theirs): autovacuum's,
    after a restore, wrote none. Once one that did has ended, one running at the
    snapshot has ended, more than ``ENDED_AT_MOST`` have, or those counts have moved,
    every later chunk is checked in full (a change, once made, may touch any of them).
    """

    def __init__(self) -> None:
        self._mark: tuple[Any, ...] | None = self._now()

    @staticmethod
    def _now() -> tuple[Any, ...]:
        with connection.cursor() as cursor:  # connects, if need be
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA data_version")
                return (cursor.fetchone()[0], connection.connection.total_changes)
            cursor.execute(_PG_MARK, [Patient._meta.db_table, BlockingKey._meta.db_table])
            xmax, xip, own, written = cursor.fetchone()
        return int(xmax), {int(x) for x in xip}, None if own is None else int(own), written

    def still(self) -> bool:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Patient._meta.db_table} IN SHARE MODE")  # noqa: S608
        if self._mark is not None:
            now = self._now()
            self._mark = now if self._same(self._mark, now) else None
        return self._mark is not None

    @staticmethod
    def _same(mark: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
        if connection.vendor == "sqlite":
            return mark == now
        xmax, xip, own, written = mark
        xmax_now, xip_now = now[0], now[1]
        if written != now[3] or any(x not in xip_now and x != own for x in xip):
            return False  # own writes, or one running at the mark has ended
        if xmax_now - xmax > ENDED_AT_MOST:
            return False
        # Every id from the mark's xmax to now's was given out since (a transaction's or
        # a savepoint's); each one not running now has ended - the mark's own aside.
        ended = [x for x in range(xmax, xmax_now) if x not in xip_now and x != own]
        if not ended:
            return True
        # Others ended (autovacuum's ANALYZE does, after a restore): quiet still if none
        # of them wrote a patient's row - a new patient, a correction, and a key filed
        # all write one. The row's xmin is the id's low 32 bits.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {Patient._meta.db_table} "  # noqa: S608
                "WHERE xmin::text::bigint = ANY(%s))",
                [[x % 2**32 for x in ended]],
            )
            return not cursor.fetchone()[0]

    def wrote(self) -> None:
        """The chunk's own rows are in (inside its transaction): note them."""
        if self._mark is not None:
            self._mark = self._now()


# The snapshot, this transaction's id (once it has written) and its own uncommitted
# writes to the patients' and keys' tables (counts PostgreSQL keeps until it reports them).
_PG_MARK = """
SELECT pg_snapshot_xmax(s)::text, ARRAY(SELECT pg_snapshot_xip(s)::text),
       pg_current_xact_id_if_assigned()::text,
       (SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint
          FROM pg_stat_xact_user_tables WHERE relid IN (%s::regclass, %s::regclass))
FROM pg_current_snapshot() s
"""
