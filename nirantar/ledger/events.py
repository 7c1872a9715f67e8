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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import uuid_utils.compat as uuid_compat
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nirantar.ledger import keys
from nirantar.ledger.canonical import MAX_SAFE_INTEGER, NotCanonical, canonical, loads_canonical
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

    def __getattr__(self, name: str) -> Any:
        # Called only for an attribute not set. Only ``body`` ever is not: an event a
        # restore read without its body (``from_checked``) parses the body's canonical
        # text the first time something reads it - most are stored and projected from
        # rows made beside the restore, and never are.
        text = self.__dict__.get("body_text") if name == "body" else None
        if not text:
            raise AttributeError(name)
        body = orjson.loads(text)
        self.__dict__["body"] = body
        return body

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
        fields = _checked_fields(data)
        try:

            def encode(value: Any) -> bytes:
                return canonical(value, checked=parsed_canonically)

            return _hashed(cls, fields, encode, canonical)
        except (ValueError, NotCanonical) as exc:
            raise MalformedEvent(str(exc)) from exc

    @classmethod
    def from_line(cls, line: bytes) -> Event:
        """Parse one event from a line of canonical JSON (a backup segment, a sync batch).

        Refuses exactly what ``from_wire(loads_canonical(line))`` refuses and gives the
        same event, but fast for the usual case - a line that is already the canonical
        encoding of an event holding only canonical values: parsed and re-encoded by
        orjson, whose encoding of every string and integer is the same as
        ``canonical``'s (tests/ledger/test_events_fast.py checks every code point). Any
        line it is not sure of goes the careful way. Restore and catch-up parse
        hundreds of thousands of events; this is most of what made them slow.
        """
        event = _fast(cls, line)
        if event is not None:
            return event
        try:
            return cls.from_wire(loads_canonical(line), parsed_canonically=True)
        except (NotCanonical, ValueError) as exc:
            if isinstance(exc, MalformedEvent):
                raise
            raise MalformedEvent(str(exc)) from exc


# What, after the body, a canonical event line must be, field by field as from_wire
# checks them (a narrower form: anything else goes the careful way). The groups are
# the parts of the header the hash covers; hash and sig are not in it.
_TAIL = re.compile(
    rb',"hash":"[0-9a-f]{64}"'
    rb'(,"hlc":\[(?:0|[1-9][0-9]*),(?:0|[1-9][0-9]*)\]'
    rb',"id":"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"'
    rb',"origin":"[a-z][a-z0-9-]{0,39}","prev":"[0-9a-f]{64}","seq":[1-9][0-9]*)'
    rb',"sig":"[^"\\]{1,100}"'
    rb'(,"stream":"[^"\\]{1,800}","type":"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+"\})'
)


def _fast(cls: type[Event], line: bytes) -> Event | None:
    """The event, if ``line`` is the canonical encoding of a well-formed one; else None
    (and the careful parse decides)."""
    checked = check_line(line)
    if checked is None:
        return None
    data, content_hash, start, end = checked
    return from_checked(cls, data, content_hash, line[start:end])


def check_line(line: bytes) -> tuple[dict[str, Any], str, int, int] | None:
    """If ``line`` is the canonical encoding of a well-formed event: its parsed fields,
    its content hash, and where in the line its body's canonical text starts and ends.
    Else None. Needs no Django: a restore runs it in a process of its own."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or data.keys() != _WIRE_FIELDS:
        return None
    actor, body, hlc = data["actor"], data["body"], data["hlc"]
    if (
        type(actor) is not str
        or not 0 < len(actor) <= MAX_ACTOR
        or type(body) is not dict
        or not _plain(body)
    ):
        return None
    # A canonical line is {"actor":A,"body":B then the tail, each part as canonical
    # encodes it; the header the hash covers is the line without the hash and signature.
    head = b'{"actor":' + orjson.dumps(actor) + b',"body":'
    body_text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    end = len(head) + len(body_text)
    if not line.startswith(head) or line[len(head) : end] != body_text:
        return None
    tail = _TAIL.fullmatch(line, end)
    if (
        tail is None  # then every field after the body is of its form; type and hlc ASCII
        or data["seq"] > MAX_SAFE_INTEGER
        or hlc[0] > MAX_SAFE_INTEGER
        or hlc[1] > MAX_COUNTER
        or len(data["stream"]) > MAX_STREAM
        or len(data["type"]) > MAX_TYPE
    ):
        return None
    return data, hashlib.sha256(line[:end] + tail[1] + tail[2]).hexdigest(), len(head), end


def from_checked(
    cls: type[Event], data: dict[str, Any], content_hash: str, body_text: bytes
) -> Event:
    """The event of a line ``check_line`` passed: ``data`` is the line parsed, by it or
    again by orjson (and is taken over); ``body_text`` the body's bytes in the line.
    ``data`` without a body: the body is parsed from ``body_text`` when first read.

    Made without the dataclasses' ``__init__``: a frozen dataclass sets each field
    through ``object.__setattr__``, which was 40 % of parsing an event in a restore.
    ``check_line`` has already checked every field's form, so the fields go straight
    into the instances, as ``__init__`` would put them."""
    wall, counter = data["hlc"]
    hlc = _new(HLC)
    hlc.__dict__.update(wall=wall, counter=counter)
    data["hlc"] = hlc
    data["checked"] = True
    data["content_hash"] = content_hash
    data["body_text"] = body_text.decode("utf-8")
    event = _new(cls)
    event.__dict__.update(data)
    return event


_new = object.__new__


_WIRE_FIELDS = frozenset(
    {"id", "origin", "seq", "hlc", "actor", "type", "stream", "body", "prev", "hash", "sig"}
)


def _checked_fields(data: object) -> dict[str, Any]:
    """The fields of a received event, each checked for its form (MalformedEvent if not)."""
    if not isinstance(data, dict):
        raise MalformedEvent("an event is a JSON object")
    if data.keys() != _WIRE_FIELDS:
        raise MalformedEvent(f"event fields must be exactly {sorted(_WIRE_FIELDS)}")
    try:
        hlc = HLC.from_list(data["hlc"])
    except ValueError as exc:
        raise MalformedEvent(str(exc)) from exc
    if hlc.counter > MAX_COUNTER:
        raise MalformedEvent("the HLC counter is out of range")
    return {
        "id": _str(data, "id", UUID_RE),
        "origin": _str(data, "origin", ORIGIN_RE),
        "seq": _positive_int(data, "seq"),
        "hlc": hlc,
        "actor": _str(data, "actor", max_length=MAX_ACTOR),
        "type": _str(data, "type", TYPE_RE, max_length=MAX_TYPE),
        "stream": _str(data, "stream", max_length=MAX_STREAM),
        "body": _dict(data, "body"),
        "prev": _str(data, "prev", HEX64_RE),
        "hash": _str(data, "hash", HEX64_RE),
        "sig": _str(data, "sig", max_length=100),
    }


def _hashed(
    cls: type[Event],
    fields: dict[str, Any],
    encode: Callable[[Any], bytes],
    encode_flat: Callable[[Any], bytes],
) -> Event:
    """The event with its content hash and body text computed once, as received.

    Keys sort as actor, body, hlc, ...: the body's canonical text sits whole inside the
    header's, so it is encoded once and kept for storing. ``encode`` sorts keys;
    ``encode_flat`` is used only for the actor, a plain string.
    """
    body_text = encode(fields["body"])
    rest = {
        "hlc": fields["hlc"].as_list(),
        "id": fields["id"],
        "origin": fields["origin"],
        "prev": fields["prev"],
        "seq": fields["seq"],
        "stream": fields["stream"],
        "type": fields["type"],
    }
    content = (
        b'{"actor":'
        + encode_flat(fields["actor"])
        + b',"body":'
        + body_text
        + b","
        + encode(rest)[1:]
    )
    return cls(
        **fields,
        checked=True,
        content_hash=hashlib.sha256(content).hexdigest(),
        body_text=body_text.decode("utf-8"),
    )


def _plain(value: dict[str, Any] | list[Any]) -> bool:
    """True if ``value`` (a dict or list) holds only what canonical JSON allows: no floats,
    integers within +/-(2**53 - 1), ASCII object keys. One loop, leaves checked inline."""
    pending: list[Any] = [value]
    while pending:
        container = pending.pop()
        items: Iterable[Any]
        if type(container) is dict:
            if not "".join(container).isascii():  # its keys, all strings
                return False
            items = container.values()
        else:
            items = container
        for item in items:
            kind = type(item)
            if kind is str or kind is bool or item is None:
                continue
            if kind is int:
                if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                    return False
            elif kind is dict or kind is list:
                pending.append(item)
            else:
                return False
    return True


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
