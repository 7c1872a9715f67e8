"""The bulk scorer a restore uses (nirantar/dedupe/scoring.py) finds exactly the pairs
``likely`` finds, with ``compare``'s score and evidence: its screens only skip work."""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import date

from nirantar.dedupe import scoring
from nirantar.registration import matching

NAMES = [
    ("Sunita Sharma", "सुनीता शर्मा"),
    ("Suneeta Sharma", ""),
    ("", "सुनीता शर्मा"),
    ("Sunita Verma", ""),
    ("Ram Kumar Sharma", "राम कुमार शर्मा"),
    ("R. K. Sharma", ""),
    ("Ramkumar Sharma", ""),
    ("Mohd. Iqbal", "मोहम्मद इक़बाल"),
    ("Iqbal", ""),
    ("Sharma Sunita", ""),
]


def records() -> list[matching.Record]:
    chance = random.Random(7)
    out = []
    for (en, hi), sex, estimated in itertools.product(NAMES, ("F", "M", ""), (True, False)):
        born = date(1970 + chance.randrange(8), 1 + chance.randrange(2), 1 + chance.randrange(3))
        out.append(
            matching.Record(
                name_en=en,
                name_hi=hi,
                sex=sex,
                birth_date=born if chance.random() < 0.9 else None,
                birth_estimated=estimated,
                guardian_relation=chance.choice(["S/O", "D/O", "W/O", ""]),
                guardian_name=chance.choice(["Mohan Lal", "मोहन लाल", "Suresh", ""]),
                mobile=chance.choice(["9876543210", "9812345678", ""]),
                district=chance.choice(["patna", "gaya", ""]),
            )
        )
    return out


def test_the_bulk_scorer_finds_the_pairs_likely_finds_with_compares_evidence():
    listed = {f"{i:04d}": r for i, r in enumerate(records())}
    pairs = list(itertools.combinations(sorted(listed), 2))
    expected = [(a, b) for a, b in pairs if scoring.likely(listed[a], listed[b])]
    found = scoring.score_pairs((pairs, listed))
    assert [(a, b) for a, b, _, _ in found] == expected
    assert len(expected) > 20  # the screens were tried on pairs that pass, not only on misses
    for a, b, score, evidence in found:
        assert (score, evidence) == scoring.evidence_of(listed[a], listed[b])
        assert score == round(matching.compare(listed[a], listed[b]).score, 4)


def test_work_is_shared_out_in_order():
    assert scoring.shares_of(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert scoring.shares_of([], 2) == [[]]
    doubled = scoring.split(lambda share: [x * 2 for x in share], [[1, 2], [3]], None)
    assert doubled == [2, 4, 6]


def test_scoring_shared_out_among_processes_in_rounds_finds_the_same_pairs(monkeypatch):
    """Worker processes are sent each share's records and score the share of each round
    from them: the pairs and evidence are those of one process."""
    from nirantar.dedupe import projections

    listed = {f"{i:04d}": r for i, r in enumerate(records())}
    filed = scoring.keys_of(sorted(listed.items()))
    alone = projections.likely_pairs(listed, projections.candidate_codes(filed))
    monkeypatch.setattr(scoring, "PARALLEL_FROM", 1)
    monkeypatch.setattr(projections, "SCORING_ROUND", 50)
    rounds: list[tuple[int, int]] = []
    candidates = projections.candidate_codes(filed)
    shared = projections.likely_pairs(listed, candidates, progress=lambda *r: rounds.append(r))
    assert shared == alone and len(alone) > 20
    assert len(rounds) > 2 and rounds[-1][0] == rounds[-1][1]


def test_a_score_within_rounding_of_the_threshold_is_judged_as_likely_judges_it(monkeypatch):
    """The bulk scorer reads the score off ``compare``, which adds the weights in another
    order than ``matching.score``: on the threshold, ``likely``'s judgement stands."""
    listed = {f"{i:04d}": r for i, r in enumerate(records())}
    pairs = list(itertools.combinations(sorted(listed), 2))
    plausible = [(a, b) for a, b in pairs if matching.could_match(listed[a], listed[b])]
    yes = next(p for p in plausible if scoring.likely(listed[p[0]], listed[p[1]]))
    no = next(p for p in plausible if not scoring.likely(listed[p[0]], listed[p[1]]))
    real = matching.compare
    # Each pair's sum comes out a hair on the other side of the threshold than score's.
    nudged = {yes: -1e-12, no: 1e-12}

    def compare(a, b):
        match = real(a, b)
        for (x, y), by in nudged.items():
            if (a, b) == (listed[x], listed[y]):
                return dataclasses.replace(match, score=matching.THRESHOLD + by)
        return match

    monkeypatch.setattr(matching, "compare", compare)
    found = [(a, b) for a, b, _, _ in scoring.score_pairs(([yes, no], listed))]
    assert found == [yes]
