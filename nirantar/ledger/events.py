"""The event: a signed, hash-chained fact about one stream.

    hash = SHA-256(canonical({id, origin, seq, hlc, actor, type, stream, body, prev}))
    sig  = Ed25519 signature by the origin's key over the 32 raw bytes of hash

``prev`` is the hash of the origin's previous event; an origin's first event
points at the enrolment event that admitted its key. Events are past-tense
facts; a body carries its schema version in ``"v"`` and old versions are
upgraded when read (see ``projection.upcast``), never rewritten.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import uuid_utils.compat as uuid_compat
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nirantar.ledger import keys
from nirantar.ledger.canonical import NotCanonical, canonical
from nirantar.ledger.hlc import HLC

GENESIS_PREV = "0" * 64
AUTHORITY = "authority"  # the origin of genesis, enrolment and revocation events

TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
ORIGIN_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
MAX_STREAM = 200
MAX_ACTOR = 150
MAX_TYPE = 100
MAX_COUNTER = 2**31 - 1  # the HLC counter column is a 32-bit integer


class MalformedEvent(ValueError):
    """An event whose fields are not of the documented form."""


@dataclass(frozen=True)
class Event:
    id: str
    origin: str
    seq: int
    hlc: HLC
    actor: str
    type: str
    stream: str
    body: dict[str, Any]
    prev: str
    hash: str
    sig: str
    # True once every field has been checked to encode canonically (at build or on
    # arrival), so hashing it again need not re-walk the body. Not part of the event.
    checked: bool = field(default=False, compare=False, repr=False)
    # Caches filled only by from_wire, for the event exactly as received. Code must not
    # dataclasses.replace the content of a received event (the caches would go stale).
    # The SHA-256 of the content, when already computed (on arrival): not the claim.
    content_hash: str = field(default="", compare=False, repr=False)
    # The body's canonical text, when already encoded (on arrival).
    body_text: str = field(default="", compare=False, repr=False)

    def header(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "origin": self.origin,
            "seq": self.seq,
            "hlc": self.hlc.as_list(),
            "actor": self.actor,
            "type": self.type,
            "stream": self.stream,
            "body": self.body,
            "prev": self.prev,
        }

    def compute_hash(self) -> str:
        if self.content_hash:
            return self.content_hash
        return hashlib.sha256(canonical(self.header(), checked=self.checked)).hexdigest()

    def signature_valid(self, public_key: str) -> bool:
        return keys.verify(public_key, self.sig, bytes.fromhex(self.hash))

    @property
    def order_key(self) -> tuple[int, int, str]:
        """Total order of events: HLC, then origin as the tie-break."""
        return (self.hlc.wall, self.hlc.counter, self.origin)

    def to_wire(self) -> dict[str, Any]:
        return {**self.header(), "hash": self.hash, "sig": self.sig}

    @classmethod
    def from_wire(cls, data: object, *, parsed_canonically: bool = False) -> Event:
        """Parse an event received from elsewhere, checking the form of every field.

        The hash and signature are *not* checked here; ingest does that.
        ``parsed_canonically``: ``data`` came from ``loads_canonical``, which has
        already refused floats, big integers and non-ASCII keys.
        """
        if not isinstance(data, dict):
            raise MalformedEvent("an event is a JSON object")
        expected = {
            "id",
            "origin",
            "seq",
            "hlc",
            "actor",
            "type",
            "stream",
            "body",
            "prev",
            "hash",
            "sig",
        }
        if set(data) != expected:
            raise MalformedEvent(f"event fields must be exactly {sorted(expected)}")
        try:
            event = cls(
                id=_str(data, "id", UUID_RE),
                origin=_str(data, "origin", ORIGIN_RE),
                seq=_positive_int(data, "seq"),
                hlc=HLC.from_list(data["hlc"]),
                actor=_str(data, "actor", max_length=MAX_ACTOR),
                type=_str(data, "type", TYPE_RE, max_length=MAX_TYPE),
                stream=_str(data, "stream", max_length=MAX_STREAM),
                body=_dict(data, "body"),
                prev=_str(data, "prev", HEX64_RE),
                hash=_str(data, "hash", HEX64_RE),
                sig=_str(data, "sig", max_length=100),
            )
            if event.hlc.counter > MAX_COUNTER:
                raise MalformedEvent("the HLC counter is out of range")
            # Keys sort as actor, body, hlc, ...: the body's canonical text sits whole
            # inside the header's, so it is encoded once and kept for storing.
            body_text = canonical(event.body, checked=parsed_canonically)
            rest = dict(event.header())
            del rest["body"], rest["actor"]
            content = (
                b'{"actor":'
                + canonical(event.actor)
                + b',"body":'
                + body_text
                + b","
                + canonical(rest, checked=True)[1:]
            )
        except (ValueError, NotCanonical) as exc:
            raise MalformedEvent(str(exc)) from exc
        return dataclasses.replace(
            event,
            checked=True,
            content_hash=hashlib.sha256(content).hexdigest(),
            body_text=body_text.decode("utf-8"),
        )


def _str(
    data: dict[str, Any], name: str, pattern: re.Pattern[str] | None = None, max_length: int = 200
) -> str:
    value = data[name]
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise MalformedEvent(
            f"{name} must be a non-empty string of at most {max_length} characters"
        )
    if pattern is not None and not pattern.match(value):
        raise MalformedEvent(f"{name} {value!r} is not of the form {pattern.pattern}")
    return value


def _positive_int(data: dict[str, Any], name: str) -> int:
    value = data[name]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise MalformedEvent(f"{name} must be a positive integer")
    return value


def _dict(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data[name]
    if not isinstance(value, dict):
        raise MalformedEvent(f"{name} must be a JSON object")
    return value


def new_id() -> str:
    return str(uuid_compat.uuid7())


def build(
    key: Ed25519PrivateKey,
    *,
    origin: str,
    seq: int,
    hlc: HLC,
    actor: str,
    type: str,
    stream: str,
    body: dict[str, Any],
    prev: str,
    id: str | None = None,
) -> Event:
    """Create and sign a new event. Raises NotCanonical for a body that can't be hashed."""
    if not TYPE_RE.match(type) or len(type) > MAX_TYPE:
        raise MalformedEvent(f"event type {type!r} must be a dotted lower-case name")
    if not stream or len(stream) > MAX_STREAM:
        raise MalformedEvent("stream must be 1-200 characters")
    if not actor or len(actor) > MAX_ACTOR:
        raise MalformedEvent("actor must be 1-150 characters")
    unsigned = Event(
        id=id or new_id(),
        origin=origin,
        seq=seq,
        hlc=hlc,
        actor=actor,
        type=type,
        stream=stream,
        body=body,
        prev=prev,
        hash="",
        sig="",
    )
    digest = unsigned.compute_hash()
    return dataclasses.replace(
        unsigned, hash=digest, sig=keys.sign(key, bytes.fromhex(digest)), checked=True
    )
