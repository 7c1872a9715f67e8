"""Projections of ward events. The only code that writes ward tables.

A bed's state is never stored by one event: after any placement, transfer, discharge,
cleaning, reservation or service change touching a bed, its row is worked out again
from everything known of it - the placements into it, when each ended, the latest
cleaning, the reservation and service that stand. So every node that holds the same
events shows the same board, whatever order they came in, and a property test and
``rebuild --check`` hold it to that.

Conflicts are worked out the same way. A placement lasts from its event to the
admission's next placement or its discharge; two admissions' placements in one bed
that overlap (two nodes, apart, each put a patient there) make the bed double-booked
until a transfer or discharge ends the overlap. Two admissions of one patient open at
once are an admission made twice. Both sides always stay in the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nirantar import sql
from nirantar.ledger import lww, roster, sequences
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, handles_batch, register_models
from nirantar.registration.events import UHID
from nirantar.wards import events
from nirantar.wards.models import Admission, Bed, Conflict, Placement, Ward, WardEntry

register_models(Ward, Bed, Admission, Placement, WardEntry, Conflict)
ADMISSIONS, BEDS = sql.Table(Admission), sql.Table(Bed)
for _type in (
    events.WARD_DEFINED,
    events.BED_SERVICE_SET,
    events.BED_RESERVATION_SET,
    events.BED_CLEANED,
    events.PATIENT_ADMITTED,
    events.PATIENT_TRANSFERRED,
    events.PATIENT_DISCHARGED,
    events.DISCHARGE_CONFIRMED,
    events.ENTRY_RECORDED,
):
    event_version(_type, 1)

WARD_CODE = re.compile(r"\A[A-Z][A-Z0-9]{0,7}\Z")
BED_PART = re.compile(r"\A[A-Z0-9]{1,6}\Z")  # \Z: no trailing newline
Stamp = tuple[Any, ...]


def event_id(event: Event) -> str:
    return f"{event.origin}:{event.seq}"


def _text(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 300) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{key} must be {'non-empty ' if required else ''}text")
    if len(value) > limit:
        raise ValueError(f"{key} is over {limit} characters")
    return value


def ward_of_bed(bed: str) -> str:
    """MW1-07 -> MW1; a bed code is its ward's code, a dash and its own part."""
    ward, dash, part = bed.rpartition("-")
    if not dash or not WARD_CODE.match(ward) or not BED_PART.match(part):
        raise ValueError(f"{bed!r} is not a bed code (WARD-BED, e.g. MW1-07)")
    return ward


def _ward_stream(event: Event) -> str:
    prefix = "ward:"
    if not event.stream.startswith(prefix) or not WARD_CODE.match(event.stream[len(prefix) :]):
        raise ValueError("a layout event must be in stream ward:CODE")
    return event.stream[len(prefix) :]


Row = dict[str, Any]
BED_SETTINGS = ("in_service", "service_reason", "reserved_for", "reservation_note", "stamps")


def _layout_bed(event: Event) -> tuple[Row, Row | None]:
    """The bed a layout event is about as (row, what was read) - a placeholder row and None
    if its ward's definition has not arrived yet - checked to be in the event's ward."""
    ward = _ward_stream(event)
    code = _text(event.body, "bed", limit=16)
    if ward_of_bed(code) != ward:
        raise ValueError(f"bed {code} is not in ward {ward}")
    read = BEDS.read({"bed": code}, BED_SETTINGS)
    if read is None:
        return BEDS.blank(bed=code, ward=ward, listed=False, stamps={}), None
    return {**read, "bed": code}, read


def _patient(event: Event) -> tuple[str, str]:
    """(admission, uhid) of a stay event, well-formed and in the patient's stream."""
    body = event.body
    uhid, admission = _text(body, "uhid"), _text(body, "admission", limit=24)
    UHID.parse(uhid)
    events.ADMISSION.parse(admission)
    if event.stream != f"patient:{uhid}":
        raise ValueError(f"a ward event must be in stream patient:{uhid}")
    return admission, uhid


DISCHARGE_COLUMNS = ("uhid", "is_admitted", "discharge_versions", "discharge_confirmed")


def _admission(admission: str, uhid: str) -> tuple[Row, Row | None]:
    """The admission's row as (row, what was read): the columns a stay event's rules need,
    read in plain SQL; a whole new row and None if not here yet. Its patient is the one its
    admission event names; what another event says of it under another UHID is kept (the
    log keeps everything) but counts for nothing - whichever arrived first."""
    read = ADMISSIONS.read({"admission_no": admission}, DISCHARGE_COLUMNS)
    if read is None:
        return ADMISSIONS.blank(admission_no=admission, uhid=uhid), None
    return {**read, "admission_no": admission}, read


def _store_admission(row: Row, read: Row | None) -> None:
    ADMISSIONS.store({"admission_no": row["admission_no"]}, row, read)


# -- the layout ------------------------------------------------------------------------


@handles(events.WARD_DEFINED)
def on_ward_defined(event: Event) -> None:
    body = event.body
    code = _text(body, "code", limit=8)
    if not WARD_CODE.match(code) or event.stream != f"ward:{code}":
        raise ValueError("a ward's code is 1-8 capitals and digits, in stream ward:CODE")
    kind, sex = _text(body, "kind"), _text(body, "sex")
    if kind not in events.WARD_KINDS or sex not in events.WARD_SEXES:
        raise ValueError(f"unknown ward kind {kind!r} or sex {sex!r}")
    names = {key: _text(body, key, limit=80) for key in ("name_en", "name_hi")}
    department = _text(body, "department", required=False, limit=10)
    beds = body.get("beds")
    if not isinstance(beds, list) or not beds or len(beds) > 500:
        raise ValueError("a ward lists 1 to 500 beds")
    listed: list[tuple[str, str]] = []
    for item in beds:
        if not isinstance(item, dict):
            raise ValueError("a bed is an object {bed, room}")
        bed, room = _text(item, "bed", limit=16), _text(item, "room", required=False, limit=40)
        if ward_of_bed(bed) != code:
            raise ValueError(f"bed {bed} is not in ward {code}")
        listed.append((bed, room))
    if len({bed for bed, _ in listed}) != len(listed):
        raise ValueError("a bed is listed twice")
    ward = Ward.objects.filter(code=code).first()
    stamp = lww.stamp_of(event)
    if ward is not None and not lww.newer(stamp, ward.stamp):
        return  # an older definition: the standing one is kept
    Ward.objects.update_or_create(
        code=code,
        defaults={**names, "kind": kind, "sex": sex, "department": department, "stamp": stamp},
    )
    known = {b.bed: b for b in Bed.objects.filter(ward=code)}
    new: list[Bed] = []
    for order, (bed, room) in enumerate(listed):
        row = known.pop(bed, None)
        if row is None:
            new.append(Bed(bed=bed, ward=code, room=room, order=order, listed=True, stamps={}))
        elif (row.room, row.order, row.listed) != (room, order, True):
            Bed.objects.filter(bed=bed).update(room=room, order=order, listed=True)
    Bed.objects.bulk_create(new)
    if known:
        # Beds this definition no longer lists leave the layout. One nobody was ever put in
        # and nothing was ever recorded of goes altogether; the rest stay as the row a
        # placement makes for a bed whose layout is unknown - so a node that met an older
        # definition first ends with the same rows as one that never met it.
        placed = set(Placement.objects.filter(bed__in=list(known)).values_list("bed", flat=True))
        empty = [b for b, row in known.items() if b not in placed and not row.stamps]
        Bed.objects.filter(bed__in=empty).delete()
        Bed.objects.filter(bed__in=[b for b in known if b not in empty]).update(
            listed=False, room="", order=0
        )


Touched = set[str]  # what a batch's events leave to be worked out again, once, at its end


def on_bed_service_set(event: Event, stays: Touched, beds: Touched) -> None:
    bed = _layout_bed(event)
    in_service = event.body.get("in_service")
    if not isinstance(in_service, bool):
        raise ValueError("in_service must be true or false")
    reason = _text(event.body, "reason", required=False, limit=200)
    _set_if_newer(event, bed, "in_service", in_service, beds, service_reason=reason)


def on_bed_reservation_set(event: Event, stays: Touched, beds: Touched) -> None:
    bed = _layout_bed(event)
    uhid = _text(event.body, "uhid", required=False, limit=20)
    if uhid:
        UHID.parse(uhid)
    note = _text(event.body, "note", required=False, limit=200)
    _set_if_newer(event, bed, "reserved_for", uhid, beds, reservation_note=note)


def _set_if_newer(
    event: Event,
    bed: tuple[Row, Row | None],
    field: str,
    value: Any,
    beds: Touched,
    **with_it: str,
) -> None:
    """A last-writer-wins field of a bed (and the text that goes with it), then the bed's
    state worked out again."""
    row, read = bed
    stamps = dict(row["stamps"])
    stamp = lww.stamp_of(event)
    if lww.newer(stamp, stamps.get(field)):
        stamps[field] = stamp
        row.update({field: value, **with_it, "stamps": stamps})
        BEDS.store({"bed": row["bed"]}, row, read)
        beds.add(row["bed"])


def on_bed_cleaned(event: Event, stays: Touched, beds: Touched) -> None:
    row, read = _layout_bed(event)
    stamps = dict(row["stamps"])
    stamp = lww.stamp_of(event)
    if lww.newer(stamp, stamps.get("cleaned")):
        stamps["cleaned"] = stamp
        row["stamps"] = stamps
        BEDS.store({"bed": row["bed"]}, row, read)
        beds.add(row["bed"])


# -- stays -----------------------------------------------------------------------------


def _place(event: Event, admission: str, uhid: str, kind: str) -> None:
    body = event.body
    bed = _text(body, "bed", limit=16)
    ward = _text(body, "ward", limit=8)
    if ward_of_bed(bed) != ward:
        raise ValueError(f"bed {bed} is not in ward {ward}")
    reason = _text(body, "reason", required=False, limit=200)
    sql.insert(
        "wards_placement",
        {
            "placement_id": event_id(event),
            "admission_no": admission,
            "uhid": uhid,
            "ward": ward,
            "bed": bed,
            "kind": kind,
            "reason": reason,
            "stamp": lww.stamp_of(event),
            "at_ms": event.hlc.wall,
            "actor": event.actor,
        },
        ("stamp",),
    )
    BEDS.insert(BEDS.blank(bed=bed, ward=ward, listed=False, stamps={}))  # if its ward's
    # layout has not arrived yet; a bed that is there already is left as it is


def on_patient_admitted(event: Event, stays: Touched, beds: Touched) -> None:
    body = event.body
    admission, uhid = _patient(event)
    node_number, seq = events.ADMISSION.parse(admission)
    roster.check_minted_by(event, node_number, f"admission {admission}")
    source = _text(body, "source")
    if source not in events.SOURCES:
        raise ValueError(f"unknown admission source {source!r}")
    values = {
        "attending": _text(body, "attending", limit=150),
        "diagnosis": _text(body, "diagnosis", required=False),
        "note": _text(body, "note", required=False),
        "visit": _text(body, "visit", required=False, limit=24),
    }
    row, read = _admission(admission, uhid)
    if row["is_admitted"] and row["uhid"] != uhid:
        raise ValueError(f"admission {admission} was already made for another patient")
    if not row["is_admitted"]:
        row.update(values)
        row["uhid"] = uhid  # the admission names the patient, whatever came before it
        row.update(is_admitted=True, source=source)
        _settle_discharge(row)
        row.update(admitted_ms=event.hlc.wall, admitted_by=event.actor, node=event.origin)
        _store_admission(row, read)
    _place(event, admission, uhid, "admitted")
    sequences.observe(events.ADMISSION.kind, str(node_number), seq)
    stays.add(admission)


def on_patient_transferred(event: Event, stays: Touched, beds: Touched) -> None:
    admission, uhid = _patient(event)
    # The transfer came before the admission: hold its place (an admission here is kept).
    ADMISSIONS.insert(ADMISSIONS.blank(admission_no=admission, uhid=uhid))
    _place(event, admission, uhid, "transferred")
    stays.add(admission)


DISCHARGE_TEXTS = ("diagnoses", "procedures", "course", "condition", "medicines", "follow_up")


def on_patient_discharged(event: Event, stays: Touched, beds: Touched) -> None:
    body = event.body
    admission, uhid = _patient(event)
    kind = _text(body, "type")
    if kind not in events.DISCHARGE_TYPES:
        raise ValueError(f"unknown discharge type {kind!r}")
    at = body.get("at")
    if not isinstance(at, int) or at <= 0:
        raise ValueError("at must be the discharge time in milliseconds")
    summary = {key: _text(body, key, required=False, limit=4000) for key in DISCHARGE_TEXTS}
    row, read = _admission(admission, uhid)
    version = {
        "discharge": event_id(event),
        "uhid": uhid,
        "stamp": lww.stamp_of(event),
        "type": kind,
        "at": at,
        "by": event.actor,
        **summary,
    }
    versions = [v for v in row["discharge_versions"] if v["discharge"] != version["discharge"]]
    row["discharge_versions"] = sorted([*versions, version], key=lambda v: tuple(v["stamp"]))
    _settle_discharge(row)
    _store_admission(row, read)
    stays.add(admission)


def on_discharge_confirmed(event: Event, stays: Touched, beds: Touched) -> None:
    admission, uhid = _patient(event)
    chosen = _text(event.body, "discharge", limit=60)
    note = _text(event.body, "note", required=False, limit=200)
    row, read = _admission(admission, uhid)
    stamp = lww.stamp_of(event)
    if not lww.newer(stamp, row["discharge_confirmed"].get("stamp")):
        return
    confirmed = {"discharge": chosen, "stamp": stamp, "by": event.actor, "note": note}
    row["discharge_confirmed"] = confirmed
    _settle_discharge(row)
    _store_admission(row, read)
    stays.add(admission)


def _settle_discharge(row: Row) -> None:
    """The discharge that stands: the one a doctor confirmed, else the earliest made."""
    uhid = row["uhid"]
    versions = [v for v in row["discharge_versions"] if v.get("uhid", uhid) == uhid]
    if not versions:
        row.update(discharged=False, discharge={}, discharge_stamp=[])
        row.update(discharged_ms=None, discharge_event_ms=None)
        return
    chosen = row["discharge_confirmed"].get("discharge")
    standing = next((v for v in versions if v["discharge"] == chosen), versions[0])
    row.update(
        discharged=True,
        discharge={k: standing[k] for k in ("type", "by", *DISCHARGE_TEXTS)},
        discharge_stamp=standing["stamp"],
        discharged_ms=standing["at"],
        discharge_event_ms=standing["stamp"][0],
    )


def on_entry_recorded(event: Event, stays: Touched, beds: Touched) -> None:
    body = event.body
    admission, uhid = _patient(event)
    kind = _text(body, "kind")
    if kind not in events.ENTRY_KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    at = body.get("at")
    if not isinstance(at, int) or at <= 0:
        raise ValueError("at must be the time of the entry in milliseconds")
    data = body.get("data")
    if not isinstance(data, dict) or not data:
        raise ValueError("an entry's data is a non-empty object")
    for key, value in data.items():
        if (
            not isinstance(key, str)
            or not isinstance(value, str | int | float)
            or (isinstance(value, str) and len(value) > 4000)
        ):
            raise ValueError(f"entry field {key!r} must be text or a number")
    corrects = _text(body, "corrects", required=False, limit=60)
    sql.insert(
        "wards_entry",
        {
            "entry_id": event_id(event),
            "admission_no": admission,
            "uhid": uhid,
            "kind": kind,
            "data": data,
            "corrects": corrects,
            "at_ms": at,
            "recorded_ms": event.hlc.wall,
            "actor": event.actor,
            "node": event.origin,
        },
        ("data",),
    )


# -- what is worked out again ----------------------------------------------------------
#
# Read in plain SQL, a few statements per batch of events: every admission a change can
# touch (its own, the others placed in the beds it has been in, its patient's others) with
# all their placements at once; beds, admissions and conflicts written only where they
# differ, each table in a statement or two (sql.update_many, sql.insert_many).


@dataclass
class Stay:
    """One placement's time in its bed: from its event to the admission's next placement or
    its discharge (None: still there)."""

    admission: str
    uhid: str
    bed: str
    start: Stamp
    end: Stamp | None


# admission -> (its patient, its standing discharge's stamp if discharged)
Facts = dict[str, tuple[str, Stamp | None]]
# (admission, uhid, bed, stamp) of placements
Placed = list[tuple[str, str, str, Stamp]]


def _chunked(
    query: str, values: list[str], after: list[Any] | None = None
) -> list[tuple[Any, ...]]:
    """``query`` with ``IN ({})`` over ``values``, 500 at a time (SQLite's limit on them),
    then ``after``'s parameters."""
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        found += sql.rows(query.format(", ".join(["%s"] * len(chunk))), [*chunk, *(after or [])])
    return found


def _facts_and_placements(admissions: list[str]) -> tuple[Facts, Placed]:
    facts: Facts = {
        admission: (uhid, tuple(sql.json_value(stamp)) if discharged else None)
        for admission, uhid, discharged, stamp in _chunked(
            "SELECT admission_no, uhid, discharged, discharge_stamp FROM wards_admission "
            "WHERE admission_no IN ({})",
            admissions,
        )
    }
    placed: Placed = [
        (admission, uhid, bed, tuple(sql.json_value(stamp)))
        for admission, uhid, bed, stamp in _chunked(
            "SELECT admission_no, uhid, bed, stamp FROM wards_placement WHERE admission_no IN ({})",
            admissions,
        )
    ]
    return facts, placed


def _stays(admissions: list[str], facts: Facts, placed: Placed) -> dict[str, list[Stay]]:
    """Each admission's placements in order, each with when it ended."""
    found: dict[str, list[Stay]] = {a: [] for a in admissions}
    for admission, uhid, bed, stamp in placed:
        known = facts.get(admission)
        # a move of another patient's counts not
        if admission in found and (known is None or uhid == known[0]):
            found[admission].append(Stay(admission, uhid, bed, stamp, None))
    for admission, stays in found.items():
        if not stays:  # a discharge that came before any placement: nothing to work out yet
            continue
        stays.sort(key=lambda s: s.start)
        discharged = facts[admission][1] if admission in facts else None
        for this, following in zip(stays, [*stays[1:], None], strict=True):
            this.end = following.start if following is not None else discharged
            if discharged is not None and this.end is not None and discharged < this.end:
                this.end = discharged
        # A placement made after the discharge (apart, on another node) never began.
        found[admission] = [
            s for s in stays if discharged is None or s.start < discharged
        ] or stays[:1]
    return found


STAY_COLUMNS = ("uhid", "bed", "ward", "placed_stamp", "discharge_versions", "discharge_confirmed")


def refresh(stays: list[str], beds: list[str]) -> None:
    """After admissions' placements or discharges changed (``stays``), or beds' settings
    (``beds``): where each admission is now, every bed it has been in and each of those
    ``beds`` (their occupants and conflicts), its patient's other admissions.

    For all of them at once, in a few statements: each is worked out from all that is
    known of it, whatever else changed in the batch, so once at the end of a batch gives
    what working each out after each of its events would."""
    rows: dict[str, Row] = {}
    for found in _chunked(
        f"SELECT admission_no, {', '.join(STAY_COLUMNS)} FROM wards_admission "  # noqa: S608
        "WHERE admission_no IN ({})",
        sorted(set(stays)),
    ):
        row = dict(zip(STAY_COLUMNS, found[1:], strict=True))
        for column in ("placed_stamp", "discharge_versions", "discharge_confirmed"):
            row[column] = sql.json_value(row[column])
        rows[found[0]] = row
    if not rows and not beds:
        return
    mine = sorted(rows)
    # every bed these admissions have been in, and those beds' other admissions
    own = _chunked("SELECT admission_no, bed FROM wards_placement WHERE admission_no IN ({})", mine)
    in_beds = sorted({b for _, b in own} | set(beds))
    related = {
        a
        for (a,) in _chunked(
            "SELECT DISTINCT admission_no FROM wards_placement WHERE bed IN ({})", in_beds
        )
    }
    # their patients' admissions
    theirs: dict[str, list[str]] = {row["uhid"]: [] for row in rows.values()}
    for admission, uhid in _chunked(
        "SELECT admission_no, uhid FROM wards_admission WHERE uhid IN ({}) AND is_admitted = %s",
        sorted(theirs),
        [True],
    ):
        theirs[uhid].append(admission)
    admissions = sorted(set(mine) | related | {a for found in theirs.values() for a in found})
    facts, placed = _facts_and_placements(admissions)
    stays_of = _stays(admissions, facts, placed)
    moved: list[list[Any]] = []
    wanted: dict[tuple[str, str], list[ConflictRow]] = {}
    to_refresh = set(beds)
    for admission in mine:
        row = rows[admission]
        its = stays_of[admission]
        if not its:
            continue
        current = its[-1]
        ward = ward_of_bed(current.bed)
        if (row["bed"], row["ward"], tuple(row["placed_stamp"])) != (
            current.bed,
            ward,
            current.start,
        ):
            moved.append([admission, current.bed, ward, list(current.start)])
        to_refresh |= {bed for a, _, bed, _ in placed if a == admission}
        uhid = row["uhid"]
        wanted[("admitted_twice", uhid)] = _patient_conflicts(
            uhid, sorted(set(theirs[uhid])), stays_of
        )
        row.update(admission_no=admission, ward=ward)
        wanted[("contradictory_discharge", admission)] = _discharge_conflicts(row)
    sql.update_many(
        "wards_admission",
        ["admission_no"],
        ["bed", "ward", "placed_stamp"],
        moved,
        ("placed_stamp",),
    )
    _refresh_beds(_bed_rows(sorted(to_refresh)), placed, stays_of, wanted)
    _sync_conflicts(wanted)


def _discharge_conflicts(row: Row) -> list[ConflictRow]:
    """Discharges made apart that disagree (type or time) are a conflict until a doctor
    confirms one made after them all."""
    uhid = row["uhid"]
    versions = [v for v in row["discharge_versions"] if v.get("uhid", uhid) == uhid]
    facts = {(v["type"], v["at"]) for v in versions}
    rows = []
    if len(facts) > 1:
        admission = row["admission_no"]
        second = versions[1]["stamp"]
        confirmed = row["discharge_confirmed"].get("stamp")
        settled = confirmed is not None and tuple(confirmed) > tuple(versions[-1]["stamp"])
        rows.append(
            (
                f"contradictory_discharge:{admission}:{second[0]}-{second[1]}-{second[2]}",
                "contradictory_discharge",
                admission,
                row["ward"],
                [admission],
                CONFLICT_DETAIL["contradictory_discharge"].format(subject=admission, n=len(facts)),
                not settled,
                second[0],
                confirmed[0] if settled and confirmed else None,
            )
        )
    return rows


def _clusters(stays: list[Stay]) -> list[list[Stay]]:
    """Stays that overlap in time, grouped (a sweep over their starts)."""
    groups: list[list[Stay]] = []
    reach: Stamp | None = None  # the latest end in the current group (None: open)
    open_group = False
    for stay in sorted(stays, key=lambda s: s.start):
        if groups and (open_group or (reach is not None and stay.start < reach)):
            groups[-1].append(stay)
        else:
            groups.append([stay])
            reach, open_group = None, False
        if stay.end is None:
            open_group = True
        elif reach is None or stay.end > reach:
            reach = stay.end
    return [g for g in groups if len({s.admission for s in g}) > 1]


# A conflict's row, in the order of CONFLICT_COLUMNS.
ConflictRow = tuple[str, str, str, str, list[str], str, bool, int, int | None]
CONFLICT_COLUMNS = (
    "key",
    "kind",
    "subject",
    "ward",
    "records",
    "detail",
    "is_open",
    "detected_ms",
    "resolved_ms",
)


def _conflict_rows(
    kind: str, subject: str, ward: str, groups: list[list[Stay]]
) -> list[ConflictRow]:
    rows: list[ConflictRow] = []
    for group in groups:
        starts = sorted(s.start for s in group)
        ends = sorted((s.end for s in group), key=lambda e: (e is None, e or ()))
        # The clash began with its second placement and ends when one stay is left.
        settled = ends[-2]
        admissions = sorted({s.admission for s in group})
        begun = starts[1]
        rows.append(
            (
                f"{kind}:{subject}:{begun[0]}-{begun[1]}-{begun[2]}",
                kind,
                subject,
                ward,
                admissions,
                CONFLICT_DETAIL[kind].format(subject=subject, n=len(admissions)),
                settled is None,
                begun[0],
                settled[0] if settled is not None else None,
            )
        )
    return rows


CONFLICT_DETAIL = {
    "double_booked": "bed {subject} was given to {n} patients at once",
    "admitted_twice": "patient {subject} was admitted {n} times at once",
    "contradictory_discharge": "admission {subject} was discharged {n} different ways",
}


def _comparable(rows: list[ConflictRow]) -> list[tuple[Any, ...]]:
    return sorted(
        (key, kind, subject, ward, tuple(records), detail, bool(is_open), detected, resolved)
        for key, kind, subject, ward, records, detail, is_open, detected, resolved in rows
    )


def _sync_conflicts(wanted: dict[tuple[str, str], list[ConflictRow]]) -> None:
    """Make each (kind, subject)'s conflicts those given: one read of what stands for all of
    them, and a delete and insert only where it differs."""
    if not wanted:
        return
    standing: dict[tuple[str, str], list[ConflictRow]] = {pair: [] for pair in wanted}
    names = ", ".join(f'"{c}"' for c in CONFLICT_COLUMNS)  # "key" is a keyword in SQLite
    for found in _chunked(
        f"SELECT {names} FROM wards_conflict WHERE subject IN ({{}})",  # noqa: S608
        sorted({subject for _, subject in wanted}),
    ):
        key, kind, subject, ward, records, detail, is_open, detected, resolved = found
        if (kind, subject) in standing:
            standing[(kind, subject)].append(
                (
                    key,
                    kind,
                    subject,
                    ward,
                    sql.json_value(records),
                    detail,
                    is_open,
                    detected,
                    resolved,
                )
            )
    new: list[ConflictRow] = []
    for (kind, subject), rows in wanted.items():
        if _comparable(standing[(kind, subject)]) == _comparable(rows):
            continue
        sql.delete("wards_conflict", {"kind": kind, "subject": subject})
        new += rows
    sql.insert_many("wards_conflict", CONFLICT_COLUMNS, new, ("records",), ignore=False)


BED_STATE_COLUMNS = ("bed", "ward", "in_service", "reserved_for", "stamps", "state", "occupants")


def _bed_rows(codes: list[str]) -> list[Row]:
    return [
        {
            **dict(zip(BED_STATE_COLUMNS, found, strict=True)),
            "stamps": sql.json_value(found[4]),
            "occupants": sql.json_value(found[6]),
        }
        for found in _chunked(
            f"SELECT {', '.join(BED_STATE_COLUMNS)} FROM wards_bed "  # noqa: S608
            "WHERE bed IN ({})",
            codes,
        )
    ]


def _refresh_beds(
    beds: list[Row],
    placed: Placed,
    stays_of: dict[str, list[Stay]],
    wanted: dict[tuple[str, str], list[ConflictRow]],
) -> None:
    """Each bed's state and occupants written if they changed; its double-bookings added
    to ``wanted``. ``placed`` holds every placement into these beds, ``stays_of`` the stays
    of every admission placed in them."""
    changed: list[list[Any]] = []
    for bed in beds:
        code = bed["bed"]
        admissions = {a for a, _, placed_in, _ in placed if placed_in == code}
        stays = [s for a in admissions for s in stays_of.get(a, ()) if s.bed == code]
        occupants = [s.admission for s in sorted(stays, key=lambda s: s.start) if s.end is None]
        ended = [s.end for s in stays if s.end is not None]
        vacated = max(ended) if ended else None
        cleaned = bed["stamps"].get("cleaned")
        reserved = bed["stamps"].get("reserved_for")
        last_start = max((s.start for s in stays), default=None)
        if occupants:
            state = "occupied"
        elif not bed["in_service"]:
            state = "out_of_service"
        elif vacated is not None and (cleaned is None or tuple(cleaned) < vacated):
            state = "cleaning"
        elif bed["reserved_for"] and (last_start is None or tuple(reserved or ()) > last_start):
            state = "reserved"
        else:
            state = "vacant"
        if (bed["state"], bed["occupants"]) != (state, occupants):
            changed.append([code, state, occupants])
        groups = _clusters(stays)
        wanted[("double_booked", code)] = _conflict_rows("double_booked", code, bed["ward"], groups)
    sql.update_many("wards_bed", ["bed"], ["state", "occupants"], changed, ("occupants",))


def _patient_conflicts(
    uhid: str, admissions: list[str], stays_of: dict[str, list[Stay]]
) -> list[ConflictRow]:
    """A patient with two admissions open at once (admitted at two nodes apart)."""
    spans = []
    for admission in admissions:
        found = stays_of.get(admission, [])
        if found:  # the whole stay: its first placement to its last one's end
            spans.append(
                Stay(found[0].admission, uhid, found[-1].bed, found[0].start, found[-1].end)
            )
    spans.sort(key=lambda s: s.start)
    ward = ward_of_bed(spans[0].bed) if spans else ""
    return _conflict_rows("admitted_twice", uhid, ward, _clusters(spans))


# -- a batch ---------------------------------------------------------------------------

APPLY = {
    events.BED_SERVICE_SET: on_bed_service_set,
    events.BED_RESERVATION_SET: on_bed_reservation_set,
    events.BED_CLEANED: on_bed_cleaned,
    events.PATIENT_ADMITTED: on_patient_admitted,
    events.PATIENT_TRANSFERRED: on_patient_transferred,
    events.PATIENT_DISCHARGED: on_patient_discharged,
    events.DISCHARGE_CONFIRMED: on_discharge_confirmed,
    events.ENTRY_RECORDED: on_entry_recorded,
}


@handles_batch(*APPLY)
def on_ward_events(batch: list[Event]) -> list[tuple[Event, str]]:
    """Every ward event but a layout's, a batch at once: each event's own rows (its
    admission, placement, entry, bed setting) as one by one, then the admissions and beds
    they touched worked out again once, together, at the end (``refresh``) - not after
    each event, in a savepoint of its own.

    An event that can't be applied raises, so the whole batch is undone and applied again
    event by event (``projection.apply_many``): the bad one alone is reported, nothing of
    it kept - as when each event was applied alone. Alone, an event raises as it did."""
    stays: Touched = set()
    beds: Touched = set()
    for event in batch:
        APPLY[event.type](event, stays, beds)
    refresh(sorted(stays), sorted(beds))
    return []
