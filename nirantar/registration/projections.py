"""Projections of registration events. The only code that writes registration tables.

Events can meet in any order (a correction made at one node may arrive at a
third before the registration does), so every handler is order-independent:
patients are last-writer-wins per field (every value stays in the log, where
``queries.history`` reads it); visits and departments are creates keyed by
minted ids.

Patients and visits are applied in batches (``handles_batch``): a node catching
up after a day apart receives tens of thousands of them at once.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from django.db import connection

from nirantar.ledger import bulk, lww, roster, sequences
from nirantar.ledger.events import Event
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.projection import (
    beside_bulk,
    defer_in_bulk,
    event_version,
    handles,
    handles_batch,
    register_models,
)
from nirantar.registration import events, merging, rows
from nirantar.registration.models import (
    Department,
    MergedPatient,
    Patient,
    PatientMerge,
    Visit,
)
from nirantar.registration.rules import PATIENT_FIELDS

register_models(Department, Patient, Visit, PatientMerge, MergedPatient)
for _type in (
    events.DEPARTMENT_DEFINED,
    events.PATIENT_REGISTERED,
    events.PATIENT_CORRECTED,
    events.VISIT_REGISTERED,
    events.PATIENTS_MERGED,
    events.PATIENTS_UNMERGED,
):
    event_version(_type, 1)

Failures = list[tuple[Event, str]]


@handles(events.DEPARTMENT_DEFINED)
def on_department_defined(event: Event) -> None:
    body = event.body
    department = Department.objects.filter(code=body["code"]).first() or Department(
        code=body["code"], field_stamps={}
    )
    stamps = dict(department.field_stamps)
    stamp = lww.stamp_of(event)
    for field in ("name_en", "name_hi", "rooms", "active"):
        lww.assign(department, stamps, field, body[field], stamp)
    department.field_stamps = stamps
    department.save()


def field_values(body: dict[str, Any]) -> dict[str, Any]:
    return rows.field_values(body, PATIENT_FIELDS)


PATIENT_COLUMNS = [f.attname for f in Patient._meta.concrete_fields if f.attname != "id"]
_BLANK = Patient()
# A new patient's row before its events are applied: what Patient() holds, without making
# a model instance per patient (a restore makes hundreds of thousands).
PATIENT_DEFAULTS = {c: getattr(_BLANK, c) for c in PATIENT_COLUMNS if c != "field_stamps"}
LAYOUT = rows.PatientLayout(tuple(PATIENT_FIELDS), tuple(PATIENT_COLUMNS), PATIENT_DEFAULTS)

# During a restore: new patients' rows made beside the ingest (``rows.first_registration``),
# by the content hash of the registration each was made from.
_made_beside: dict[str, tuple[int, int, list[Any]]] = {}


@handles_batch(events.PATIENT_REGISTERED, events.PATIENT_CORRECTED)
def on_patient_events(batch: list[Event]) -> Failures:
    """Registrations and corrections: last-writer-wins per field, every value kept.

    A patient new here whose one event in the batch is its registration (nearly every
    patient of a restore or a catch-up) gets its row whole from ``rows.first_registration``
    - or as a restore made it beside the ingest, from that very event; the rest go field
    by field."""
    failures: Failures = []
    keys = [_uhid_of(e) for e in batch]
    counts = Counter(keys)
    patients: dict[str, Any] = {
        p.uhid: p for p in Patient.objects.filter(uhid__in=_known(set(counts)))
    }
    new: set[str] = set()
    touched: set[str] = set()
    minted: dict[str, int] = {}
    fresh: list[list[Any]] = []
    for event, key in zip(batch, keys, strict=True):
        whole = event.type == events.PATIENT_REGISTERED and counts[key] == 1 and key not in patients
        made = _made_beside.pop(event.hash, None) if whole else None
        try:
            # A row made beside is of this very event: its body's UHID, the body unread.
            uhid = key if made is not None else event.body["uhid"]
            if event.stream != events.patient_stream(uhid):  # the history reads that stream
                raise ValueError(f"a patient's event must be in stream patient:{uhid}")
            if whole:
                made = made or rows.first_registration(
                    LAYOUT, event.body, lww.stamp_of(event), event.actor
                )
                roster.check_minted_by(event, made[0], f"UHID {uhid}")
            elif event.type == events.PATIENT_REGISTERED:
                node_number, seq = events.UHID.parse(uhid)
                roster.check_minted_by(event, node_number, f"UHID {uhid}")
                values, kind = field_values(event.body), "registered"
            else:
                events.UHID.parse(uhid)
                values, kind = field_values(event.body["changes"]), "corrected"
        except (KeyError, TypeError, ValueError, InvalidNumber) as exc:
            failures.append((event, f"{type(exc).__name__}: {exc}"))
            continue
        if whole:
            fresh.append(made[2])
            scope = str(made[0])
            minted[scope] = max(minted.get(scope, 0), made[1])
            continue
        patient = patients.get(uhid)
        if patient is None:
            patient = patients[uhid] = SimpleNamespace(
                **{**PATIENT_DEFAULTS, "uhid": uhid, "field_stamps": {}}
            )
            new.add(uhid)
        touched.add(uhid)
        stamps = rows.expanded_stamps(patient.field_stamps, LAYOUT.fields)
        stamp = lww.stamp_of(event)
        stored = rows.stored_values(values)
        if not stamps:  # nothing set yet (a registration, mostly): every value stands
            vars(patient).update(stored)
            stamps = dict.fromkeys(stored, stamp)
        else:
            for field, value in stored.items():
                lww.assign(patient, stamps, field, value, stamp)
        if kind == "registered":
            first = stamps.get(rows.REGISTERED)
            if first is None or tuple(stamp) < tuple(first):  # the earliest registration counts
                stamps[rows.REGISTERED] = stamp
                patient.is_registered = True
                patient.registered_at_ms = event.hlc.wall
                patient.registered_by = event.actor
                patient.registered_node = event.origin
            scope = str(node_number)
            minted[scope] = max(minted.get(scope, 0), seq)
        patient.field_stamps = rows.compact_stamps(stamps, LAYOUT.fields)
    for uhid in touched:
        patient = patients[uhid]
        patient.search_text = rows.search_text(
            patient.name_en, patient.name_hi, patient.guardian_name
        )
    created = [rows.table_row(LAYOUT, vars(patients[u])) for u in new]
    updated = [patients[u] for u in touched - new]
    if created or fresh:
        bulk.insert_ignore(
            Patient._meta.db_table, PATIENT_COLUMNS, fresh + created, json_columns=("field_stamps",)
        )
    if updated:
        Patient.objects.bulk_update(updated, PATIENT_COLUMNS, batch_size=200)
    for scope, last in minted.items():
        sequences.observe(events.UHID.kind, scope, last)
    return failures


def _take_made(made: list[tuple[str, tuple[int, int, list[Any]]]]) -> None:
    _made_beside.update(made)


_UHID_AT = PATIENT_COLUMNS.index("uhid")


def _uhid_of(event: Event) -> str:
    """The UHID a patient's event names: from the row made beside it, if one was (without
    reading its body), else from its body."""
    made = _made_beside.get(event.hash)
    return str(made[2][_UHID_AT]) if made is not None else str(event.body.get("uhid", ""))


@defer_in_bulk
def _made_rows_once(after: str) -> Callable[[], None]:
    """A restore's rows made beside live until its end (a registration projected another
    way leaves its row unused)."""

    def finish() -> None:
        _made_beside.clear()
        _visits_beside.clear()

    return finish


beside_bulk(
    events.PATIENT_REGISTERED, functools.partial(rows.first_registration_of, LAYOUT), _take_made
)


def _known(uhids: set[str]) -> list[str]:
    """Which of ``uhids`` have a row already, asked in plain SQL: a restore asks about
    every patient, and the ORM's IN of thousands of values cost more than the answer."""
    found: list[str] = []
    listed = sorted(uhids)
    with connection.cursor() as cursor:
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            cursor.execute(
                f"SELECT uhid FROM {Patient._meta.db_table} "  # noqa: S608 - our own names
                f"WHERE uhid IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
            found += [row[0] for row in cursor.fetchall()]
    return found


VISIT_COLUMNS = (
    "visit_no",
    "uhid",
    "department",
    "room_en",
    "room_hi",
    "token",
    "token_no",
    "counter",
    "local_date",
    "at_ms",
    "registered_by",
    "node",
)


_VISIT_NO_AT, _TOKEN_NO_AT = VISIT_COLUMNS.index("visit_no"), VISIT_COLUMNS.index("token_no")


@handles_batch(events.VISIT_REGISTERED)
def on_visits(batch: list[Event]) -> Failures:
    """Visits are created under the number their node minted; a repeat adds nothing."""
    failures: Failures = []
    made: list[tuple[Any, ...]] = []
    observed: dict[tuple[str, str], int] = {}
    for event in batch:
        try:
            # A row made beside the restore is of this very event: its body is not read.
            node_number, seq, row, tokens = _visits_beside.pop(event.hash, None) or rows.visit(
                event.body, event.hlc.wall, event.actor, event.origin
            )
            roster.check_minted_by(event, node_number, f"visit {row[_VISIT_NO_AT]}")
        except (KeyError, TypeError, ValueError, InvalidNumber) as exc:
            failures.append((event, f"{type(exc).__name__}: {exc}"))
            continue
        made.append(row)
        for key, value in (
            ((events.VISIT.kind, str(node_number)), seq),
            (("token", tokens), row[_TOKEN_NO_AT]),
        ):
            observed[key] = max(observed.get(key, 0), value)
    bulk.insert_ignore(Visit._meta.db_table, VISIT_COLUMNS, made)
    for (kind, scope), last in observed.items():
        sequences.observe(kind, scope, last)
    return failures


# During a restore: visits' rows made beside the ingest (``rows.visit``), by the content
# hash of the event each was made from.
_visits_beside: dict[str, tuple[int, int, tuple[Any, ...], str]] = {}


def _take_visits(made: list[tuple[str, tuple[int, int, tuple[Any, ...], str]]]) -> None:
    _visits_beside.update(made)


beside_bulk(events.VISIT_REGISTERED, rows.visit_of, _take_visits)


FTS_HASHSIZE = 64 << 20  # bytes


@defer_in_bulk
def _name_index_once(after: str) -> Callable[[], None]:
    """Restore fills the name index once at the end, not a row at a time.

    SQLite: the FTS5 trigram index is kept by triggers on the patient table; indexing
    50,000 names one insert at a time took 3.9 s here, inserting them bare and rebuilding
    the index 1.2 s (measured on a restore; bench/restore.py).

    PostgreSQL: pg_trgm's GIN index (migration 0002) is dropped, and built again from
    the whole table. Restoring 1M events, the server's CPU was 1.5 to 3 s less (33-36 s
    against 35-38 s) - kept up a row at a time, every name's trigrams went into it
    one by one.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS registration_patient_search_trgm")

        def build() -> None:
            with connection.cursor() as cursor:
                cursor.execute(  # as migration 0002 makes it
                    "CREATE INDEX registration_patient_search_trgm ON registration_patient "
                    "USING gin (search_text gin_trgm_ops)"
                )

        return build
    if connection.vendor != "sqlite":
        return lambda: None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [Patient._meta.db_table],
        )
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')

    def finish() -> None:
        with connection.cursor() as cursor:
            for _, sql in triggers:
                cursor.execute(sql)
            # FTS5 gathers terms in memory up to its 'hashsize' before it writes them as a
            # segment of the index (1 MB by default; kept in the index's config). At
            # 64 MB the rebuild of 500,000 names took 1.3 s against 2.2 s, and wrote a
            # third as many segments: name searches were faster after it, not slower (a
            # fixed set of 1,200: 0.34 s against 0.47 s, the same rows found).
            cursor.execute(
                "INSERT INTO registration_patient_fts(registration_patient_fts, rank) "
                "VALUES ('hashsize', %s)",
                [FTS_HASHSIZE],
            )
            cursor.execute(
                "INSERT INTO registration_patient_fts(registration_patient_fts) VALUES ('rebuild')"
            )

    return finish


@handles(events.PATIENTS_MERGED, events.PATIENTS_UNMERGED)
def on_merge_events(event: Event) -> None:
    """A pair's state is last-writer-wins; then the merge state of every UHID the pair
    touches (its component, through every pair ever made) is worked out afresh from the
    pairs in effect, so it is a function of the set of events (``merging.resolve``).

    Nothing of the patients' own rows changes: an unmerge restores both exactly.
    """
    body = event.body
    duplicate, survivor = (
        events.UHID.normalise(body["duplicate"]),
        events.UHID.normalise(body["survivor"]),
    )
    if duplicate == survivor:
        raise ValueError("a patient cannot be merged into itself")
    if event.stream != events.patient_stream(duplicate):
        raise ValueError(f"a merge's event must be in stream patient:{duplicate}")
    # (hlc, origin) is unique for an honest node; its seq settles even a node that reused
    # a clock reading, so the pair's state never depends on which event came first.
    stamp = [*lww.stamp_of(event), event.seq]
    pair = PatientMerge.objects.filter(duplicate=duplicate, survivor=survivor).first()
    if pair is not None and not lww.newer(stamp, pair.stamp):
        return  # a later event of this pair already stands
    if pair is None:
        pair = PatientMerge(duplicate=duplicate, survivor=survivor)
    pair.merged = event.type == events.PATIENTS_MERGED
    pair.reason = str(body.get("reason", ""))[:200]
    pair.actor = event.actor
    pair.at_ms = event.hlc.wall
    pair.node = event.origin
    pair.stamp = stamp
    pair.save()
    _resolve_component({duplicate, survivor})


def _resolve_component(start: set[str]) -> None:
    """Work out again which record each UHID of ``start``'s component shows under.

    The component is taken over every pair, merged or not, so it covers every UHID
    whose state the changed pair can have changed, and only those."""
    component: set[str] = set()
    frontier = set(start)
    pairs: dict[tuple[str, str], PatientMerge] = {}
    while frontier:
        component |= frontier
        found = PatientMerge.objects.filter(duplicate__in=frontier) | PatientMerge.objects.filter(
            survivor__in=frontier
        )
        frontier = set()
        for pair in found:
            pairs[(pair.duplicate, pair.survivor)] = pair
            frontier |= {pair.duplicate, pair.survivor} - component
    resolution = merging.resolve(
        [merging.Pair(p.duplicate, p.survivor, tuple(p.stamp)) for p in pairs.values() if p.merged]
    )
    for key, pair in pairs.items():
        overridden = resolution.overridden.get(key, "") if pair.merged else ""
        if pair.overridden != overridden:
            pair.overridden = overridden
            pair.save(update_fields=["overridden"])
    MergedPatient.objects.filter(uhid__in=component).delete()
    MergedPatient.objects.bulk_create(
        [MergedPatient(uhid=u, survivor=s) for u, s in sorted(resolution.survivors.items())]
    )
