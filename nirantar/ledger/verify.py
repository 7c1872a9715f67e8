"""Re-check every stored byte: each hash, each chain link, each signature.

Works on the raw rows, not on what ingest believed, so a byte changed in the
database file afterwards - by a disk fault or an attacker - is found and the
first bad event is named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from nirantar.ledger import models
from nirantar.ledger.canonical import NotCanonical, canonical_text
from nirantar.ledger.events import AUTHORITY, GENESIS_PREV, Event
from nirantar.ledger.roster import GENESIS, NODE_ENROLLED
from nirantar.ledger.store import from_row

BATCH = 5000


@dataclass
class Problem:
    origin: str
    seq: int
    event_id: str
    reason: str

    def __str__(self) -> str:
        return f"event {self.event_id} ({self.origin}#{self.seq}): {self.reason}"


@dataclass
class Result:
    events: int = 0
    origins: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(using: str, origin: str) -> Iterator[models.Event]:
    after = 0
    qs = models.Event.objects.using(using).filter(origin=origin).order_by("seq")
    while True:
        rows = list(qs.filter(seq__gt=after)[:BATCH])
        if not rows:
            return
        yield from rows
        after = rows[-1].seq


def _event(row: models.Event) -> Event:
    event = from_row(row)
    if not isinstance(event.body, dict):
        raise ValueError("body is not a JSON object")
    if canonical_text(event.body) != row.body:
        raise ValueError("body is not stored in canonical form")
    return event


def verify(
    using: str = "default",
    progress: Callable[[int], None] | None = None,
    stop_at_first: bool = False,
) -> Result:
    result = Result()
    origins = sorted(
        models.Event.objects.using(using).values_list("origin", flat=True).distinct(),
        key=lambda o: (o != AUTHORITY, o),
    )
    # Keys and first links come from the authority chain as verified here, not
    # from the Origin projection, which is itself derived and could be altered.
    node_keys: dict[str, tuple[str, str]] = {}
    heads = dict(models.Head.objects.using(using).values_list("origin", "seq"))

    for origin in origins:
        expected_seq = 1
        prev = GENESIS_PREV if origin == AUTHORITY else None
        key: str | None = None
        if origin != AUTHORITY:
            if origin not in node_keys:
                result.problems.append(Problem(origin, 0, "-", "origin has no valid enrolment"))
                if stop_at_first:
                    return result
                continue
            key, prev = node_keys[origin]
        for row in _rows(using, origin):
            problem = None
            try:
                event = _event(row)
            except (ValueError, NotCanonical) as exc:
                problem = f"stored event is unreadable: {exc}"
            else:
                if row.seq != expected_seq:
                    problem = f"gap: expected seq {expected_seq}"
                elif event.prev != prev:
                    problem = "chain broken: prev is not the hash of the event before it"
                elif event.compute_hash() != row.hash:
                    problem = "content does not match its hash (altered after it was written)"
                else:
                    if origin == AUTHORITY and row.seq == 1:
                        if event.type != GENESIS:
                            problem = "the authority chain does not begin with a genesis"
                        else:
                            key = event.body.get("authority_key")
                    if problem is None and not (key and event.signature_valid(key)):
                        problem = "signature does not verify"
                    if problem is None and origin == AUTHORITY and event.type == NODE_ENROLLED:
                        node_keys[event.body["node"]] = (event.body["public_key"], event.hash)
            result.events += 1
            if problem is not None:
                result.problems.append(Problem(origin, row.seq, row.id, problem))
                if stop_at_first:
                    return result
                break  # the rest of this chain can't be vouched for
            prev = row.hash
            expected_seq += 1
            if progress is not None and result.events % 10000 == 0:
                progress(result.events)
        result.origins[origin] = expected_seq - 1
        if heads.get(origin) != expected_seq - 1 and not any(
            p.origin == origin for p in result.problems
        ):
            result.problems.append(
                Problem(origin, heads.get(origin, 0), "-", "head does not match the stored chain")
            )
    return result
