"""Projections of outpatient events. The only code that writes OPD tables.

Queue steps are **monotone**: a visit's place is the greatest (round, step) any
event gave it - waiting < called < consulting < done | no-show, and a visit
sent to another room starts the next round, waiting there. Two calls of one
token made at two nodes apart meet as equals; the earlier call wins and the
later stays in the log. Clinical entries are **append-only**: each event is a
new row keyed by its (origin, seq), which no one else can mint.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nirantar.ledger import lww
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, register_models
from nirantar.opd import events
from nirantar.opd.models import Entry, QueueState

register_models(QueueState, Entry)
for _type in (events.QUEUE_MOVED, events.NOTE_RECORDED, *events.ENTRY_KINDS):
    event_version(_type, 1)

ENVELOPE = ("v", "visit", "uhid", "corrects", "reason")


def entry_id(event: Event) -> str:
    return f"{event.origin}:{event.seq}"


def _check_stream(event: Event) -> str:
    uhid = str(event.body["uhid"])
    if event.stream != events.patient_stream(uhid):
        raise ValueError(f"an OPD event must be in stream patient:{uhid}")
    return uhid


@handles(events.QUEUE_MOVED)
def on_queue_moved(event: Event) -> None:
    body = event.body
    uhid = _check_stream(event)
    step, round_ = body["step"], int(body["round"])
    if step == "sent":  # to another room: the next round begins, waiting there
        step, round_ = "waiting", round_ + 1
    key = (round_, events.STEP_RANK[step])
    stamp = lww.stamp_of(event)
    row = QueueState.objects.filter(visit_no=body["visit"]).first()
    if row is None:
        row = QueueState(
            visit_no=body["visit"],
            uhid=uhid,
            department=body["department"],
            local_date=date.fromisoformat(body["date"]),
        )
        current: tuple[int, int] | None = None
    else:
        current = (row.round, events.STEP_RANK[row.step])
    called = step == "called"
    if current is None or key > current or (key == current and tuple(stamp) < tuple(row.stamp)):
        previous_call = row.last_called_ms if current == key else None
        row.round, row.step, row.stamp = round_, step, stamp
        row.room_en, row.room_hi = body["room"]["en"], body["room"]["hi"]
        row.by, row.at_ms = event.actor, event.hlc.wall
        row.last_called_ms = max(previous_call or 0, event.hlc.wall) if called else None
    elif key == current and called:  # a recall of the same call: shown again
        row.last_called_ms = max(row.last_called_ms or 0, event.hlc.wall)
    else:
        return
    row.save()


def _entry_values(event: Event) -> dict[str, Any]:
    return {k: v for k, v in event.body.items() if k not in ENVELOPE}


@handles(events.NOTE_RECORDED, *events.ENTRY_KINDS)
def on_entry(event: Event) -> None:
    uhid = _check_stream(event)
    body = event.body
    kind = body["kind"] if event.type == events.NOTE_RECORDED else events.ENTRY_KINDS[event.type]
    if kind not in (*events.NOTE_KINDS, *events.ENTRY_KINDS.values()):
        raise ValueError(f"unknown note kind {kind!r}")
    Entry.objects.get_or_create(
        entry_id=entry_id(event),
        defaults={
            "visit": body.get("visit") or "",
            "uhid": uhid,
            "kind": kind,
            "data": _entry_values(event),
            "corrects": body.get("corrects") or "",
            "reason": body.get("reason") or "",
            "at_ms": event.hlc.wall,
            "actor": event.actor,
            "node": event.origin,
        },
    )
