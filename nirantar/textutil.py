"""Checks on free text that any module takes from people or scripts."""

from __future__ import annotations

import unicodedata

# Zero-width non-joiner and joiner: they change how Devanagari conjuncts are drawn, so
# names may hold them; every other invisible or control character is refused.
JOINERS = "\u200c\u200d"
CONTROL_MESSAGE = "contains invisible or control characters"


def has_control_characters(text: str) -> bool:
    """True if ``text`` holds a control, format, private-use or surrogate character.

    A NUL byte, for one, cuts a SQLite LIKE pattern short (matching everything) and
    cannot be stored by PostgreSQL at all; the others hide what was typed.
    """
    return any(
        unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") and c not in JOINERS for c in text
    )
