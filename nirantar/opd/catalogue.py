"""What a prescription and a diagnosis are chosen from: the formulary and ICD-10.

- ``data/formulary.tsv``: a demo formulary drawn from India's National List of
  Essential Medicines 2022 (Ministry of Health & Family Welfare; a public
  document). A hospital replaces it with its own.
- ``data/icd10.tsv``: ICD-10 codes and titles; its source and licence are in
  ``data/icd10.LICENSE``.

Frequencies, routes and the common instructions carry their Hindi, so the
patient's copy of a prescription reads in both languages.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Drug:
    code: str
    name: str
    form: str
    strength: str
    route: str
    section: str


@dataclass(frozen=True)
class Diagnosis:
    code: str
    title: str


# code -> (English, Hindi), as doctors write them and as patients read them.
FREQUENCIES: dict[str, tuple[str, str]] = {
    "OD": ("once a day", "दिन में एक बार"),
    "BD": ("twice a day", "दिन में दो बार"),
    "TDS": ("three times a day", "दिन में तीन बार"),
    "QID": ("four times a day", "दिन में चार बार"),
    "HS": ("at bedtime", "रात को सोते समय"),
    "OM": ("every morning", "रोज़ सुबह"),
    "SOS": ("when needed", "ज़रूरत होने पर"),
    "STAT": ("once, at once", "तुरंत, एक बार"),
    "WEEKLY": ("once a week", "सप्ताह में एक बार"),
}
ROUTES: dict[str, tuple[str, str]] = {
    "oral": ("by mouth", "मुँह से"),
    "sublingual": ("under the tongue", "जीभ के नीचे"),
    "iv": ("into a vein", "नस में"),
    "im": ("into a muscle", "मांसपेशी में"),
    "sc": ("under the skin", "त्वचा के नीचे"),
    "inhaled": ("inhaled", "साँस से"),
    "topical": ("on the skin", "त्वचा पर"),
    "eye": ("in the eye", "आँख में"),
    "ear": ("in the ear", "कान में"),
    "nasal": ("in the nose", "नाक में"),
    "rectal": ("rectal", "गुदा मार्ग से"),
    "vaginal": ("vaginal", "योनि मार्ग से"),
}
INSTRUCTIONS: dict[str, str] = {
    "after food": "खाना खाने के बाद",
    "before food": "खाना खाने से पहले",
    "on an empty stomach": "खाली पेट",
    "with food": "खाने के साथ",
    "at bedtime": "रात को सोते समय",
    "with plenty of water": "भरपूर पानी के साथ",
    "dissolve in water": "पानी में घोलकर",
    "complete the course": "दवा का पूरा कोर्स करें",
    "avoid alcohol": "शराब न पिएँ",
    "may cause drowsiness; do not drive": "नींद आ सकती है; वाहन न चलाएँ",
    "apply a thin layer": "पतली परत लगाएँ",
    "shake well before use": "इस्तेमाल से पहले अच्छी तरह हिलाएँ",
    "if fever is above 100°F": "बुखार 100°F से ऊपर हो तो",
    "stop if a rash appears and come back": "चकत्ते हों तो दवा बंद कर वापस आएँ",
}


@cache
def formulary() -> dict[str, Drug]:
    with (DATA / "formulary.tsv").open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        drugs = [
            Drug(r["code"], r["name"], r["form"], r["strength"], r["route"], r["nlem_section"])
            for r in rows
        ]
    return {d.code: d for d in sorted(drugs, key=lambda d: d.name)}


@cache
def _drugs_by_name() -> dict[str, Drug]:
    return {d.name.lower(): d for d in formulary().values()}


def find_drug(text: str) -> Drug | None:
    """The formulary item a code or its exact name (any case) names, else None."""
    key = text.strip()
    return formulary().get(key.upper()) or _drugs_by_name().get(key.lower())


def search_drugs(query: str, limit: int = 15) -> list[Drug]:
    words = query.lower().split()
    if not words:
        return []
    found = [d for d in formulary().values() if all(w in d.name.lower() for w in words)]
    found.sort(key=lambda d: (not d.name.lower().startswith(words[0]), d.name))
    return found[:limit]


@cache
def icd10() -> dict[str, Diagnosis]:
    with (DATA / "icd10.tsv").open(encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {r["code"]: Diagnosis(r["code"], r["title"]) for r in rows}


@cache
def _icd10_index() -> list[tuple[str, str, Diagnosis]]:
    return [(d.code.replace(".", ""), d.title.lower(), d) for d in icd10().values()]


CODE_RE = re.compile(r"^[A-Za-z][0-9][0-9A-Za-z]?\.?[0-9A-Za-z]{0,4}$")


def normalise_code(text: str) -> str:
    """ "e119", "E11.9" and " E 11.9 " are all E11.9."""
    compact = re.sub(r"[\s.]", "", text or "").upper()
    return compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"


def find_diagnosis(code: str) -> Diagnosis | None:
    return icd10().get(normalise_code(code)) if isinstance(code, str) else None


def search_diagnoses(query: str, limit: int = 20) -> list[Diagnosis]:
    """By code (E11, e11.9) or by words in the title, all of them (typhoid fever)."""
    text = query.strip()
    if not text:
        return []
    if CODE_RE.match(text):
        prefix = normalise_code(text).replace(".", "")
        by_code = [d for code, _, d in _icd10_index() if code.startswith(prefix)]
        if by_code:
            return sorted(by_code, key=lambda d: d.code)[:limit]
    words = text.lower().split()
    found = [d for _, title, d in _icd10_index() if all(w in title for w in words)]
    found.sort(key=lambda d: (not d.title.lower().startswith(words[0]), len(d.title), d.code))
    return found[:limit]
