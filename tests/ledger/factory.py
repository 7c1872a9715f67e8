"""Build signed chains by hand, as a peer (honest or not) would send them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nirantar.ledger import events, keys
from nirantar.ledger.events import AUTHORITY, GENESIS_PREV, Event
from nirantar.ledger.hlc import HLC


@dataclass
class Chain:
    origin: str
    key: Ed25519PrivateKey
    prev: str
    seq: int = 0
    clock: list[int] = field(default_factory=lambda: [1_700_000_000_000])

    def next(
        self,
        type: str = "test.noted",
        body: dict[str, Any] | None = None,
        stream: str = "",
        hlc: HLC | None = None,
        actor: str = "tester",
    ) -> Event:
        self.clock[0] += 1
        # A patient's events live in the patient's stream, as the real actions write them.
        if not stream:
            uhid = (body or {}).get("uhid")
            stream = f"patient:{uhid}" if uhid else "test:1"
        event = events.build(
            self.key,
            origin=self.origin,
            seq=self.seq + 1,
            hlc=hlc or HLC(self.clock[0], 0),
            actor=actor,
            type=type,
            stream=stream,
            body={"v": 1, **(body or {})},
            prev=self.prev,
        )
        self.seq += 1
        self.prev = event.hash
        return event


class Hospital:
    """A genesis and enrolments, made with a fresh authority key."""

    def __init__(self) -> None:
        self.clock = [1_700_000_000_000]
        self.authority = Chain(AUTHORITY, keys.generate(), GENESIS_PREV, clock=self.clock)
        self.genesis = self.authority.next(
            "ledger.genesis",
            {"hospital": "Test", "authority_key": keys.public_text(self.authority.key)},
            stream="hospital",
        )

    def enrol(self, name: str, number: int) -> tuple[Event, Chain]:
        key = keys.generate()
        enrolment = self.authority.next(
            "ledger.node_enrolled",
            {"node": name, "number": number, "public_key": keys.public_text(key)},
            stream=f"node:{name}",
        )
        return enrolment, Chain(name, key, enrolment.hash, clock=self.clock)

    def revoke(self, name: str, after_seq: int) -> Event:
        return self.authority.next(
            "ledger.node_revoked",
            {"node": name, "after_seq": after_seq, "reason": "test"},
            stream=f"node:{name}",
        )
