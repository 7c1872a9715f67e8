"""Reads of laboratory data for screens, APIs and other modules."""

from __future__ import annotations

from typing import Any

from nirantar.lab import catalogue
from nirantar.lab.models import LabOrder

MAX_ORDERS = 500


def orders(status: str | None = "ordered", limit: int = 200) -> list[LabOrder]:
    """The laboratory's worklist of orders, oldest first."""
    rows = LabOrder.objects.all()
    if status:
        rows = rows.filter(status=status)
    return list(rows.order_by("at_ms", "order_no")[: min(limit, MAX_ORDERS)])


def orders_of(uhid: str) -> list[LabOrder]:
    return list(LabOrder.objects.filter(uhid=uhid).order_by("-at_ms"))


def orders_for_visits(visits: list[Any]) -> dict[str, list[LabOrder]]:
    """Orders by visit number, for visits (anything with visit_no and uhid): an order
    counts for a visit only if it is for that visit's patient."""
    patients = {v.visit_no: v.uhid for v in visits}
    found: dict[str, list[LabOrder]] = {}
    for order in LabOrder.objects.filter(visit__in=list(patients)).order_by("at_ms"):
        if patients.get(order.visit) == order.uhid:
            found.setdefault(order.visit, []).append(order)
    return found


def test_names(codes: list[str]) -> list[tuple[str, str, str]]:
    """(code, English name, Hindi name) of each code; a code no longer listed shows as itself."""
    named = []
    for code in codes:
        test = catalogue.TESTS.get(code)
        named.append((code, test.name_en, test.name_hi) if test else (code, code, code))
    return named
