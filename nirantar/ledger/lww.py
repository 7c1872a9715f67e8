"""Last-writer-wins fields: each field keeps the value with the greatest (hlc, origin).

A projection row keeps a JSON map ``field -> [wall, counter, origin]`` of the
stamp that set each field. Whatever order updates arrive in, every node ends
with the same values. Losing values are not lost: projections keep them in a
history table.
"""

from __future__ import annotations

from typing import Any

from nirantar.ledger.events import Event

Stamp = list[Any]  # [wall, counter, origin]


def stamp_of(event: Event) -> Stamp:
    return [event.hlc.wall, event.hlc.counter, event.origin]


def newer(candidate: Stamp, current: Stamp | None) -> bool:
    return current is None or tuple(candidate) > tuple(current)


def assign(row: Any, stamps: dict[str, Stamp], field: str, value: Any, stamp: Stamp) -> bool:
    """Set ``row.field = value`` if ``stamp`` beats the field's current stamp."""
    if newer(stamp, stamps.get(field)):
        setattr(row, field, value)
        stamps[field] = stamp
        return True
    return False
