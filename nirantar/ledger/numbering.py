"""Numbers people see, minted on the node with no server: UHIDs, visits, receipts...

    node number (3 digits) + the node's own sequence (7 digits) + Verhoeff check digit
    shown as 107-0000123-4 (with an optional letter prefix per kind: OP-107-0000123-4)

This module is pure (formats and check digits); the sequences behind the
numbers live in ``sequences.py``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Verhoeff's dihedral-group tables: catch every single-digit error and every
# transposition of adjacent digits - the two mistakes people make reading numbers aloud.
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def _product(digits: str, first: int) -> int:
    """The digits' part of the check (positions from ``first``, counted from the right):
    the check is a product in the dihedral group whose table is ``_D``, so the parts of a
    number multiply to its whole (``_written_valid``)."""
    c = 0
    for position, digit in enumerate(map(int, reversed(digits)), start=first):
        c = _D[c][_P[position % 8][digit]]
    return c


def verhoeff_check_digit(digits: str) -> str:
    return str(_INV[_product(digits, 1)])


def verhoeff_valid(digits: str) -> bool:
    """A number as typed (a number as ``format`` writes it, as every event carries it, is
    checked by ``_written_valid``)."""
    return _product(digits, 0) == 0


@functools.cache
def _parts() -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Each part of a written number as a table: the sequence's last four digits
    (positions 1-4), its first three (5-7), the node number (8-10)."""
    return (
        {f"{i:04d}": _product(f"{i:04d}", 1) for i in range(10_000)},
        {f"{i:03d}": _product(f"{i:03d}", 5) for i in range(1_000)},
        {f"{i:03d}": _product(f"{i:03d}", 8) for i in range(1_000)},
    )


def _written_valid(node: str, seq: str, check: str) -> bool:
    """``verhoeff_valid`` of node number (3 digits), sequence (7) and check digit as
    ``format`` writes them: four lookups, not a step per digit (a restore checks a
    million numbers)."""
    low, high, nodes = _parts()
    return _D[_D[_D[_P[0][ord(check) - 48]][low[seq[3:]]]][high[seq[:3]]]][nodes[node]] == 0


MAX_SEQUENCE = 9_999_999
_MEMO_SIZE = 1 << 16
_SPACES = re.compile(r"[\s-]")
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


class InvalidNumber(ValueError):
    """A typed number that is malformed or fails its check digit. ``reason`` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "format" or "check_digit"


class SequenceExhausted(Exception):
    pass


@dataclass(frozen=True)
class NumberFormat:
    """How one kind of number is written: an optional letter prefix, then the digits."""

    kind: str
    prefix: str = ""
    label: str = "number"

    @functools.cached_property
    def _written(self) -> re.Pattern[str]:
        prefix = f"{re.escape(self.prefix)}-" if self.prefix else ""
        return re.compile(prefix + r"([0-9]{3})-([0-9]{7})-([0-9])")

    def format(self, node_number: int, seq: int) -> str:
        body = f"{node_number:03d}{seq:07d}"
        digits = f"{node_number:03d}-{seq:07d}-{verhoeff_check_digit(body)}"
        return f"{self.prefix}-{digits}" if self.prefix else digits

    def parse(self, text: str) -> tuple[int, int]:
        """Return (node number, sequence) of a typed number, with or without dashes/spaces.

        Numbers parsed are remembered: a projection parses each event's UHID and
        accession, and the check digit cost a sixth of projecting a batch of laboratory
        events. The memory is this format's own dict, not an ``lru_cache`` keyed by the
        format: hashing the dataclass cost as much as the parse it saved. (A number that
        fails raises each time: exceptions are not remembered.)"""
        memo = self._memo
        found = memo.get(text)
        if found is None:
            found = self._parse(text)
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            memo[text] = found
        return found

    @functools.cached_property
    def _memo(self) -> dict[str, tuple[int, int]]:
        return {}

    def _parse(self, text: str) -> tuple[int, int]:
        written = self._written.fullmatch(text or "")
        if written is not None:  # as format() writes it, as events carry it
            node, seq, check = written.groups()
            number, sequence = int(node), int(seq)
            if number and sequence and _written_valid(node, seq, check):
                return number, sequence
            cleaned = node + seq + check  # to say why, as any other
        else:
            cleaned = _SPACES.sub("", text or "").upper().translate(_DEVANAGARI_DIGITS)
        if self.prefix and cleaned.startswith(self.prefix):
            cleaned = cleaned[len(self.prefix) :]
        if not _ELEVEN_DIGITS.fullmatch(cleaned):
            example = self.format(101, 1)
            raise InvalidNumber("format", f"a {self.label} has 11 digits, like {example}")
        if not verhoeff_valid(cleaned):
            raise InvalidNumber(
                "check_digit",
                f"{text.strip()} is not a valid {self.label}: the check digit is wrong "
                "(a digit was probably mistyped)",
            )
        node_number, seq = int(cleaned[:3]), int(cleaned[3:10])
        if node_number == 0 or seq == 0:
            raise InvalidNumber("format", f"{text.strip()} is not a valid {self.label}")
        return node_number, seq

    def normalise(self, text: str) -> str:
        return self.format(*self.parse(text))
