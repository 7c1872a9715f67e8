"""The sequences behind numbers minted on a node (see numbering.py for their format).

The sequence is a projection: every handler that sees a number minted by some
node calls ``observe(kind, scope, n)``, and ``next_number`` (called under the
writer lock) returns one more than the highest seen. So a rebuilt or restored
node never reissues a number it already gave out.
"""

from __future__ import annotations

from django.db import connection

from nirantar.ledger.numbering import MAX_SEQUENCE, SequenceExhausted

_UPSERT = {
    "sqlite": "INSERT INTO ledger_number_sequence (kind, scope, last) VALUES (%s, %s, %s) "
    "ON CONFLICT (kind, scope) DO UPDATE SET last = max(last, excluded.last)",
    "postgresql": "INSERT INTO ledger_number_sequence (kind, scope, last) VALUES (%s, %s, %s) "
    "ON CONFLICT (kind, scope) DO UPDATE "
    "SET last = GREATEST(ledger_number_sequence.last, excluded.last)",
}


def observe(kind: str, scope: str, value: int) -> None:
    """Record that number ``value`` of ``kind`` in ``scope`` exists (projection helper).

    One upsert keeping the maximum, so any order of events gives the same sequence.
    """
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT[connection.vendor], [kind, scope, value])


def next_number(kind: str, scope: str, limit: int = MAX_SEQUENCE) -> int:
    """The next unused number; call only under the writer lock, then emit an event using it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last FROM ledger_number_sequence WHERE kind = %s AND scope = %s", [kind, scope]
        )
        row = cursor.fetchone()
    last = row[0] if row else None
    value = (last or 0) + 1
    if value > limit:
        raise SequenceExhausted(
            f"this node has used all {limit:,} numbers of kind {kind!r}; "
            "enrol it again under a new node number"
        )
    return value
