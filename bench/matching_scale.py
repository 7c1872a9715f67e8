"""Counter-time duplicate suggestions among N patients: blocking keys, then scoring.

    python -m bench.matching_scale [--patients 1000000] [--queries 200]

An in-memory index (blocking key -> patient numbers) stands in for the index a node
would keep in its database: this measures the matcher and its blocking, not storage.
Given names are drawn with a Zipf-like skew (a few names are very common, as in
life), families share a surname, a father and often one phone. Each query is a
fresh registration, with counter noise, of a patient already in the index; the
time is from the query record to the ranked suggestions (keys, bucket look-ups,
the cheap screen, scoring).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from bench.common import summary
from bench.matching_pairs import _corpus, person, register
from nirantar.registration.matching import THRESHOLD, Record, blocking_keys, likely_duplicates

# A bucket bigger than this is a key too common to block on (a stop-key); it is skipped
# at look-up and counted.
MAX_BUCKET = 5000


def population(count: int, seed: int) -> tuple[list[Record], dict[int, Any]]:
    """``count`` records and the people behind a sample of them (for the queries)."""
    rng = random.Random(seed)
    names = _corpus()[0]
    order = list(range(len(names)))
    rng.shuffle(order)
    weights = [0.0] * len(names)
    for rank, i in enumerate(order):
        weights[i] = 1 / (rank + 10)
    drawn = rng.choices(names, weights, k=count)
    records: list[Record] = []
    people: dict[int, Any] = {}
    family: Any = None
    # About 400 people to query whatever the size (every 2,500th at a million, as before):
    # a fixed step left 8 at the quick run's 20,000 patients.
    step = max(1, count // 400)
    for i in range(count):
        given = drawn[i]
        if family is not None and rng.random() < 0.5:
            someone = person(
                rng,
                given=given,
                family=family.family,
                muslim=family.muslim,
                father=family.father,
                mobile=family.mobile if rng.random() < 0.7 else f"9{rng.randrange(10**9):09d}",
                district=family.district,
            )
        else:
            someone = person(rng, given=given)
            family = someone
        full_en, full_hi = someone.full()
        script = rng.random()
        dob = someone.dob
        estimated = rng.random() < 0.4
        if estimated:
            dob = date(dob.year + rng.randint(-2, 2), 6, 1)
        records.append(
            Record(
                name_en=full_en if script < 0.7 else "",
                name_hi=full_hi if script > 0.3 else "",
                sex=someone.sex,
                birth_date=dob if rng.random() > 0.1 else None,
                birth_estimated=estimated,
                guardian_relation="S/O" if someone.sex == "M" else "D/O",
                guardian_name=someone.father[0] if rng.random() < 0.5 else someone.father[1],
                mobile=someone.mobile,
                district=someone.district.lower(),
            )
        )
        if i % step == 17 % step:
            people[i] = someone
    return records, people


def build_index(records: list[Record]) -> dict[str, list[int]]:
    index: dict[str, list[int]] = defaultdict(list)
    for number, record in enumerate(records):
        for key in blocking_keys(record):
            index[key].append(number)
    return dict(index)


def suggest(
    query: Record, index: dict[str, list[int]], records: list[Record]
) -> tuple[list[int], int, int]:
    """(suggested patient numbers, candidates looked at, stop-keys skipped)."""
    candidates: set[int] = set()
    skipped = 0
    for key in blocking_keys(query, for_search=True):
        bucket = index.get(key, ())
        if len(bucket) > MAX_BUCKET:
            skipped += 1
            continue
        candidates.update(bucket)
    found = likely_duplicates(query, [_Numbered(n, records[n]) for n in candidates], THRESHOLD)
    return [c.number for c, _ in found], len(candidates), skipped


class _Numbered:
    __slots__ = ("number", "record")

    def __init__(self, number: int, record: Record) -> None:
        self.number, self.record = number, record


def measure(patients: int, queries: int, seed: int = 21) -> dict[str, Any]:
    started = time.perf_counter()
    records, people = population(patients, seed)
    built = time.perf_counter()
    index = build_index(records)
    indexed = time.perf_counter()
    sizes = sorted(len(b) for b in index.values())
    rng = random.Random(seed + 1)
    subjects = sorted(people)[:queries]
    # A counter runs all day: measure warm, after a few searches for other patients.
    for number in sorted(people)[queries : queries + 20]:
        suggest(register(people[number], rng, date(2026, 1, 1)), index, records)
    times, cpu, looked, found, first, stops = [], [], [], 0, 0, 0
    for number in subjects:
        on = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
        query = register(people[number], rng, on)
        t0, c0 = time.perf_counter(), time.process_time()
        suggested, candidates, skipped = suggest(query, index, records)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        looked.append(candidates)
        stops += skipped
        found += number in suggested
        first += bool(suggested) and suggested[0] == number
    result = {
        "patients": patients,
        "queries": len(subjects),
        "build_s": round(built - started, 1),
        "index_s": round(indexed - built, 1),
        "keys": len(index),
        "bucket_p50": sizes[len(sizes) // 2],
        "bucket_p99": sizes[int(len(sizes) * 0.99)],
        "bucket_max": sizes[-1],
        "ms": summary(times),
        "cpu_ms": summary(cpu),
        "candidates": summary([float(c) for c in looked]),
        "found_original": found,
        "original_first": first,
        "stop_keys_skipped": stops,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    print(json.dumps(measure(args.patients, args.queries, args.seed), indent=2))


if __name__ == "__main__":
    main()
