"""Is this the same patient? Pure functions to find duplicate registrations (issue 11).

A patient registered at two counters may have been typed in Devanagari at one and
in Latin letters at the other, with different spellings (Sunita, Suneeta, सुनीता),
a title (Smt., श्री), an initial (R. K. Sharma), the names swapped, an age instead
of a date of birth, or a new mobile number. This module gives:

* ``name_tokens`` / ``phonetic_key``: a spelling- and script-independent key of a
  name. Devanagari is converted to Latin by indic-transliteration (ITRANS) and both
  are then folded by a phonetic layer: the Sanskrit final schwa and the Hindi medial
  schwa are dropped (राम "rAma" -> ram; कमलेश "kamalesh" -> kamlesh), long and short
  vowels fold (aa/a, ee/i, oo/u), aspirates lose their h (bh/b, sh/s, ph/f ...),
  v/w, z/j, q/k, x/ks fold, doubled letters become single, titles and filler words
  (Shri, Smt, Dr, Kumari, Devi, Kumar, Mohd/Md/Mohammad ...) are dropped and initials
  are kept as initials.
* ``compare``: a score in [0, 1] for two records and the evidence behind it, field
  by field (name in either script, guardian, sex, birth, mobile, district). The
  weights are log-odds in the spirit of Fellegi-Sunter, tuned on synthetic pairs of
  one seed and measured on another (``python -m bench.matching``, docs/matching.md).
* ``blocking_keys``: a few keys per record such that a duplicate almost always
  shares one with the original, so that finding candidates among millions of
  patients looks up a few small buckets and never compares all pairs.

No database here: callers turn a ``Patient`` into a ``Record`` with ``from_patient``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import JaroWinkler

# A score at or above this is offered to the clerk as a likely duplicate.
THRESHOLD = 0.6

_DEVANAGARI_RE = re.compile(r"[\u0900-\u097F]")
_TOKEN_RE = re.compile(r"[A-Za-z]+\.?|[\u0900-\u097F\u200C\u200D]+\.?")

# Latin letters as spoken in Hindi, written in Devanagari: "आर. के. शर्मा" is R. K. Sharma.
_LETTER_NAMES = {
    "ए": "a", "बी": "b", "सी": "c", "डी": "d", "ई": "e", "एफ": "f", "एफ़": "f", "जी": "g",
    "एच": "h", "आई": "i", "जे": "j", "के": "k", "एल": "l", "एम": "m", "एन": "n", "ओ": "o",
    "पी": "p", "क्यू": "q", "आर": "r", "एस": "s", "टी": "t", "यू": "u", "वी": "v",
    "डब्ल्यू": "w", "एक्स": "x", "वाई": "y", "जेड": "z", "ज़ेड": "z",
}  # fmt: skip

# Titles, and words that carry no identity (Devi, Kumar, Bhai ...), in either script;
# dropped before names are compared. Compared after folding, so every spelling counts.
_TITLES = """
shri sri shree shrimati srimati smt sushri sh km kum mr mrs ms miss master baby dr doctor
late swargiya sw sahab sahib ji श्री श्रीमती सुश्री डॉ डॉक्टर स्व स्वर्गीय जी
"""
_FILLER = "kumari kumar devi bai ben bhai begum bibi कुमारी कुमार देवी बाई बेन भाई बेगम बीबी"
_MOHAMMAD = """
mohd md mohammad mohammed muhammad muhammed mohamed mohmmad mohammod mohamad mo
मोहम्मद मुहम्मद मोहमद मो मु
"""
_DROPPED_WORDS = _TITLES + _FILLER + _MOHAMMAD

_ITRANS_TO_LATIN = (
    ("R^i", "ri"),
    ("RRi", "ri"),
    ("R^I", "ri"),
    ("RRI", "ri"),
    ("j~n", "gy"),
    ("GY", "gy"),
    ("kSh", "ksh"),
    ("x", "ksh"),
    ("Ch", "ch"),
    ("Sh", "sh"),
    ("~N", "n"),
    ("~n", "n"),
    (".N", "n"),
    (".n", "n"),
    (".h", ""),
    (".a", ""),
    ("^", ""),
    ("M", "n"),
    ("\u0949", "o"),  # ॉ (the English o of डॉक्टर) has no ITRANS letter
    ("\u0945", "e"),
)

# Ordered rewrites of a lower-case Latin word into its phonetic key.
_FOLDS = (
    (re.compile(r"[^a-z]"), ""),
    (re.compile(r"x"), "ks"),
    (re.compile(r"q"), "k"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"c(?!h)"), "k"),
    (re.compile(r"chh|ch"), "c"),
    (re.compile(r"w"), "v"),
    (re.compile(r"z"), "j"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"sh"), "s"),
    # An aspirate is the consonant and an h: bh/b, dh/d, kh/k, th/t, gh/g, jh/j.
    (re.compile(r"([bdgjkpt])h"), r"\1"),
    (re.compile(r"ee|ii|ie"), "i"),
    (re.compile(r"oo|uu"), "u"),
    (re.compile(r"aa"), "a"),
    (re.compile(r"eya$|ey$"), "e"),  # Pandey, Pandeya, पांडेय
    (re.compile(r"ao$"), "av"),  # Rao, राव
    (re.compile(r"ay$"), "ai"),  # Vijay, Vijai, विजय
    (re.compile(r"ai|ae|ei"), "e"),  # Qureshi, Quraishi, क़ुरैशी
    (re.compile(r"au|ou"), "o"),  # Chauhan, Chouhan, चौहान; Rathore, राठौर
    (re.compile(r"(?<=..[^aeiou])e$"), ""),  # Rathore, Dubey (ey -> e above), दुबे
    (re.compile(r"m(?=[bp])"), "n"),  # Shambhu, शंभु (anusvara)
    (re.compile(r"(.)\1+"), r"\1"),
)
_VOWELS = frozenset("aeiou")


def _itrans_to_latin(word: str) -> str:
    # Imported here: indic-transliteration loads every script's tables (~10 MB, 0.4 s),
    # which a node needs only once it matches a Devanagari name.
    from indic_transliteration import sanscript

    text: str = sanscript.transliterate(word, sanscript.DEVANAGARI, sanscript.ITRANS)
    for old, new in _ITRANS_TO_LATIN:
        text = text.replace(old, new)
    return text.lower()


def _drop_final_schwa(word: str) -> str:
    if len(word) >= 2 and word.endswith("a") and word[-2] not in _VOWELS:
        return word[:-1]
    return word


def _drop_schwas(word: str) -> str:
    """Drop the a's a Hindi speaker does not say, the same way for both scripts.

    The final one after a consonant (राम is ram, Rama is ram, Sunita is sunit), then,
    from the right, a medial one between a vowel-consonant and a consonant-vowel
    (kamalesh -> kamlesh, jasavant -> jasvant) or a consonant cluster such as pr or tr
    (gurapreet -> gurpreet), but not before a nasal cluster (bhagavanti stays).
    """
    w = list(_drop_final_schwa(word))
    i = len(w) - 3
    while i >= 2:
        deletable = w[i] == "a" and w[i - 1] not in _VOWELS and w[i - 2] in _VOWELS
        if deletable and w[i + 1] not in _VOWELS:
            after = w[i + 2]
            cluster = (
                w[i + 1] not in "nm" and after in "rlyv" and i + 3 < len(w) and w[i + 3] in _VOWELS
            )
            if after in _VOWELS or cluster:
                del w[i]
                i -= 2
                continue
        i -= 1
    return "".join(w)


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """The phonetic key of one word in either script: राम, Ram and Raam all give "ram"."""
    text = word.strip(".").strip()
    if _DEVANAGARI_RE.search(text):
        text = _itrans_to_latin(text)
    text = _drop_final_schwa(text.lower())  # before the folds: राय "raya" is Rai
    for pattern, replacement in _FOLDS:
        text = pattern.sub(replacement, text)
    text = _drop_schwas(text)
    text = re.sub(r"([dt])[aei]r$", r"\1r", text)  # Surinder, Surendra, सुरिंदर
    return re.sub(r"(.)\1+", r"\1", text)


def _folded(words: str) -> frozenset[str]:
    return frozenset(fold(w) for w in words.split()) | frozenset(words.split())


@lru_cache(maxsize=1)
def _dropped() -> frozenset[str]:
    return _folded(_DROPPED_WORDS)


@lru_cache(maxsize=1)
def _titles() -> frozenset[str]:
    return _folded(_TITLES)


@lru_cache(maxsize=1)
def _mohammad() -> frozenset[str]:
    return _folded(_MOHAMMAD)


_INITIAL_FOLDS = str.maketrans("wzqx", "vjkk")


def _initial(token: str) -> str | None:
    """The letter of an initial (R. or R or आर. or ज.), or None for a name word."""
    bare = token.rstrip(".")
    if bare.isascii():
        return bare.lower().translate(_INITIAL_FOLDS) if len(bare) == 1 else None
    if not token.endswith("."):
        return None
    if bare in _LETTER_NAMES:
        return _LETTER_NAMES[bare]
    if len(bare) <= 2:  # one consonant, perhaps with a vowel sign: the counter's ज. for J.
        return fold(bare)[:1] or None
    return None


@lru_cache(maxsize=200_000)
def name_tokens(name: str) -> tuple[str, ...]:
    """The words of a name as phonetic keys, titles and filler dropped; an initial is
    its letter followed by a dot ("r.").

    A name that is nothing but filler ("Mohammad", "Kumari") keeps it, Mohd./Md./
    मोहम्मद all as "mohmad"; titles alone give no name.
    """
    out: list[str] = []
    filler: list[str] = []
    for raw in _TOKEN_RE.findall(name or ""):
        found = _tokens.get(raw)
        if found is None:
            if len(_tokens) >= _TOKENS_AT_MOST:
                _tokens.clear()
            found = _tokens[raw] = _token(raw)
        kind, key = found
        if kind is _WORD:
            out.append(key)
        elif kind is _FILLER:
            filler.append(key)
    return tuple(out or filler)


# What one word of a name is (``_token``), remembered: a registry's hundreds of
# thousands of names are made of a few tens of thousands of words.
_WORD, _FILLER, _NOTHING = "word", "filler", "nothing"
_tokens: dict[str, tuple[str, str]] = {}
_TOKENS_AT_MOST = 200_000


def _token(raw: str) -> tuple[str, str]:
    """One word of a name as ``name_tokens`` takes it: a word of the name (its key, or
    an initial's letter and a dot), filler (kept only if the name has nothing else), or
    nothing (a title, or no letters)."""
    letter = None if raw.rstrip(".") in _mohammad() else _initial(raw)  # मो. is Mohd.
    if letter is not None:
        return _WORD, letter + "."
    bare = raw.rstrip(".")
    key = fold(bare)
    if not key:
        return _NOTHING, ""
    dropped = _dropped()
    if bare in dropped or key in dropped:
        if bare in _mohammad() or key in _mohammad():
            return _FILLER, "mohmad"
        if bare not in _titles() and key not in _titles():
            return _FILLER, key
        return _NOTHING, ""
    return _WORD, key


def phonetic_key(name: str) -> str:
    """A name's key as one string: "श्रीमती सुनीता शर्मा" and "Smt. Suneeta Sharma" both give
    "sunit sarm"."""
    return " ".join(name_tokens(name))


# --- comparing names ---------------------------------------------------------------


@dataclass(frozen=True)
class NameAgreement:
    similarity: float  # of the least similar pair of words matched, 0..1
    mean: float  # over the words matched
    extra: int  # words of the longer name with no partner
    by_initial: int  # words matched only through an initial
    swapped: bool  # the words matched in a different order
    left: str
    right: str


def _word_similarity(a: str, b: str) -> tuple[float, bool]:
    """(similarity, through an initial?) of two name words (phonetic keys)."""
    a_initial, b_initial = a.endswith("."), b.endswith(".")
    if a_initial or b_initial:
        if a_initial and b_initial:
            return (0.9 if a == b else 0.0), True
        return (0.9 if a[0] == b[0] else 0.0), True
    if a == b:
        return 1.0, False
    return JaroWinkler.normalized_similarity(a, b), False


# Two name words' ``_word_similarity``, remembered: the same surnames meet again and
# again among a worklist's millions of candidate pairs.
_word_pairs: dict[tuple[str, str], tuple[float, bool]] = {}
_WORD_PAIRS_AT_MOST = 1_000_000


def _word_pair(a: str, b: str) -> tuple[float, bool]:
    found = _word_pairs.get((a, b))
    if found is None:
        found = _word_similarity(a, b)
        if len(_word_pairs) >= _WORD_PAIRS_AT_MOST:
            _word_pairs.clear()
        _word_pairs[(a, b)] = found
    return found


def _most_similar_first(pair: tuple[float, bool, int, int]) -> float:
    return pair[0]


@lru_cache(maxsize=100_000)  # common names meet again and again among the candidates
def compare_names(left: tuple[str, ...], right: tuple[str, ...]) -> NameAgreement | None:
    """How well two names (as ``name_tokens``) agree, in any order; None if one is empty."""
    if len(left) == 2 == len(right):
        l0, l1 = left
        r0, r1 = right
        if not (l0.endswith(".") or l1.endswith(".") or r0.endswith(".") or r1.endswith(".")):
            return _two_words_each(l0, l1, r0, r1)
    return _compare_names(left, right)


def _two_words_each(l0: str, l1: str, r0: str, r1: str) -> NameAgreement:
    """``_compare_names`` of two names of two whole words each (most names): the same
    answer without its general machinery, which was most of scoring a worklist's millions
    of candidate pairs (tests/registration/test_matching.py checks the two agree).

    Of the two ways to pair the words, ``_compare_names`` takes the one holding the most
    similar pair - the first such in the order (0, 0), (0, 1), (1, 0), (1, 1) - and the
    other two words are then partners. Lengths equal: no whole-name comparison, no extra.
    """
    s00 = _word_pair(l0, r0)[0]
    s01 = _word_pair(l0, r1)[0]
    s10 = _word_pair(l1, r0)[0]
    s11 = _word_pair(l1, r1)[0]
    top = max(s00, s01, s10, s11)
    straight = s00 == top or (s01 != top and s10 != top)
    a, b = (s00, s11) if straight else (s01, s10)
    return NameAgreement(min(a, b), (a + b) / 2, 0, 0, not straight, f"{l0} {l1}", f"{r0} {r1}")


def _compare_names(left: tuple[str, ...], right: tuple[str, ...]) -> NameAgreement | None:
    """``compare_names`` of names of any length: each word paired greedily with its most
    similar partner, most similar pairs first."""
    if not left or not right:
        return None
    short, long_ = (left, right) if len(left) <= len(right) else (right, left)
    # Most similar first; among equals, in the order of the words (a stable sort).
    pairs = sorted(
        ((*_word_pair(s, t), i, j) for i, s in enumerate(short) for j, t in enumerate(long_)),
        key=_most_similar_first,
        reverse=True,
    )
    used_s: set[int] = set()
    used_l: set[int] = set()
    matched: list[tuple[float, bool, int, int]] = []
    for sim, initial, i, j in pairs:
        if i in used_s or j in used_l:
            continue
        used_s.add(i)
        used_l.add(j)
        matched.append((sim, initial, i, j))
    sims = [m[0] for m in matched]
    by_initial = sum(1 for m in matched if m[1])
    similarity, mean = min(sims), sum(sims) / len(sims)
    # Words run together or split ("Ramkumar", "Ram Kumar"): compare the whole names too.
    whole_l = "".join(t for t in left if not t.endswith("."))
    whole_r = "".join(t for t in right if not t.endswith("."))
    if len(left) != len(right) and whole_l and whole_r:
        whole = JaroWinkler.normalized_similarity(whole_l, whole_r)
        if whole > similarity and whole >= 0.9:
            similarity = mean = whole
            by_initial = 0
            return NameAgreement(similarity, mean, 0, 0, False, " ".join(left), " ".join(right))
    order = [j for _, _, _, j in sorted(matched, key=lambda m: m[2])]
    swapped = len(order) > 1 and order != sorted(order)
    return NameAgreement(
        similarity,
        mean,
        len(long_) - len(short),
        by_initial,
        swapped,
        " ".join(left),
        " ".join(right),
    )


# Middle words a name often has at one counter and not at the other.
_WEAK_WORDS = "prasad lal chand chandra nath singh narayan kaur"


@lru_cache(maxsize=1)
def _weak() -> frozenset[str]:
    return frozenset(fold(w) for w in _WEAK_WORDS.split())


@lru_cache(maxsize=100_000)
def _without_weak(tokens: tuple[str, ...]) -> list[tuple[tuple[str, ...], frozenset[str]]]:
    """The name, and the name without its weak middle words (with those words)."""
    weak = _weak()
    stripped = tuple(t for t in tokens if t not in weak)
    if stripped and stripped != tokens:
        return [(tokens, frozenset()), (stripped, frozenset(tokens) & weak)]
    return [(tokens, frozenset())]


def _name_weight(agreement: NameAgreement, curve: Any) -> float:
    return (
        _curve(curve, agreement.similarity)
        + W_NAME_INITIAL * agreement.by_initial
        + W_NAME_EXTRA * agreement.extra
    )


@lru_cache(maxsize=100_000)
def _best_names(
    a: tuple[tuple[str, ...], ...], b: tuple[tuple[str, ...], ...], curve: Any
) -> NameAgreement | None:
    """The best agreement between any name of ``a`` and any of ``b``, with or without
    their weak middle words (a word dropped on one side only counts as extra)."""
    best: tuple[float, float, NameAgreement, int] | None = None
    for x in a:
        for y in b:
            for xv, x_weak in _without_weak(x):
                for yv, y_weak in _without_weak(y):
                    agreement = compare_names(xv, yv)
                    if agreement is None:
                        continue
                    extra = len(x_weak ^ y_weak)
                    # _name_weight of the agreement with ``extra`` more extra words, without
                    # making that agreement unless it is the best.
                    weight = (
                        _curve(curve, agreement.similarity)
                        + W_NAME_INITIAL * agreement.by_initial
                        + W_NAME_EXTRA * (agreement.extra + extra)
                    )
                    if best is None or (weight, agreement.mean) > best[:2]:
                        best = (weight, agreement.mean, agreement, extra)
    if best is None:
        return None
    _, _, agreement, extra = best
    return replace(agreement, extra=agreement.extra + extra) if extra else agreement


# --- records -----------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What the matcher reads of a patient."""

    name_en: str = ""
    name_hi: str = ""
    sex: str = ""  # M | F | O | ""
    birth_date: date | None = None
    birth_estimated: bool = False  # worked out from an age
    guardian_relation: str = ""  # S/O D/O W/O C/O
    guardian_name: str = ""
    mobile: str = ""
    district: str = ""

    def names(self) -> tuple[tuple[str, ...], ...]:
        """The name's keys in each script it was written in (once if they agree)."""
        return _names_of(self.name_en, self.name_hi)


def _names_of(name_en: str, name_hi: str) -> tuple[tuple[str, ...], ...]:
    spelt = (name_en, name_hi)
    found = _names.get(spelt)
    if found is None:
        if len(_names) >= _NAMES_AT_MOST:
            _names.clear()
        found = _names[spelt] = _worked_out(spelt)
    return found


def _worked_out(spelt: tuple[str, str]) -> tuple[tuple[str, ...], ...]:
    keys: list[tuple[str, ...]] = []
    for name in spelt:
        tokens = name_tokens(name)
        if tokens and tokens not in keys:
            keys.append(tokens)
    return tuple(keys)


def names_of_text(text: str) -> dict[tuple[str, str], tuple[tuple[str, ...], ...]]:
    """``Record.names`` of each spelling in ``text`` (``candidates.spellings_text``: each
    name_en, ``\x1f``, name_hi, a ``\x1e`` between), none remembered: the duplicate
    worklist's backfill has them worked out in a worker while it reads the records.
    Each is a function of its spelling: one the text split wrongly (a name holding a
    separator) is a spelling no record has, never another's names."""
    spellings: dict[tuple[str, str], None] = {}
    for spelt in text.split("\x1e") if text else ():
        name_en, _, name_hi = spelt.partition("\x1f")
        spellings[name_en, name_hi] = None
    return {spelt: _worked_out(spelt) for spelt in spellings}


# Each spelling's names (``Record.names``), remembered - or handed over by a process
# that has worked them out (``remember_names``).
_names: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {}
_NAMES_AT_MOST = 200_000


def remember_names(known: dict[tuple[str, str], tuple[tuple[str, ...], ...]]) -> None:
    """Take ``Record.names`` of these spellings as they were worked out before (the same
    function of the same text): the processes that judge the duplicate worklist's pairs
    take those its screen worked out, where each would otherwise work out the names of
    every record it scores again (3.2 s of two such processes' CPU at 500,000 patients,
    when each worked them out itself)."""
    if len(_names) + len(known) > _NAMES_AT_MOST:
        _names.clear()
    _names.update(known)


def district_of(value: str | None) -> str:
    """A district as a ``Record`` holds it. Every way a record is made (from a patient,
    from the table's row, from a registration's body during a restore) goes through
    here: a restore keeps a registration's keys only where these records agree."""
    return (value or "").strip().lower()


def from_patient(patient: Any) -> Record:
    """The ``Record`` of a registration ``Patient`` (or anything with its fields)."""
    return Record(
        name_en=patient.name_en or "",
        name_hi=patient.name_hi or "",
        sex=patient.sex or "",
        birth_date=patient.date_of_birth,
        birth_estimated=bool(patient.dob_estimated),
        guardian_relation=patient.guardian_relation or "",
        guardian_name=patient.guardian_name or "",
        mobile=patient.mobile or "",
        district=district_of(patient.district),
    )


@dataclass(frozen=True)
class Evidence:
    """One field's part in a comparison: how it agreed, and what that weighed (log-odds)."""

    field: str  # name | guardian | relative | sex | birth | mobile | district
    agreement: str  # e.g. same, close, similar, differs, missing
    detail: str
    weight: float


@dataclass(frozen=True)
class Match:
    score: float  # 0..1
    evidence: tuple[Evidence, ...]

    @property
    def is_likely(self) -> bool:
        return self.score >= THRESHOLD

    def of(self, field: str) -> Evidence | None:
        return next((e for e in self.evidence if e.field == field), None)


# Log-odds weights, tuned on synthetic pairs of seed 1 (bench/matching.py). The name
# weight is interpolated on the similarity of the least similar pair of words.
PRIOR = -5.0
NAME_CURVE = ((0.6, -8.0), (0.75, -5.0), (0.85, 0.0), (0.92, 2.5), (1.0, 5.0))
GUARDIAN_CURVE = ((0.6, -3.5), (0.75, -2.5), (0.85, 0.0), (0.92, 1.5), (1.0, 2.5))
W_NAME_INITIAL = -1.5  # for each word matched only through an initial
W_NAME_EXTRA = -0.5  # for each word one name has and the other has not
W_RELATIVE = -4.0  # one is named as the other's guardian: a relative, not the same person
W_SEX_SAME, W_SEX_DIFFERS = 0.5, -8.0
W_BIRTH_SAME, W_BIRTH_TYPO, W_BIRTH_DIFFERS = 4.0, 1.0, -5.0
W_AGE_CLOSE, W_AGE_FITS, W_AGE_NEAR, W_AGE_DIFFERS = 1.5, 0.5, -1.5, -4.0
W_MOBILE_SAME, W_MOBILE_DIFFERS = 2.5, -1.0
W_DISTRICT_SAME, W_DISTRICT_DIFFERS = 0.5, -1.5


def _curve(points: tuple[tuple[float, float], ...], x: float) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def _band(similarity: float) -> str:
    if similarity >= 0.999:
        return "same"
    if similarity >= 0.9:
        return "close"
    if similarity >= 0.8:
        return "similar"
    return "differs"


def _name_evidence(field: str, agreement: NameAgreement, curve: Any) -> Evidence:
    weight = _name_weight(agreement, curve)
    notes = [f"'{agreement.left}' ~ '{agreement.right}' ({agreement.similarity:.2f})"]
    if agreement.swapped:
        notes.append("words in another order")
    if agreement.by_initial:
        notes.append(f"{agreement.by_initial} by initial")
    if agreement.extra:
        notes.append(f"{agreement.extra} word(s) only in one")
    return Evidence(field, _band(agreement.similarity), "; ".join(notes), weight)


@lru_cache(maxsize=1)
def _year_of_import() -> int:
    return date.today().year  # noqa: DTZ011 - a local year is all an age tolerance needs


def _this_year() -> int:
    # Read once: the tolerance moves by a month's worth a year, and date.today() on
    # every candidate was a tenth of the time of a search.
    return _year_of_import()


def _birth_evidence(a: Record, b: Record) -> Evidence:
    x, y = a.birth_date, b.birth_date
    if x is None or y is None:
        return Evidence("birth", "missing", "no date of birth or age on one", 0.0)
    if not a.birth_estimated and not b.birth_estimated:
        if x == y:
            return Evidence("birth", "same", f"born {x.isoformat()}", W_BIRTH_SAME)
        typo = (x.year == y.year and (x.month == y.month or x.day == y.day)) or (
            x.year == y.year and x.month == y.day and x.day == y.month
        )
        typo = typo or (x.month == y.month and x.day == y.day and abs(x.year - y.year) <= 10)
        if typo:
            return Evidence("birth", "typo", f"{x.isoformat()} vs {y.isoformat()}", W_BIRTH_TYPO)
        return Evidence("birth", "differs", f"{x.isoformat()} vs {y.isoformat()}", W_BIRTH_DIFFERS)
    # An age was given: people round it, the old more than the young.
    gap = abs(x.toordinal() - y.toordinal()) / 365.25
    older = max(_this_year() - min(x.year, y.year), 0)
    tolerance = 2 + older / 12
    detail = f"{gap:.1f} years apart (age given)"
    if gap <= 1:
        return Evidence("birth", "fits", detail, W_AGE_CLOSE)
    if gap <= tolerance:
        return Evidence("birth", "fits", detail, W_AGE_FITS)
    if gap <= tolerance + 3:
        return Evidence("birth", "near", detail, W_AGE_NEAR)
    return Evidence("birth", "differs", detail, W_AGE_DIFFERS)


def _mobile(number: str) -> str:
    """A mobile number's last ten digits ("" if it has fewer). One of digits alone -
    nearly every one - is kept as it is, without the regular expression: 500,000
    numbers in 0.06 s, against 0.42 s through it behind a cache they missed (each
    patient's number is her own); no slower than that cache for numbers seen again."""
    number = number or ""
    if number.isdecimal():
        return number[-10:] if len(number) >= 10 else ""
    digits = re.sub(r"\D", "", number)
    return digits[-10:] if len(digits) >= 10 else ""


def _plain_evidence(a: Record, b: Record) -> list[Evidence]:
    """The fields that need no name comparison: sex, birth, mobile, district (cheap)."""
    evidence: list[Evidence] = []
    if a.sex and b.sex:
        if a.sex == b.sex:
            evidence.append(Evidence("sex", "same", a.sex, W_SEX_SAME))
        else:
            evidence.append(Evidence("sex", "differs", f"{a.sex} vs {b.sex}", W_SEX_DIFFERS))
    evidence.append(_birth_evidence(a, b))
    ma, mb = _mobile(a.mobile), _mobile(b.mobile)
    if ma and mb:
        if ma == mb:
            # Families share one phone: the same number is evidence, not proof.
            evidence.append(Evidence("mobile", "same", ma, W_MOBILE_SAME))
        else:
            evidence.append(Evidence("mobile", "differs", f"{ma} vs {mb}", W_MOBILE_DIFFERS))
    da, db = a.district.strip().lower(), b.district.strip().lower()
    if da and db:
        if da == db:
            evidence.append(Evidence("district", "same", da, W_DISTRICT_SAME))
        else:
            evidence.append(Evidence("district", "differs", f"{da} vs {db}", W_DISTRICT_DIFFERS))
    return evidence


def _plain_weight(a: Record, b: Record) -> float:
    """The sum of ``_plain_evidence`` weights without building the evidence (the screen
    runs on every candidate). Birth, the one costly field, is left to the evidence."""
    weight = 0.0
    if a.sex and b.sex:
        weight += W_SEX_SAME if a.sex == b.sex else W_SEX_DIFFERS
    if a.birth_date is not None and b.birth_date is not None:
        if a.birth_date == b.birth_date and not a.birth_estimated and not b.birth_estimated:
            weight += W_BIRTH_SAME
        else:
            weight += _birth_evidence(a, b).weight
    ma, mb = _mobile(a.mobile), _mobile(b.mobile)
    if ma and mb:
        weight += W_MOBILE_SAME if ma == mb else W_MOBILE_DIFFERS
    da, db = a.district, b.district
    if da and db:
        weight += (
            W_DISTRICT_SAME if da.strip().lower() == db.strip().lower() else (W_DISTRICT_DIFFERS)
        )
    return weight


# The most the names (patient's and guardian's) can add: the top of their curves.
_NAMES_AT_MOST = NAME_CURVE[-1][1] + GUARDIAN_CURVE[-1][1]


def could_match(a: Record, b: Record, threshold: float = THRESHOLD) -> bool:
    """False if ``compare(a, b)`` cannot reach ``threshold`` whatever the names say.

    A cheap screen before the name comparison, for the many candidates a common name
    brings: it never turns away a pair that ``compare`` would score at or above the
    threshold (the names are assumed to agree as well as they possibly could).
    """
    if threshold <= 0:
        return True
    if threshold >= 1:
        return False
    bound = PRIOR + _NAMES_AT_MOST + _plain_weight(a, b)
    return bound >= math.log(threshold / (1 - threshold))


@lru_cache(maxsize=100_000)
def _is_relative(names: tuple[tuple[str, ...], ...], guardian: tuple[str, ...]) -> bool:
    """The son registered S/O his father, with the father's own record beside it."""
    return any(
        (c := compare_names(keys, guardian)) is not None and c.extra == 0 and c.similarity >= 0.92
        for keys in names
    )


def _total(a: Record, b: Record, floor: float = -math.inf) -> float:
    """The log-odds of ``compare``, without building evidence; stops early (returning a
    value below ``floor``) once the names show the pair cannot reach ``floor``."""
    total = PRIOR + _plain_weight(a, b)
    names = _best_names(a.names(), b.names(), NAME_CURVE)
    if names is not None:
        total += _name_weight(names, NAME_CURVE)
    # Guardian agreement is the only thing left that can add; the relative check only
    # subtracts. Most candidates a common name brings stop here.
    if total + GUARDIAN_CURVE[-1][1] < floor:
        return total + GUARDIAN_CURVE[-1][1]
    ga, gb = name_tokens(a.guardian_name), name_tokens(b.guardian_name)
    ra, rb = a.guardian_relation, b.guardian_relation
    guardian = _best_names((ga,) if ga else (), (gb,) if gb else (), GUARDIAN_CURVE)
    if guardian is not None and not (ra and rb and ra != rb and "C/O" not in (ra, rb)):
        total += _name_weight(guardian, GUARDIAN_CURVE)
    if _is_relative(a.names(), gb) or _is_relative(b.names(), ga):
        total += W_RELATIVE
    return total


def score(a: Record, b: Record) -> float:
    """``compare(a, b).score`` without building the evidence: for ranking many candidates."""
    return 1 / (1 + math.exp(-_total(a, b)))


def compare(a: Record, b: Record) -> Match:
    """How likely ``a`` and ``b`` are the same person: a score in [0, 1] and the evidence.

    Symmetric: compare(a, b) and compare(b, a) give the same score.
    """
    evidence: list[Evidence] = []
    names = _best_names(a.names(), b.names(), NAME_CURVE)
    if names is None:
        evidence.append(Evidence("name", "missing", "no name on one", 0.0))
    else:
        evidence.append(_name_evidence("name", names, NAME_CURVE))

    ga, gb = name_tokens(a.guardian_name), name_tokens(b.guardian_name)
    ra, rb = a.guardian_relation, b.guardian_relation
    guardian = _best_names((ga,) if ga else (), (gb,) if gb else (), GUARDIAN_CURVE)
    if guardian is None:
        evidence.append(Evidence("guardian", "missing", "no guardian on one", 0.0))
    elif ra and rb and ra != rb and "C/O" not in (ra, rb):
        # A woman may be D/O her father at one counter and W/O her husband at another.
        evidence.append(Evidence("guardian", "other", f"{ra} vs {rb}", 0.0))
    else:
        evidence.append(_name_evidence("guardian", guardian, GUARDIAN_CURVE))

    if _is_relative(a.names(), gb) or _is_relative(b.names(), ga):
        evidence.append(
            Evidence("relative", "guardian", "one is named as the other's guardian", W_RELATIVE)
        )
    evidence += _plain_evidence(a, b)
    total = PRIOR + sum(e.weight for e in evidence)
    return Match(1 / (1 + math.exp(-total)), tuple(evidence))


def likely_duplicates(
    record: Record, candidates: list[Any], threshold: float = THRESHOLD, limit: int = 5
) -> list[tuple[Any, Match]]:
    """The candidates (anything with a ``.record`` or a ``Record`` itself) that score at
    least ``threshold`` against ``record``, best first, at most ``limit``."""
    if not 0 < threshold < 1:
        raise ValueError("threshold must be between 0 and 1")
    floor = math.log(threshold / (1 - threshold))
    found = []
    for candidate in candidates:
        other = candidate if isinstance(candidate, Record) else candidate.record
        if not could_match(record, other, threshold):
            continue
        if _total(record, other, floor) >= floor:
            found.append((candidate, compare(record, other)))
    found.sort(key=lambda pair: -pair[1].score)
    return found[:limit]


# --- blocking ----------------------------------------------------------------------


@lru_cache(maxsize=1 << 16)  # names repeat: a restore files hundreds of thousands
def _skeleton(key: str) -> str:
    """A coarser key for blocking: the first letter and the next three consonants, so a
    changed vowel or a typo late in the word keeps the bucket."""
    if not key:
        return ""
    rest = [c for c in key[1:] if c not in _VOWELS and c != "h" and c != "y"]
    return key[0] + "".join(rest[:3])


def blocking_keys(record: Record, *, for_search: bool = False) -> set[str]:
    """Keys under which to file a record (or, ``for_search``, to look one up); two
    records are compared only if the search keys of one meet the filed keys of the other.

    * the mobile number;
    * the first full name word's skeleton with the sex and the birth year band (five
      years) - for a name written without its surname. A record is filed under its
      band and the nearer neighbouring band but looked up under its own band only:
      birth years up to two apart still meet, and a search reads half the records;
    * the skeletons of two name words together (in sorted order: swapped names meet);
    * a name word's skeleton with the guardian's first word's skeleton.

    Only the first word goes with the birth year: a surname with a year band would make
    buckets of thousands at a million patients.
    """
    keys: set[str] = set()
    mobile = _mobile(record.mobile)
    if mobile:
        keys.add("m:" + mobile)
    guardian = [t for t in name_tokens(record.guardian_name) if not t.endswith(".")]
    guardian_key = _skeleton(guardian[0]) if guardian else ""
    year = record.birth_date.year if record.birth_date else None
    for tokens in record.names():
        words = sorted({_skeleton(t) for t in tokens if not t.endswith(".")})
        first = next((_skeleton(t) for t in tokens if not t.endswith(".")), "")
        if first and year is not None:
            band = year // 5
            keys.add(f"y:{first}:{record.sex}:{band}")
            if not for_search:
                keys.add(f"y:{first}:{record.sex}:{band + (1 if year % 5 >= 3 else -1)}")
        for word in words:
            if guardian_key:
                keys.add(f"g:{word}:{guardian_key}")
        for i, one in enumerate(words):
            for other in words[i + 1 :]:
                keys.add(f"n:{one}:{other}")
    return keys
