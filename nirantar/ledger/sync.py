"""Sync: "send me, for every origin, what comes after my vector" - both ways.

The protocol, over HTTP, every request signed by the asking node (transport.py):

    GET  /sync/hello          -> {node, number, hospital, vector, time_ms}
    POST /sync/pull           {vector, limit} -> NDJSON, the events the asker lacks
    POST /sync/push           NDJSON events   -> {accepted, duplicates, held, rejected, vector}
    POST /sync/join           {node, public_key, url} -> {code, status}
    POST /sync/join/status    {public_key} -> {status, events: [authority chain]}

One exchange with a peer pulls until this node lacks nothing the peer has, then
pushes until the peer lacks nothing this node has. Every event goes through the
one ingest path; a batch and its projections commit together, so a node killed
mid-sync resumes from its vector with nothing applied twice or skipped.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import ssl
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError

from nirantar.ledger import models, projection, roster, transport
from nirantar.ledger.events import AUTHORITY, Event, MalformedEvent
from nirantar.ledger.hlc import wall_ms
from nirantar.ledger.ingest import CLOCK_SKEW_MS, Ingestor, Report, raise_alarm
from nirantar.ledger.store import EventStore
from nirantar.ledger.writer import LocalNode

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# Events per request. Smaller batches hold the database's write lock for less time.
PULL_BATCH = int(os.environ.get("NIRANTAR_SYNC_BATCH", "1000"))
PUSH_BATCH = max(1, PULL_BATCH // 2)
# httpx is imported by the first peer client, not with this module: server workers import
# it (through status and enrolment) but never sync, and it brings ~15 MB (rich, pygments).
TIMEOUT = (30.0, 3.0)  # read, connect


@functools.lru_cache(maxsize=4)
def _tls_context(cafile: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


def tls_verify() -> ssl.SSLContext:
    """How this node checks a peer's HTTPS certificate: against the hospital's own CA
    (``settings.TLS_CA``, from ``tls-ca.pem`` in the data directory or
    ``NIRANTAR_TLS_CA``) if there is one, else against the operating system's CAs.
    Never off."""
    cafile = str(getattr(settings, "TLS_CA", "") or "")
    try:
        return _tls_context(cafile or None)
    except (OSError, ssl.SSLError) as exc:
        raise SyncError(f"the CA certificate {cafile} can't be used: {exc}") from exc


def _unreachable(url: str, exc: httpx.HTTPError) -> SyncError:
    detail = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail:
        return SyncError(
            f"{url} presented a TLS certificate this node does not trust ({detail}); "
            "put the hospital's CA certificate in the data directory as tls-ca.pem"
        )
    return SyncError(f"{url} is unreachable: {exc.__class__.__name__}")


class SyncError(Exception):
    """An exchange with a peer failed; the message says why, for the status screen."""


# -- the receiving side --------------------------------------------------------
def hospital_id(store: EventStore) -> str | None:
    genesis = store.get(AUTHORITY, 1)
    return genesis.hash if genesis else None


def ingest_remote(store: EventStore, events: list[Event], source: str | None = None) -> Report:
    """Ingest events from elsewhere in one transaction, each origin locked in a fixed order.

    ``source`` names the peer that presented them, so that a node passing on forged
    or altered events is itself named and quarantined.
    """
    for careful in (False, True):
        try:
            with store.atomic(), roster.numbers_remembered():
                for origin in sorted({e.origin for e in events} | {AUTHORITY}):
                    store.lock(origin)
                ingestor = Ingestor(
                    store,
                    project=projection.apply,
                    project_remote=projection.apply_isolated,
                    source=source,
                )
                ingestor.careful = careful
                return ingestor.ingest_many(events)
        except DatabaseError:
            if careful:
                raise
            # Something in the batch could not be stored; nothing of it was kept.
            # Again, one event at a time, so only what can't be stored is refused.
            log.warning("a batch of %d events failed; retrying one by one", len(events))
    raise AssertionError("unreachable")


def to_ndjson(events: Iterable[Event]) -> Iterator[bytes]:
    for event in events:
        yield (
            json.dumps(event.to_wire(), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        )


def from_ndjson(data: bytes) -> list[Event]:
    events = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            events.append(Event.from_line(line))
        except ValueError as exc:  # MalformedEvent, NotCanonical
            raise MalformedEvent(f"line {number}: {exc}") from exc
    return events


def report_json(report: Report, store: EventStore) -> dict[str, Any]:
    return {
        "accepted": len(report.accepted),
        "duplicates": report.duplicates,
        "held": report.held,
        "rejected": [{"event": eid, "reason": reason} for eid, reason in report.rejected],
        "vector": store.vector(),
    }


# -- the asking side -----------------------------------------------------------
class PeerClient:
    """Signed requests from this node to one peer."""

    def __init__(self, local: LocalNode, url: str, http: httpx.Client | None = None) -> None:
        self.local = local
        self.url = url.rstrip("/")
        import httpx

        self.http = http or httpx.Client(
            timeout=httpx.Timeout(TIMEOUT[0], connect=TIMEOUT[1]), verify=tls_verify()
        )
        self.peer = ""  # the peer's node name, from hello: later requests are addressed to it

    def _send(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> httpx.Response:
        headers = transport.sign(self.local.key, self.local.name, method, path, body, self.peer)
        headers["Content-Type"] = content_type
        import httpx

        try:
            response = self.http.request(method, self.url + path, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise _unreachable(self.url, exc) from exc
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise SyncError(f"{self.url} answered {response.status_code}: {message}")
        return response

    def hello(self) -> dict[str, Any]:
        answer = dict(self._send("GET", "/sync/hello").json())
        self.peer = str(answer.get("node", ""))
        return answer

    def pull(self, vector: dict[str, int], limit: int = PULL_BATCH) -> list[Event]:
        body = json.dumps({"vector": vector, "limit": limit}).encode()
        response = self._send("POST", "/sync/pull", body)
        try:
            return from_ndjson(response.content)
        except MalformedEvent as exc:
            raise SyncError(f"{self.url} sent a malformed event: {exc}") from exc

    def push(self, events: list[Event]) -> dict[str, Any]:
        body = b"".join(to_ndjson(events))
        return dict(self._send("POST", "/sync/push", body, "application/x-ndjson").json())

    def join(self, url: str = "") -> dict[str, Any]:
        body = json.dumps(
            {"node": self.local.name, "public_key": self.local.public_key, "url": url}
        ).encode()
        return dict(self._send("POST", "/sync/join", body).json())

    def join_status(self) -> dict[str, Any]:
        body = json.dumps({"public_key": self.local.public_key}).encode()
        return dict(self._send("POST", "/sync/join/status", body).json())


@dataclass
class Exchange:
    peer: str
    pulled: int = 0
    pushed: int = 0
    held: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)


def exchange(local: LocalNode, peer: models.Peer, client: PeerClient | None = None) -> Exchange:
    """Pull what this node lacks from ``peer``, then push what the peer lacks."""
    client = client or PeerClient(local, peer.url)
    store = local.store
    started = wall_ms()
    hello = client.hello()
    ours, theirs = hospital_id(store), hello.get("hospital")
    if ours and theirs and ours != theirs:
        raise SyncError(f"{peer.url} belongs to a different hospital")
    offset = int(hello.get("time_ms", started)) - (started + wall_ms()) // 2
    _note_clock(store, hello.get("node", ""), offset)
    result = Exchange(peer=str(hello.get("node", peer.url)))
    if models.Quarantine.objects.using(store.db).filter(origin=result.peer).exists():
        raise SyncError(f"{result.peer} is quarantined on this node")

    result.pulled += _fetch_divergent_heads(store, client, hello, result.peer)
    _pull_pipelined(store, client, result)

    while True:  # pull until nothing more arrives
        before = store.vector()
        events = client.pull(before)
        if not events:
            break
        report = ingest_remote(store, events, source=result.peer)
        result.pulled += len(report.accepted)
        result.held += report.held
        result.rejected += report.rejected
        if store.vector() == before:  # all held or refused: asking again brings the same
            break

    their_vector: dict[str, int] = dict(hello.get("vector") or {})
    while True:  # push until the peer lacks nothing
        batch = list(store.events_after(their_vector, limit=PUSH_BATCH))
        if not batch:
            break
        answer = client.push(batch)
        result.pushed += int(answer.get("accepted", 0))
        new_vector = dict(answer.get("vector") or {})
        if new_vector == their_vector:  # the peer held or refused all of it
            break
        their_vector = new_vector

    now = datetime.now(UTC)
    models.Peer.objects.using(store.db).filter(pk=peer.pk).update(
        name=result.peer[:40],
        last_contact=now,
        last_attempt=now,
        last_error="",
        failures=0,
        next_attempt=None,
        their_vector=their_vector,
        clock_offset_ms=offset,
    )
    return result


def _pull_pipelined(store: EventStore, client: PeerClient, result: Exchange) -> None:
    """Catch up fast: fetch and parse the next batch while this one is being stored.

    The next request assumes this batch will be accepted; anything it skips
    because an event was held or refused is fetched by the plain loop after.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nirantar-pull") as pool:
        vector = store.vector()
        pending = pool.submit(client.pull, vector)
        while True:
            events = pending.result()
            if not events:
                return
            expected = dict(vector)
            for event in events:
                expected[event.origin] = max(expected.get(event.origin, 0), event.seq)
            pending = pool.submit(client.pull, expected)
            report = ingest_remote(store, events, source=result.peer)
            result.pulled += len(report.accepted)
            result.held += report.held
            result.rejected += report.rejected
            if report.held or report.rejected:
                pending.result()  # don't leave it running; the plain loop takes over
                return
            vector = expected


def _fetch_divergent_heads(
    store: EventStore, client: PeerClient, hello: dict[str, Any], peer: str
) -> int:
    """Where the peer's head is an event this node holds a *different* version of, fetch
    the peer's version: ingest then sees two signed events with one seq (equivocation).

    Counting events alone would miss this: two nodes each shown one of two versions
    hold the same number of events from that origin.
    """
    theirs = {str(o): (int(h[0]), str(h[1])) for o, h in dict(hello.get("heads") or {}).items()}
    mine = store.vector()
    fetched = 0
    for origin, (seq, digest) in sorted(theirs.items()):
        if not 0 < seq <= mine.get(origin, 0):
            continue
        held = store.get(origin, seq)
        if held is None or held.hash == digest:
            continue
        vector = {o: s for o, (s, _) in theirs.items()}
        vector[origin] = seq - 1
        report = ingest_remote(store, client.pull(vector, limit=1), source=peer)
        fetched += len(report.accepted)
    return fetched


def _note_clock(store: EventStore, node: str, offset_ms: int) -> None:
    if abs(offset_ms) <= CLOCK_SKEW_MS:
        return
    alarms = models.Alarm.objects.using(store.db)
    if not alarms.filter(kind="clock_skew", origin=node, resolved_at=None).exists():
        direction = "ahead of" if offset_ms > 0 else "behind"
        raise_alarm(
            "clock_skew",
            f"{node}'s clock is {abs(offset_ms) // 1000} s {direction} this node's",
            node,
            using=store.db,
        )


def complete_join(local: LocalNode, hub_url: str, client: PeerClient | None = None) -> str:
    """Ask the hub whether this node's enrolment was approved; if so, take the authority chain.

    Returns the status: "approved" (now enrolled), "pending" or "refused".
    """
    client = client or PeerClient(local, hub_url)
    answer = client.join_status()
    status = str(answer.get("status", ""))
    if status == "unknown":  # the hub lost the request (restored?): ask again
        status = str(client.join().get("status", "pending"))
    if status == "approved":
        events = [Event.from_wire(e) for e in answer.get("events", [])]
        ingest_remote(local.store, events)
        if not local.enrolled():
            raise SyncError("the hub approved this node but its enrolment did not verify")
    return status
