"""Projections of outpatient events. The only code that writes OPD tables.

Queue steps are **monotone**: a visit's place is the greatest place any event gave
it - waiting < called < consulting < done | no-show, a visit sent to another room
starts the next round, waiting there, and a closed visit stays closed whatever else
arrives. Two calls of one token made at two nodes apart meet as equals; the earlier
call wins and the later stays in the log. Clinical entries are **append-only**: each
event is a new row keyed by its (origin, seq), which no one else can mint.

Every body is checked for the shape the reads rely on before anything is written:
a peer's malformed event raises here (an alarm, nothing stored) instead of breaking
a screen later.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nirantar import sql
from nirantar.ledger import bulk, lww
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles_batch, register_models
from nirantar.opd import events
from nirantar.opd.models import Entry, QueueState
from nirantar.opd.rules import DATE_RE
from nirantar.registration.events import UHID, VISIT

register_models(QueueState, Entry)
for _type in (events.QUEUE_MOVED, events.NOTE_RECORDED, *events.ENTRY_KINDS):
    event_version(_type, 1)

ENVELOPE = ("v", "visit", "uhid", "corrects", "reason")


def entry_id(event: Event) -> str:
    return f"{event.origin}:{event.seq}"


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{key} must be {'non-empty ' if required else ''}text")
    return value


def _day(text: str) -> date:
    """A date written out, YYYY-MM-DD (fromisoformat alone also takes 2026-W50-1)."""
    if not DATE_RE.match(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    return date.fromisoformat(text)


def _checked(event: Event) -> tuple[str, str]:
    """(visit, uhid) of an OPD event, both well-formed and in the patient's own stream."""
    body = event.body
    uhid, visit = _text(body, "uhid"), _text(body, "visit")
    UHID.parse(uhid)
    VISIT.parse(visit)
    if event.stream != events.patient_stream(uhid):
        raise ValueError(f"an OPD event must be in stream patient:{uhid}")
    for key in ("corrects", "reason"):
        _text(body, key, required=False)
    return visit, uhid


def place_key(step: str, round_: int) -> tuple[bool, int, int]:
    """Greater wins. A closed visit outranks every round: nothing reopens it."""
    return (step == "done", round_, events.STEP_RANK[step])


Failures = list[tuple[Event, str]]
Move = tuple[Event, str, str, str, int, dict[str, str], date, str]
QUEUE_JSON = ("calls", "stamp")
QUEUE_READ = ("visit_no", "uhid", "round", "step", "stamp", "calls")


def _move(event: Event) -> Move:
    """(event, visit, uhid, step, round, room, day, department) of a well-formed move."""
    body = event.body
    visit, uhid = _checked(event)
    step, round_, room = body.get("step"), body.get("round"), body.get("room")
    if step not in events.STEPS:
        raise ValueError(f"unknown queue step {step!r}")
    if not isinstance(round_, int) or isinstance(round_, bool) or round_ < 0:
        raise ValueError("round must be a whole number")
    if not isinstance(room, dict) or not all(isinstance(room.get(k), str) for k in ("en", "hi")):
        raise ValueError("room must be {en, hi}")
    day = _day(_text(body, "date"))
    department = _text(body, "department")
    if step == "sent":  # to another room: the next round begins, waiting there
        step, round_ = "waiting", round_ + 1
    return event, visit, uhid, step, round_, room, day, department


@handles_batch(events.QUEUE_MOVED)
def on_queue_moves(batch: list[Event]) -> Failures:
    """Queue moves, a batch at once: the rows they touch read in one statement, each move
    applied to its row in memory by the rule below (as one by one), each row written once -
    a new one whole, a known one in the columns that changed."""
    failures: Failures = []
    moves: list[Move] = []
    for event in batch:
        try:
            moves.append(_move(event))
        except (KeyError, TypeError, ValueError) as exc:
            failures.append((event, f"{type(exc).__name__}: {exc}"))
    visits = sorted({move[1] for move in moves})
    read: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(visits), 500):
        chunk = visits[start : start + 500]
        for found in sql.rows(
            f"SELECT {', '.join(QUEUE_READ)} FROM opd_queue_state "  # noqa: S608 - our names
            f"WHERE visit_no IN ({', '.join(['%s'] * len(chunk))})",
            chunk,
        ):
            row = dict(zip(QUEUE_READ, found, strict=True))
            row["stamp"], row["calls"] = sql.json_value(row["stamp"]), sql.json_value(row["calls"])
            read[(row["visit_no"], row["uhid"])] = row
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for event, visit, uhid, step, round_, room, day, department in moves:
        if (visit, uhid) not in rows:
            known = read.get((visit, uhid))
            rows[(visit, uhid)] = (
                dict(known) if known is not None else _new_queue_row(visit, uhid, department, day)
            )
        _apply_move(rows[(visit, uhid)], event, step, round_, room)
    for (visit, uhid), row in rows.items():
        known = read.get((visit, uhid))
        if known is None:
            if row["step"]:  # moved at all (a new row always is)
                sql.insert("opd_queue_state", row, QUEUE_JSON)
        else:  # only the columns the moves changed
            changed = {c: v for c, v in row.items() if c not in known or known[c] != v}
            sql.update("opd_queue_state", {"visit_no": visit, "uhid": uhid}, changed, QUEUE_JSON)
    return failures


def _new_queue_row(visit: str, uhid: str, department: str, day: date) -> dict[str, Any]:
    """A visit's row before its first move here (written whole with it)."""
    return {
        "visit_no": visit,
        "uhid": uhid,
        "department": department,
        "local_date": day.isoformat(),
        "round": 0,
        "step": "",
        "room_en": "",
        "room_hi": "",
        "by": "",
        "at_ms": None,
        "last_called_ms": None,
        "calls": {},
        "stamp": [],
    }


def _apply_move(
    row: dict[str, Any], event: Event, step: str, round_: int, room: dict[str, str]
) -> None:
    """One move applied to its visit's row: the greatest place wins, every call counts."""
    stamp = lww.stamp_of(event)
    calls = dict(row["calls"] or {})
    if step == "called":  # every call counts for its round, whatever order they come in
        calls[str(round_)] = max(calls.get(str(round_), 0), event.hlc.wall)
    key = place_key(step, round_)
    current = place_key(row["step"], row["round"]) if row["step"] else None
    if current is None or key > current or (key == current and tuple(stamp) < tuple(row["stamp"])):
        row.update(round=round_, step=step, stamp=stamp, room_en=room["en"], room_hi=room["hi"])
        row.update(by=event.actor, at_ms=event.hlc.wall)
    elif calls == row["calls"]:
        return  # a stale move that changes nothing
    row["calls"] = calls
    row["last_called_ms"] = calls.get(str(row["round"]))


def _vitals(body: dict[str, Any]) -> None:
    vitals = body.get("vitals")
    if not isinstance(vitals, dict) or not vitals:
        raise ValueError("vitals must be a non-empty object")
    for key, value in vitals.items():
        if not isinstance(value, int | str) or isinstance(value, bool):
            raise ValueError(f"vitals.{key} must be a whole number or decimal text")
        float(value)
    if body.get("bmi") is not None:
        float(_text(body, "bmi"))


def _item(item: Any) -> None:
    if not isinstance(item, dict):
        raise ValueError("a prescription item must be an object")
    for key in ("drug", "dose", "route", "frequency"):
        _text(item, key)
    for key in ("drug_code", "instructions", "instructions_hi"):
        _text(item, key, required=False)
    days = item.get("duration_days")
    if not isinstance(days, int) or isinstance(days, bool):
        raise ValueError("duration_days must be a whole number")
    if not isinstance(item.get("in_formulary"), bool):
        raise ValueError("in_formulary must be true or false")


def _prescription(body: dict[str, Any]) -> None:
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ValueError("items must be a non-empty list")
    for item in items:
        _item(item)


def _one_of(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    if body.get(key) not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}")


SHAPES = {
    events.VITALS_RECORDED: _vitals,
    events.NOTE_RECORDED: lambda b: (
        _one_of(b, "kind", events.NOTE_KINDS),
        _text(b, "text", required=False),
        _text(b, "follow_up", required=False) and _day(b["follow_up"]),
    ),
    events.DIAGNOSIS_RECORDED: lambda b: (
        _text(b, "code"),
        _text(b, "title"),
        _one_of(b, "status", ("provisional", "final")),
        _text(b, "note", required=False),
    ),
    events.PRESCRIBED: _prescription,
    events.ALLERGY_RECORDED: lambda b: (
        _text(b, "substance"),
        _text(b, "reaction", required=False),
    ),
    events.REFERRED: lambda b: (
        _text(b, "department"),
        VISIT.parse(_text(b, "new_visit")),
        _text(b, "token"),
    ),
    events.ADMISSION_ADVISED: lambda b: (
        _text(b, "department"),
        _one_of(b, "urgency", ("routine", "urgent")),
    ),
    events.ENTRY_STRUCK: lambda b: (_text(b, "corrects"), _text(b, "reason")),
}


def _entry_values(event: Event) -> dict[str, Any]:
    return {k: v for k, v in event.body.items() if k not in ENVELOPE}


ENTRY_COLUMNS = (
    "entry_id",
    "visit",
    "uhid",
    "kind",
    "data",
    "corrects",
    "reason",
    "at_ms",
    "actor",
    "node",
)


def _entry_row(event: Event) -> tuple[Any, ...]:
    visit, uhid = _checked(event)
    body = event.body
    SHAPES[event.type](body)
    kind = body["kind"] if event.type == events.NOTE_RECORDED else events.ENTRY_KINDS[event.type]
    return (
        entry_id(event),
        visit,
        uhid,
        kind,
        _entry_values(event),
        body.get("corrects") or "",
        body.get("reason") or "",
        event.hlc.wall,
        event.actor,
        event.origin,
    )


@handles_batch(events.NOTE_RECORDED, *events.ENTRY_KINDS)
def on_entries(batch: list[Event]) -> Failures:
    """Clinical entries are creates keyed by their event: a batch is one INSERT statement
    (executemany), a repeat adds nothing."""
    failures: Failures = []
    rows: list[tuple[Any, ...]] = []
    for event in batch:
        try:
            rows.append(_entry_row(event))
        except (KeyError, TypeError, ValueError) as exc:
            failures.append((event, f"{type(exc).__name__}: {exc}"))
    bulk.insert_ignore("opd_entry", ENTRY_COLUMNS, rows, json_columns=("data",))
    return failures
