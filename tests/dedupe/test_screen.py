"""The screen a worklist's candidates go through before the exact scoring
(nirantar/dedupe/screen.py) never turns away a pair ``matching._total`` could put at or
above the threshold, and does turn away most that cannot be."""

from __future__ import annotations

import itertools
import random
from datetime import date

import numpy as np
import pytest

from nirantar.dedupe import screen
from nirantar.registration import matching

NAMES = [
    ("Sunita Sharma", "सुनीता शर्मा"),
    ("Suneeta Sharma", ""),
    ("", "सुनीता शर्मा"),
    ("Sunita Verma", ""),
    ("Sharma Sunita", ""),
    ("Sunita", ""),
    ("Sunitasharma", ""),
    ("Ram Kumar Sharma", "राम कुमार शर्मा"),
    ("Ram Prasad", ""),
    ("Ram Prasad Sharma", ""),
    ("Ramprasad", ""),
    ("R. K. Sharma", ""),
    ("Ramkumar Sharma", ""),
    ("Mohd. Iqbal", "मोहम्मद इक़बाल"),
    ("Iqbal", ""),
    ("Iqbal Khan", ""),
    ("Gurpreet Kaur", "गुरप्रीत कौर"),
    ("Gurpreet Singh", ""),
    ("Anil", "अनिल"),
    ("Mohan Das Gupta", "मोहन दास गुप्ता"),
    ("Gupta Mohan Das", ""),
    ("Mohandas Gupta", ""),
    ("Syed Mohan Das Gupta", ""),
    ("Syed Mohan Das Gupta Ali", ""),
    ("", ""),
]
GUARDIANS = ["Mohan Lal", "मोहन लाल", "Mohanlal", "Suresh", "Suresh Kumar", "S. Kumar", ""]


def population(size: int, seed: int) -> list[matching.Record]:
    chance = random.Random(seed)
    out = []
    for _ in range(size):
        en, hi = chance.choice(NAMES)
        born = date(1970 + chance.randrange(12), 1 + chance.randrange(3), 1 + chance.randrange(4))
        out.append(
            matching.Record(
                name_en=en,
                name_hi=hi,
                sex=chance.choice(["F", "M", "O", ""]),
                birth_date=born if chance.random() < 0.9 else None,
                birth_estimated=chance.random() < 0.3,
                guardian_relation=chance.choice(["S/O", "D/O", "W/O", "C/O", ""]),
                guardian_name=chance.choice(GUARDIANS),
                mobile=chance.choice(["9876543210", "+91 98765 43210", "9812345678", "12", ""]),
                district=chance.choice(["patna", "Patna ", "gaya", ""]),
            )
        )
    return out


@pytest.fixture(params=["matrix", "pair by pair"])
def words(request, monkeypatch):
    """Both ways the screen finds two words' similarity."""
    if request.param == "pair by pair":
        monkeypatch.setattr(screen, "DENSE_WORDS", 0)
    return request.param


def test_the_bound_is_never_below_the_log_odds_and_the_plain_fields_are_exact(words):
    listed = population(260, seed=3)
    sieve = screen.Screen(listed)
    assert (sieve._matrix is not None) == (words == "matrix")
    i, j = (np.array(x) for x in zip(*itertools.combinations(range(len(listed)), 2), strict=True))
    bounds = sieve.bounds(i, j)
    plain = sieve.plain_weights(i, j)
    totals = np.array([matching._total(listed[a], listed[b]) for a, b in zip(i, j, strict=True)])
    assert (bounds >= totals - 1e-9).all()
    assert plain.tolist() == [
        matching._plain_weight(listed[a], listed[b]) for a, b in zip(i, j, strict=True)
    ]
    kept = sieve.may_be_likely(i, j)
    # Worked out in stages, each pair dropped early only if its whole bound drops it.
    assert kept.tolist() == (bounds >= screen.FLOOR - screen._MARGIN).tolist()
    likely = totals >= screen.FLOOR
    assert likely.sum() > 500  # pairs at the threshold were screened, not only misses
    assert kept[likely].all()
    # It does its work: most pairs that cannot be likely are turned away here.
    assert kept[~likely].mean() < 0.5


def test_names_worked_out_before_make_the_screen_they_would_have_made():
    # The backfill has every spelling's names worked out in a worker, from the text the
    # database writes of them (``candidates.spellings_text``), and gives them to the screen.
    listed = population(260, seed=5)
    text = "\x1e".join(f"{r.name_en}\x1f{r.name_hi}" for r in listed)
    worked = matching.names_of_text(text)
    assert worked == {(r.name_en, r.name_hi): r.names() for r in listed}
    plain = screen.Screen(listed)
    given = screen.Screen(listed, worked)
    i, j = (np.array(x) for x in zip(*itertools.combinations(range(len(listed)), 2), strict=True))
    assert given.spellings == plain.spellings
    assert given.bounds(i, j).tolist() == plain.bounds(i, j).tolist()
    # They are taken as given, not worked out again.
    nameless = screen.Screen(listed, dict.fromkeys(worked, (("zzz",),)))
    assert nameless.bounds(i, j).tolist() != plain.bounds(i, j).tolist()
    # A name holding a separator is split wrongly: a spelling no record has, never
    # another's names - the screen works out that record's itself.
    odd = matching.Record(name_en="Ram\x1fLal", name_hi="राम")
    wrongly = matching.names_of_text(f"{odd.name_en}\x1f{odd.name_hi}")
    assert (odd.name_en, odd.name_hi) not in wrongly
    assert screen.Screen([odd], wrongly).spellings == screen.Screen([odd]).spellings


def test_a_pair_without_a_record_is_dropped_and_names_past_the_bound_taken_at_the_top():
    one = matching.Record(name_en="R. K. Sharma", sex="M", birth_date=date(1980, 1, 1))
    other = matching.Record(name_en="Zafar Ali", sex="M", birth_date=date(1980, 1, 1))
    sieve = screen.Screen([one, other, None, one])
    bounds = sieve.bounds(np.array([0, 0]), np.array([1, 2]))
    # "R. K. Sharma" has initials: its names may agree fully with anyone's, as far as
    # the screen can tell; the exact scoring decides.
    assert bounds[0] == matching.PRIOR + 4.5 + matching.NAME_CURVE[-1][1]
    assert matching._total(one, other) < screen.FLOOR
    # Index 2 has no record (registered after the records were read): no pair with it.
    kept = sieve.may_be_likely(np.array([0, 0, 2]), np.array([1, 3, 3]))
    assert kept.tolist() == [True, True, False]


def test_names_run_together_are_bounded_as_the_matcher_lets_them_agree():
    together = matching.Record(name_en="Sunitasharma", sex="M", birth_date=date(1980, 1, 1))
    apart = matching.Record(name_en="Sunita Sharma", sex="M", birth_date=date(1980, 1, 1))
    sieve = screen.Screen([together, apart])
    total = matching._total(together, apart)
    assert total >= screen.FLOOR  # the whole names agree: a likely pair
    assert sieve.bounds(np.array([0]), np.array([1]))[0] >= total
