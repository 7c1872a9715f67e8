"""Where a node keeps its events: one interface, one module per database engine.

Sync contract - what a replica may assume of any store:

* An event, once inserted, is never updated or deleted; ``(origin, seq)``
  names exactly one event forever, and so does ``id``.
* For every origin the store holds seq ``1..head`` with no gap. ``vector()``
  returns those heads; it is all a peer needs to know what this store lacks.
* ``events_after(vector)`` yields, for every origin, each event with
  ``seq > vector.get(origin, 0)`` in seq order. A replica that ingests them in
  the order given ends up with everything this store has.
* ``insert`` is called only by ingest, inside a transaction that holds
  ``lock(origin)``; the head moves in that same transaction, so a crash can
  never leave an event without its head or a head without its event.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime

from django.db import connections, transaction
from django.db.models import Q

from nirantar.ledger import models, roster
from nirantar.ledger.canonical import canonical_text
from nirantar.ledger.events import AUTHORITY, Event
from nirantar.ledger.hlc import HLC, ZERO

BATCH = 2000


def from_row(row: models.Event) -> Event:
    return Event(
        id=row.id,
        origin=row.origin,
        seq=row.seq,
        hlc=HLC(row.hlc_wall, row.hlc_count),
        actor=row.actor,
        type=row.type,
        stream=row.stream,
        body=json.loads(row.body),
        prev=row.prev,
        hash=row.hash,
        sig=row.sig,
    )


class EventStore(ABC):
    vendor: str

    def __init__(self, using: str = "default") -> None:
        self.db = using

    # -- writing ----------------------------------------------------------
    @abstractmethod
    def lock(self, origin: str) -> None:
        """Serialise writers of ``origin`` until the current transaction ends."""

    def atomic(self, durable: bool = False) -> transaction.Atomic:
        return transaction.atomic(using=self.db, durable=durable)

    def insert(self, event: Event) -> None:
        """Append ``event``, the next one of its origin, and move the head."""
        models.Event.objects.using(self.db).create(
            id=event.id,
            origin=event.origin,
            seq=event.seq,
            hlc_wall=event.hlc.wall,
            hlc_count=event.hlc.counter,
            actor=event.actor,
            type=event.type,
            stream=event.stream,
            body=canonical_text(event.body),
            prev=event.prev,
            hash=event.hash,
            sig=event.sig,
            received_at=datetime.now(UTC),
        )
        heads = models.Head.objects.using(self.db)
        if event.seq == 1:
            heads.create(origin=event.origin, seq=1, hash=event.hash)
        else:
            moved = heads.filter(origin=event.origin, seq=event.seq - 1).update(
                seq=event.seq, hash=event.hash
            )
            if moved != 1:  # ingest checked this under the lock; a miss means a bug
                raise RuntimeError(f"head of {event.origin} is not at {event.seq - 1}")
        if event.origin == AUTHORITY:
            roster.apply(event, self.db)

    # -- reading ----------------------------------------------------------
    def head(self, origin: str) -> tuple[int, str | None]:
        row = models.Head.objects.using(self.db).filter(origin=origin).first()
        return (row.seq, row.hash) if row else (0, None)

    def get(self, origin: str, seq: int) -> Event | None:
        row = models.Event.objects.using(self.db).filter(origin=origin, seq=seq).first()
        return from_row(row) if row else None

    def get_by_id(self, event_id: str) -> Event | None:
        row = models.Event.objects.using(self.db).filter(id=event_id).first()
        return from_row(row) if row else None

    def vector(self) -> dict[str, int]:
        return dict(models.Head.objects.using(self.db).values_list("origin", "seq"))

    def count(self) -> int:
        return models.Event.objects.using(self.db).count()

    def max_hlc(self) -> HLC:
        row = (
            models.Event.objects.using(self.db)
            .order_by("-hlc_wall", "-hlc_count")
            .values_list("hlc_wall", "hlc_count")
            .first()
        )
        return HLC(*row) if row else ZERO

    def events_after(self, vector: dict[str, int], limit: int | None = None) -> Iterator[Event]:
        sent = 0
        for origin, head in sorted(self.vector().items(), key=_authority_first):
            after = vector.get(origin, 0)
            while after < head:
                rows = list(
                    models.Event.objects.using(self.db)
                    .filter(origin=origin, seq__gt=after)
                    .order_by("seq")[:BATCH]
                )
                for row in rows:
                    yield from_row(row)
                    sent += 1
                    if limit is not None and sent >= limit:
                        return
                after = rows[-1].seq

    def chains(self) -> Iterator[Event]:
        """Every event, origin by origin (authority first), each in seq order."""
        return self.events_after({})

    def in_causal_order(self) -> Iterator[Event]:
        """Every event in (hlc, origin) order, the order a rebuild replays."""
        qs = models.Event.objects.using(self.db).order_by("hlc_wall", "hlc_count", "origin")
        page = qs
        while True:
            rows = list(page[:BATCH])
            if not rows:
                return
            for row in rows:
                yield from_row(row)
            w, c, o = rows[-1].hlc_wall, rows[-1].hlc_count, rows[-1].origin
            page = qs.filter(
                Q(hlc_wall__gt=w)
                | Q(hlc_wall=w, hlc_count__gt=c)
                | Q(hlc_wall=w, hlc_count=c, origin__gt=o)
            )

    def stream(self, stream: str) -> list[Event]:
        rows = models.Event.objects.using(self.db).filter(stream=stream)
        return sorted((from_row(r) for r in rows), key=lambda e: e.order_key)

    def connection_vendor(self) -> str:
        return connections[self.db].vendor


def _authority_first(item: tuple[str, int]) -> tuple[int, str]:
    return (0 if item[0] == AUTHORITY else 1, item[0])


def store_for(using: str = "default") -> EventStore:
    vendor = connections[using].vendor
    if vendor == "sqlite":
        from nirantar.ledger.sqlite import SQLiteStore

        return SQLiteStore(using)
    if vendor == "postgresql":
        from nirantar.ledger.postgres import PostgresStore

        return PostgresStore(using)
    raise RuntimeError(f"no event store for database engine {vendor!r}")
