"""The one path by which any event - written here, synced, or restored - enters a store.

Rules (DESIGN.md), checked in this order:

1. The hash matches the content and the signature verifies against the
   origin's enrolled key, else the event is rejected (and an alarm raised).
2. ``seq`` is the next one for its origin and ``prev`` is the hash of the
   event before it, else it is held until the gap is filled. An origin not yet
   enrolled here is a gap too: its events wait for the enrolment.
3. A second, different, validly signed event for the same (origin, seq) - or
   one that continues the chain from the wrong ``prev`` - is equivocation: it
   is rejected, an alarm is raised and the origin is quarantined until an
   administrator acts.
4. The same event twice is a no-op.

The event and its projections are written in the caller's transaction, which
must hold ``store.lock(origin)`` for every origin it ingests.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import DatabaseError, transaction

from nirantar.ledger import models, projection
from nirantar.ledger.canonical import canonical_text
from nirantar.ledger.events import AUTHORITY, GENESIS_PREV, Event
from nirantar.ledger.hlc import HLC, wall_ms
from nirantar.ledger.roster import AUTHORITY_TYPES, GENESIS, NODE_ENROLLED, NODE_REVOKED
from nirantar.ledger.store import EventStore, WriterState

log = logging.getLogger(__name__)

CLOCK_SKEW_MS = 5 * 60 * 1000


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    HELD = "held"
    REJECTED = "rejected"


@dataclass
class Report:
    accepted: list[Event] = field(default_factory=list)
    duplicates: int = 0
    held: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # ("origin#seq", reason)

    def add(self, outcome: Outcome, event: Event, reason: str = "") -> None:
        if outcome is Outcome.ACCEPTED:
            self.accepted.append(event)
        elif outcome is Outcome.DUPLICATE:
            self.duplicates += 1
        elif outcome is Outcome.HELD:
            self.held += 1
        else:
            self.rejected.append((ref(event), reason))


def ref(event: Event) -> str:
    """How alarms and reports name an event: origin and seq (its UUID may be a copy)."""
    return f"{event.origin}#{event.seq}"


class Rejected(Exception):
    def __init__(
        self,
        reason: str,
        alarm: str | None = None,
        quarantine: bool = False,
        presenter_at_fault: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.alarm = alarm
        self.quarantine = quarantine  # the origin proved itself dishonest (it signed this)
        # Nobody honest passes on an event that fails its hash or signature: the node
        # that presented it is at fault, whoever it claims wrote it.
        self.presenter_at_fault = presenter_at_fault


@dataclass
class _Key:
    public_key: str
    first_prev: str
    revoked_after_seq: int | None


def raise_alarm(
    kind: str, detail: str, origin: str = "", event_id: str = "", using: str = "default"
) -> None:
    log.warning("alarm %s origin=%s event=%s: %s", kind, origin, event_id, detail)
    models.Alarm.objects.using(using).create(
        kind=kind, origin=origin, event_id=event_id, detail=detail, created_at=datetime.now(UTC)
    )


class Ingestor:
    """Applies the ingest rules to events for one store, within one transaction.

    It remembers, for the life of that transaction, what it has learnt: each
    origin's head, whether it is quarantined, its key. Under the writer lock
    nobody else changes them, so a batch of events costs a few queries per event,
    not a dozen.
    """

    def __init__(
        self,
        store: EventStore,
        project: Callable[[Event], None] | None = None,
        project_remote: Callable[[Event], str | None] | None = None,
        source: str | None = None,
    ) -> None:
        self.store = store
        self.source = source  # the peer these events came from, when known
        self.project = project
        self.project_remote = project_remote
        self._keys: dict[str, _Key | None] = {}
        self._heads: dict[str, tuple[int, str | None, HLC]] = {}
        self._quarantined: dict[str, bool] = {}
        self._vouched: set[str] = set()
        self._anything_held: bool | None = None
        self._deferred: list[Event] | None = None  # events to project at the end of a batch
        self._hashed: set[str] = set()  # hashes already checked against their content
        # In a batch's fast mode, accepted events are written together at the end.
        self._buffer: list[Event] | None = None
        self._buffered: dict[tuple[str, int], str] = {}
        # Careful mode stores each remote event in its own savepoint, so one the
        # database refuses is rejected alone; ingest_remote uses it only to retry a
        # batch that failed in the fast mode.
        self.careful = False
        self.last_reason = ""

    # -- public -----------------------------------------------------------
    def know(self, origin: str, state: WriterState) -> None:
        """Take what a writer read of its own origin (enrolment, quarantine, head) in one
        query, so its events are checked against it without asking again."""
        self._keys[origin] = _Key(state.public_key, state.enrolment_hash, state.revoked_after_seq)
        self._quarantined[origin] = state.quarantined
        self._heads[origin] = state.head

    def signed_here(self, event: Event) -> None:
        """``event`` was just built and signed in this process with the key ``know`` found
        enrolled: its hash and signature need no second check."""
        self._hashed.add(event.hash)
        self._vouched.add(event.hash)

    def head(self, origin: str) -> tuple[int, str | None, HLC]:
        if origin not in self._heads:
            self._heads[origin] = self.store.head_state(origin)
        return self._heads[origin]

    def ingest(self, event: Event, *, local: bool = False) -> Outcome:
        outcome, _ = self._ingest_one(event, local=local)
        # Nothing of this node's own chain is ever held, so a local event can only
        # unblock others when it enrols a node.
        if outcome is Outcome.ACCEPTED and (not local or event.type == NODE_ENROLLED):
            self._release_held(event)
        return outcome

    def ingest_many(self, events: Iterable[Event]) -> Report:
        """Ingest a batch from elsewhere; their projections are applied together at the end."""
        events = list(events)
        self._vouch_for_runs(events)
        self._deferred = [] if self.project_remote is not None else None
        self._buffer = None if self.careful else []
        report = Report()
        held_hashes: list[str] = []
        for event in events:
            outcome, reason = self._ingest_one(event, local=False)
            if outcome is Outcome.HELD:
                held_hashes.append(event.hash)
            else:
                report.add(outcome, event, reason)
            if outcome is Outcome.ACCEPTED:
                report.accepted.extend(self._release_held(event))
        self._flush()
        self._buffer = None
        if self._deferred:
            for failed, error in projection.apply_many(self._deferred):
                raise_alarm(
                    "projection_failed", error, failed.origin, ref(failed), using=self.store.db
                )
        self._deferred = None
        if held_hashes:
            held = models.Held.objects.using(self.store.db)
            report.held = held.filter(hash__in=held_hashes).count()
        return report

    def _vouch_for_runs(self, events: list[Event]) -> None:
        """Verify one signature per run of consecutive events from one origin.

        Each event's hash covers its ``prev``, the hash of the event before it, so
        a valid signature on the last event of an unbroken run vouches for every
        event in it (ingest still re-hashes each one). Verifying is the costly
        step of ingest - ~8,500 signatures a second per core - so a batch of a
        thousand events from one node needs one verification, not a thousand.
        """
        run: list[Event] = []

        def close() -> None:
            if len(run) > 1:
                key = self._key_for(run[-1]) if run[-1].origin != AUTHORITY else None
                if key is not None and run[-1].signature_valid(key.public_key):
                    self._vouched.update(e.hash for e in run)
            run.clear()

        for event in events:
            hashed = event.compute_hash() == event.hash
            if hashed:
                self._hashed.add(event.hash)
            if run and not (
                event.origin == run[-1].origin
                and event.seq == run[-1].seq + 1
                and event.prev == run[-1].hash
                and hashed
            ):
                close()
            if not hashed:
                continue  # ingest will reject it, and judge its neighbours on their own
            run.append(event)
        close()

    # -- the rules --------------------------------------------------------
    def _ingest_one(self, event: Event, *, local: bool) -> tuple[Outcome, str]:
        try:
            outcome = self._check_and_insert(event, local=local)
        except Rejected as exc:
            self.last_reason = exc.reason
            if exc.alarm:
                raise_alarm(exc.alarm, exc.reason, event.origin, ref(event), using=self.store.db)
            if exc.quarantine:
                self._quarantine(event.origin, exc.reason)
            if exc.presenter_at_fault and self.source:
                detail = f"{self.source} presented a bad event: {exc.reason}"
                raise_alarm("bad_presenter", detail, self.source, ref(event), using=self.store.db)
                self._quarantine(self.source, detail)
            if local:
                raise
            return Outcome.REJECTED, exc.reason
        return outcome, ""

    def _is_quarantined(self, origin: str) -> bool:
        if origin not in self._quarantined:
            quarantined = models.Quarantine.objects.using(self.store.db).filter(origin=origin)
            self._quarantined[origin] = quarantined.exists()
        return self._quarantined[origin]

    def _check_and_insert(self, event: Event, *, local: bool) -> Outcome:
        db = self.store.db
        if self._is_quarantined(event.origin):
            raise Rejected(f"origin {event.origin} is quarantined")

        key = self._key_for(event)
        if key is None:
            self._hold(event, f"origin {event.origin} is not enrolled here yet")
            return Outcome.HELD

        # Rule 1: content matches its hash, and the hash is signed by the origin.
        if event.hash not in self._hashed and event.compute_hash() != event.hash:
            raise Rejected(
                f"{event.origin}#{event.seq}: content does not match its hash (altered)",
                alarm="tampered",
                presenter_at_fault=True,
            )
        if event.hash not in self._vouched and not event.signature_valid(key.public_key):
            raise Rejected(
                f"{event.origin}#{event.seq}: signature does not verify against the enrolled key",
                alarm="forged",
                presenter_at_fault=True,
            )

        # Rules 4 and 3: the same (origin, seq) seen before. Heads are gapless, so
        # only a seq at or below the head can already be here.
        head_seq, head_hash, head_hlc = self.head(event.origin)
        if event.seq <= head_seq:
            if self._buffered.get((event.origin, event.seq)) == event.hash:
                return Outcome.DUPLICATE
            self._flush()
            existing = self.store.get(event.origin, event.seq)
            if existing is not None and existing.hash == event.hash:
                return Outcome.DUPLICATE
            raise Rejected(
                f"equivocation: {event.origin} signed two different events with seq {event.seq} "
                f"({existing.hash[:12] if existing else '?'} and {event.hash[:12]})",
                alarm="equivocation",
                quarantine=True,
            )

        if key.revoked_after_seq is not None and event.seq > key.revoked_after_seq:
            raise Rejected(
                f"{event.origin} was revoked after seq {key.revoked_after_seq}; "
                f"event {event.seq} refused",
                alarm="revoked_origin",
            )

        # Rule 2: gapless chain.
        if event.seq > head_seq + 1:
            self._hold(event, f"waiting for {event.origin}#{head_seq + 1}")
            return Outcome.HELD
        expected_prev = head_hash if head_seq else key.first_prev
        if event.prev != expected_prev:
            raise Rejected(
                f"equivocation: {event.origin}#{event.seq} does not continue its chain "
                "(prev is not the hash of the event before it)",
                alarm="equivocation",
                quarantine=True,
            )
        # An honest origin's clock only moves forward along its own chain; a signed
        # event that breaks this would let its author reorder last-writer-wins.
        if head_seq and event.hlc <= head_hlc:
            raise Rejected(
                f"{event.origin}#{event.seq}: its clock does not move forward along its chain",
                alarm="clock_regressed",
                quarantine=True,
            )

        self._check_authority_rules(event)
        if not local and event.hlc.wall > wall_ms() + CLOCK_SKEW_MS:
            self._skew_alarm(event)

        if self._buffer is not None and not local and event.origin != AUTHORITY:
            self._buffer.append(event)
            self._buffered[(event.origin, event.seq)] = event.hash
        elif local or not self.careful:
            self._flush()
            self.store.insert(event)
        else:
            try:
                with transaction.atomic(using=db):
                    self.store.insert(event)
            except DatabaseError as exc:  # a value the database can't hold: refuse, go on
                raise Rejected(
                    f"{ref(event)} could not be stored: {exc.__class__.__name__}: {exc}",
                    alarm="unstorable",
                ) from exc
        self._heads[event.origin] = (event.seq, event.hash, event.hlc)
        self._project(event, local=local)
        if event.type in AUTHORITY_TYPES:
            self._keys.clear()
        if event.type == NODE_REVOKED:
            self._void_after_revocation(event)
        return Outcome.ACCEPTED

    def _flush(self) -> None:
        """Write the events buffered in fast mode (before anything reads the log)."""
        if self._buffer:
            self.store.insert_many(self._buffer)
            self._buffer.clear()

    def _void_after_revocation(self, event: Event) -> None:
        """Events the revoked node wrote after the cut are void: re-project without them."""
        self._flush()
        node, cut = event.body["node"], event.body["after_seq"]
        head, _ = self.store.head(node)
        if head <= cut:
            return
        raise_alarm(
            "revocation_voided",
            f"{node} was revoked after #{cut}; its {head - cut} later events held here are void",
            node,
            ref(event),
            using=self.store.db,
        )
        if self.project is not None:
            failures: list[tuple[Event, str]] = []
            projection.rebuild(self.store.in_causal_order(), failures=failures)
            if self._deferred:  # the rebuild projected every stored event already
                self._deferred.clear()
            for failed, error in failures:
                raise_alarm(
                    "projection_failed", error, failed.origin, ref(failed), using=self.store.db
                )

    def _check_authority_rules(self, event: Event) -> None:
        """Only the authority enrols and revokes, and each name and number is enrolled once."""
        if (event.origin == AUTHORITY) != (event.type in AUTHORITY_TYPES):
            raise Rejected(f"{event.origin} may not write {event.type}", alarm="forbidden_type")
        if event.type == GENESIS and event.seq != 1:
            raise Rejected("a genesis must be the authority's first event", alarm="forbidden_type")
        if event.type == NODE_ENROLLED:
            body = event.body
            name, number = body.get("node"), body.get("number")
            if not isinstance(name, str) or not isinstance(number, int):
                raise Rejected("enrolment needs a node name and number", alarm="forbidden_type")
            origins = models.Origin.objects.using(self.store.db)
            if name == AUTHORITY or origins.filter(name=name).exists():
                raise Rejected(
                    f"node name {name!r} is already enrolled", alarm="duplicate_enrolment"
                )
            if origins.filter(number=number).exists():
                raise Rejected(
                    f"node number {number} is already taken", alarm="duplicate_enrolment"
                )
        if event.type == NODE_REVOKED and not isinstance(event.body.get("after_seq"), int):
            raise Rejected("a revocation names the last accepted seq", alarm="forbidden_type")

    # -- helpers ----------------------------------------------------------
    def _key_for(self, event: Event) -> _Key | None:
        if event.origin == AUTHORITY and event.seq == 1 and event.type == GENESIS:
            existing = self.store.get(AUTHORITY, 1)
            if existing is not None and existing.hash != event.hash:
                raise Rejected(
                    "this event belongs to a different hospital (another genesis)",
                    alarm="foreign_genesis",
                )
            authority_key = event.body.get("authority_key")
            if not isinstance(authority_key, str):
                raise Rejected("a genesis names the authority key", alarm="forbidden_type")
            return _Key(authority_key, GENESIS_PREV, None)
        if event.origin not in self._keys:
            row = models.Origin.objects.using(self.store.db).filter(name=event.origin).first()
            self._keys[event.origin] = (
                _Key(row.public_key, row.enrolment_hash, row.revoked_after_seq) if row else None
            )
        return self._keys[event.origin]

    def _project(self, event: Event, *, local: bool) -> None:
        if not local and self._deferred is not None and event.origin != AUTHORITY:
            self._deferred.append(event)
            return
        if local or self.project_remote is None:
            if self.project is not None:
                self.project(event)
            return
        error = self.project_remote(event)
        if error:
            raise_alarm("projection_failed", error, event.origin, ref(event), using=self.store.db)

    def _hold(self, event: Event, reason: str) -> None:
        self._anything_held = True
        models.Held.objects.using(self.store.db).get_or_create(
            hash=event.hash,
            defaults={
                "origin": event.origin,
                "seq": event.seq,
                "wire": canonical_text(event.to_wire()),
                "reason": reason,
                "received_at": datetime.now(UTC),
            },
        )

    def _release_held(self, accepted: Event) -> list[Event]:
        """Apply held events that the one just accepted has unblocked."""
        released: list[Event] = []
        if self._anything_held is None:
            self._anything_held = models.Held.objects.using(self.store.db).exists()
        if not self._anything_held:
            return released
        origins = [accepted.origin]
        if accepted.type == NODE_ENROLLED:
            origins.append(accepted.body["node"])
        held = models.Held.objects.using(self.store.db)
        while origins:
            origin = origins.pop()
            self.store.lock(origin)
            while True:
                head_seq = self.head(origin)[0]
                candidates = list(held.filter(origin=origin, seq__lte=head_seq + 1))
                if not candidates:
                    break
                progressed = False
                for row in candidates:
                    row.delete()
                    event = Event.from_wire(json.loads(row.wire))
                    outcome, _ = self._ingest_one(event, local=False)
                    if outcome is Outcome.ACCEPTED:
                        released.append(event)
                        progressed = True
                        if event.type == NODE_ENROLLED:
                            origins.append(event.body["node"])
                if not progressed:
                    break
        return released

    def _quarantine(self, origin: str, reason: str) -> None:
        self._quarantined[origin] = True
        models.Quarantine.objects.using(self.store.db).get_or_create(
            origin=origin, defaults={"reason": reason, "since": datetime.now(UTC)}
        )

    def _skew_alarm(self, event: Event) -> None:
        alarms = models.Alarm.objects.using(self.store.db)
        if not alarms.filter(kind="clock_skew", origin=event.origin, resolved_at=None).exists():
            ahead = (event.hlc.wall - wall_ms()) // 1000
            raise_alarm(
                "clock_skew",
                f"{event.origin}'s clock is {ahead} s ahead of this node's",
                event.origin,
                ref(event),
                using=self.store.db,
            )
