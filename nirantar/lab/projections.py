"""Projections of laboratory events. The only code that writes laboratory tables.

Orders and samples are creates under numbers their nodes minted; a sample's status is
monotone (the furthest step any event gave it; rejected ends it); results are
append-only rows keyed by their event's (origin, seq). Every body is checked before
anything is written: a peer's malformed event raises (an alarm), nothing half-stored.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from nirantar import sql
from nirantar.lab import events
from nirantar.lab.actions import SOURCES, taken_by
from nirantar.lab.models import LabOrder, MessageFailure, Result, Sample
from nirantar.ledger import lww, roster, sequences
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, handles_batch, register_models
from nirantar.registration.events import UHID

register_models(LabOrder, Sample, Result, MessageFailure)
for _type in (
    events.TESTS_ORDERED,
    events.SAMPLE_COLLECTED,
    events.SAMPLE_RECEIVED,
    events.SAMPLE_REJECTED,
    events.RESULTS_RECORDED,
    events.RESULTS_VERIFIED,
    events.REPORT_ISSUED,
    events.MESSAGE_FAILED,
    events.MESSAGE_RESOLVED,
):
    event_version(_type, 1)


def _text(body: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value):
        raise ValueError(f"{key} must be {'non-empty ' if required else ''}text")
    return value


def _codes(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a non-empty list of codes")
    return value


def _patient(event: Event) -> str:
    uhid = _text(event.body, "uhid")
    UHID.parse(uhid)
    if event.stream != f"patient:{uhid}":
        raise ValueError(f"a laboratory event must be in stream patient:{uhid}")
    return uhid


Failures = list[tuple[Event, str]]
ORDER_COLUMNS = (
    "order_no",
    "uhid",
    "visit",
    "tests",
    "source",
    "department",
    "note",
    "status",
    "at_ms",
    "ordered_by",
    "node",
)


def _failed(event: Event, exc: Exception) -> tuple[Event, str]:
    return event, f"{type(exc).__name__}: {exc}"


def _order_row(event: Event) -> tuple[tuple[Any, ...], int, int]:
    """A well-formed order's row, and its node's number and sequence."""
    body = event.body
    uhid = _patient(event)
    tests = _codes(body, "tests")
    if body.get("source") not in SOURCES:
        raise ValueError(f"unknown order source {body.get('source')!r}")
    for key in ("visit", "department", "note"):
        _text(body, key, required=False)
    node_number, seq = events.ORDER.parse(_text(body, "order"))
    roster.check_minted_by(event, node_number, f"lab order {body['order']}")
    row = (
        body["order"],
        uhid,
        body.get("visit") or "",
        tests,
        body["source"],
        body.get("department") or "",
        body.get("note") or "",
        "ordered",
        event.hlc.wall,
        event.actor,
        event.origin,
    )
    return row, node_number, seq


@handles_batch(events.TESTS_ORDERED)
def on_tests_ordered(batch: list[Event]) -> Failures:
    """An order is created under the number its node minted; a repeat adds nothing.
    A batch is one INSERT statement, then its orders' statuses worked out together."""
    failures: Failures = []
    rows: list[tuple[Any, ...]] = []
    minted: dict[str, int] = {}
    for event in batch:
        try:
            row, node_number, seq = _order_row(event)
        except (KeyError, TypeError, ValueError) as exc:
            failures.append(_failed(event, exc))
            continue
        rows.append(row)
        minted[str(node_number)] = max(minted.get(str(node_number), 0), seq)
    sql.insert_many("lab_order", ORDER_COLUMNS, rows, json_columns=("tests",))
    for scope, last in minted.items():
        sequences.observe(events.ORDER.kind, scope, last)
    _refresh_orders([row[0] for row in rows])
    return failures


def _chunked(
    query: str, values: list[str], after: list[Any] | None = None
) -> list[tuple[Any, ...]]:
    """``query`` with ``IN ({})`` over ``values``, 500 at a time, then ``after``'s params."""
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        found += sql.rows(query.format(", ".join(["%s"] * len(chunk))), [*chunk, *(after or [])])
    return found


def _refresh_orders(order_nos: list[str]) -> None:
    """An order is collected once every test of it is in a sample not rejected. Worked out
    from all that is known whenever an order or a sample changes, so in any order.

    In plain SQL, for a whole batch at once: the orders as (order_no, uhid, tests,
    status), their patients' live samples as (orders, tests), one UPDATE per new status."""
    listed = sorted(set(order_nos))
    if not listed:
        return
    orders = _chunked(
        "SELECT order_no, uhid, tests, status FROM lab_order WHERE order_no IN ({})", listed
    )
    live: dict[str, list[tuple[list[str], list[str]]]] = {uhid: [] for _, uhid, _, _ in orders}
    for uhid, in_orders, tests in _chunked(
        "SELECT uhid, orders, tests FROM lab_sample "
        "WHERE uhid IN ({}) AND is_collected = %s AND status <> %s",
        sorted(live),
        [True, "rejected"],
    ):
        live[uhid].append((sql.json_value(in_orders), sql.json_value(tests)))
    changed: dict[str, list[str]] = {}
    for order_no, uhid, tests, current in orders:
        taken = taken_by(order_no, live[uhid])
        status = "collected" if all(t in taken for t in sql.json_value(tests)) else "ordered"
        if current != status:
            changed.setdefault(status, []).append(order_no)
    for status, numbers in changed.items():
        for start in range(0, len(numbers), 500):
            chunk = numbers[start : start + 500]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE lab_order SET status = %s "  # noqa: S608 - our own names
                    f"WHERE order_no IN ({', '.join(['%s'] * len(chunk))})",
                    [status, *chunk],
                )


SAMPLE_COLUMNS = [f.attname for f in Sample._meta.concrete_fields]
SAMPLE_JSON = tuple(
    f.attname for f in Sample._meta.concrete_fields if f.get_internal_type() == "JSONField"
)
_BLANK_SAMPLE = Sample()
SAMPLES = sql.Table(Sample)

Row = dict[str, Any]


def _blank_sample(accession: str, uhid: str) -> Row:
    """A new sample's whole row: what Sample() holds, without a model instance."""
    row: Row = {}
    for column in SAMPLE_COLUMNS:
        value = getattr(_BLANK_SAMPLE, column)
        row[column] = type(value)(value) if isinstance(value, list | dict) else value
    row.update(accession=accession, uhid=uhid, stamps={})
    return row


class _Samples:
    """The samples a batch of events is about: read in one statement, each event applied
    to its sample in memory (as one by one), each sample written once - a new one whole,
    a known one in the columns that changed."""

    def __init__(self, batch: list[Event]) -> None:
        accessions = sorted(
            {a for e in batch if isinstance(a := e.body.get("accession"), str) and a}
        )
        self.read: dict[str, Row] = {}
        for found in _chunked(
            f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM lab_sample "  # noqa: S608 - our names
            "WHERE accession IN ({})",
            accessions,
        ):
            row = dict(zip(SAMPLE_COLUMNS, found, strict=True))
            for column in SAMPLE_JSON:
                row[column] = sql.json_value(row[column])
            self.read[row["accession"]] = row
        self.rows: dict[str, Row] = {}

    def get(self, event: Event, uhid: str) -> Row:
        """A copy of the event's sample to change (put it back when the event is good),
        or a new one if it is not here yet."""
        accession = _text(event.body, "accession")
        events.ACCESSION.parse(accession)
        current = self.rows.get(accession) or self.read.get(accession)
        if current is None:
            return _blank_sample(accession, uhid)
        if current["uhid"] != uhid:
            raise ValueError(f"sample {accession} belongs to another patient")
        return dict(current)

    def put(self, row: Row) -> None:
        self.rows[row["accession"]] = row

    def write(self) -> None:
        """Every sample in a few statements: the new ones in one INSERT, the known ones by
        the columns they changed (a step's events change the same ones), an UPDATE each."""
        SAMPLES.store_many(
            ({"accession": a}, row, self.read.get(a)) for a, row in self.rows.items()
        )


class _Effects:
    """What a batch of sample events does besides its samples, done once at its end."""

    def __init__(self) -> None:
        self.results: list[tuple[Any, ...]] = []
        self.refresh: set[str] = set()  # samples whose orders' statuses may have changed
        self.minted: dict[str, int] = {}


def _advance(sample: Row, status: str, event: Event) -> None:
    """The earliest event of each step dates it; the furthest step is the status."""
    stamps = dict(sample["stamps"])
    stamp = lww.stamp_of(event)
    first = stamps.get(status)
    if first is None or tuple(stamp) < tuple(first):
        stamps[status] = stamp
    sample["stamps"] = stamps
    sample["status"] = max(stamps, key=lambda s: events.STATUS_RANK[s])


SAMPLE_EVENTS = (
    events.SAMPLE_COLLECTED,
    events.SAMPLE_RECEIVED,
    events.SAMPLE_REJECTED,
    events.RESULTS_RECORDED,
    events.RESULTS_VERIFIED,
    events.REPORT_ISSUED,
)


@handles_batch(*SAMPLE_EVENTS)
def on_sample_events(batch: list[Event]) -> Failures:
    """Every event about a sample, a batch at once. Each event is checked whole before it
    changes its sample (a bad one is reported and changes nothing); the orders of samples
    collected or rejected are worked out again once, at the end, from all that is known."""
    failures: Failures = []
    samples = _Samples(batch)
    effects = _Effects()
    for event in batch:
        try:
            APPLY[event.type](samples, effects, event)
        except (KeyError, TypeError, ValueError) as exc:
            failures.append(_failed(event, exc))
    samples.write()
    sql.insert_many(Result._meta.db_table, RESULT_COLUMNS, effects.results)
    _refresh_orders([o for a in sorted(effects.refresh) for o in samples.rows[a]["orders"]])
    for scope, last in effects.minted.items():
        sequences.observe(events.ACCESSION.kind, scope, last)
    return failures


def _collected(samples: _Samples, effects: _Effects, event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample = samples.get(event, uhid)
    accession = sample["accession"]
    node_number, seq = events.ACCESSION.parse(accession)
    roster.check_minted_by(event, node_number, f"sample {accession}")
    orders, tests = _codes(body, "orders"), _codes(body, "tests")
    for key in ("specimen", "container", "section", "replaces"):
        _text(body, key, required=False)
    if not sample["is_collected"]:
        sample.update(
            is_collected=True,
            orders=orders,
            tests=tests,
            specimen=body["specimen"],
            container=body["container"],
            section=body["section"],
            replaces=body.get("replaces") or "",
            collected_at_ms=event.hlc.wall,
            collected_by=event.actor,
            node=event.origin,
        )
    _advance(sample, "collected", event)
    samples.put(sample)
    effects.refresh.add(accession)
    effects.minted[str(node_number)] = max(effects.minted.get(str(node_number), 0), seq)


def _moved(samples: _Samples, effects: _Effects, event: Event) -> None:
    uhid = _patient(event)
    sample = samples.get(event, uhid)
    if event.type == events.SAMPLE_REJECTED:
        reason = _text(event.body, "reason")
        if reason not in events.REJECTION_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        first = sample["stamps"].get("rejected")
        if first is None or tuple(lww.stamp_of(event)) < tuple(first):
            sample["rejected_reason"] = reason
        _advance(sample, "rejected", event)
    else:
        _advance(sample, "received", event)
        sample["received_at_ms"] = sample["stamps"]["received"][0]
    samples.put(sample)
    if sample["status"] == "rejected":
        effects.refresh.add(sample["accession"])


RESULT_FIELDS = ("unit", "flag", "low", "high", "amends")
RESULT_COLUMNS = (
    "result_id",
    "accession",
    "uhid",
    "analyte",
    "value",
    "source",
    "instrument",
    "control_id",
    "reason",
    "at_ms",
    "actor",
    "node",
    *RESULT_FIELDS,
)


def _results(samples: _Samples, effects: _Effects, event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample = samples.get(event, uhid)
    for key in ("instrument", "control_id", "reason"):
        _text(body, key, required=False)
    if body.get("source") not in ("manual", "analyser"):
        raise ValueError("source must be manual or analyser")
    results = body.get("results")
    if not isinstance(results, list) or not results:
        raise ValueError("results must be a non-empty list")
    rows = []
    for index, result in enumerate(results):
        if not isinstance(result, dict):
            raise ValueError("a result must be an object")
        for key in RESULT_FIELDS:
            _text(result, key, required=False)
        rows.append(
            (
                f"{event.origin}:{event.seq}:{index}",
                sample["accession"],
                uhid,
                _text(result, "analyte"),
                _text(result, "value"),
                body["source"],
                body.get("instrument", ""),
                body.get("control_id", ""),
                body.get("reason", ""),
                event.hlc.wall,
                event.actor,
                event.origin,
                *(result.get(key, "") for key in RESULT_FIELDS),
            )
        )
    effects.results += rows
    first = sample["stamps"].get("resulted")
    if first is not None and tuple(first) <= tuple(lww.stamp_of(event)):
        return  # already resulted by an earlier event: nothing about the sample changes
    _advance(sample, "resulted", event)
    samples.put(sample)  # results that arrived before the collection: the sample starts here


def _verified_or_reported(samples: _Samples, effects: _Effects, event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample = samples.get(event, uhid)
    stamp = lww.stamp_of(event)
    if event.type == events.RESULTS_VERIFIED:
        results = _codes(body, "results")
        _advance(sample, "verified", event)
        if lww.newer(stamp, sample["verified_stamp"] or None):  # the latest verification
            sample.update(
                verified_stamp=stamp,
                verified_results=results,
                verified_at_ms=event.hlc.wall,
                verified_by=event.actor,
            )
    else:
        content_hash, signature = _text(body, "content_hash"), _text(body, "signature")
        _advance(sample, "reported", event)
        if lww.newer(stamp, sample["report_stamp"] or None):  # the latest report
            sample.update(
                report_stamp=stamp,
                reported_at_ms=event.hlc.wall,
                report_hash=content_hash,
                report_signature=signature,
                report_node=event.origin,
            )
    samples.put(sample)


APPLY = {
    events.SAMPLE_COLLECTED: _collected,
    events.SAMPLE_RECEIVED: _moved,
    events.SAMPLE_REJECTED: _moved,
    events.RESULTS_RECORDED: _results,
    events.RESULTS_VERIFIED: _verified_or_reported,
    events.REPORT_ISSUED: _verified_or_reported,
}


@handles(events.MESSAGE_FAILED)
def on_message_failed(event: Event) -> None:
    body = event.body
    if event.stream != events.ERRORS_STREAM:
        raise ValueError(f"an analyser failure must be in stream {events.ERRORS_STREAM}")
    values = {
        "instrument": _text(body, "instrument", required=False)[:40],
        "control_id": _text(body, "control_id", required=False)[:60],
        "ack": _text(body, "ack"),
        "reason": _text(body, "reason")[:300],
        "message": _text(body, "message"),
        "at_ms": event.hlc.wall,
        "node": event.origin,
    }
    failure_id = f"{event.origin}:{event.seq}"
    row = MessageFailure.objects.filter(failure_id=failure_id).first()
    if row is None:
        MessageFailure.objects.create(failure_id=failure_id, **values)
    elif not row.ack:  # its resolution arrived first
        MessageFailure.objects.filter(failure_id=failure_id).update(**values)


@handles(events.MESSAGE_RESOLVED)
def on_message_resolved(event: Event) -> None:
    failure = _text(event.body, "failure")
    note = _text(event.body, "note", required=False)[:200]
    row, _ = MessageFailure.objects.get_or_create(
        failure_id=failure,
        defaults={"ack": "", "reason": "", "message": "", "at_ms": 0, "node": ""},
    )
    if not row.resolved:  # the first resolution's note stands
        row.resolved, row.resolved_note = True, note
        row.save()
