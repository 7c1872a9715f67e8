"""Duplicate detection over every patient at once, split over the machine's cores.

A restore (``projection.bulk_loading``) fills the registry first and works out the
blocking table and the worklist once at the end, from the records as they stand. That
is pure computation on ``matching.Record``s - no database, no Django - so it runs here,
in worker processes beside the one that writes, each taking a share of the records
(keys) or of the pairs (scores). The results are the same whichever process computed
them: every function here is a pure function of its arguments.
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

from nirantar.registration import matching
from nirantar.workers import start as start_worker

# The log-odds ``matching.score`` must reach for a pair to be likely.
FLOOR = math.log(matching.THRESHOLD / (1 - matching.THRESHOLD))
# Below this much work, starting processes costs more than it saves.
PARALLEL_FROM = 20_000

T = TypeVar("T")
R = TypeVar("R")


def likely(a: matching.Record, b: matching.Record) -> bool:
    """``matching.score(a, b) >= matching.THRESHOLD``, stopping early where it can.

    ``could_match`` turns away pairs whose plain fields rule them out; ``_total`` with
    a floor stops once the names show the pair cannot reach it (what it returns then
    is an upper bound of the log-odds). Whatever passes both is scored in full, so the
    answer is exactly ``score >= THRESHOLD``; the margin keeps a rounding of the bound
    from turning away a pair on the threshold.
    """
    if not matching.could_match(a, b):
        return False
    if matching._total(a, b, FLOOR) < FLOOR - 1e-6:
        return False
    return matching.score(a, b) >= matching.THRESHOLD


def keys_of(items: Sequence[tuple[str, matching.Record]]) -> list[tuple[str, list[str]]]:
    """Each record's filed blocking keys, sorted."""
    return [(uhid, sorted(matching.blocking_keys(record))) for uhid, record in items]


def record_fields(record: matching.Record) -> tuple[Any, ...]:
    """A record's fields as a plain tuple: cheap to send between processes and compare."""
    return (
        record.name_en,
        record.name_hi,
        record.sex,
        record.birth_date,
        record.birth_estimated,
        record.guardian_relation,
        record.guardian_name,
        record.mobile,
        record.district,
    )


def filed_of_event(data: dict[str, Any]) -> tuple[str, tuple[Any, ...], list[str]]:
    """``filed_at_registration`` of a registration event's fields, as a line gives them
    (``projection.beside_bulk``)."""
    return filed_at_registration(data["body"])


def filed_at_registration(body: dict[str, Any]) -> tuple[str, tuple[Any, ...], list[str]]:
    """A registration's UHID, the record its body gives (``record_fields``) and that
    record's blocking keys, sorted: worked out during a restore in the process that opens
    the backup (``projection.beside_bulk``), so the restoring process need not.

    The record is built as the registration's projection stores the body and
    ``candidates.match_records`` reads it back. It is a hint: the keys are filed as the
    registration is projected, and ``rescore_all`` keeps them only for a patient whose
    record, read from the table at the end, has these very fields (a correction, a
    second registration or a body the projection refused all differ), and works out
    the keys of every other patient itself.
    """
    address = body.get("address")
    district = address.get("district") if isinstance(address, dict) else ""
    born = body.get("date_of_birth")
    record = matching.Record(
        name_en=body.get("name_en") or "",
        name_hi=body.get("name_hi") or "",
        sex=body.get("sex") or "",
        birth_date=date.fromisoformat(born) if born else None,
        birth_estimated=bool(body.get("dob_estimated")),
        guardian_relation=body.get("guardian_relation") or "",
        guardian_name=body.get("guardian_name") or "",
        mobile=body.get("mobile") or "",
        district=matching.district_of(district),
    )
    return str(body["uhid"]), record_fields(record), sorted(matching.blocking_keys(record))


def evidence_of(a: matching.Record, b: matching.Record) -> tuple[float, list[dict[str, Any]]]:
    """The worklist's score and evidence of a likely pair (record ``a`` first)."""
    return _listed(matching.compare(a, b))


def _listed(match: matching.Match) -> tuple[float, list[dict[str, Any]]]:
    evidence = [
        {
            "field": e.field,
            "agreement": e.agreement,
            "detail": e.detail,
            "weight": round(e.weight, 3),
        }
        for e in match.evidence
    ]
    return round(match.score, 4), evidence


# ``compare`` sums the same weights as ``matching.score``, in another order: a score
# this close to the threshold is judged by ``matching.score``, as ``likely`` judges it.
_ROUNDING = 1e-9


def score_pairs(
    work: tuple[Sequence[tuple[str, str]], dict[str, matching.Record]],
) -> list[tuple[str, str, float, list[dict[str, Any]]]]:
    """The likely pairs among ``pairs`` (each ``a`` < ``b``), with score and evidence,
    judged on ``records`` (those of the pairs at least): exactly those ``likely`` takes.
    The worklist's candidates come here through ``screen``, which has turned away
    nearly all that cannot be likely; so each is compared once, in full, where
    ``likely`` would first try to rule it out, then score it, then its evidence be
    built (half the time, measured on the pairs of a restore)."""
    pairs, records = work
    found = []
    for a, b in pairs:
        ra, rb = records[a], records[b]
        if not matching.could_match(ra, rb):
            continue
        match = matching.compare(ra, rb)
        if abs(match.score - matching.THRESHOLD) < _ROUNDING:
            if matching.score(ra, rb) < matching.THRESHOLD:
                continue
        elif match.score < matching.THRESHOLD:
            continue
        found.append((a, b, *_listed(match)))
    return found


def _workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


@contextmanager
def pool(every_share: bool = False) -> Iterator[concurrent.futures.ProcessPoolExecutor | None]:
    """Processes for the shares beyond the first (this process takes that one), or None
    on a one-core machine; with ``every_share``, one for each core (this process has
    other work meanwhile)."""
    extra = _workers() - (0 if every_share else 1)
    if extra < 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=extra, mp_context=context, initializer=start_worker
    ) as p:
        yield p


def split(
    function: Callable[[T], list[R]],
    shares: list[T],
    workers: concurrent.futures.ProcessPoolExecutor | None,
) -> list[R]:
    """``function`` of every share, the first here and the rest in ``workers``; the
    results in the order of the shares."""
    futures = [workers.submit(function, s) for s in shares[1:]] if workers else []
    results = function(shares[0]) if shares else []
    for share in shares[1:] if not workers else ():
        results += function(share)
    for future in futures:
        results += future.result()
    return results


def shares_of(items: Sequence[T], count: int) -> list[list[T]]:
    """``items`` cut into ``count`` runs of about equal length, in order."""
    size = max(1, math.ceil(len(items) / max(1, count)))
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]
