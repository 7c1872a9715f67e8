"""The search benchmark's patients: the same from a seed, and as real as the counter's."""

from __future__ import annotations

from collections import Counter

from bench.search import COLUMNS, parse_size, patients
from nirantar.registration import events


def test_the_same_seed_gives_the_same_patients() -> None:
    assert list(patients(300, seed=4)) == list(patients(300, seed=4))
    assert list(patients(300, seed=4)) != list(patients(300, seed=5))


def test_patients_look_registered() -> None:
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in patients(2000, seed=1)]
    # Every UHID is valid, check digit and all, and none repeats.
    assert all(events.UHID.normalise(r["uhid"]) == r["uhid"] for r in rows)
    assert len({r["uhid"] for r in rows}) == len(rows)
    # Families share a phone: some mobiles belong to several patients.
    shared = Counter(r["mobile"] for r in rows if r["mobile"])
    assert max(shared.values()) > 1
    assert all(len(m) == 10 and m[0] in "6789" for m in shared)
    # Every patient has a name in at least one script, in the search text lower-cased.
    for r in rows:
        assert r["name_en"] or r["name_hi"]
        assert r["name_en"].lower() in r["search_text"]
        assert r["name_hi"] in r["search_text"]


def test_sizes_are_written_as_people_write_them() -> None:
    assert [parse_size(s) for s in ("10k", "1M", "2.5M", "500")] == [
        10_000,
        1_000_000,
        2_500_000,
        500,
    ]
