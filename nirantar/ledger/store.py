"""Where a node keeps its events: one interface, one module per database engine.

Sync contract - what a replica may assume of any store:

* An event, once inserted, is never updated or deleted; ``(origin, seq)``
  names exactly one event forever, and so does its hash. (Its UUID is not
  trusted to be unique: a dishonest node could copy another's.)
* For every origin the store holds seq ``1..head`` with no gap. ``vector()``
  returns those heads - except that a revoked origin counts only up to the
  revocation's cut - and is all a peer needs to know what this store lacks.
* ``events_after(vector)`` yields, for every origin, each live event with
  ``seq > vector.get(origin, 0)`` in seq order, authority first. A replica
  that ingests them in that order ends up with everything this store has.
* Events of a revoked origin after its cut are *void*: kept (the log is
  append-only) but never sent, counted or projected, wherever they were
  received before the revocation arrived. So every node converges on the
  same live events whatever the order the revocation and the events met in.
* ``insert`` is called only by ingest, inside a transaction that holds
  ``lock(origin)``; the head moves in that same transaction, so a crash can
  never leave an event without its head or a head without its event.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import Q

from nirantar.ledger import models, roster
from nirantar.ledger.canonical import canonical_text
from nirantar.ledger.events import AUTHORITY, Event
from nirantar.ledger.hlc import HLC, ZERO

BATCH = 2000
EVENT_COLUMNS = (
    "id, origin, seq, hlc_wall, hlc_count, actor, type, stream, body, prev, hash, sig, received_at"
)


def _copyable(rows: list[list[Any]]) -> bool:
    """Whether every text an event's row carries (actor, type, stream, body) will go to
    the database as UTF-8: one with a lone surrogate will not, and such a batch goes the
    slow way, to fail as the database refuses it and be retried event by event. The
    other columns are ASCII by their checked form."""
    for row in rows:
        for value in row[5:9]:
            if not value.isascii():
                try:
                    value.encode()
                except UnicodeEncodeError:
                    return False
    return True


@dataclass(frozen=True)
class WriterState:
    """What a writer of one origin must know before its first event, read in one query:
    its enrolment (None if not enrolled here), whether it is quarantined, its head."""

    number: int | None
    public_key: str
    enrolment_hash: str
    revoked_after_seq: int | None
    quarantined: bool
    head: tuple[int, str | None, HLC]


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
        """Append ``event``, the next one of its origin, and move the head.

        Plain SQL, not the ORM: this runs for every event a node writes or receives.
        """
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_event (id, origin, seq, hlc_wall, hlc_count, actor, type, "
                "stream, body, prev, hash, sig, received_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    event.id,
                    event.origin,
                    event.seq,
                    event.hlc.wall,
                    event.hlc.counter,
                    event.actor,
                    event.type,
                    event.stream,
                    event.body_text or canonical_text(event.body, checked=event.checked),
                    event.prev,
                    event.hash,
                    event.sig,
                    datetime.now(UTC),
                ],
            )
            moved_to: list[Any] = [event.seq, event.hash, event.hlc.wall, event.hlc.counter]
            if event.seq == 1:
                cursor.execute(
                    "INSERT INTO ledger_head (seq, hash, hlc_wall, hlc_count, origin) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [*moved_to, event.origin],
                )
            else:
                cursor.execute(
                    "UPDATE ledger_head SET seq = %s, hash = %s, hlc_wall = %s, hlc_count = %s "
                    "WHERE origin = %s AND seq = %s",
                    [*moved_to, event.origin, event.seq - 1],
                )
                if cursor.rowcount != 1:  # ingest checked this under the lock: a miss is a bug
                    raise RuntimeError(f"head of {event.origin} is not at {event.seq - 1}")
        if event.origin == AUTHORITY:
            roster.apply(event, self.db)

    def insert_many(self, events: list[Event]) -> None:
        """Append consecutive events of node origins in bulk (ingest's fast path).

        Ingest has checked each against the head it holds in memory under the lock;
        each origin's head moves once, to its last event here.
        """
        if not events:
            return
        now: Any = datetime.now(UTC)
        vendor = connections[self.db].vendor
        if vendor == "sqlite":
            now = now.isoformat(" ")  # as Django's adapter writes it, once for all rows
        rows = [
            [
                e.id,
                e.origin,
                e.seq,
                e.hlc.wall,
                e.hlc.counter,
                e.actor,
                e.type,
                e.stream,
                e.body_text or canonical_text(e.body, checked=e.checked),
                e.prev,
                e.hash,
                e.sig,
                now,
            ]
            for e in events
        ]
        with connections[self.db].cursor() as cursor:
            if vendor == "postgresql" and _copyable(rows):
                # COPY: the rows stream in one round trip, and the server parses no JSON
                # and plans no statement (a 1M restore into PostgreSQL: see
                # docs/benchmarks.md). executemany sends a statement a row.
                # The time received goes as text, formatted once for every row: a datetime
                # is formatted again for each (a second of client CPU in a 1M restore).
                received = now.isoformat()
                with cursor.copy(f"COPY ledger_event ({EVENT_COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        row[-1] = received
                        copy.write_row(row)
            else:
                cursor.executemany(
                    f"INSERT INTO ledger_event ({EVENT_COLUMNS}) "  # noqa: S608
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    rows,
                )
            first: dict[str, Event] = {}
            last: dict[str, Event] = {}
            for event in events:
                first.setdefault(event.origin, event)
                last[event.origin] = event
            for origin, event in last.items():
                moved_to: list[Any] = [event.seq, event.hash, event.hlc.wall, event.hlc.counter]
                if first[origin].seq == 1:
                    cursor.execute(
                        "INSERT INTO ledger_head (seq, hash, hlc_wall, hlc_count, origin) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        [*moved_to, origin],
                    )
                    continue
                cursor.execute(
                    "UPDATE ledger_head SET seq = %s, hash = %s, hlc_wall = %s, hlc_count = %s "
                    "WHERE origin = %s AND seq = %s",
                    [*moved_to, origin, first[origin].seq - 1],
                )
                if cursor.rowcount != 1:
                    raise RuntimeError(f"head of {origin} is not at {first[origin].seq - 1}")

    # -- reading ----------------------------------------------------------
    def head(self, origin: str) -> tuple[int, str | None]:
        row = models.Head.objects.using(self.db).filter(origin=origin).first()
        return (row.seq, row.hash) if row else (0, None)

    def head_hlc(self, origin: str) -> HLC:
        return self.head_state(origin)[2]

    def head_state(self, origin: str) -> tuple[int, str | None, HLC]:
        """(seq, hash, hlc) of the origin's head, in one query; (0, None, ZERO) if none."""
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                "SELECT seq, hash, hlc_wall, hlc_count FROM ledger_head WHERE origin = %s",
                [origin],
            )
            row = cursor.fetchone()
        return (row[0], row[1], HLC(row[2], row[3])) if row else (0, None, ZERO)

    def get(self, origin: str, seq: int) -> Event | None:
        row = models.Event.objects.using(self.db).filter(origin=origin, seq=seq).first()
        return from_row(row) if row else None

    def cuts(self) -> dict[str, int]:
        """For each revoked origin, the last seq that stays live."""
        rows = (
            models.Origin.objects.using(self.db)
            .exclude(revoked_after_seq=None)
            .values_list("name", "revoked_after_seq")
        )
        return {name: cut for name, cut in rows if cut is not None}

    def vector(self) -> dict[str, int]:
        heads = dict(models.Head.objects.using(self.db).values_list("origin", "seq"))
        for origin, cut in self.cuts().items():
            if origin in heads:
                heads[origin] = min(heads[origin], cut)
        return heads

    def heads(self) -> dict[str, tuple[int, str]]:
        """For each origin, its live head: (seq, hash of the event at that seq)."""
        rows = models.Head.objects.using(self.db).values_list("origin", "seq", "hash")
        heads = {origin: (seq, digest) for origin, seq, digest in rows}
        for origin, cut in self.cuts().items():
            if origin in heads and heads[origin][0] > cut:
                event = self.get(origin, cut)
                heads[origin] = (cut, event.hash if event else "")
        return heads

    def count(self) -> int:
        return models.Event.objects.using(self.db).count()

    def writer_state(self, origin: str) -> WriterState | None:
        """The enrolment, quarantine and head of ``origin`` in one query (plain SQL: a
        node's writer reads them at the start of every transaction); None if the origin
        is not enrolled here."""
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                "SELECT o.number, o.public_key, o.enrolment_hash, o.revoked_after_seq, "
                "EXISTS (SELECT 1 FROM ledger_quarantine q WHERE q.origin = o.name), "
                "h.seq, h.hash, h.hlc_wall, h.hlc_count "
                "FROM ledger_origin o LEFT JOIN ledger_head h ON h.origin = o.name "
                "WHERE o.name = %s",
                [origin],
            )
            row = cursor.fetchone()
        if row is None:
            return None
        number, public_key, enrolment_hash, revoked, quarantined, seq, hash_, wall, count = row
        head = (seq, hash_, HLC(wall, count)) if seq is not None else (0, None, ZERO)
        return WriterState(number, public_key, enrolment_hash, revoked, bool(quarantined), head)

    def max_hlc(self, ceiling_ms: int | None = None) -> HLC:
        """The greatest timestamp stored, ignoring any later than ``ceiling_ms``.

        The ceiling keeps a peer whose clock runs far ahead from dragging this
        node's clock (and so every timestamp it writes) into the future. Plain SQL
        on the (hlc_wall, hlc_count) index: every write transaction asks.
        """
        where = "WHERE hlc_wall <= %s " if ceiling_ms is not None else ""
        with connections[self.db].cursor() as cursor:
            cursor.execute(
                f"SELECT hlc_wall, hlc_count FROM ledger_event {where}"  # noqa: S608 - no input
                "ORDER BY hlc_wall DESC, hlc_count DESC LIMIT 1",
                [ceiling_ms] if ceiling_ms is not None else [],
            )
            row = cursor.fetchone()
        return HLC(row[0], row[1]) if row else ZERO

    def origin_events(
        self, origin: str, after: int = 0, upto: int | None = None, batch: int = BATCH
    ) -> Iterator[Event]:
        """The events of one origin with ``after < seq <= upto``, in seq order."""
        while True:
            qs = models.Event.objects.using(self.db).filter(origin=origin, seq__gt=after)
            if upto is not None:
                qs = qs.filter(seq__lte=upto)
            rows = list(qs.order_by("seq")[:batch])
            if not rows:
                return
            for row in rows:
                yield from_row(row)
            after = rows[-1].seq

    def events_after(self, vector: dict[str, int], limit: int | None = None) -> Iterator[Event]:
        sent = 0
        for origin, head in sorted(self.vector().items(), key=_authority_first):
            after = vector.get(origin, 0)
            if after >= head:
                continue
            batch = min(BATCH, limit - sent) if limit is not None else BATCH
            for event in self.origin_events(origin, after, upto=head, batch=batch):
                yield event
                sent += 1
                if limit is not None and sent >= limit:
                    return

    def wire_after(self, vector: dict[str, int], limit: int) -> Iterator[bytes]:
        """``events_after`` as NDJSON lines, straight from the stored rows.

        A peer verifies every event itself, so the sender need not decode and
        re-encode bodies: the stored canonical text goes out as it is.
        """
        sent = 0
        for origin, head in sorted(self.vector().items(), key=_authority_first):
            after = vector.get(origin, 0)
            if after >= head:
                continue
            with connections[self.db].cursor() as cursor:
                cursor.execute(
                    "SELECT id, origin, seq, hlc_wall, hlc_count, actor, type, stream, prev, "
                    "hash, sig, body FROM ledger_event WHERE origin = %s AND seq > %s "
                    "AND seq <= %s ORDER BY seq LIMIT %s",
                    [origin, after, head, limit - sent],
                )
                rows = cursor.fetchall()
            for eid, o, seq, wall, count, actor, type_, stream, prev, digest, sig, body in rows:
                header = json.dumps(
                    {
                        "id": eid,
                        "origin": o,
                        "seq": seq,
                        "hlc": [wall, count],
                        "actor": actor,
                        "type": type_,
                        "stream": stream,
                        "prev": prev,
                        "hash": digest,
                        "sig": sig,
                    },
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                yield (header[:-1] + ',"body":' + body + "}\n").encode()
            sent += len(rows)
            if sent >= limit:
                return

    def chains(self) -> Iterator[Event]:
        """Every live event, origin by origin (authority first), each in seq order."""
        return self.events_after({})

    def in_causal_order(self) -> Iterator[Event]:
        """Every live event in (hlc, origin, seq) order, the order a rebuild replays."""
        qs = models.Event.objects.using(self.db)
        for origin, cut in self.cuts().items():
            qs = qs.exclude(origin=origin, seq__gt=cut)
        qs = qs.order_by("hlc_wall", "hlc_count", "origin", "seq")
        page = qs
        while True:
            rows = list(page[:BATCH])
            if not rows:
                return
            for row in rows:
                yield from_row(row)
            last = rows[-1]
            w, c, o, s = last.hlc_wall, last.hlc_count, last.origin, last.seq
            page = qs.filter(
                Q(hlc_wall__gt=w)
                | Q(hlc_wall=w, hlc_count__gt=c)
                | Q(hlc_wall=w, hlc_count=c, origin__gt=o)
                | Q(hlc_wall=w, hlc_count=c, origin=o, seq__gt=s)
            )

    def stream(self, stream: str) -> list[Event]:
        rows = models.Event.objects.using(self.db).filter(stream=stream)
        cuts = self.cuts()
        live = (from_row(r) for r in rows if r.seq <= cuts.get(r.origin, r.seq))
        return sorted(live, key=lambda e: e.order_key)

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
