"""Projections of laboratory events. The only code that writes laboratory tables."""

from __future__ import annotations

from nirantar.lab import events
from nirantar.lab.actions import SOURCES
from nirantar.lab.models import LabOrder
from nirantar.ledger import roster, sequences
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, register_models

register_models(LabOrder)
event_version(events.TESTS_ORDERED, 1)


@handles(events.TESTS_ORDERED)
def on_tests_ordered(event: Event) -> None:
    """An order is created under the number its node minted; a repeat adds nothing."""
    body = event.body
    tests = body.get("tests")
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
        raise ValueError("tests must be a non-empty list of codes")
    if body.get("source") not in SOURCES:
        raise ValueError(f"unknown order source {body.get('source')!r}")
    for key in ("visit", "department", "note"):
        if not isinstance(body.get(key, ""), str):
            raise ValueError(f"{key} must be text")
    node_number, seq = events.ORDER.parse(body["order"])
    roster.check_minted_by(event, node_number, f"lab order {body['order']}")
    if event.stream != f"patient:{body['uhid']}":
        raise ValueError(f"a lab order must be in stream patient:{body['uhid']}")
    LabOrder.objects.get_or_create(
        order_no=body["order"],
        defaults={
            "uhid": body["uhid"],
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
