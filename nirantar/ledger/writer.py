"""This node's own appends: one writer per origin, projections in the same transaction.

    with writer.writing() as w:
        uhid_seq = w.next_number("uhid", ...)   # read under the writer lock
        w.emit("registration.patient_registered", f"patient:{uhid}", body, actor=user)

``writing()`` opens a durable transaction and takes this node's writer lock
before anything is read, so numbers and seq stay gapless with several server
processes. The event, its projections and any number it uses commit together
or not at all.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from nirantar.errors import Unavailable
from nirantar.ledger import events, hlc, keys, projection, roster, sequences
from nirantar.ledger.events import AUTHORITY, Event
from nirantar.ledger.ingest import CLOCK_SKEW_MS, Ingestor, Outcome
from nirantar.ledger.models import Origin
from nirantar.ledger.store import EventStore, WriterState, store_for


class NotEnrolled(Unavailable):
    """This node has no number yet (or was revoked), so it can't mint identifiers or write."""

    code = "not_enrolled"


@dataclass
class LocalNode:
    name: str
    key: Ed25519PrivateKey
    authority_key: Ed25519PrivateKey | None
    store: EventStore

    @property
    def public_key(self) -> str:
        return keys.public_text(self.key)

    def origin_row(self) -> Origin | None:
        return Origin.objects.using(self.store.db).filter(name=self.name).first()

    def number(self) -> int:
        return self.number_in(self.store.writer_state(self.name))

    def number_in(self, state: WriterState | None) -> int:
        """This node's number, as ``state`` (its row in the roster) enrols it, or NotEnrolled."""
        if state is None or state.number is None:
            raise NotEnrolled(
                f"node {self.name} is not enrolled in this hospital yet, so it cannot "
                "issue numbers; an administrator must approve it on the hub"
            )
        if state.public_key != self.public_key:
            raise NotEnrolled(f"node {self.name} is enrolled under a different key")
        if state.revoked_after_seq is not None:
            raise NotEnrolled(f"node {self.name} has been revoked")
        return state.number

    def revoked(self) -> bool:
        row = self.origin_row()
        return bool(row and row.public_key == self.public_key and row.revoked_after_seq is not None)

    def enrolled(self) -> bool:
        try:
            self.number()
        except NotEnrolled:
            return False
        return True


_node_lock = threading.Lock()
_node: LocalNode | None = None
_active: contextvars.ContextVar[Writer | None] = contextvars.ContextVar(
    "nirantar_writer", default=None
)


def load_node(data_dir: Path, name: str, using: str = "default") -> LocalNode:
    authority_path = data_dir / "authority.key"
    return LocalNode(
        name=name,
        key=keys.load_private(data_dir / "node.key"),
        authority_key=keys.load_private(authority_path) if authority_path.exists() else None,
        store=store_for(using),
    )


def node() -> LocalNode:
    """This process's node, loaded once from the data directory."""
    global _node
    with _node_lock:
        if _node is None:
            data_dir = settings.DATA_DIR
            if data_dir is None:
                raise NotEnrolled("this process has no node: NIRANTAR_DATA_DIR is not set")
            _node = load_node(Path(data_dir), settings.NODE.node)
        return _node


def reset_node() -> None:
    global _node
    with _node_lock:
        _node = None


class Writer:
    def __init__(self, local: LocalNode) -> None:
        self.local = local
        self.store = local.store
        # Events released from the held queue by a local write (an enrolment) came from
        # elsewhere, and are projected like any remote event.
        self.ingestor = Ingestor(
            local.store, project=projection.apply, project_remote=projection.apply_isolated
        )
        self.emitted: list[Event] = []
        self._number: int | None = None
        self._state: WriterState | None = None
        self._seen: hlc.HLC | None = None

    def emit(
        self, type: str, stream: str, body: dict[str, Any], *, actor: str, origin: str | None = None
    ) -> Event:
        """Sign and append an event as this node (or, where held here, as the authority)."""
        origin = origin or self.local.name
        if origin == self.local.name:
            self.node_number()  # refuses a node not (or no longer) enrolled
        if origin == AUTHORITY:
            if self.local.authority_key is None:
                raise NotEnrolled("this node does not hold the hospital's authority key")
            key = self.local.authority_key
            self.store.lock(AUTHORITY)
        else:
            key = self.local.key
        seq, prev, head_hlc = self.ingestor.head(origin)
        if prev is None:
            if origin == AUTHORITY:
                prev = events.GENESIS_PREV
            else:
                state = self._state if origin == self.local.name else None
                if state is None:
                    raise NotEnrolled(f"node {origin} is not enrolled, so it cannot write events")
                prev = state.enrolment_hash
        body = {"v": projection.current_version(type), **body}
        now = hlc.wall_ms()
        if self._seen is None:
            # Absorb every clock seen, except one more than the allowed skew ahead
            # (it raised an alarm on arrival): that must not carry this node's clock off.
            # Read once per transaction: under the writer lock only this writer adds events.
            self._seen = self.store.max_hlc(ceiling_ms=now + CLOCK_SKEW_MS)
        stamp = hlc.tick(max(self._seen, head_hlc), now)
        self._seen = max(self._seen, stamp)
        event = events.build(
            key,
            origin=origin,
            seq=seq + 1,
            hlc=stamp,
            actor=actor,
            type=type,
            stream=stream,
            body=body,
            prev=prev,
        )
        if origin == self.local.name:  # its key is the one node_number() found enrolled
            self.ingestor.signed_here(event)
        outcome = self.ingestor.ingest(event, local=True)
        if outcome is not Outcome.ACCEPTED:  # a local event is always next in its chain
            raise RuntimeError(
                f"local event {event.seq} was {outcome}: {self.ingestor.last_reason}"
            )
        self.emitted.append(event)
        return event

    def node_number(self) -> int:
        """This node's number; the first call reads its enrolment, quarantine and head
        in one query, and the ingestor checks this transaction's events against them."""
        if self._number is None:
            state = self.store.writer_state(self.local.name)
            self._number = self.local.number_in(state)  # refuses a missing row
            if state is not None:
                self.ingestor.know(self.local.name, state)
            self._state = state
        return self._number

    def next_number(self, kind: str, scope: str | None = None) -> tuple[int, int]:
        """(node number, next sequence) for a number minted here; scope defaults to the node."""
        number = self.node_number()
        return number, sequences.next_number(kind, scope if scope is not None else str(number))


@contextmanager
def writing(local: LocalNode | None = None) -> Iterator[Writer]:
    """A write transaction holding this node's writer lock. Re-entrant within one thread."""
    current = _active.get()
    if current is not None:
        yield current
        return
    local = local or node()
    with local.store.atomic(durable=True), roster.numbers_remembered():
        local.store.lock(local.name)
        writer = Writer(local)
        token = _active.set(writer)
        try:
            yield writer
        finally:
            _active.reset(token)
