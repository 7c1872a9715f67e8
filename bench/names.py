"""Realistic Indian names in both scripts for benchmark data (CMU Indian Names Corpus)."""

from __future__ import annotations

import csv
import random

from nirantar.registration.transliterate import DATA, EXTRA_WORDS

SURNAMES = [pair.split() for pair in EXTRA_WORDS.replace("\n", "|").split("|") if pair.strip()][:60]


def given_names() -> list[tuple[str, str]]:
    with (DATA / "cmu_indian_names.tsv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.reader(handle, delimiter="\t") if len(r) == 2 and r[0] != "english"]
    return [(en.strip(), hi.strip()) for en, hi in rows if en.strip() and hi.strip()]


def person(rng: random.Random, given: list[tuple[str, str]]) -> tuple[str, str]:
    first_en, first_hi = rng.choice(given)
    last_en, last_hi = rng.choice(SURNAMES)
    return f"{first_en} {last_en}", f"{first_hi} {last_hi}"
