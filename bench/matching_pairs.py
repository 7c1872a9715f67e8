"""Labelled pairs of patient records for measuring the duplicate matcher (issue 11).

Seeded and reproducible: ``pairs(n, seed)`` gives the same pairs for the same seed.
Half are the same person registered twice, with the noise of real counters: typed in
Devanagari at one and in Latin letters at the other (the other script either left
empty or filled by the counter's own transliteration suggestion), spelling variants
(the CMU corpus often has several Latin spellings of one Devanagari name: Aaditya,
Aditya), typos, given and family name swapped, titles, initials, a dropped middle
name or surname, an age instead of a date of birth or neither, a new mobile number,
a guardian missing or given as the husband instead of the father.

The other half are different people chosen to look alike: siblings and twins
(same father, surname, district and often the family's one phone), a parent and
child, a husband and wife, namesakes in the same district, and people whose given
names differ by a letter or two. They get the same registration noise.

Given names come from the CMU Indian Names Corpus (8,726 names in both scripts,
CC BY 3.0, Alok Parlikar, Carnegie Mellon University, 2011; see
nirantar/registration/data/cmu_indian_names.LICENSE); surnames from the
transliteration lexicon.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache

from rapidfuzz.distance import JaroWinkler

from bench.names import given_names
from nirantar.registration.matching import Record, fold
from nirantar.registration.transliterate import to_devanagari, to_latin

SURNAMES_HI = {
    "Sharma": "शर्मा", "Verma": "वर्मा", "Gupta": "गुप्ता", "Singh": "सिंह", "Yadav": "यादव",
    "Mishra": "मिश्रा", "Tiwari": "तिवारी", "Pandey": "पांडेय", "Chauhan": "चौहान", "Jain": "जैन",
    "Agarwal": "अग्रवाल", "Patel": "पटेल", "Mehta": "मेहता", "Joshi": "जोशी", "Dubey": "दुबे",
    "Trivedi": "त्रिवेदी", "Tripathi": "त्रिपाठी", "Dwivedi": "द्विवेदी", "Saxena": "सक्सेना",
    "Srivastava": "श्रीवास्तव", "Rastogi": "रस्तोगी", "Kushwaha": "कुशवाहा", "Maurya": "मौर्य",
    "Thakur": "ठाकुर", "Chaudhary": "चौधरी", "Meena": "मीणा", "Paswan": "पासवान", "Rai": "राय",
    "Sinha": "सिन्हा", "Jha": "झा", "Mandal": "मंडल", "Sahu": "साहू", "Shukla": "शुक्ला",
    "Awasthi": "अवस्थी", "Bajpai": "बाजपेयी", "Nigam": "निगम", "Soni": "सोनी", "Rathore": "राठौर",
    "Vishwakarma": "विश्वकर्मा", "Prajapati": "प्रजापति", "Nishad": "निषाद", "Rajput": "राजपूत",
    "Ghosh": "घोष", "Banerjee": "बनर्जी", "Mukherjee": "मुखर्जी", "Dutta": "दत्ता", "Rao": "राव",
}  # fmt: skip
MUSLIM_SURNAMES_HI = {
    "Khan": "ख़ान", "Ahmed": "अहमद", "Ali": "अली", "Hussain": "हुसैन", "Ansari": "अंसारी",
    "Qureshi": "क़ुरैशी", "Siddiqui": "सिद्दीक़ी",
}  # fmt: skip
SURNAME_VARIANTS = {
    "Sharma": ["Sarma", "Sharmaa"], "Chaudhary": ["Choudhary", "Chaudhari", "Chowdhury"],
    "Srivastava": ["Shrivastava", "Srivastav"], "Agarwal": ["Agrawal", "Aggarwal"],
    "Tiwari": ["Tiwary", "Tewari"], "Pandey": ["Pande", "Pandeya"], "Mishra": ["Misra"],
    "Dubey": ["Dube"], "Yadav": ["Yadava"], "Verma": ["Varma"], "Chauhan": ["Chouhan"],
    "Khan": ["Khaan"], "Hussain": ["Husain", "Hussein"], "Ahmed": ["Ahmad"],
    "Qureshi": ["Kureshi", "Quraishi"], "Siddiqui": ["Siddiqi", "Sidiqui"],
    "Bajpai": ["Vajpayee", "Bajpayee"], "Rathore": ["Rathor", "Rathaur"],
}  # fmt: skip
MIDDLE = [("Kumar", "कुमार"), ("Prasad", "प्रसाद"), ("Lal", "लाल"), ("Chand", "चंद"),
          ("Nath", "नाथ"), ("Singh", "सिंह"), ("Narayan", "नारायण")]  # fmt: skip
MOHAMMAD_EN = ["Mohd.", "Mohd", "Md.", "Mohammad", "Mohammed", "Muhammad"]
MOHAMMAD_HI = ["मोहम्मद", "मो.", "मुहम्मद"]
TITLES_EN = {"M": ["Shri", "Sri", "Mr.", "Dr."], "F": ["Smt.", "Mrs.", "Kumari", "Km.", "Ms."]}
TITLES_HI = {"M": ["श्री", "डॉ."], "F": ["श्रीमती", "कुमारी", "सुश्री"]}
DISTRICTS = [
    "Sitapur", "Lucknow", "Hardoi", "Barabanki", "Unnao", "Raebareli", "Kheri",
    "Bahraich", "Gonda", "Faizabad", "Sultanpur", "Pratapgarh", "Patna", "Gaya",
]  # fmt: skip
KEYBOARD = "qwertyuiop asdfghjkl zxcvbnm"
MATRA_SWAPS = [("ि", "ी"), ("ी", "ि"), ("ु", "ू"), ("ू", "ु"), ("ं", "न्"), ("न्", "ं"), ("़", "")]


@dataclass(frozen=True)
class Person:
    given: tuple[str, str]  # (Latin, Devanagari)
    family: tuple[str, str]
    middle: tuple[str, str] | None
    muslim: bool
    sex: str
    dob: date
    father: tuple[str, str]  # full name in both scripts
    husband: tuple[str, str] | None
    mobile: str
    district: str

    def full(self) -> tuple[str, str]:
        parts = [self.given] + ([self.middle] if self.middle else []) + [self.family]
        return " ".join(p[0] for p in parts), " ".join(p[1] for p in parts)


@dataclass(frozen=True)
class Pair:
    left: Record
    right: Record
    same: bool
    kind: str  # duplicate | sibling | twin | parent | spouse | namesake | similar-name


@lru_cache(maxsize=1)
def _corpus() -> tuple[list[tuple[str, str]], dict[str, list[str]], dict[str, list[str]]]:
    names = [(unicodedata.normalize("NFC", en), unicodedata.normalize("NFC", hi)) for en, hi in
             given_names()]  # fmt: skip
    latin_of: dict[str, list[str]] = defaultdict(list)
    for en, hi in names:
        latin_of[hi].append(en)
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for en, _ in names:
        by_prefix[fold(en)[:2]].append(en)
    return names, dict(latin_of), dict(by_prefix)


def _sex_of(latin: str) -> str:
    return "F" if latin.lower().endswith(("a", "i", "ee", "ya")) else "M"


def _pick_given(rng: random.Random, sex: str) -> tuple[str, str]:
    names = _corpus()[0]
    while True:
        name = rng.choice(names)
        if _sex_of(name[0]) == sex:
            return name


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice('6789')}{rng.randrange(10**9):09d}"


def _male_name(rng: random.Random, family: tuple[str, str], muslim: bool) -> tuple[str, str]:
    given = _pick_given(rng, "M")
    if muslim and rng.random() < 0.5:
        given = (f"Mohammad {given[0]}", f"मोहम्मद {given[1]}")
    return f"{given[0]} {family[0]}", f"{given[1]} {family[1]}"


def person(rng: random.Random, **fixed: object) -> Person:
    muslim = rng.random() < 0.15
    surnames = MUSLIM_SURNAMES_HI if muslim else SURNAMES_HI
    family = rng.choice(list(surnames.items()))
    sex = rng.choice("MF")
    age = rng.randint(0, 85)
    dob = date(2024 - age, 1, 1) + timedelta(days=rng.randrange(365))
    married = sex == "F" and age >= 20 and rng.random() < 0.8
    values: dict[str, object] = {
        "given": _pick_given(rng, sex),
        "family": family,
        "middle": rng.choice(MIDDLE) if sex == "M" and not muslim and rng.random() < 0.2 else None,
        "muslim": muslim,
        "sex": sex,
        "dob": dob,
        "father": _male_name(rng, family, muslim),
        "husband": _male_name(rng, family, muslim) if married else None,
        "mobile": _mobile(rng),
        "district": rng.choice(DISTRICTS),
    }
    values.update(fixed)
    return Person(**values)  # type: ignore[arg-type]


# --- noise -------------------------------------------------------------------------


def latin_variant(rng: random.Random, word: str) -> str:
    """Another way a clerk might spell the same name in Latin letters."""
    _, latin_of, _ = _corpus()
    others = [w for hi, ws in latin_of.items() if word in ws for w in ws if w != word]
    if word in SURNAME_VARIANTS:
        others += SURNAME_VARIANTS[word]
    if others and rng.random() < 0.6:
        return rng.choice(others)
    rules = [
        ("aa", "a"), ("a", "aa"), ("ee", "i"), ("i", "ee"), ("oo", "u"), ("u", "oo"),
        ("v", "w"), ("w", "v"), ("sh", "s"), ("s", "sh"), ("ph", "f"), ("f", "ph"),
        ("ks", "x"), ("x", "ks"), ("z", "j"), ("au", "ou"), ("ou", "au"), ("y", "i"),
    ]  # fmt: skip
    lower = word.lower()
    options = [(a, b) for a, b in rules if a in lower[1:]]
    if lower[-1] not in "aeiou":
        options.append(("$", "a"))
    elif lower.endswith("a") and len(lower) > 3:
        options.append(("a$", ""))
    if not options:
        return word
    old, new = rng.choice(options)
    if old == "$":
        return word + new
    if old == "a$":
        return word[:-1]
    at = lower.find(old, 1)
    out = lower[:at] + new + lower[at + len(old) :]
    return out[:1].upper() + out[1:]


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    if not word.isascii():
        options = [(a, b) for a, b in MATRA_SWAPS if a in word]
        if options:
            a, b = rng.choice(options)
            return word.replace(a, b, 1)
        return word
    i = rng.randrange(1, len(word))
    kind = rng.choice(["swap", "drop", "double", "near"])
    if kind == "swap" and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    row = next((r for r in KEYBOARD.split() if word[i].lower() in r), "")
    if not row:
        return word
    j = row.index(word[i].lower())
    near = row[max(j - 1, 0)] if rng.random() < 0.5 or j == len(row) - 1 else row[j + 1]
    return word[:i] + near + word[i + 1 :]


def _words(person_: Person, script: int, rng: random.Random, noise: float) -> list[str]:
    """The person's name as a clerk might write it, in one script (0 Latin, 1 Devanagari)."""
    given, family, middle = person_.given[script], person_.family[script], person_.middle
    if script == 0 and rng.random() < 0.35 * noise:
        given = latin_variant(rng, given)
    if script == 0 and rng.random() < 0.2 * noise:
        family = latin_variant(rng, family)
    if script == 1 and rng.random() < 0.1 * noise:
        given = typo(rng, given)
    words = [given]
    if middle:
        roll = rng.random()
        if roll < 0.3 * noise:
            pass  # middle name left out
        elif roll < 0.5 * noise and script == 0:
            words.append(middle[0][0] + ".")
        else:
            words.append(middle[script])
    if person_.sex == "F" and rng.random() < 0.25:
        words.append(("Devi", "देवी")[script] if rng.random() < 0.6 else ("Kumari", "कुमारी")[script])
    if rng.random() >= 0.05 * noise:
        words.append(family)
    if person_.muslim and person_.sex == "M" and rng.random() < 0.5:
        words.insert(0, rng.choice((MOHAMMAD_EN, MOHAMMAD_HI)[script]))
    if script == 0 and rng.random() < 0.15 * noise:
        i = rng.randrange(len(words))
        words[i] = typo(rng, words[i])
    if len(words) >= 2 and rng.random() < 0.08 * noise:
        words[0], words[-1] = words[-1], words[0]
    if script == 0 and len(words) >= 2 and rng.random() < 0.04 * noise:
        words[0] = words[0][0] + "."
    if rng.random() < 0.15 * noise:
        words.insert(0, rng.choice((TITLES_EN, TITLES_HI)[script][person_.sex]))
    return words


def _name_pair(words: list[str], script: int, rng: random.Random) -> tuple[str, str]:
    typed = unicodedata.normalize("NFC", " ".join(words))
    # Half the time the clerk accepts the counter's suggestion in the other script.
    other = ""
    if rng.random() < 0.5:
        other = to_devanagari(typed) if script == 0 else to_latin(typed)
    return (typed, other) if script == 0 else (other, typed)


def _guardian(person_: Person, rng: random.Random, noise: float) -> tuple[str, str]:
    if rng.random() < 0.15 * noise + 0.05:
        return "", ""
    if person_.husband and rng.random() < 0.75:
        relation, name = "W/O", person_.husband
    else:
        relation, name = ("S/O" if person_.sex == "M" else "D/O"), person_.father
    script = rng.randrange(2)
    text = name[script]
    if script == 0 and rng.random() < 0.25 * noise:
        words = text.split()
        i = rng.randrange(len(words))
        words[i] = rng.choice([latin_variant, typo])(rng, words[i])
        text = " ".join(words)
    if rng.random() < 0.1 * noise:
        text = rng.choice((TITLES_EN, TITLES_HI)[script]["M"]) + " " + text
    return relation, text


def register(person_: Person, rng: random.Random, on: date, noise: float = 1.0) -> Record:
    """One registration of ``person_`` on day ``on`` at a counter."""
    script = rng.randrange(2)
    name_en, name_hi = _name_pair(_words(person_, script, rng, noise), script, rng)
    roll = rng.random()
    birth: date | None
    if roll < 0.5:
        birth, estimated = person_.dob, False
        if rng.random() < 0.04 * noise:  # day and month swapped, or a digit wrong
            d = person_.dob
            birth = (
                date(d.year, d.day, d.month)
                if d.day <= 12
                else date(d.year, d.month, d.day // 2 + 1)
            )
    elif roll < 0.88:
        true_age = (on - person_.dob).days // 365
        spread = 1 + true_age / 25
        age = max(0, round(true_age + rng.gauss(0, spread * noise)))
        if true_age > 40 and rng.random() < 0.3:
            age = 5 * round(age / 5)
        birth, estimated = date(on.year - age, on.month, min(on.day, 28)), True
    else:
        birth, estimated = None, False
    relation, guardian = _guardian(person_, rng, noise)
    mobile = person_.mobile
    if rng.random() < 0.2 * noise:
        mobile = _mobile(rng)
    elif rng.random() < 0.05:
        mobile = ""
    district = person_.district
    if rng.random() < 0.03 * noise:
        district = rng.choice(DISTRICTS)
    sex = person_.sex if rng.random() > 0.005 else ""
    return Record(
        name_en=name_en,
        name_hi=name_hi,
        sex=sex,
        birth_date=birth,
        birth_estimated=estimated,
        guardian_relation=relation,
        guardian_name=guardian,
        mobile=mobile,
        district=district.lower() if rng.random() > 0.03 else "",
    )


def _similar_given(rng: random.Random, given: tuple[str, str], sex: str) -> tuple[str, str]:
    """Another corpus name whose key differs by a little (Sunil, Sunit; Ramesh, Rakesh)."""
    names, latin_of, by_prefix = _corpus()
    key = fold(given[0])
    pool = by_prefix.get(key[:2], [])
    hi_of = {en: hi for en, hi in names}
    options = [
        en
        for en in pool
        if fold(en) != key and JaroWinkler.normalized_similarity(fold(en), key) >= 0.8
    ]
    same_sex = [en for en in options if _sex_of(en) == sex]
    if same_sex:
        options = same_sex
    if not options:
        return _pick_given(rng, sex)
    en = rng.choice(options)
    return en, hi_of[en]


def _relative_pair(rng: random.Random, kind: str) -> tuple[Person, Person]:
    a = person(rng)
    share = rng.random() < 0.6  # the family's one phone
    mobile = a.mobile if share else _mobile(rng)
    if kind in ("sibling", "twin"):
        sex = rng.choice("MF")
        gap = 0 if kind == "twin" else rng.randint(1, 12) * rng.choice((-1, 1))
        dob = a.dob if kind == "twin" else a.dob + timedelta(days=365 * gap + rng.randrange(200))
        b = person(
            rng,
            family=a.family,
            muslim=a.muslim,
            middle=a.middle if sex == "M" else None,
            sex=sex,
            dob=min(dob, date(2024, 12, 31)),
            father=a.father,
            husband=None,
            mobile=mobile,
            district=a.district,
        )
    elif kind == "parent":
        born = date(rng.randint(1950, 1985), 1, 1) + timedelta(days=rng.randrange(365))
        a = replace(a, sex="M", given=_pick_given(rng, "M"), husband=None, dob=born)
        father = a.full()
        child_sex = rng.choice("MF")
        b = person(
            rng,
            family=a.family,
            muslim=a.muslim,
            sex=child_sex,
            dob=a.dob + timedelta(days=365 * rng.randint(18, 38)),
            father=father,
            husband=None,
            mobile=mobile,
            district=a.district,
        )
    else:  # spouse
        a = replace(a, sex="M", given=_pick_given(rng, "M"), husband=None)
        b = person(
            rng,
            family=a.family,
            muslim=a.muslim,
            sex="F",
            middle=None,
            dob=a.dob + timedelta(days=rng.randint(-3, 12) * 365),
            husband=a.full(),
            mobile=a.mobile if rng.random() < 0.7 else _mobile(rng),
            district=a.district,
        )
    if b.dob > date(2024, 12, 31):
        b = replace(b, dob=date(2024, 6, 1))
    return a, b


def _lookalike_pair(rng: random.Random, kind: str) -> tuple[Person, Person]:
    a = person(rng)
    given = a.given if kind == "namesake" else _similar_given(rng, a.given, a.sex)
    b = person(
        rng,
        given=given,
        family=a.family,
        muslim=a.muslim,
        middle=a.middle if rng.random() < 0.5 else None,
        sex=a.sex,
        district=a.district,
    )
    return a, b


NEGATIVE_KINDS = (
    ("sibling", 0.25),
    ("twin", 0.03),
    ("parent", 0.12),
    ("spouse", 0.10),
    ("namesake", 0.25),
    ("similar-name", 0.25),
)


def pairs(count: int, seed: int) -> list[Pair]:
    """``count`` labelled pairs, half duplicates, reproducible from ``seed``."""
    rng = random.Random(seed)
    out: list[Pair] = []
    kinds, weights = zip(*NEGATIVE_KINDS, strict=True)
    for i in range(count):
        first = date(2025, 1, 1) + timedelta(days=rng.randrange(2 * 365))
        second = first + timedelta(days=rng.randrange(3 * 365))
        if i % 2 == 0:
            p = person(rng)
            out.append(
                Pair(register(p, rng, first, 0.3), register(p, rng, second), True, "duplicate")
            )
            continue
        kind = rng.choices(kinds, weights)[0]
        if kind in ("namesake", "similar-name"):
            a, b = _lookalike_pair(rng, kind)
        else:
            a, b = _relative_pair(rng, kind)
        out.append(Pair(register(a, rng, first, 0.3), register(b, rng, second), False, kind))
    return out
