"""The only write path of the laboratory: check the request, emit events."""

from __future__ import annotations

from typing import Any

from nirantar.errors import ValidationFailed
from nirantar.lab import catalogue, events
from nirantar.lab.models import LabOrder
from nirantar.ledger.writer import writing
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters

SOURCES = ("opd", "ward", "lab")
MAX_TESTS = 30


def clean_tests(tests: Any) -> list[str]:
    """Catalogue codes, upper-cased, each once, in the order given; or ValidationFailed."""
    if not isinstance(tests, list) or not tests:
        raise ValidationFailed("no tests ordered", {"tests": "choose at least one test"})
    if len(tests) > MAX_TESTS:
        raise ValidationFailed("too many tests", {"tests": f"at most {MAX_TESTS} in one order"})
    codes: list[str] = []
    unknown: list[str] = []
    for value in tests:
        test = catalogue.find(value) if isinstance(value, str) else None
        if test is None:
            unknown.append(str(value)[:20])
        elif test.code not in codes:
            codes.append(test.code)
    if unknown:
        raise ValidationFailed(
            f"not in the laboratory's catalogue: {', '.join(unknown)}",
            {"tests": f"unknown test code: {', '.join(unknown)}"},
        )
    return codes


def do_order(
    actor: str,
    uhid: str,
    tests: Any,
    *,
    source: str,
    visit: str = "",
    department: str = "",
    note: str = "",
) -> LabOrder:
    """Order tests for a patient under an order number minted here (no server needed)."""
    codes = clean_tests(tests)
    if source not in SOURCES:
        raise ValueError(f"unknown order source {source!r}")
    note = (note or "").strip()
    if has_control_characters(note) or len(note) > 200:
        raise ValidationFailed("bad note", {"note": CONTROL_MESSAGE if note else "too long"})
    with writing() as w:
        node_number, seq = w.next_number(events.ORDER.kind)
        order_no = events.ORDER.format(node_number, seq)
        w.emit(
            events.TESTS_ORDERED,
            f"patient:{uhid}",
            {
                "order": order_no,
                "uhid": uhid,
                "visit": visit,
                "tests": codes,
                "source": source,
                "department": department,
                "note": note,
            },
            actor=actor,
        )
    return LabOrder.objects.get(order_no=order_no)
