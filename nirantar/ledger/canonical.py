"""Canonical JSON: the same bytes on every node and in every language.

UTF-8, keys sorted, no insignificant whitespace, non-ASCII characters written
as themselves. To keep that promise across languages we accept only what every
JSON implementation round-trips exactly: objects with ASCII keys (so sorting by
code point equals sorting by UTF-16 unit), arrays, strings, booleans, null and
integers within +/-(2**53 - 1). Floats are refused: amounts are integers
(paise), measurements are strings or scaled integers.
"""

from __future__ import annotations

import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonical(ValueError):
    """A value that cannot be encoded the same way everywhere."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise NotCanonical(f"{path}: integer {value} is outside +/-(2**53 - 1)")
        return
    if isinstance(value, float):
        raise NotCanonical(f"{path}: floats are not allowed in events; use an integer or string")
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise NotCanonical(f"{path}: object keys must be ASCII strings, got {key!r}")
            _check(item, f"{path}.{key}")
        return
    raise NotCanonical(f"{path}: {type(value).__name__} cannot be put in an event")


def canonical(value: Any, *, checked: bool = False) -> bytes:
    """Encode ``value`` canonically, or raise :class:`NotCanonical`.

    ``checked`` skips the walk over the value for one already known to hold only
    canonical types (an event checked when it was built or received).
    """
    if not checked:
        _check(value, "$")
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate cannot be UTF-8
        raise NotCanonical(f"text that is not valid Unicode: {exc}") from exc


def canonical_text(value: Any, *, checked: bool = False) -> str:
    return canonical(value, checked=checked).decode("utf-8")


def _reject_float(text: str) -> Any:
    raise NotCanonical(f"floats are not allowed in events ({text})")


def _safe_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise NotCanonical(f"integer {value} is outside +/-(2**53 - 1)")
    return value


def _ascii_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    for key, _ in pairs:
        if not key.isascii():
            raise NotCanonical(f"object keys must be ASCII strings, got {key!r}")
    return dict(pairs)


def loads_canonical(text: str | bytes) -> Any:
    """Parse JSON, refusing at parse time what `canonical` would refuse.

    The result needs no further walk before it is encoded canonically (a lone
    surrogate is still caught then, by the UTF-8 encoding).
    """
    return json.loads(
        text,
        parse_float=_reject_float,
        parse_int=_safe_int,
        parse_constant=_reject_float,
        object_pairs_hook=_ascii_keys,
    )
