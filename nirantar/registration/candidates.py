"""Reads of registration data for duplicate detection (nirantar/dedupe): what the matcher
needs of many patients at once. Kept apart from queries.py, which reads for people; these
reads are not audited here - whoever shows the records to someone audits that
(``do_record_search``), as the counter's search does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from django.db import connection
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from nirantar import sql
from nirantar.registration import matching
from nirantar.registration.models import MergedPatient, Patient

_MATCH_COLUMNS = (
    "uhid, name_en, name_hi, sex, date_of_birth, dob_estimated, guardian_relation, "
    "guardian_name, mobile, district, field_stamps"
)


def match_records(
    uhids: Iterable[str], *, changed: bool = True, merged_away: bool = True
) -> dict[str, tuple[matching.Record, int]]:
    """What the matcher reads of each registered patient among ``uhids``, and (if
    ``changed``; else 0) when the record last changed: the HLC wall of its newest value,
    ms. Not a read by a person: whoever shows these records to someone audits that
    (``do_record_search``).

    Plain SQL: the counter asks about hundreds of candidates while the clerk types.
    Without ``merged_away``, UHIDs merged into another record are left out: the counter
    offers the record a patient is now, not one it was.
    """
    found: dict[str, tuple[matching.Record, int]] = {}
    columns = _MATCH_COLUMNS if changed else _MATCH_COLUMNS.replace(", field_stamps", "")
    for marks, chunk in sql.in_chunks(sorted(set(uhids))):
        rows = sql.rows(
            f"SELECT {columns} FROM registration_patient "  # noqa: S608 - our own names
            f"WHERE is_registered AND uhid IN ({marks})"
            + (
                ""
                if merged_away
                else " AND uhid NOT IN (SELECT uhid FROM registration_merged_patient)"
            ),
            chunk,
        )
        found.update(_records(rows, changed))
    return found


def every_match_record() -> dict[str, matching.Record]:
    """What the matcher reads of every registered patient, by UHID: for working out the
    worklist afresh (after a restore, or its backfill)."""
    return {uhid: matching.Record(*fields) for uhid, fields in match_fields_in_turn()}


def match_fields_in_turn(chunk: int = 50_000) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """What the matcher reads of every registered patient, a chunk at a time: (UHID, each
    ``matching.Record``'s fields in the order it takes them), in the database's order of
    UHIDs. A pass that keeps only some builds a record only of those, and its memory
    does not grow with the registry."""
    for row in _registered_in_turn(_MATCH_COLUMNS.replace(", field_stamps", ""), chunk):
        yield row[0], _fields(row)


def spellings_text() -> str:
    """Every registered patient's name as spelt, in one text the database writes: each
    ``name_en``, ``\x1f``, ``name_hi``, a ``\x1e`` between patients. A backfill sends it
    to a worker to work out the names of (``matching.names_of_text``) while it reads
    the records. A statement for every ``SPELLINGS_AT_ONCE`` rows of the table (by their
    ids): one text of every row (14 million characters at 500,000 patients) would pass
    the databases' limit of a text (1 GB on either) at some twenty million."""
    if connection.vendor == "postgresql":
        spelt = "string_agg(name_en || chr(31) || name_hi, chr(30))"
    else:
        spelt = "group_concat(name_en || char(31) || name_hi, char(30))"
    connection.ensure_connection()
    return "\x1e".join(_texts_by_id(connection.connection, spelt, SPELLINGS_AT_ONCE))


SPELLINGS_AT_ONCE = 1_000_000  # rows: about 28 million characters of text


def registered_in_turn(chunk: int = 50_000) -> Iterator[str]:
    """The UHID of every registered patient, a chunk at a time, in the database's order."""
    for row in _registered_in_turn("uhid", chunk):
        yield row[0]


def _registered_in_turn(columns: str, chunk: int) -> Iterator[tuple[Any, ...]]:
    after: str | None = None
    while True:
        rows = sql.rows(
            f"SELECT {columns} FROM registration_patient WHERE is_registered"  # noqa: S608
            + ("" if after is None else " AND uhid > %s")
            + f" ORDER BY uhid LIMIT {int(chunk)}",
            [] if after is None else [after],
        )
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1][0]


def _fields(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A ``matching.Record``'s fields, in its order, of a row of ``_MATCH_COLUMNS``."""
    return (
        row[1] or "",
        row[2] or "",
        row[3] or "",
        sql.date_value(row[4]),
        bool(row[5]),
        row[6] or "",
        row[7] or "",
        row[8] or "",
        matching.district_of(row[9]),
    )


def _records(
    rows: Iterable[tuple[Any, ...]], changed: bool
) -> Iterable[tuple[str, tuple[matching.Record, int]]]:
    for row in rows:
        yield row[0], (matching.Record(*_fields(row)), _last_change(row[10]) if changed else 0)


def _last_change(stamps: Any) -> int:
    """The HLC wall (ms) of a patient's newest field value, of its ``field_stamps``."""
    # SQLite's text, by orjson: 0.89 s for 188,110 patients against 1.43 s by the json
    # module (``sql.json_value``). Not for every JSON column: orjson reads an integer
    # beyond 64 bits as a float, and refuses NaN; a stamp holds neither.
    if isinstance(stamps, str | bytes):
        stamps = orjson.loads(stamps)
    return max((int(s[0]) for s in (stamps or {}).values() if s), default=0)


def every_last_change(raw: Any, vendor: str) -> dict[str, int]:
    """When every registered patient last changed (``match_records``' second half, by
    UHID), worked out by the database on ``raw``, a DB-API connection: a statement, and a
    row of text, for every 10,000 rows of the table, each text split here.

    For a thread beside work that holds Python's lock (the backfill's screen): the
    database reads the patients' stamps while each statement runs, and the thread needs
    the lock again only for its one row (SQLite's ``json_each`` finds each newest stamp,
    where ``_last_change`` parses a patient's stamps in Python). The caller makes sure
    nothing else uses ``raw`` meanwhile."""
    if vendor == "sqlite":
        newest = "(SELECT max(json_extract(value, '$[0]')) FROM json_each(field_stamps))"
        together = "group_concat(uhid || ' ' || coalesce({}, 0), ' ')"
    else:
        newest = "(SELECT max((value->>0)::bigint) FROM jsonb_each(field_stamps))"
        together = "string_agg(uhid || ' ' || coalesce({}, 0), ' ')"
    found: dict[str, int] = {}
    # A row of text for every 10,000 rows: no million words split at once.
    for text in _texts_by_id(raw, together.format(newest), 10_000):
        words = text.split()
        found.update((words[k], int(words[k + 1])) for k in range(0, len(words), 2))
    return found


def _texts_by_id(raw: Any, joined: str, step: int) -> Iterator[str]:
    """``joined`` (an aggregate of the rows into one text) of the registered patients, a
    statement for every ``step`` rows of the table, by their ids, in the table's order:
    no text past the databases' limit (1 GB), and no sort. Read on ``raw``, a DB-API
    connection, which nothing else uses meanwhile."""
    cursor = raw.cursor()
    try:
        cursor.execute("SELECT coalesce(max(id), 0) FROM registration_patient")
        (top,) = cursor.fetchone()
        for start in range(0, int(top), step):
            cursor.execute(
                f"SELECT {joined} FROM registration_patient "  # noqa: S608 - our own text
                f"WHERE is_registered AND id > {start} AND id <= {start + step}"
            )
            text = cursor.fetchone()[0]
            if text:
                yield str(text)
    finally:
        cursor.close()


def patients_by_uhid(uhids: Iterable[str]) -> dict[str, Patient]:
    """Registered patients by UHID, for a list the caller audits as shown."""
    return {p.uhid: p for p in Patient.objects.filter(uhid__in=set(uhids), is_registered=True)}


def shown_under(field: str) -> Any:
    """An expression for the UHID whose record the UHID in ``field`` shows under now: its
    survivor if it was merged away, else itself. For lists of pairs of UHIDs (the
    duplicates worklist): a pair merged into one record is no longer open."""
    survivor = MergedPatient.objects.filter(uhid=OuterRef(field)).values("survivor")[:1]
    return Coalesce(Subquery(survivor), F(field))
