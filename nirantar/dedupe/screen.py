"""A screen of a worklist's millions of candidate pairs at once, before the exact scoring.

After a restore of half a million patients, 7 million candidate pairs share a blocking
key and about 150,000 are likely. Judging each candidate in Python (``scoring``) took
minutes: two thirds of it comparing names, word by word. Here every candidate gets an
*upper bound* of the log-odds ``matching._total`` would give it, from arrays (numpy),
in a few passes over all of them:

* the plain fields (sex, birth, mobile, district) exactly as ``matching._plain_weight``
  sums them;
* the names, patient's and guardian's: the best of every way of writing each name
  (``Record.names``, with and without weak middle words, as ``matching._best_names``
  takes them), each from its words' Jaro-Winkler similarities - a matrix of every two
  words of the registry when there are few enough words (rounded *up*), else worked out
  pair by pair (``rapidfuzz.process.cpdist``). For names of one or two whole words each
  the bound is the similarity of the better way to pair the words; a word one name
  has and the other not costs what it costs there, unless the whole names run together
  agree as ``_compare_names`` lets them. Longer names: no word of the shorter can agree
  better than with its most similar partner. A name with an initial or of more than
  four words is not bounded (its weight is taken at the top of the curve);
* penalties that only subtract (initials, weak words, the relative check) are left out.

A pair whose bound is below the floor cannot be likely and is dropped. Every other pair
is judged exactly by ``scoring.score_pairs``, so the worklist is the same with or
without the screen; only the work is less (tests/dedupe/test_screen.py checks the bound
against ``_total`` on every pair of a mixed population).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from nirantar.dedupe.scoring import FLOOR
from nirantar.registration import matching

# Up to this many distinct words, their similarities are worked out once, all at once,
# into a matrix of a byte each (100 MB at most); beyond it, pair by pair.
DENSE_WORDS = 10_000
_WORDS_AT_MOST = 4  # a name of more words is not bounded
_STEPS = 255  # a similarity in the matrix is rounded up to the next 255th
_MARGIN = 1e-6  # a bound this close to the floor lets the pair through

_Variants = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # start, count, open, flat


class Screen:
    """The arrays of a list of records; pairs are given as two arrays of indices into
    that list. None: no record (a patient filed under keys but registered after the
    records were read; her registration scored her pairs itself), no pair with it."""

    def __init__(
        self,
        records: Sequence[matching.Record | None],
        names: dict[tuple[str, str], tuple[tuple[str, ...], ...]] | None = None,
    ) -> None:
        """``names``: ``Record.names`` of spellings, as worked out before (the backfill's,
        by its worker while it read the records)."""
        n = len(records)
        known = names or {}
        # Each spelling's ``Record.names``, as worked out here: for the processes that
        # score the pairs through (``matching.remember_names``).
        self.spellings: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {}
        self._words: dict[str, int] = {}
        self._variant_ids: dict[tuple[str, ...], int] = {}
        self._word_ids: list[tuple[int, ...]] = []  # each variant's, padded with -1
        self._length: list[int] = []
        self._whole: list[str] = []
        self.absent = np.fromiter((record is None for record in records), bool, n)
        # No record: every field empty, so no code, no birth and no name (no pair either).
        rows = [_NO_RECORD if record is None else record for record in records]
        # Field by field over every record (a pass each), not record by record: 500,000
        # records a second or two sooner.
        sex, _ = _codes([row.sex for row in rows], np.int32)
        mobile, _ = _codes([matching._mobile(row.mobile) for row in rows])
        district, _ = _codes([row.district.strip().lower() for row in rows])
        relation, relations = _codes([row.guardian_relation for row in rows], np.int32)
        births = [row.birth_date for row in rows]
        born = np.fromiter((b is not None for b in births), bool, n)
        estimated = np.fromiter((row.birth_estimated for row in rows), bool, n) & born
        ordinal = np.fromiter((0 if b is None else b.toordinal() for b in births), np.int64, n)
        year = np.fromiter((0 if b is None else b.year for b in births), np.int64, n)
        month = np.fromiter((0 if b is None else b.month for b in births), np.int64, n)
        day = np.fromiter((0 if b is None else b.day for b in births), np.int64, n)
        # Each spelling's names once, and each name's ways of writing once: the same
        # words come out of many spellings (the two scripts, a missing one).
        names_of: dict[tuple[str, str], tuple[tuple[int, ...], bool]] = {}
        variants_of: dict[tuple[tuple[str, ...], ...], tuple[tuple[int, ...], bool]] = {}
        guardian_of: dict[str, tuple[tuple[int, ...], bool]] = {}
        name_lists: list[tuple[int, ...]] = []
        name_open: list[bool] = []
        guardian_lists: list[tuple[int, ...]] = []
        guardian_open: list[bool] = []
        for row in rows:
            spelt = (row.name_en, row.name_hi)
            found = names_of.get(spelt)
            if found is None:
                names = self.spellings[spelt] = known.get(spelt) or row.names()
                found = variants_of.get(names)
                if found is None:
                    found = variants_of[names] = self._variants(names)
                names_of[spelt] = found
            name_lists.append(found[0])
            name_open.append(found[1])
            guardian = guardian_of.get(row.guardian_name)
            if guardian is None:
                tokens = matching.name_tokens(row.guardian_name)
                guardian = guardian_of[row.guardian_name] = self._variants(
                    (tokens,) if tokens else ()
                )
            guardian_lists.append(guardian[0])
            guardian_open.append(guardian[1])
        self._sex, self._mobile, self._district = sex, mobile, district
        self._relation = relation
        self._care_of = relations.get("C/O", -1)
        self._born, self._estimated = born, estimated
        self._ordinal, self._year, self._month, self._day = ordinal, year, month, day
        self._names = _flatten(name_lists, np.array(name_open, bool))
        self._guardians = _flatten(guardian_lists, np.array(guardian_open, bool))
        self._v_words = np.array(self._word_ids, np.int64).reshape(-1, _WORDS_AT_MOST)
        self._v_length = np.array(self._length, np.int64)
        self._v_whole = np.array(self._whole, dtype=object)
        self._vocabulary = np.array(list(self._words), dtype=object)
        self._matrix = _matrix(list(self._words)) if len(self._words) <= DENSE_WORDS else None
        del self._words, self._variant_ids, self._word_ids, self._length, self._whole

    def _variants(self, names: tuple[tuple[str, ...], ...]) -> tuple[tuple[int, ...], bool]:
        """Every way ``_best_names`` may take these names (each the variant's id with a
        bit for each weak word it left out: ``_WEAK_BITS``), and whether any is beyond
        the bound (an initial, or more than four words)."""
        ids: list[int] = []
        opened = False
        for tokens in names:
            for variant, weak in matching._without_weak(tokens):
                found = self._variant_ids.get(variant)
                if found is None:
                    if len(variant) > _WORDS_AT_MOST or any(t.endswith(".") for t in variant):
                        opened = True
                        continue
                    found = self._variant_ids[variant] = len(self._length)
                    words = [self._words.setdefault(w, len(self._words)) for w in variant]
                    self._word_ids.append((*words, *[-1] * (_WORDS_AT_MOST - len(words))))
                    self._length.append(len(variant))
                    self._whole.append("".join(variant))
                entry = found << _WEAK_BITS
                if weak:
                    entry |= sum(1 << _weak_bit()[w] for w in weak)
                if entry not in ids:
                    ids.append(entry)
        return tuple(ids), opened

    def may_be_likely(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """For each pair (``i[k]``, ``j[k]``): False if it cannot reach the threshold.

        The ``bounds``, worked out in stages: a pair whose bound cannot reach the floor
        even with its names (then its guardians') at their best is dropped before they
        are compared. At 500,000 patients the names are compared for 76 % of the 7
        million candidates and the guardians for 11 %; the screen took 3.0 s, against
        4.3 s working out every bound whole (the same pairs through)."""
        i = np.asarray(i, np.int64)
        j = np.asarray(j, np.int64)
        through = np.zeros(len(i), bool)
        floor = FLOOR - _MARGIN
        bound = matching.PRIOR + self.plain_weights(i, j)
        hope = bound + _TOP_NAME + _TOP_GUARDIAN >= floor
        alive = np.flatnonzero(hope & ~self.absent[i] & ~self.absent[j])
        i, j, bound = i[alive], j[alive], bound[alive]
        bound += self._names_bound(self._names, i, j, matching.NAME_CURVE)
        hope = bound + _TOP_GUARDIAN >= floor
        alive, i, j, bound = alive[hope], i[hope], j[hope], bound[hope]
        bound += self._guardians_bound(i, j)
        through[alive[bound >= floor]] = True
        return through

    def bounds(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """For each pair: at least the log-odds ``matching._total`` gives it."""
        bound = matching.PRIOR + self.plain_weights(i, j)
        bound += self._names_bound(self._names, i, j, matching.NAME_CURVE)
        bound += self._guardians_bound(i, j)
        return bound

    def _guardians_bound(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """What the guardians' names add to ``bounds``: nothing where the two are named
        as different relatives."""
        guardian = self._names_bound(self._guardians, i, j, matching.GUARDIAN_CURVE)
        ra, rb = self._relation[i], self._relation[j]
        other = (ra > 0) & (rb > 0) & (ra != rb) & (ra != self._care_of) & (rb != self._care_of)
        added: np.ndarray = np.where(other, 0.0, guardian)
        return added

    def plain_weights(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """``matching._plain_weight`` of each pair, in its order of sums."""
        weight = np.zeros(len(i))
        sa, sb = self._sex[i], self._sex[j]
        weight += np.where(
            (sa > 0) & (sb > 0),
            np.where(sa == sb, matching.W_SEX_SAME, matching.W_SEX_DIFFERS),
            0.0,
        )
        both = self._born[i] & self._born[j]
        ea, eb = self._estimated[i], self._estimated[j]
        ya, yb = self._year[i], self._year[j]
        ma, mb = self._month[i], self._month[j]
        da, db = self._day[i], self._day[j]
        oa, ob = self._ordinal[i], self._ordinal[j]
        typo = (
            ((ya == yb) & ((ma == mb) | (da == db)))
            | ((ya == yb) & (ma == db) & (da == mb))
            | ((ma == mb) & (da == db) & (np.abs(ya - yb) <= 10))
        )
        exact = np.where(
            oa == ob,
            matching.W_BIRTH_SAME,
            np.where(typo, matching.W_BIRTH_TYPO, matching.W_BIRTH_DIFFERS),
        )
        gap = np.abs(oa - ob) / 365.25
        tolerance = 2 + np.maximum(matching._this_year() - np.minimum(ya, yb), 0) / 12
        aged = np.select(
            [gap <= 1, gap <= tolerance, gap <= tolerance + 3],
            [matching.W_AGE_CLOSE, matching.W_AGE_FITS, matching.W_AGE_NEAR],
            matching.W_AGE_DIFFERS,
        )
        weight += np.where(both, np.where(ea | eb, aged, exact), 0.0)
        pa, pb = self._mobile[i], self._mobile[j]
        weight += np.where(
            (pa > 0) & (pb > 0),
            np.where(pa == pb, matching.W_MOBILE_SAME, matching.W_MOBILE_DIFFERS),
            0.0,
        )
        xa, xb = self._district[i], self._district[j]
        weight += np.where(
            (xa > 0) & (xb > 0),
            np.where(xa == xb, matching.W_DISTRICT_SAME, matching.W_DISTRICT_DIFFERS),
            0.0,
        )
        return weight

    def _names_bound(
        self, variants: _Variants, i: np.ndarray, j: np.ndarray, curve: Any
    ) -> np.ndarray:
        """An upper bound of the weight ``_best_names`` gives each pair's names on
        ``curve`` (0 where one has none: it adds nothing then)."""
        start, count, opened, flat = variants
        na, nb = count[i], count[j]
        bound = np.zeros(len(i))
        named = (na > 0) & (nb > 0)
        either_open = opened[i] | opened[j]
        bound[either_open] = curve[-1][1]  # a name beyond the bound may agree fully
        work = named & ~either_open
        if not work.any():
            return bound
        wi, wj = i[work], j[work]
        many = (na[work] * nb[work]).astype(np.int64)
        first = np.cumsum(many) - many
        k = np.arange(int(many.sum()), dtype=np.int64) - np.repeat(first, many)
        across = np.repeat(nb[work], many)
        ea = flat[np.repeat(start[wi], many) + k // across]
        eb = flat[np.repeat(start[wj], many) + k % across]
        va, vb = ea >> _WEAK_BITS, eb >> _WEAK_BITS
        la, lb = self._v_length[va], self._v_length[vb]
        xs = np.array([x for x, _ in curve])
        ys = np.array([y for _, y in curve])
        # At least the similarity ``_compare_names`` gives each two ways of writing.
        similar = np.empty(len(va))
        short = (la <= 2) & (lb <= 2)
        if short.any():
            similar[short] = self._short_similar(va[short], vb[short])
        if not short.all():
            similar[~short] = self._long_similar(va[~short], vb[~short])
        uneven = la != lb
        # A word one name has over the other costs W_NAME_EXTRA ...
        each = np.interp(similar, xs, ys) + matching.W_NAME_EXTRA * np.abs(la - lb)
        if uneven.any():
            # ... unless the two names run together agree that well.
            whole = process.cpdist(
                self._v_whole[va[uneven]],
                self._v_whole[vb[uneven]],
                scorer=JaroWinkler.normalized_similarity,
                dtype=np.float64,
                workers=-1,
            )
            together = np.where(whole >= 0.9, np.interp(whole, xs, ys), -np.inf)
            each[uneven] = np.maximum(each[uneven], together)
        # A weak middle word one way of writing left out and the other did not.
        each += matching.W_NAME_EXTRA * np.bitwise_count((ea ^ eb) & _WEAK_MASK)
        bound[work] = np.maximum.reduceat(each, first)
        return bound

    def _short_similar(self, va: np.ndarray, vb: np.ndarray) -> np.ndarray:
        """For names of one or two words each: the better of the two ways to pair the
        words if as many (one way, if one word each: all four are the same pair then);
        if one word against two, the word's better partner."""
        a0, b0 = self._v_words[va, 0], self._v_words[vb, 0]
        a1 = np.where(self._v_length[va] == 2, self._v_words[va, 1], a0)
        b1 = np.where(self._v_length[vb] == 2, self._v_words[vb, 1], b0)
        s00, s01 = self._similar(a0, b0), self._similar(a0, b1)
        s10, s11 = self._similar(a1, b0), self._similar(a1, b1)
        paired = np.maximum(np.minimum(s00, s11), np.minimum(s01, s10))
        best = np.maximum(np.maximum(s00, s01), np.maximum(s10, s11))
        similar: np.ndarray = np.where(self._v_length[va] == self._v_length[vb], paired, best)
        return similar

    def _long_similar(self, va: np.ndarray, vb: np.ndarray) -> np.ndarray:
        """For names of up to four words: every word of the shorter name is paired with
        a word of the other, so none agrees better than with its most similar partner
        (both names' words, if as many)."""
        words_a, words_b = self._v_words[va], self._v_words[vb]
        at_most = _WORDS_AT_MOST
        grid = np.full((len(va), at_most, at_most), -np.inf)
        for x in range(at_most):
            for y in range(at_most):
                both = (words_a[:, x] >= 0) & (words_b[:, y] >= 0)
                grid[both, x, y] = self._similar(words_a[both, x], words_b[both, y])
        # Each of a's words at its best partner; the least of those (a padding, none).
        of_a = np.where(words_a >= 0, grid.max(axis=2), np.inf).min(axis=1)
        of_b = np.where(words_b >= 0, grid.max(axis=1), np.inf).min(axis=1)
        la, lb = self._v_length[va], self._v_length[vb]
        similar: np.ndarray = np.where(
            la == lb, np.minimum(of_a, of_b), np.where(la < lb, of_a, of_b)
        )
        return similar

    def _similar(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Jaro-Winkler similarity of words ``a`` and ``b`` (ids), at least."""
        if self._matrix is not None:
            stepped: np.ndarray = _STEPPED[self._matrix[a, b]]
            return stepped
        return process.cpdist(
            self._vocabulary[a],
            self._vocabulary[b],
            scorer=JaroWinkler.normalized_similarity,
            dtype=np.float64,
            workers=-1,
        )


# An entry of a record's ways of writing its name: the variant's id, shifted, with a bit
# for each weak middle word ``_without_weak`` left out of it.
_WEAK_BITS = 16
_WEAK_MASK = (1 << _WEAK_BITS) - 1


@functools.cache
def _weak_bit() -> dict[str, int]:
    weak = sorted(matching._weak())
    if len(weak) > _WEAK_BITS:
        raise ValueError("more weak words than bits for them")
    return {word: bit for bit, word in enumerate(weak)}


_STEPPED = np.arange(_STEPS + 1, dtype=np.float64) / _STEPS

# The most a pair's names, and its guardians', can add to its bound.
_TOP_NAME = max(0.0, *(weight for _, weight in matching.NAME_CURVE))
_TOP_GUARDIAN = max(0.0, *(weight for _, weight in matching.GUARDIAN_CURVE))


def _matrix(words: list[str]) -> np.ndarray:
    """Every two words' similarity, rounded up to the next 255th (so never below it)."""
    matrix = np.empty((len(words), len(words)), np.uint8)
    for row in range(0, len(words), 512):
        block = process.cdist(
            words[row : row + 512],
            words,
            scorer=JaroWinkler.normalized_similarity,
            dtype=np.float32,
            workers=-1,
        )
        # A float32 is within 1e-7 of the similarity: the slack keeps the step above it.
        np.minimum(np.ceil(block * _STEPS + 0.01), _STEPS, out=block)
        matrix[row : row + 512] = block
    return matrix


_NO_RECORD = matching.Record()


def _codes(values: list[str], dtype: Any = np.int64) -> tuple[np.ndarray, dict[str, int]]:
    """Each value's number, from 1 in the order they first come; 0 for none (empty).
    With the numbers by value."""
    numbers = {"": 0}
    coded = np.fromiter((numbers.setdefault(v, len(numbers)) for v in values), dtype, len(values))
    return coded, numbers


def _flatten(lists: list[tuple[int, ...]], opened: np.ndarray) -> _Variants:
    count = np.fromiter((len(x) for x in lists), np.int64, len(lists))
    start = np.cumsum(count) - count
    flat = np.fromiter((v for x in lists for v in x), np.int64, int(count.sum()))
    return start, count, opened, flat
