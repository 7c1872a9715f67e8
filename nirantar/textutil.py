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


LINE_BREAKS = "\n\t"


def normalise_lines(text: str) -> str:
    """Free text as typed in a textarea: Windows and old-Mac line ends become ``\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def has_control_characters_in_lines(text: str) -> bool:
    """Like ``has_control_characters``, but line breaks and tabs are text (clinical notes)."""
    return has_control_characters("".join(c for c in text if c not in LINE_BREAKS))
