"""Search parameters: read, checked, and for Patient turned into registration's filter
(``queries.PatientFilter``), which does the reading.

Names go through the counter's own search (``queries.find_patients``), so a name
is found in either script the way the counter finds it. Every parameter given
must match (AND). Unknown parameters are refused rather than ignored: a client
that believes it filtered must not get everyone.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from nirantar import timeutil
from nirantar.errors import ValidationFailed
from nirantar.fhir.resources import (
    ABHA_SYSTEMS,
    GENDER_TO_SEX,
    GENDERS,
    abha_digits,
    uhid_system,
)
from nirantar.fhir.validation import Invalid, issue
from nirantar.registration import queries, rules
from nirantar.registration.actions import parse_uhid

SEARCH_PARAMS = ("identifier", "name", "phone", "birthdate", "gender")
# A search must name at least one of these: gender alone would page through half of
# tens of millions of records - a bulk export, not a search.
SELECTIVE_PARAMS = ("identifier", "name", "phone", "birthdate")
CONTROL_PARAMS = ("_count", "_offset", "_format")
DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_VALUE = 100
# Parameters that may be given more than once (all must hold): a date range is two.
REPEATABLE = {"date": 2}
DATE = re.compile(r"^(eq|ne|gt|lt|ge|le)?([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")
BIRTHDATE = re.compile(r"^(?:eq)?([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


def _bad(param: str, message: str) -> Invalid:
    return Invalid(400, [issue("invalid", f"{param}: {message}", param)])


def read_params(
    query: Any,
    names: tuple[str, ...] = SEARCH_PARAMS,
    selective: tuple[str, ...] = SELECTIVE_PARAMS,
) -> dict[str, str]:
    """One value per known parameter (``names``, Patient's unless told), from a QueryDict;
    at least one of ``selective`` must be given."""
    params: dict[str, str] = {}
    for key in query:
        values = query.getlist(key)
        if key not in names + CONTROL_PARAMS:
            raise Invalid(
                400,
                [
                    issue(
                        "not-supported",
                        f"unknown search parameter {key[:40]!r}; supported: "
                        + ", ".join(names + CONTROL_PARAMS),
                        key[:40],
                    )
                ],
            )
        most = REPEATABLE.get(key, 1)
        if not 1 <= len(values) <= most:
            raise _bad(key, "give it once" if most == 1 else f"give it at most {most} times")
        if any(len(v) > MAX_VALUE for v in values):
            raise _bad(key, f"at most {MAX_VALUE} characters")
        # A repeated parameter (date=ge...&date=lt...) keeps its values space-separated:
        # no value it accepts holds a space.
        params[key] = " ".join(values)
    if selective and not any(params.get(p) for p in selective):
        raise Invalid(
            400,
            [issue("invalid", "give at least one of: " + ", ".join(selective))],
        )
    return params


def _day_range(year: int, month: int | None, day: int | None) -> tuple[date, date]:
    """The first and last day a date of this precision (1990, 1990-04, 1990-04-01) covers."""
    if day is not None:
        low = high = date(year, month, day)  # type: ignore[arg-type]
    elif month is not None:
        low = date(year, month, 1)
        high = date(year, month, calendar.monthrange(year, month)[1])
    else:
        low, high = date(year, 1, 1), date(year, 12, 31)
    return low, high


def date_filter(value: str, param: str = "date") -> Callable[[datetime], bool]:
    """A test of a moment against ``date``: each value (space-separated, all must hold) is
    a day, month or year in the hospital's time zone with an optional prefix
    (eq ne gt lt ge le); without a prefix, eq: the moment falls in it."""
    tests: list[Callable[[datetime], bool]] = []
    for part in value.split(" "):
        match = DATE.match(part)
        if not match:
            raise _bad(param, "YYYY, YYYY-MM or YYYY-MM-DD, prefixed by eq ne gt lt ge or le")
        prefix = match.group(1) or "eq"
        year, month, day = (int(g) if g else None for g in match.groups()[1:])
        try:
            first, last = _day_range(year, month, day)  # type: ignore[arg-type]
        except ValueError as exc:
            raise _bad(param, f"{part} is not a real date") from exc
        zone = timeutil.hospital_zone()
        low = datetime.combine(first, time(), zone)
        high = datetime.combine(last + timedelta(days=1), time(), zone)
        tests.append(
            {
                "eq": lambda t, lo=low, hi=high: lo <= t < hi,
                "ne": lambda t, lo=low, hi=high: not lo <= t < hi,
                "gt": lambda t, hi=high: t >= hi,
                "lt": lambda t, lo=low: t < lo,
                "ge": lambda t, lo=low: t >= lo,
                "le": lambda t, hi=high: t < hi,
            }[prefix]
        )
    return lambda moment: all(test(moment) for test in tests)


def paging(params: dict[str, str]) -> tuple[int, int]:
    """(_count, _offset) of a search."""
    return (
        _whole(params, "_count", DEFAULT_COUNT, MAX_COUNT),
        _whole(params, "_offset", 0, 10**9),
    )


def _whole(params: dict[str, str], key: str, default: int, high: int) -> int:
    text = params.get(key)
    if text is None:
        return default
    if not (text.isascii() and text.isdecimal()) or int(text) > high:
        raise _bad(key, f"a whole number from 0 to {high}")
    return int(text)


def _identifier(value: str) -> dict[str, Any]:
    system, bar, code = value.partition("|")
    if not bar:
        system, code = "", value
    code = code.strip()
    if system == uhid_system():
        try:
            return {"uhid": parse_uhid(code)}
        except ValidationFailed as exc:
            raise _bad("identifier", exc.message) from exc
    if system in ABHA_SYSTEMS:
        return _abha(code)
    if system:
        return {"impossible": True}  # we hold no identifiers of any other system
    try:
        return {"uhid": parse_uhid(code)}
    except ValidationFailed:
        return _abha(code)


def _abha(code: str) -> dict[str, Any]:
    digits = abha_digits(code)
    return {"abha_number": digits} if rules.ABHA_RE.match(digits) else {"impossible": True}


def _birthdate(value: str) -> dict[str, Any]:
    """eq only, at the precision given: 1990, 1990-04 or 1990-04-01."""
    match = BIRTHDATE.match(value)
    if not match:
        raise _bad("birthdate", "a date YYYY, YYYY-MM or YYYY-MM-DD (prefix eq only)")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        low, high = _day_range(year, month, day)  # type: ignore[arg-type]
    except ValueError as exc:
        raise _bad("birthdate", "not a real date") from exc
    return {"born_from": low, "born_to": high}


def _phone(value: str) -> dict[str, Any]:
    digits = rules.ascii_digits(re.sub(r"[\s\-()]", "", value))
    if digits.startswith("+91"):
        digits = digits[3:]
    elif digits.startswith("0") and len(digits) == 11:
        digits = digits[1:]
    return {"mobile": digits} if rules.MOBILE_RE.match(digits) else {"impossible": True}


def _gender(value: str) -> dict[str, Any]:
    if value not in GENDERS:
        raise _bad("gender", "male, female, other or unknown")
    return {"sex": GENDER_TO_SEX[value]} if value != "unknown" else {"impossible": True}


def _name(value: str) -> dict[str, Any]:
    try:
        kind, _ = queries.classify(value)
    except ValidationFailed as exc:
        raise _bad("name", exc.message) from exc
    # Digits are a UHID, mobile or ABHA number, never a name.
    return {"name": value} if kind == "name" else {"impossible": True}


PARSERS = {
    "identifier": _identifier,
    "phone": _phone,
    "birthdate": _birthdate,
    "gender": _gender,
    "name": _name,
}


def criteria(params: dict[str, str]) -> queries.PatientFilter:
    """The search's parameters as registration's filter; a bad value is a 400 here, before
    anything is read."""
    fields: dict[str, Any] = {}
    for key, parse in PARSERS.items():
        if params.get(key):
            fields.update(parse(params[key]))
    return queries.PatientFilter(**fields)
