"""Reads of laboratory data for screens, APIs and other modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F

from nirantar.lab import catalogue
from nirantar.lab.models import LabOrder, MessageFailure, Result, Sample
from nirantar.registration import queries as registration
from nirantar.registration.models import Patient

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


def access_sample(
    user: Any, accession_text: str, *, action: str, via: str, request: Any = None
) -> tuple[Sample, Patient | None]:
    """A sample and its patient, read with a laboratory right; the read is audited."""
    from nirantar.accounts import actions as account_actions
    from nirantar.accounts.addresses import client_address
    from nirantar.lab.actions import find_sample

    sample = find_sample(accession_text)
    account_actions.do_record_access(
        user,
        sample.uhid,
        action,
        via=via,
        address=client_address(request) if request is not None else "",
    )
    return sample, registration.get_patient(sample.uhid)


def _audited_group(user: Any, uhid: str, *, action: str, via: str, request: Any) -> list[str]:
    """The UHIDs whose laboratory records are the patient's (the survivor first, then every
    UHID merged into it), the read audited against the survivor; [] and nothing audited
    when nobody is registered under ``uhid``."""
    from nirantar.accounts import actions as account_actions
    from nirantar.accounts.addresses import client_address

    if registration.get_patient(uhid) is None:
        return []
    group = registration.group_of(uhid)
    account_actions.do_record_access(
        user,
        group[0],
        action,
        via=via,
        address=client_address(request) if request is not None else "",
    )
    return list(group)


def access_orders(
    user: Any, uhid: str, *, action: str, via: str, request: Any = None
) -> list[LabOrder]:
    """A patient's laboratory orders, newest first, read with a laboratory right (to read
    orders or reports); the read is audited. Nobody registered under ``uhid``: nothing,
    and nothing audited. A UHID merged away reads its survivor's record: the orders of
    every UHID merged into it (the survivor's read is the one audited)."""
    group = _audited_group(user, uhid, action=action, via=via, request=request)
    if not group:
        return []
    return list(LabOrder.objects.filter(uhid__in=group).order_by("-at_ms", "order_no"))


def access_order(
    user: Any, order_text: str, *, action: str, via: str, request: Any = None
) -> LabOrder:
    """One laboratory order, read with a laboratory right; the read is audited.
    NotFound for a malformed number or an order not here."""
    from nirantar.accounts import actions as account_actions
    from nirantar.accounts.addresses import client_address
    from nirantar.errors import NotFound
    from nirantar.lab.events import ORDER
    from nirantar.ledger.numbering import InvalidNumber

    try:
        order_no = ORDER.normalise(str(order_text or ""))
    except InvalidNumber as exc:
        raise NotFound(f"no lab order {str(order_text)[:40]}", {"order": str(exc)}) from exc
    order = LabOrder.objects.filter(order_no=order_no).first()
    if order is None:
        raise NotFound(f"no lab order {order_no}", {"order": "not here (yet)"})
    account_actions.do_record_access(
        user,
        order.uhid,
        action,
        via=via,
        address=client_address(request) if request is not None else "",
    )
    return order


def samples_of_orders(orders: list[LabOrder]) -> dict[str, list[Sample]]:
    """Order number -> the samples collected for it (rejected ones too), oldest first;
    a sample counts for an order only if it is of the order's patient."""
    patients = {o.order_no: o.uhid for o in orders}
    found: dict[str, list[Sample]] = {}
    rows = Sample.objects.filter(uhid__in=set(patients.values()), is_collected=True)
    for sample in sorted(rows, key=lambda s: (s.collected_at_ms or 0, s.accession)):
        for number in sample.orders:
            if patients.get(number) == sample.uhid:
                found.setdefault(number, []).append(sample)
    return found


def access_reported_samples(
    user: Any, uhid: str, *, action: str, via: str, request: Any = None
) -> list[Sample]:
    """A patient's samples with verified results, newest first, read with a laboratory
    right (the right to read reports, not the record); the read is audited. Nobody
    registered under ``uhid``: nothing, and nothing audited. A UHID merged away reads its
    survivor's record, as ``access_orders`` does."""
    group = _audited_group(user, uhid, action=action, via=via, request=request)
    if not group:
        return []
    samples = list(
        Sample.objects.filter(uhid__in=group, is_collected=True)
        .exclude(verified_results=[])
        .exclude(status="rejected")
    )
    samples.sort(key=lambda s: (-(s.collected_at_ms or 0), s.accession))
    return samples


def worklist(
    section: str = "", statuses: tuple[str, ...] = ("collected", "received", "resulted")
) -> list[Sample]:
    rows = Sample.objects.filter(is_collected=True, status__in=statuses)
    if section:
        rows = rows.filter(section=section)
    found = list(rows.order_by("collected_at_ms")[:MAX_ORDERS])
    # Amended after verification: the status stays verified, but it needs verifying again.
    from nirantar.lab.actions import awaiting_verification

    amended = set(Result.objects.exclude(amends="").values_list("accession", flat=True))
    again = Sample.objects.filter(accession__in=amended, status__in=("verified", "reported"))
    if section:
        again = again.filter(section=section)
    found += [s for s in again if awaiting_verification(s)]
    return found


def failures(resolved: bool = False) -> list[MessageFailure]:
    return list(
        MessageFailure.objects.filter(resolved=resolved)
        .exclude(ack="")
        .order_by("-at_ms")[:MAX_ORDERS]
    )


def _rank(count: int, fraction: float) -> int:
    """The position, in ``count`` times sorted, taken as the ``fraction`` percentile: the
    value at n//2 for the median (the upper one of an even count), at int(0.9 n) for the
    90th. The one definition the lab's screen and the MIS dashboard both show."""
    return min(count - 1, count // 2 if fraction == 0.5 else int(count * fraction))


def section_turnaround(since_ms: int, until_ms: int | None = None) -> list[dict[str, Any]]:
    """Collection to verification, in minutes, per section (median, 90th percentile) of the
    samples collected in [since_ms, until_ms) and verified since. The database counts and
    picks the two ranked values (index lab_sample_section_time): nothing is loaded row by
    row, whatever the range - three small queries per section."""
    rows = []
    for section in sorted(catalogue.SECTIONS):
        chosen = Sample.objects.filter(
            section=section,
            collected_at_ms__gte=since_ms,
            is_collected=True,
            verified_at_ms__isnull=False,
        )
        if until_ms is not None:
            chosen = chosen.filter(collected_at_ms__lt=until_ms)
        count = chosen.count()
        if not count:
            continue
        times = (
            chosen.annotate(taken=F("verified_at_ms") - F("collected_at_ms"))
            .order_by("taken", "accession")
            .values_list("taken", flat=True)
        )
        rows.append(
            {
                "kind": "section",
                "name": section,
                "samples": count,
                "median_minutes": round(times[_rank(count, 0.5)] / 60000, 1),
                "p90_minutes": round(times[_rank(count, 0.9)] / 60000, 1),
            }
        )
    return rows


def turnaround(since_ms: int) -> list[dict[str, Any]]:
    """Collection to verification, in minutes, per section and per test (median, 90th)."""
    samples = Sample.objects.filter(
        is_collected=True, collected_at_ms__gte=since_ms, verified_at_ms__isnull=False
    ).values_list("tests", "collected_at_ms", "verified_at_ms")
    by_test: dict[str, list[float]] = {}
    for tests, collected, verified in samples:
        for test in tests:
            by_test.setdefault(test, []).append((verified - collected) / 60000)
    rows = section_turnaround(since_ms)
    for name, values in sorted(by_test.items()):
        values.sort()
        rows.append(
            {
                "kind": "test",
                "name": name,
                "samples": len(values),
                "median_minutes": round(values[_rank(len(values), 0.5)], 1),
                "p90_minutes": round(values[_rank(len(values), 0.9)], 1),
            }
        )
    return rows


@dataclass(frozen=True)
class ReportedResult:
    accession: str
    analyte: str
    name: str
    value: str
    unit: str
    flag: str
    verified_at_ms: int | None


def verified_results_for_visits(visits: list[Any]) -> dict[str, list[ReportedResult]]:
    """Verified results of each visit's lab orders (what a doctor may act on), by visit."""
    orders = orders_for_visits(visits)
    order_visit = {o.order_no: visit for visit, found in orders.items() for o in found}
    if not order_visit:
        return {}
    uhids = {v.uhid for v in visits}
    samples = [
        s
        for s in Sample.objects.filter(uhid__in=uhids, is_collected=True).exclude(
            verified_results=[]
        )
        if any(o in order_visit for o in s.orders)
    ]
    results = {
        r.result_id: r
        for r in Result.objects.filter(
            result_id__in=[rid for s in samples for rid in s.verified_results]
        )
    }
    found: dict[str, list[ReportedResult]] = {}
    for sample in samples:
        visit = next(order_visit[o] for o in sample.orders if o in order_visit)
        for rid in sample.verified_results:
            r = results.get(rid)
            if r is None:
                continue
            analyte = catalogue.ANALYTES.get(r.analyte)
            found.setdefault(visit, []).append(
                ReportedResult(
                    sample.accession,
                    r.analyte,
                    analyte.name if analyte else r.analyte,
                    r.value,
                    r.unit,
                    r.flag,
                    sample.verified_at_ms,
                )
            )
    return found
