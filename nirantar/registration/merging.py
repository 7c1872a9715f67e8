"""Which record each UHID shows under, from the merges in effect: a pure function.

A merge is a (duplicate, survivor) pair whose last event (by HLC stamp) was a merge;
nothing about the patients' own events changes. Reads follow the pairs: a UHID shows
under its survivor, and a survivor's record gathers its whole group.

The state must be a function of the *set* of pairs, never of the order events
arrived in, and two nodes apart can make merges that a connected hospital would
have refused. The rule for those is the one a connected node would have applied,
so the later of two clashing merges gives way:

- **Chains** are followed: A into B, then B into C - A and B both show under C.
  Unmerging B from C leaves A under B again.
- **Merged into two** (A into B on one node, A into C on another): the earliest
  merge stands; the later one is not followed. Both pairs stay in the record, and
  the one not followed carries the reason (a conflict for the records team, who
  resolve it by unmerging one of the pairs).
- **A cycle** (A into B on one node, B into A on another; or longer): the latest
  merge of the cycle is not followed, so the earliest decision's survivor stands,
  and the pair not followed carries the reason.

Stamps are (hlc wall, hlc counter, origin, seq), totally ordered, so "earliest" and
"latest" are the same on every node.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pair:
    duplicate: str
    survivor: str
    stamp: tuple[Any, ...]


@dataclass(frozen=True)
class Resolution:
    survivors: dict[str, str]  # merged-away UHID -> the record it shows under
    overridden: dict[tuple[str, str], str]  # (duplicate, survivor) -> why not followed


def resolve(merged: list[Pair]) -> Resolution:
    """Survivors and conflicts of the pairs whose state is "merged"."""
    overridden: dict[tuple[str, str], str] = {}
    by_duplicate: dict[str, list[Pair]] = defaultdict(list)
    for pair in merged:
        by_duplicate[pair.duplicate].append(pair)
    follow: dict[str, Pair] = {}
    for duplicate, pairs in by_duplicate.items():
        first, *later = sorted(pairs, key=lambda p: p.stamp)
        follow[duplicate] = first
        for pair in later:
            overridden[(pair.duplicate, pair.survivor)] = (
                f"{duplicate} was merged into {first.survivor} first, apart from this merge; "
                f"unmerge one of the two"
            )
    # The pairs followed form a graph with at most one edge out of each UHID, so its
    # cycles are disjoint: breaking each at its latest pair leaves none.
    state: dict[str, int] = {}  # 1: on the current walk, 2: done
    for start in sorted(follow):
        walk: list[str] = []
        uhid = start
        while uhid in follow and state.get(uhid) is None:
            state[uhid] = 1
            walk.append(uhid)
            uhid = follow[uhid].survivor
        if state.get(uhid) == 1:  # the walk came back to itself: a cycle
            cycle = walk[walk.index(uhid) :]
            latest = max((follow[u] for u in cycle), key=lambda p: p.stamp)
            overridden[(latest.duplicate, latest.survivor)] = (
                f"merging {latest.duplicate} into {latest.survivor} would close a cycle of "
                f"merges made apart ({' -> '.join([*cycle, uhid])}); "
                f"{latest.duplicate} stays the survivor"
            )
            del follow[latest.duplicate]
        for u in walk:
            state[u] = 2
    survivors: dict[str, str] = {}
    for duplicate in follow:
        uhid = duplicate
        while uhid in follow:
            uhid = follow[uhid].survivor
        survivors[duplicate] = uhid
    return Resolution(survivors, overridden)
