"""The duplicate worklist worked out afresh (``rescore_all``, what a restore runs at the
end) over N patients, with and without crowded keys left out.

    python -m bench.worklist [--patients 50000] [--crowded 128 0]

The patients and their keys are ``bench.dedupe``'s (the same synthetic population, cached
in bench/out/). For each ``--crowded`` value (0: no key is crowded, the rule before
crowded keys) it prints the bucket sizes, the candidate pairs the rule gives, the rows
kept, and the wall and CPU time of ``rescore_all`` (which also files every key again);
with ``--count-only`` the pairs are counted, not scored; ``--lost`` scores the pairs the
rule leaves out (every pair sharing a key, less the candidates) and counts the likely
ones: what the worklist loses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from bench.common import percentile
from bench.dedupe import build


def measure(limit: int, rescore: bool = True, lost: bool = False) -> dict[str, Any]:
    from nirantar.dedupe import projections, scoring
    from nirantar.dedupe.models import DuplicatePair
    from nirantar.registration import candidates as registry

    projections.CROWDED = limit or sys.maxsize
    records = sorted(registry.every_match_record().items())
    filed = scoring.keys_of(records)
    sizes: dict[str, int] = {}
    for _, keys in filed:
        for key in keys:
            sizes[key] = sizes.get(key, 0) + 1
    t0 = time.perf_counter()
    pairs = set(projections.candidate_pairs(filed))
    pairing = time.perf_counter() - t0
    candidates = len(pairs)
    missed = None
    if lost and limit:  # the likely pairs the rule leaves out: every pair, less its own
        projections.CROWDED = sys.maxsize
        left_out = sorted(set(projections.candidate_pairs(filed)) - pairs)
        projections.CROWDED = limit
        missed = len(scoring.score_pairs((left_out, dict(records))))
    del pairs
    listed = sorted(sizes.values())
    found = {
        "crowded": limit or None,
        "keys": len(sizes),
        "bucket_p50": percentile(listed, 50),
        "bucket_p99": percentile(listed, 99),
        "bucket_max": listed[-1] if listed else 0,
        "crowded_keys": sum(1 for s in listed if limit and s > limit),
        "candidate_pairs": candidates,
        "pairing_s": round(pairing, 2),
        **({"likely_left_out": missed} if lost else {}),
    }
    if not rescore:
        return found
    t0, c0 = time.perf_counter(), time.process_time()
    projections.rescore_all()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        **found,
        "rows": DuplicatePair.objects.count(),
        "rescore_all_s": round(wall, 1),
        "rescore_all_cpu_s": round(cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--crowded", type=int, nargs="+", default=[128, 0])
    parser.add_argument("--count-only", action="store_true", help="count the pairs only")
    parser.add_argument(
        "--lost", action="store_true", help="score the pairs the rule leaves out (slow)"
    )
    args = parser.parse_args()
    data_dir, _ = build(args.patients, args.seed)
    os.environ["NIRANTAR_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nirantar.settings")
    import django

    django.setup()
    for limit in args.crowded:
        print(
            json.dumps(
                {"patients": args.patients, **measure(limit, not args.count_only, args.lost)}
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
