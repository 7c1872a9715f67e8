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
from nirantar.ledger import lww
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, register_models
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


@handles(events.QUEUE_MOVED)
def on_queue_moved(event: Event) -> None:
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
    stamp = lww.stamp_of(event)
    found = sql.one(
        "SELECT round, step, stamp, calls FROM opd_queue_state WHERE visit_no = %s AND uhid = %s",
        [visit, uhid],
    )
    if found is None:  # the visit's first move here: the whole row is written
        read: dict[str, Any] | None = None
        row: dict[str, Any] = {
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
    else:
        read = dict(zip(("round", "step", "stamp", "calls"), found, strict=True))
        read["stamp"], read["calls"] = sql.json_value(read["stamp"]), sql.json_value(read["calls"])
        row = dict(read)
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
    if read is None:
        sql.insert("opd_queue_state", row, QUEUE_JSON)
    else:  # only the columns this move changed
        changed = {c: v for c, v in row.items() if c not in read or read[c] != v}
        sql.update("opd_queue_state", {"visit_no": visit, "uhid": uhid}, changed, QUEUE_JSON)


QUEUE_JSON = ("calls", "stamp")


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


@handles(events.NOTE_RECORDED, *events.ENTRY_KINDS)
def on_entry(event: Event) -> None:
    visit, uhid = _checked(event)
    body = event.body
    SHAPES[event.type](body)
    kind = body["kind"] if event.type == events.NOTE_RECORDED else events.ENTRY_KINDS[event.type]
    sql.insert(
        "opd_entry",
        {
            "entry_id": entry_id(event),
            "visit": visit,
            "uhid": uhid,
            "kind": kind,
            "data": _entry_values(event),
            "corrects": body.get("corrects") or "",
            "reason": body.get("reason") or "",
            "at_ms": event.hlc.wall,
            "actor": event.actor,
            "node": event.origin,
        },
        ("data",),
    )
