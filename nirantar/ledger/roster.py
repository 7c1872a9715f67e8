"""The roster of origins: who may write events, with which key and number.

It is kept by the store itself (not a projection) because ingest needs it to
check signatures: ``store.insert`` updates it, in the same transaction, for
every genesis, enrolment and revocation - all events of the authority chain,
which is verified like any other chain.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

from nirantar.ledger.events import AUTHORITY, Event
from nirantar.ledger.models import Origin
from nirantar.ledger.projection import event_version

GENESIS = "ledger.genesis"
NODE_ENROLLED = "ledger.node_enrolled"
NODE_REVOKED = "ledger.node_revoked"
AUTHORITY_TYPES = frozenset({GENESIS, NODE_ENROLLED, NODE_REVOKED})

for _type in AUTHORITY_TYPES:
    event_version(_type, 1)


def apply(event: Event, using: str) -> None:
    """Update the roster for an authority event (called by ``store.insert``)."""
    origins = Origin.objects.using(using)
    if event.type == GENESIS:
        origins.get_or_create(
            name=AUTHORITY,
            defaults={
                "kind": Origin.AUTHORITY,
                "public_key": event.body["authority_key"],
                "number": None,
                "enrolment_hash": event.hash,
                "enrolled_at_ms": event.hlc.wall,
                "hospital": event.body.get("hospital", ""),
            },
        )
    elif event.type == NODE_ENROLLED:
        cache = _numbers.get()
        if cache is not None:
            cache.pop(event.body["node"], None)
        # Ingest refuses a second enrolment of a name or a number, so this is a create.
        origins.get_or_create(
            name=event.body["node"],
            defaults={
                "kind": Origin.NODE,
                "public_key": event.body["public_key"],
                "number": event.body["number"],
                "enrolment_hash": event.hash,
                "enrolled_at_ms": event.hlc.wall,
            },
        )
    elif event.type == NODE_REVOKED:
        # Monotone: the earliest cut-off named by any revocation wins.
        after = event.body["after_seq"]
        origin = origins.filter(name=event.body["node"]).first()
        if origin and (origin.revoked_after_seq is None or after < origin.revoked_after_seq):
            origins.filter(pk=origin.pk).update(revoked_after_seq=after)


_numbers: contextvars.ContextVar[dict[str, int | None] | None] = contextvars.ContextVar(
    "nirantar_roster_numbers", default=None
)


@contextmanager
def numbers_remembered() -> Iterator[None]:
    """Within one write transaction, look each origin's number up once."""
    token = _numbers.set({})
    try:
        yield
    finally:
        _numbers.reset(token)


def number_of(origin: str, using: str = "default") -> int | None:
    """The enrolment number of ``origin``: the only node that may mint numbers with it."""
    cache = _numbers.get()
    if cache is not None and origin in cache:
        return cache[origin]
    # Plain SQL: asked at every write that mints a number, where the ORM's query building
    # cost more than the query.
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT number FROM ledger_origin WHERE name = %s", [origin])
        row = cursor.fetchone()
    number = row[0] if row is not None else None
    if cache is not None:
        cache[origin] = number
    return number


def check_minted_by(event: Event, node_number: int, what: str) -> None:
    """Refuse to project a number minted in another node's number space (raises ValueError)."""
    if number_of(event.origin) != node_number:
        raise ValueError(
            f"{event.origin} wrote {what} numbered for node {node_number:03d}, "
            "which is not its own number"
        )
