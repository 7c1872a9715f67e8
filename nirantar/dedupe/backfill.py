"""The duplicate worklist among restored patients, worked out while the node serves.

A restore of a big registry files every patient's blocking keys but can leave the pairs
for later (``nirantar restore --worklist later``; by default from ``LATER_FROM``
patients): scoring them grows faster than the registry - minutes at half a million
patients, hours at tens of millions - and the counters, wards and laboratory need none
of it to work again. The node then works the worklist out beside its service
(``nirantar serve`` starts ``nirantar dedupe backfill`` while the marker file is there),
or the IT team runs that command at once.

Why the node may keep serving meanwhile: every registration or correction arriving
during the backfill files its patient's keys and scores that patient's pairs itself
against the whole blocking table, which the restore filled (``projections.rescore``).
The backfill scores, from a snapshot read without holding the write lock, the pairs
``rescore_all`` would list; then writes them a chunk at a time, each chunk in a short
write transaction that first reads the records and keys as they are *now*. A pair is
written only if neither record changed since the snapshot (else the live path has
scored that patient's pairs already, on the record as it is) and it still ``qualifies``
(a bucket that became crowded since takes it off, as the live path does). Rows are
inserted if absent. So, once done, the worklist is what ``rescore_all`` gives for the
records as they then stand - the test checks this with registrations and corrections
arriving between the snapshot and the writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from nirantar import config
from nirantar.dedupe import projections
from nirantar.dedupe.models import DuplicatePair
from nirantar.ledger import bulk
from nirantar.registration import candidates as registry

# From this many restored patients, ``--worklist auto`` leaves the pairs for later.
# Measured here before the bulk screen (``screen``): about 5 s of pairs at 50,000
# patients, 40 s at 150,000; with it, the backfill of 500,000 took 30 s.
LATER_FROM = 100_000
MARKER = config.WORKLIST_PENDING
WRITE_CHUNK = 2_000  # pairs a write transaction: a counter waits at most that long


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
) -> Backfilled:
    """Work out and write the worklist left for later; remove the marker when done.

    ``progress(stage, done, total)`` is told how the scoring and the writing go.
    ``between`` runs after the snapshot is scored and before anything is written (for
    tests: what the node does meanwhile).
    """
    with bulk.collector_paused():  # half a million records live to the end
        return _backfill(progress, between)


def _backfill(
    progress: Callable[[str, int, int], None] | None,
    between: Callable[[], None] | None,
) -> Backfilled:
    started = time.perf_counter()
    done = Backfilled()
    quiet = _Quiet()  # before the snapshot is read
    records = registry.every_match_record()
    done.patients = len(records)
    found = projections.likely_pairs(
        records,
        projections.table_candidates(),
        progress=(lambda d, t: progress("scoring", d, t)) if progress else None,
        counted=done,
    )
    done.likely = len(found)
    if between is not None:
        between()
    for start in range(0, len(found), WRITE_CHUNK):
        chunk = found[start : start + WRITE_CHUNK]
        done.written += _write(chunk, records, quiet, done)
        if progress is not None:
            progress("writing", min(start + WRITE_CHUNK, len(found)), len(found))
    marker().unlink(missing_ok=True)
    done.seconds = time.perf_counter() - started
    return done


def _write(
    chunk: list[tuple[str, str, float, list[dict[str, Any]]]],
    snapshot: dict[str, Any],
    quiet: _Quiet,
    done: Backfilled,
) -> int:
    """Write the pairs of ``chunk`` whose records are as in ``snapshot`` and that still
    qualify, in one write transaction; how many were written. While nothing has been
    written to the database since the snapshot was read (``quiet``), every one does:
    only when each record last changed is read then."""
    with transaction.atomic():
        uhids = {u for a, b, _, _ in chunk for u in (a, b)}
        if quiet.still():
            changed = registry.last_changed(uhids)
            rows = [
                (f"{a}|{b}", a, b, score, evidence, max(changed[a], changed[b]))
                for a, b, score, evidence in chunk
            ]
        else:
            done.rechecked += len(chunk)
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
        )
        quiet.wrote()
    return len(rows)


class _Quiet:
    """Whether the database is as the snapshot read it, but for the backfill's own rows.

    On SQLite: ``PRAGMA data_version`` changes when another connection commits, and the
    connection's count of rows changed moves with any write of its own - the backfill's
    rows, noted after each chunk, and anything else. Once either has moved, every later
    chunk is checked in full (a change, once made, may touch any of them). A write
    transaction takes the lock at once (``transaction_mode`` IMMEDIATE), so nothing can
    commit between this check and the chunk's rows. Other engines: always checked.
    """

    def __init__(self) -> None:
        self._mark = self._now()

    @staticmethod
    def _now() -> tuple[int, int] | None:
        if connection.vendor != "sqlite":
            return None
        with connection.cursor() as cursor:  # connects, if need be
            cursor.execute("PRAGMA data_version")
            version = cursor.fetchone()[0]
        return version, connection.connection.total_changes

    def still(self) -> bool:
        if self._mark is not None and self._now() != self._mark:
            self._mark = None
        return self._mark is not None

    def wrote(self) -> None:
        """The chunk's own rows are in (inside its transaction): note them."""
        if self._mark is not None:
            self._mark = self._now()
