"""Projections of duplicate detection: the blocking table and the worklist of likely pairs.

Both follow registration's patient events (registered, corrected) whichever node made
them: a duplicate made on two nodes apart is found on every node once both events
have arrived. They run after registration's own handler (apps are listed after
registration), so they read the patients as the batch left them.

Convergence: a pair's row is a function of the two records as they stand, and the two
records are compared again whenever either changes. The pair looked at is any two
patients who share a *filed* key - a symmetric relation (the counter's search keys
are a subset of the filed keys), so it does not matter which of the two arrived last.
No cap on the candidates here, unlike at the counter: a cap would make the rows depend
on what had arrived when.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

from django.db import connection, transaction

from nirantar.dedupe import events, scoring
from nirantar.dedupe.models import BlockingKey, DuplicatePair, PairReview
from nirantar.ledger import bulk, lww
from nirantar.ledger.events import Event
from nirantar.ledger.projection import (
    defer_in_bulk,
    event_version,
    handles,
    handles_batch,
    register_models,
)
from nirantar.registration import candidates as registry
from nirantar.registration import events as registration_events
from nirantar.registration import matching

register_models(BlockingKey, DuplicatePair, PairReview)
for _type in (events.PAIR_DISMISSED, events.PAIR_REOPENED):
    event_version(_type, 1)

Failures = list[tuple[Event, str]]

# Set while a restore loads the log into empty tables: pairs are found once at the end.
_bulk = {"loading": False}


@handles_batch(registration_events.PATIENT_REGISTERED, registration_events.PATIENT_CORRECTED)
def on_patient_events(batch: list[Event]) -> Failures:
    """File the touched patients under their keys again and score their pairs again."""
    if _bulk["loading"]:
        return []  # every patient's keys and pairs are worked out once at the end
    uhids = {str(e.body.get("uhid", "")) for e in batch if isinstance(e.body, dict)}
    uhids.discard("")
    records = registry.match_records(uhids)
    file_keys(records)
    rescore(records)
    return []  # registration reports a malformed event; here it only has no record


def file_keys(records: dict[str, tuple[matching.Record, int]]) -> None:
    """Replace each patient's rows in the blocking table by its present keys."""
    listed = sorted(records)
    with connection.cursor() as cursor:
        for start in range(0, len(listed), 500):
            chunk = listed[start : start + 500]
            cursor.execute(
                f"DELETE FROM {BlockingKey._meta.db_table} "  # noqa: S608 - our own names
                f"WHERE uhid IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            )
    bulk.insert_ignore(
        BlockingKey._meta.db_table,
        ("key", "uhid"),
        (
            (key, uhid)
            for uhid, (record, _) in records.items()
            for key in sorted(matching.blocking_keys(record))
        ),
    )


def _sharing(keys: Iterable[str]) -> set[str]:
    listed = sorted(set(keys))
    if not listed:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT uhid FROM {BlockingKey._meta.db_table} "  # noqa: S608
            f"WHERE key IN ({', '.join(['%s'] * len(listed))})",
            listed,
        )
        return {row[0] for row in cursor.fetchall()}


def pair_key(one: str, other: str) -> tuple[str, str, str]:
    a, b = sorted((one, other))
    return f"{a}|{b}", a, b


likely = scoring.likely


def pair_row(
    a: str, ra: matching.Record, b: str, rb: matching.Record, at_ms: int
) -> tuple[Any, ...]:
    """The worklist row of a likely pair (``a`` < ``b``): record a first, so the evidence
    reads the same on every node."""
    return (f"{a}|{b}", a, b, *scoring.evidence_of(ra, rb), at_ms)


PAIR_COLUMNS = ("pair", "uhid_a", "uhid_b", "score", "evidence", "found_at_ms")


def _rows(
    pairs: Iterable[tuple[str, str]], records: dict[str, tuple[matching.Record, int]]
) -> dict[str, tuple[Any, ...]]:
    """The rows of the likely ones among ``pairs`` (each ``a`` < ``b``). When a record
    last changed is read only for those: parsing every candidate's stamps cost more than
    scoring it."""
    found = [
        (a, b)
        for a, b in pairs
        if a in records and b in records and likely(records[a][0], records[b][0])
    ]
    changed = registry.match_records({u for pair in found for u in pair})
    return {
        f"{a}|{b}": pair_row(a, records[a][0], b, records[b][0], max(changed[a][1], changed[b][1]))
        for a, b in found
        if a in changed and b in changed
    }


def rescore(records: dict[str, tuple[matching.Record, int]]) -> None:
    """Score every pair of a touched patient again; keep those at the threshold or above."""
    if not records:
        return
    pairs: set[tuple[str, str]] = set()
    for uhid, (record, _) in records.items():
        for other in _sharing(matching.blocking_keys(record)) - {uhid}:
            _, a, b = pair_key(uhid, other)
            pairs.add((a, b))
    others = registry.match_records(
        {u for pair in pairs for u in pair} - set(records), changed=False
    )
    rows = _rows(sorted(pairs), {**others, **records})
    touched = sorted(records)
    # Pairs of a touched patient that no longer qualify go; the rest are written anew.
    # Plain SQL: this runs inside every registration's write.
    table = DuplicatePair._meta.db_table
    marks = ", ".join(["%s"] * len(touched))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE uhid_a IN ({marks}) OR uhid_b IN ({marks})",  # noqa: S608
            [*touched, *touched],
        )
    bulk.insert_ignore(table, PAIR_COLUMNS, rows.values(), json_columns=("evidence",))


def rescore_all() -> None:
    """Work out the blocking table and the worklist of every patient at once: after a
    bulk load, which files no keys and scores no pairs as patients arrive.

    Gives the rows that registering the patients one by one would give: each registered
    patient filed under the keys of its record as it stands, and every pair of patients
    sharing a filed key scored on those records. The keys and the scores - pure
    computation, most of a restore's work on a big registry - are shared out among the
    machine's cores (``scoring``); the rows are written here, in one transaction.
    """
    records = {uhid: record for uhid, (record, _) in registry.every_match_record().items()}
    items = sorted(records.items())
    big = len(items) >= scoring.PARALLEL_FROM
    with scoring.pool() if big else nullcontext() as workers, transaction.atomic():
        count = scoring._workers() if workers else 1
        filed = scoring.split(scoring.keys_of, scoring.shares_of(items, count), workers)
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {BlockingKey._meta.db_table}")  # noqa: S608
        bulk.insert_ignore(
            BlockingKey._meta.db_table,
            ("key", "uhid"),
            ((key, uhid) for uhid, keys in filed for key in keys),
        )
        buckets: dict[str, list[str]] = defaultdict(list)
        for uhid, keys in filed:  # in UHID order: each bucket comes out sorted
            for key in keys:
                buckets[key].append(uhid)
        del filed
        pairs: set[tuple[str, str]] = set()
        for members in buckets.values():
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    pairs.add((a, b))
        del buckets
        listed = sorted(pairs)
        del pairs
        shares = [
            (share, {u: records[u] for pair in share for u in pair})
            for share in scoring.shares_of(listed, count)
        ]
        found = scoring.split(scoring.score_pairs, shares, workers)
        del shares
        changed = registry.match_records({u for a, b, _, _ in found for u in (a, b)})
        rows = [
            (f"{a}|{b}", a, b, score, evidence, max(changed[a][1], changed[b][1]))
            for a, b, score, evidence in found
            if a in changed and b in changed
        ]
        DuplicatePair.objects.all().delete()
        bulk.insert_ignore(
            DuplicatePair._meta.db_table, PAIR_COLUMNS, rows, json_columns=("evidence",)
        )


@defer_in_bulk
def _pairs_once() -> Callable[[], None]:
    """During a restore, file no keys and score no pairs as patients arrive: work them
    all out once at the end, when every record stands as it will (``rescore_all``)."""
    _bulk["loading"] = True

    def finish() -> None:
        _bulk["loading"] = False
        rescore_all()

    return finish


@handles(events.PAIR_DISMISSED, events.PAIR_REOPENED)
def on_pair_reviewed(event: Event) -> None:
    """A verdict on a pair: the latest (HLC, origin) stands, on every node alike."""
    body = event.body
    uhid_a, uhid_b = str(body["uhid_a"]), str(body["uhid_b"])
    key, a, b = pair_key(uhid_a, uhid_b)
    if (a, b) != (uhid_a, uhid_b) or event.stream != events.pair_stream(a, b):
        raise ValueError(f"a pair's verdict must name it in order, in stream {key}")
    stamp = lww.stamp_of(event)
    review = PairReview.objects.filter(pair=key).first()
    if review is not None and not lww.newer(stamp, review.stamp):
        return
    PairReview.objects.update_or_create(
        pair=key,
        defaults={
            "uhid_a": a,
            "uhid_b": b,
            "dismissed": event.type == events.PAIR_DISMISSED,
            "reason": str(body.get("reason", ""))[:200],
            "actor": event.actor,
            "at_ms": event.hlc.wall,
            "node": event.origin,
            "stamp": stamp,
        },
    )
