"""Projections of laboratory events. The only code that writes laboratory tables.

Orders and samples are creates under numbers their nodes minted; a sample's status is
monotone (the furthest step any event gave it; rejected ends it); results are
append-only rows keyed by their event's (origin, seq). Every body is checked before
anything is written: a peer's malformed event raises (an alarm), nothing half-stored.
"""

from __future__ import annotations

from typing import Any

from nirantar import sql
from nirantar.lab import events
from nirantar.lab.actions import SOURCES, live_samples, taken_by
from nirantar.lab.models import LabOrder, MessageFailure, Result, Sample
from nirantar.ledger import bulk, lww, roster, sequences
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, register_models
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


ORDER_JSON = ("tests",)


@handles(events.TESTS_ORDERED)
def on_tests_ordered(event: Event) -> None:
    """An order is created under the number its node minted; a repeat adds nothing."""
    body = event.body
    uhid = _patient(event)
    tests = _codes(body, "tests")
    if body.get("source") not in SOURCES:
        raise ValueError(f"unknown order source {body.get('source')!r}")
    for key in ("visit", "department", "note"):
        _text(body, key, required=False)
    node_number, seq = events.ORDER.parse(_text(body, "order"))
    roster.check_minted_by(event, node_number, f"lab order {body['order']}")
    created = sql.insert(
        "lab_order",
        {
            "order_no": body["order"],
            "uhid": uhid,
            "visit": body.get("visit") or "",
            "tests": tests,
            "source": body["source"],
            "department": body.get("department") or "",
            "note": body.get("note") or "",
            "status": "ordered",
            "at_ms": event.hlc.wall,
            "ordered_by": event.actor,
            "node": event.origin,
        },
        ORDER_JSON,
    )
    sequences.observe(events.ORDER.kind, str(node_number), seq)
    if created:  # the row is what was just written: no need to read it back
        _refresh_orders([], known=[(body["order"], uhid, tests, "ordered")])
    else:
        _refresh_orders([body["order"]])


def _refresh_orders(
    order_nos: list[str], known: list[tuple[str, str, list[str], str]] | None = None
) -> None:
    """An order is collected once every test of it is in a sample not rejected. Worked out
    from all that is known whenever an order or a sample changes, so in any order.

    Read in plain SQL: the orders as (order_no, uhid, tests, status), each patient's live
    samples once (``known``: orders the caller has just written, not read again)."""
    orders = list(known or [])
    if order_nos:
        marks = ", ".join(["%s"] * len(order_nos))
        orders += [
            (order_no, uhid, sql.json_value(tests), status)
            for order_no, uhid, tests, status in sql.rows(
                f"SELECT order_no, uhid, tests, status FROM lab_order "  # noqa: S608 - our names
                f"WHERE order_no IN ({marks})",
                list(order_nos),
            )
        ]
    live: dict[str, list[tuple[list[str], list[str]]]] = {}
    for order_no, uhid, tests, current in orders:
        if uhid not in live:
            live[uhid] = live_samples(uhid)
        taken = taken_by(order_no, live[uhid])
        status = "collected" if all(t in taken for t in tests) else "ordered"
        if current != status:
            sql.update("lab_order", {"order_no": order_no}, {"status": status})


SAMPLE_COLUMNS = [f.attname for f in Sample._meta.concrete_fields]
SAMPLE_JSON = tuple(
    f.attname for f in Sample._meta.concrete_fields if f.get_internal_type() == "JSONField"
)
_BLANK_SAMPLE = Sample()

Row = dict[str, Any]


def _blank_sample(accession: str, uhid: str) -> Row:
    """A new sample's whole row: what Sample() holds, without a model instance."""
    row: Row = {}
    for column in SAMPLE_COLUMNS:
        value = getattr(_BLANK_SAMPLE, column)
        row[column] = type(value)(value) if isinstance(value, list | dict) else value
    row.update(accession=accession, uhid=uhid, stamps={})
    return row


def _sample(event: Event, uhid: str, columns: tuple[str, ...]) -> tuple[Row, Row | None]:
    """The event's sample as (row, what was read), only ``columns`` of it, read in plain
    SQL by its key; a whole new row and None if it is not here yet. Whatever a handler
    changes of the row is what ``_store`` writes."""
    accession = _text(event.body, "accession")
    events.ACCESSION.parse(accession)
    found = sql.one(
        f"SELECT uhid, {', '.join(columns)} FROM lab_sample WHERE accession = %s",  # noqa: S608
        [accession],
    )
    if found is None:
        return _blank_sample(accession, uhid), None
    if found[0] != uhid:
        raise ValueError(f"sample {accession} belongs to another patient")
    row = {
        c: sql.json_value(v) if c in SAMPLE_JSON else v
        for c, v in zip(columns, found[1:], strict=True)
    }
    row["accession"] = accession
    return row, dict(row)


def _store(row: Row, read: Row | None) -> None:
    """A new sample inserted whole; a known one updated in the columns that changed."""
    if read is None:
        sql.insert("lab_sample", row, SAMPLE_JSON)
        return
    changed = {c: v for c, v in row.items() if c not in read or read[c] != v}
    sql.update("lab_sample", {"accession": row["accession"]}, changed, SAMPLE_JSON)


def _advance(sample: Row, status: str, event: Event) -> None:
    """The earliest event of each step dates it; the furthest step is the status."""
    stamps = dict(sample["stamps"])
    stamp = lww.stamp_of(event)
    first = stamps.get(status)
    if first is None or tuple(stamp) < tuple(first):
        stamps[status] = stamp
    sample["stamps"] = stamps
    sample["status"] = max(stamps, key=lambda s: events.STATUS_RANK[s])


@handles(events.SAMPLE_COLLECTED)
def on_sample_collected(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample, read = _sample(event, uhid, ("is_collected", "orders", "status", "stamps"))
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
    _store(sample, read)
    _refresh_orders(sample["orders"])
    sequences.observe(events.ACCESSION.kind, str(node_number), seq)


@handles(events.SAMPLE_RECEIVED, events.SAMPLE_REJECTED)
def on_sample_moved(event: Event) -> None:
    uhid = _patient(event)
    if event.type == events.SAMPLE_REJECTED:
        sample, read = _sample(event, uhid, ("orders", "status", "stamps", "rejected_reason"))
        reason = _text(event.body, "reason")
        if reason not in events.REJECTION_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        first = sample["stamps"].get("rejected")
        if first is None or tuple(lww.stamp_of(event)) < tuple(first):
            sample["rejected_reason"] = reason
        _advance(sample, "rejected", event)
    else:
        sample, read = _sample(event, uhid, ("orders", "status", "stamps", "received_at_ms"))
        _advance(sample, "received", event)
        sample["received_at_ms"] = sample["stamps"]["received"][0]
    _store(sample, read)
    if sample["status"] == "rejected":
        _refresh_orders(sample["orders"])


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


@handles(events.RESULTS_RECORDED)
def on_results(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample, read = _sample(event, uhid, ("status", "stamps"))
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
    bulk.insert_ignore(Result._meta.db_table, RESULT_COLUMNS, rows)
    first = sample["stamps"].get("resulted")
    if first is not None and tuple(first) <= tuple(lww.stamp_of(event)):
        return  # already resulted by an earlier event: nothing about the sample changes
    _advance(sample, "resulted", event)
    _store(sample, read)  # results that arrived before the collection: the sample starts here


@handles(events.RESULTS_VERIFIED, events.REPORT_ISSUED)
def on_verified_or_reported(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    stamp = lww.stamp_of(event)
    if event.type == events.RESULTS_VERIFIED:
        sample, read = _sample(event, uhid, ("status", "stamps", "verified_stamp"))
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
        sample, read = _sample(event, uhid, ("status", "stamps", "report_stamp"))
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
    _store(sample, read)


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
