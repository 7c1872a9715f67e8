"""Duplicate detection over every patient at once, split over the machine's cores.

A restore (``projection.bulk_loading``) fills the registry first and works out the
blocking table and the worklist once at the end, from the records as they stand. That
is pure computation on ``matching.Record``s - no database, no Django - so it runs here,
in worker processes beside the one that writes, each taking a share of the records
(keys) or of the pairs (scores). The results are the same whichever process computed
them: every function here is a pure function of its arguments.
"""

from __future__ import annotations

import array
import concurrent.futures
import math
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import numpy as np

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


def filed_of_event(data: dict[str, Any]) -> tuple[str, list[str]]:
    """``filed_at_registration`` of a registration event's fields, as a line gives them
    (``projection.beside_bulk``)."""
    return filed_at_registration(data["body"])


def filed_at_registration(body: dict[str, Any]) -> tuple[str, list[str]]:
    """A registration's UHID and the blocking keys of the record its body gives
    (``record_of_registration``), sorted: worked out during a restore in the process that
    opens the backup (``projection.beside_bulk``), so the restoring process need not.

    It is a hint: the keys are filed as the registration is projected, and
    ``rescore_all`` keeps them only for a patient whose one patient event in the
    restore was this registration, filed once, and who is a registered patient at the
    end; it works out the keys of every other patient itself."""
    return str(body["uhid"]), sorted(matching.blocking_keys(record_of_registration(body)))


_TEXTS = ("name_en", "name_hi", "sex", "guardian_relation", "guardian_name", "mobile")


def record_of_registration(body: dict[str, Any]) -> matching.Record:
    """The record of a patient whose one event is this registration: built as the
    registration's projection stores the body and ``candidates.match_records`` reads it
    back. A body of any other form (a name that is not text, an empty date of birth)
    raises TypeError or ValueError: the projection might store it otherwise, so the
    patient's keys are worked out from the table instead."""
    address = body.get("address")
    district = address.get("district") if isinstance(address, dict) else ""
    born = body.get("date_of_birth")
    estimated = body.get("dob_estimated")
    if (
        type(body["uhid"]) is not str
        or any(not (body.get(field) is None or type(body[field]) is str) for field in _TEXTS)
        or not (district is None or type(district) is str)
        or not (born is None or (type(born) is str and born))
        or not (estimated is None or type(estimated) is bool)
    ):
        raise TypeError("a registration's body of another form than the counter's")
    return matching.Record(
        name_en=body.get("name_en") or "",
        name_hi=body.get("name_hi") or "",
        sex=body.get("sex") or "",
        birth_date=date.fromisoformat(born) if born else None,
        birth_estimated=bool(estimated),
        guardian_relation=body.get("guardian_relation") or "",
        guardian_name=body.get("guardian_name") or "",
        mobile=body.get("mobile") or "",
        district=matching.district_of(district),
    )


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
    built (half the time, measured on the pairs of a restore). Nor is ``could_match``'s
    bound tried first: at 500,000 patients it could turn away at most the 1,334 of the
    152,789 screened that were not likely, and cost each worker 0.46 s (the backfill
    13.2-13.5 s without it, against 13.5-13.8 s)."""
    pairs, records = work
    found = []
    for a, b in pairs:
        ra, rb = records[a], records[b]
        match = matching.compare(ra, rb)
        if abs(match.score - matching.THRESHOLD) < _ROUNDING:
            if matching.score(ra, rb) < matching.THRESHOLD:
                continue
        elif match.score < matching.THRESHOLD:
            continue
        found.append((a, b, *_listed(match)))
    return found


def family(key: str) -> str:
    """The piece of evidence a key stands for. A record is filed under its first name's
    five-year band and the nearer neighbouring one (``matching.blocking_keys``): two
    records born a year apart share both, which is one agreement, not two."""
    return key.rsplit(":", 1)[0] if key.startswith("y:") else key


def candidates_of_text(text: str, limit: int) -> tuple[list[str], np.ndarray]:
    """``candidates_of_groups`` of the groups as ``projections.groups_text`` gives them."""
    return candidates_of_groups(*groups_of_text(text), limit)


def groups_of_text(text: str) -> tuple[list[str], array.array[int], str]:
    """The keys, their sizes and every key's UHIDs (one text) of ``groups_text``'s."""
    names: list[str] = []
    sizes = array.array("q")
    held: list[str] = []
    for line in text.split("\x1e") if text else ():
        name, size, uhids = line.split("\x1f")
        names.append(name)
        sizes.append(int(size))
        held.append(uhids)
    return names, sizes, " ".join(held)


def candidates_of_groups(
    names: list[str], sizes: array.array[int], held: str, limit: int
) -> tuple[list[str], np.ndarray]:
    """``projections.candidate_codes`` of the blocking table's keys as
    ``projections.table_groups`` reads them (keys of more than ``limit`` patients
    crowded): the UHIDs sharing a key, and the pairs. numpy numbers the patients in UHID
    order. Needs no database: a backfill has it made in a worker process while it reads
    the records."""
    if not names:
        return [], np.zeros(0, np.int64)
    every = np.array(held.split(" "))
    # Sorted as Python sorts str (by code point), each patient once.
    uhids, holder = np.unique(every, return_inverse=True)
    key = np.repeat(np.arange(len(names), dtype=np.int64), np.frombuffer(sizes, np.int64))
    return uhids.tolist(), codes_of(holder.astype(np.int64), key, names, len(uhids), limit)


def codes_of(
    holder: np.ndarray, key: np.ndarray, names: list[str], n: int, limit: int
) -> np.ndarray:
    """The candidate pairs (``projections.candidate_codes``) of the filed keys ``key[x]``
    of the patients ``holder[x]`` (of ``n``; keys numbered, ``names`` their text), keys
    of more than ``limit`` patients crowded."""
    sizes = np.bincount(key, minlength=len(names))
    open_ = (sizes[key] > 1) & (sizes[key] <= limit)
    # In key order, and within a bucket in UHID order.
    order = np.lexsort((holder[open_], key[open_]))
    parts = [_pairs_within(key[open_][order], holder[open_][order], n)]
    crowded = sizes > limit
    if crowded.any():
        families = {k: family(names[k]) for k in np.flatnonzero(crowded).tolist()}
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        held = crowded[key]
        by_patient: dict[int, list[int]] = defaultdict(list)
        for i, k in zip(holder[held].tolist(), key[held].tolist(), strict=True):
            by_patient[i].append(k)
        for i, ks in by_patient.items():
            ks.sort(key=names.__getitem__)
            for x, one in enumerate(ks):
                for other in ks[x + 1 :]:
                    if families[one] != families[other]:
                        groups[(one, other)].append(i)
        listed = [(g, i) for g, members in enumerate(groups.values()) for i in members]
        if listed:
            group = np.array([g for g, _ in listed], np.int64)
            member = np.array([i for _, i in listed], np.int64)
            order = np.lexsort((member, group))
            parts.append(_pairs_within(group[order], member[order], n))
    codes = np.sort(np.concatenate(parts))
    # Sorted, then each once (np.unique hashes: seven times slower at 10 million here).
    return codes[np.r_[True, codes[1:] != codes[:-1]]] if len(codes) else codes


def _pairs_within(bucket: np.ndarray, member: np.ndarray, n: int) -> np.ndarray:
    """``i * n + j`` for every two members ``i < j`` of each bucket (``bucket`` sorted,
    and ``member`` sorted within it)."""
    if len(bucket) == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(bucket)]
    end_of = np.repeat(ends, ends - starts)  # each entry's bucket end
    after = end_of - np.arange(len(bucket)) - 1  # members after it in its bucket
    left = np.repeat(np.arange(len(bucket)), after)
    first = np.cumsum(after) - after
    right = left + 1 + (np.arange(len(left)) - np.repeat(first, after))
    codes: np.ndarray = member[left] * n + member[right]
    return codes


def _workers() -> int:
    return max(1, min(4, (os.cpu_count() or 1)))


@contextmanager
def forked() -> Iterator[concurrent.futures.ProcessPoolExecutor | None]:
    """A process for each core, forked from this one when the first work is sent: each
    starts with all this one holds (the records, a screen, the candidates, the matcher's
    caches), none of it sent. None on a one-core machine. For a process with no other
    thread running then (a forked process has only the thread that forked it)."""
    count = _workers()
    with _processes(count if count > 1 else 0, "fork") as p:
        yield p


@contextmanager
def pool() -> Iterator[concurrent.futures.ProcessPoolExecutor | None]:
    """Processes for the shares beyond the first (this process takes that one), or None
    on a one-core machine. Started afresh (they need no more than they are sent)."""
    with _processes(_workers() - 1, "spawn") as p:
        yield p


@contextmanager
def _processes(
    count: int, start_method: str
) -> Iterator[concurrent.futures.ProcessPoolExecutor | None]:
    if count < 1:
        yield None
        return
    context = multiprocessing.get_context(start_method)
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=count, mp_context=context, initializer=start_worker
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
