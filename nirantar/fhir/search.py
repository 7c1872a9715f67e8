"""Patient search parameters, read into one query over registration's read model.

Names go through the counter's own search (``queries.find_patients``), so a name
is found in either script the way the counter finds it. Every parameter given
must match (AND). Unknown parameters are refused rather than ignored: a client
that believes it filtered must not get everyone.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import QuerySet

from nirantar.errors import ValidationFailed
from nirantar.fhir.resources import (
    ABHA_SYSTEMS,
    GENDER_TO_SEX,
    GENDERS,
    UHID_SYSTEM,
    abha_digits,
)
from nirantar.fhir.validation import Invalid, issue
from nirantar.registration import queries, rules
from nirantar.registration import search as name_search
from nirantar.registration.actions import parse_uhid
from nirantar.registration.models import Patient

SEARCH_PARAMS = ("identifier", "name", "phone", "birthdate", "gender")
# A search must name at least one of these: gender alone would page through half of
# tens of millions of records - a bulk export, not a search.
SELECTIVE_PARAMS = ("identifier", "name", "phone", "birthdate")
CONTROL_PARAMS = ("_count", "_offset", "_format")
DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_VALUE = 100
BIRTHDATE = re.compile(r"^(?:eq)?([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


@dataclass(frozen=True)
class Page:
    patients: list[Patient]
    total: int
    offset: int
    count: int


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
        if len(values) != 1:
            raise _bad(key, "give it once")
        if len(values[0]) > MAX_VALUE:
            raise _bad(key, f"at most {MAX_VALUE} characters")
        params[key] = values[0]
    if selective and not any(params.get(p) for p in selective):
        raise Invalid(
            400,
            [issue("invalid", "give at least one of: " + ", ".join(selective))],
        )
    return params


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


def _identifier(qs: QuerySet[Patient], value: str) -> QuerySet[Patient]:
    system, bar, code = value.partition("|")
    if not bar:
        system, code = "", value
    code = code.strip()
    if system == UHID_SYSTEM:
        try:
            return qs.filter(uhid=parse_uhid(code))
        except ValidationFailed as exc:
            raise _bad("identifier", exc.message) from exc
    if system in ABHA_SYSTEMS:
        return _abha(qs, code)
    if system:
        return qs.none()  # we hold no identifiers of any other system
    try:
        return qs.filter(uhid=parse_uhid(code))
    except ValidationFailed:
        return _abha(qs, code)


def _abha(qs: QuerySet[Patient], code: str) -> QuerySet[Patient]:
    # Never filter on "": it is the value of every record without an ABHA number.
    digits = abha_digits(code)
    return qs.filter(abha_number=digits) if rules.ABHA_RE.match(digits) else qs.none()


def _birthdate(qs: QuerySet[Patient], value: str) -> QuerySet[Patient]:
    """eq only, at the precision given: 1990, 1990-04 or 1990-04-01."""
    match = BIRTHDATE.match(value)
    if not match:
        raise _bad("birthdate", "a date YYYY, YYYY-MM or YYYY-MM-DD (prefix eq only)")
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if day is not None:
            low = high = date(year, month, day)  # type: ignore[arg-type]
        elif month is not None:
            low = date(year, month, 1)  # type: ignore[arg-type]
            high = date(year, month, calendar.monthrange(year, month)[1])  # type: ignore[arg-type]
        else:
            low, high = date(year, 1, 1), date(year, 12, 31)  # type: ignore[arg-type]
    except ValueError as exc:
        raise _bad("birthdate", "not a real date") from exc
    return qs.filter(date_of_birth__gte=low, date_of_birth__lte=high)


def _phone(value: str) -> str:
    digits = rules.ascii_digits(re.sub(r"[\s\-()]", "", value))
    if digits.startswith("+91"):
        digits = digits[3:]
    elif digits.startswith("0") and len(digits) == 11:
        digits = digits[1:]
    return digits


def _names(value: str) -> list[Patient]:
    """The counter's name search, best match first (at most its candidate limit)."""
    try:
        kind, _ = queries.classify(value)
    except ValidationFailed as exc:
        raise _bad("name", exc.message) from exc
    if kind != "name":
        return []  # digits are a UHID, mobile or ABHA number, never a name
    return queries.find_patients(value, limit=name_search.CANDIDATES)[1]


def search(params: dict[str, str]) -> Page:
    count, offset = paging(params)
    qs = Patient.objects.filter(is_registered=True)
    if params.get("identifier"):
        qs = _identifier(qs, params["identifier"])
    if params.get("phone"):
        # Never filter on "": it is the value of every record without a mobile number.
        phone = _phone(params["phone"])
        qs = qs.filter(mobile=phone) if rules.MOBILE_RE.match(phone) else qs.none()
    if params.get("birthdate"):
        qs = _birthdate(qs, params["birthdate"])
    if params.get("gender"):
        gender = params["gender"]
        if gender not in GENDERS:
            raise _bad("gender", "male, female, other or unknown")
        qs = qs.filter(sex=GENDER_TO_SEX.get(gender, "")) if gender != "unknown" else qs.none()
    if params.get("name"):
        ranked = _names(params["name"])
        keep = set(qs.filter(id__in=[p.id for p in ranked]).values_list("id", flat=True))
        matches = [p for p in ranked if p.id in keep]
        return Page(matches[offset : offset + count], len(matches), offset, count)
    ordered = qs.order_by("-registered_at_ms", "uhid")
    return Page(list(ordered[offset : offset + count]), qs.count(), offset, count)
