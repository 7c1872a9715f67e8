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
from nirantar.lab.actions import SOURCES, collected_tests
from nirantar.lab.models import LabOrder, MessageFailure, Result, Sample
from nirantar.ledger import lww, roster, sequences
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
    LabOrder.objects.get_or_create(
        order_no=body["order"],
        defaults={
            "uhid": uhid,
            "visit": body.get("visit") or "",
            "tests": tests,
            "source": body["source"],
            "department": body.get("department") or "",
            "note": body.get("note") or "",
            "at_ms": event.hlc.wall,
            "ordered_by": event.actor,
            "node": event.origin,
        },
    )
    sequences.observe(events.ORDER.kind, str(node_number), seq)
    _refresh_orders([body["order"]])


def _refresh_orders(order_nos: list[str]) -> None:
    """An order is collected once every test of it is in a sample not rejected. Worked out
    from all that is known whenever an order or a sample changes, so in any order."""
    for order in LabOrder.objects.filter(order_no__in=order_nos):
        taken = collected_tests(order)
        status = "collected" if all(t in taken for t in order.tests) else "ordered"
        if order.status != status:
            LabOrder.objects.filter(order_no=order.order_no).update(status=status)


def _sample(event: Event, uhid: str) -> Sample:
    """The event's sample, or a new unsaved one if it is not here yet."""
    accession = _text(event.body, "accession")
    events.ACCESSION.parse(accession)
    sample = Sample.objects.filter(accession=accession, uhid=uhid).first()
    if sample is None:
        if Sample.objects.filter(accession=accession).exists():
            raise ValueError(f"sample {accession} belongs to another patient")
        sample = Sample(accession=accession, uhid=uhid, stamps={})
    return sample


def _sample_progress(event: Event, uhid: str) -> Sample:
    """The sample with only its status and stamps - all a result changes - read in plain
    SQL (once an analyser message); unsaved and whole if it is not here yet."""
    accession = _text(event.body, "accession")
    row = sql.one(
        "SELECT status, stamps FROM lab_sample WHERE accession = %s AND uhid = %s",
        [accession, uhid],
    )
    if row is None:
        return _sample(event, uhid)
    return Sample(accession=accession, uhid=uhid, status=row[0], stamps=sql.json_value(row[1]))


def _advance(sample: Sample, status: str, event: Event) -> None:
    """The earliest event of each step dates it; the furthest step is the status."""
    stamps = dict(sample.stamps)
    stamp = lww.stamp_of(event)
    first = stamps.get(status)
    if first is None or tuple(stamp) < tuple(first):
        stamps[status] = stamp
    sample.stamps = stamps
    reached = max(stamps, key=lambda s: events.STATUS_RANK[s])
    sample.status = reached


@handles(events.SAMPLE_COLLECTED)
def on_sample_collected(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample = _sample(event, uhid)
    node_number, seq = events.ACCESSION.parse(sample.accession)
    roster.check_minted_by(event, node_number, f"sample {sample.accession}")
    orders, tests = _codes(body, "orders"), _codes(body, "tests")
    for key in ("specimen", "container", "section", "replaces"):
        _text(body, key, required=False)
    if not sample.is_collected:
        sample.is_collected = True
        sample.orders, sample.tests = orders, tests
        sample.specimen, sample.container = body["specimen"], body["container"]
        sample.section, sample.replaces = body["section"], body.get("replaces") or ""
        sample.collected_at_ms, sample.collected_by = event.hlc.wall, event.actor
        sample.node = event.origin
    _advance(sample, "collected", event)
    sample.save()
    _refresh_orders(sample.orders)
    sequences.observe(events.ACCESSION.kind, str(node_number), seq)


@handles(events.SAMPLE_RECEIVED, events.SAMPLE_REJECTED)
def on_sample_moved(event: Event) -> None:
    uhid = _patient(event)
    sample = _sample(event, uhid)
    if event.type == events.SAMPLE_REJECTED:
        reason = _text(event.body, "reason")
        if reason not in events.REJECTION_REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        first = sample.stamps.get("rejected")
        if first is None or tuple(lww.stamp_of(event)) < tuple(first):
            sample.rejected_reason = reason
        _advance(sample, "rejected", event)
    else:
        _advance(sample, "received", event)
        sample.received_at_ms = sample.stamps["received"][0]
    sample.save()
    if sample.status == "rejected":
        _refresh_orders(sample.orders)


RESULT_FIELDS = ("unit", "flag", "low", "high", "amends")


@handles(events.RESULTS_RECORDED)
def on_results(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample = _sample_progress(event, uhid)
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
            Result(
                result_id=f"{event.origin}:{event.seq}:{index}",
                accession=sample.accession,
                uhid=uhid,
                analyte=_text(result, "analyte"),
                value=_text(result, "value"),
                source=body["source"],
                instrument=body.get("instrument", ""),
                control_id=body.get("control_id", ""),
                reason=body.get("reason", ""),
                at_ms=event.hlc.wall,
                actor=event.actor,
                node=event.origin,
                **{key: result.get(key, "") for key in RESULT_FIELDS},
            )
        )
    Result.objects.bulk_create(rows, ignore_conflicts=True)
    first = sample.stamps.get("resulted")
    if first is not None and tuple(first) <= tuple(lww.stamp_of(event)):
        return  # already resulted by an earlier event: nothing about the sample changes
    _advance(sample, "resulted", event)
    changed = Sample.objects.filter(accession=sample.accession).update(
        status=sample.status, stamps=sample.stamps
    )
    if not changed:  # results that arrived before the collection: the sample starts here
        sample.save()


@handles(events.RESULTS_VERIFIED, events.REPORT_ISSUED)
def on_verified_or_reported(event: Event) -> None:
    body = event.body
    uhid = _patient(event)
    sample = _sample(event, uhid)
    stamp = lww.stamp_of(event)
    if event.type == events.RESULTS_VERIFIED:
        results = _codes(body, "results")
        _advance(sample, "verified", event)
        if lww.newer(stamp, sample.verified_stamp or None):  # the latest verification
            sample.verified_stamp, sample.verified_results = stamp, results
            sample.verified_at_ms, sample.verified_by = event.hlc.wall, event.actor
    else:
        content_hash, signature = _text(body, "content_hash"), _text(body, "signature")
        _advance(sample, "reported", event)
        if lww.newer(stamp, sample.report_stamp or None):  # the latest report
            sample.report_stamp = stamp
            sample.reported_at_ms = event.hlc.wall
            sample.report_hash, sample.report_signature = content_hash, signature
            sample.report_node = event.origin
    sample.save()


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
