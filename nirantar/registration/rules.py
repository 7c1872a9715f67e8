"""What a valid patient record looks like: one set of rules for the API, the counter and the CLI.

``clean_patient`` takes the API's shape (nested ``address``) and returns the
event body's fields, or raises ValidationFailed naming every bad field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from django.utils.translation import gettext

from nirantar.errors import ValidationFailed
from nirantar.registration.catalogue import CATEGORIES, RELATIONS, SEXES, STATES
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters

MAX_NAME = 100
MAX_LINE = 200
MAX_DISTRICT = 60
MAX_AGE_YEARS = 130

LATIN_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")
# Devanagari block, plus ZWJ/ZWNJ that some keyboards insert, plus separators.
DEVANAGARI_NAME_RE = re.compile(r"^[\u0900-\u097F\u200C\u200D][\u0900-\u097F\u200C\u200D .\-]*$")
ANY_NAME_RE = re.compile(
    r"^[A-Za-z\u0900-\u097F\u200C\u200D][A-Za-z\u0900-\u097F\u200C\u200D .'\-]*$"
)
MOBILE_RE = re.compile(r"^[6-9][0-9]{9}$")
ABHA_RE = re.compile(r"^[0-9]{14}$")
# The ABHA address's user part, verbatim from NHA's ABHA v3 API ("Abha Address Validation"):
# letters and digits, at most one "." and one "_", neither first nor last.
ABHA_ADDRESS_USER_RE = re.compile(
    r"(^[a-zA-Z0-9]+[.]?[a-zA-Z0-9]*[_]?[a-zA-Z0-9]+$)"
    r"|(^[a-zA-Z0-9]+[_]?[a-zA-Z0-9]*[.]?[a-zA-Z0-9]+$)"
)
# Production, sandbox, and the NDHM-era suffix older cards still carry. We store what the
# card says: the mapping of old @ndhm addresses to @abdm is not documented anywhere.
ABHA_ADDRESS_SUFFIXES = ("abdm", "sbx", "ndhm")
# v3 creates 8-18 characters, but addresses made under the older policy can be as short as
# 4 and no older upper bound is published: refusing a real card is worse than a loose
# bound, so 4-32 (the cap only keeps junk out).
ABHA_ADDRESS_USER_LENGTH = (4, 32)
PIN_RE = re.compile(r"^[1-9][0-9]{5}$")
# A name must hold at least one letter (not only signs, digits or joiners).
LETTER_RE = re.compile(r"[A-Za-z\u0904-\u0939\u0958-\u0961\u0972-\u097F]")
# Devanagari digits and dandas are not part of a name.
NOT_IN_NAMES_RE = re.compile(r"[\u0964-\u096F]")
# Clerks on a Hindi keyboard may type Devanagari digits; numbers are stored in ASCII.
DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")


def ascii_digits(value: str) -> str:
    return value.translate(DEVANAGARI_DIGITS)


def format_abha_number(digits: str) -> str:
    """14 stored digits as ABDM shows them, XX-XXXX-XXXX-XXXX; anything else unchanged."""
    if not ABHA_RE.match(digits or ""):
        return digits or ""
    return f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"


def clean_abha_address(value: Any) -> tuple[str, str | None]:
    """(the address as stored, or the error to show). Stored lower-cased.

    Only the shape is checked - whether the address exists is the national gateway's
    to say (see ``abdm.py``). ABDM does not say whether addresses are case-sensitive;
    we treat them as case-insensitive, like the usernames they are, so a clerk's
    capitals never hide a patient from the search.
    """
    text = str(value or "").strip().lower()
    if not text:
        return "", None
    user, at, suffix = text.partition("@")
    if not at or "@" in suffix:
        return text, gettext("an ABHA address looks like name@abdm")
    if suffix not in ABHA_ADDRESS_SUFFIXES:
        return text, gettext("an ABHA address ends in @abdm (@sbx in the ABDM sandbox)")
    low, high = ABHA_ADDRESS_USER_LENGTH
    if not low <= len(user) <= high:
        return text, gettext("before the @: %(low)d to %(high)d characters") % {
            "low": low,
            "high": high,
        }
    if not ABHA_ADDRESS_USER_RE.fullmatch(user):
        return text, gettext(
            "before the @: letters and digits, at most one . and one _, not first or last"
        )
    return text, None


PATIENT_FIELDS = (
    "name_hi",
    "name_en",
    "sex",
    "date_of_birth",
    "dob_estimated",
    "guardian_relation",
    "guardian_name",
    "mobile",
    "abha_number",
    "abha_address",
    "category",
    "address_line",
    "district",
    "state",
    "pin",
)
API_FIELDS = {
    "name_hi",
    "name_en",
    "sex",
    "date_of_birth",
    "age_years",
    "age_months",
    "age_days",
    "guardian_relation",
    "guardian_name",
    "mobile",
    "abha_number",
    "abha_address",
    "category",
    "address",
}
ADDRESS_FIELDS = {"line": "address_line", "district": "district", "state": "state", "pin": "pin"}


def normalise_text(value: Any) -> str:
    """NFC, trimmed, inner runs of spaces collapsed. Non-strings become ''."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", value)).strip()


def _text(
    data: dict[str, Any],
    key: str,
    errors: dict[str, str],
    max_length: int,
    label: str | None = None,
) -> str:
    try:
        value = normalise_text(data.get(key))
    except TypeError:
        errors[label or key] = "must be text"
        return ""
    if len(value) > max_length:
        errors[label or key] = f"at most {max_length} characters"
    elif has_control_characters(value):
        errors[label or key] = CONTROL_MESSAGE
    return value


def _int(data: dict[str, Any], key: str, errors: dict[str, str]) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        errors[key] = "must be a whole number"
        return None
    if isinstance(value, str):
        digits = ascii_digits(value.strip())
        if digits.isascii() and digits.isdecimal():
            value = int(digits)
    if not isinstance(value, int):
        errors[key] = "must be a whole number"
        return None
    return value


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def birth_date(
    data: dict[str, Any], today: date, errors: dict[str, str]
) -> tuple[date | None, bool, dict[str, int] | None]:
    """(date of birth, estimated?, age as given) from a date of birth or an age."""
    raw_dob = data.get("date_of_birth")
    years = _int(data, "age_years", errors)
    months = _int(data, "age_months", errors)
    days = _int(data, "age_days", errors)
    has_age = any(v is not None for v in (years, months, days))
    if raw_dob not in (None, ""):
        if has_age:
            errors["date_of_birth"] = "give either a date of birth or an age, not both"
            return None, False, None
        try:
            dob = date.fromisoformat(str(raw_dob))
        except ValueError:
            errors["date_of_birth"] = "must be a date written YYYY-MM-DD"
            return None, False, None
        if dob > today:
            errors["date_of_birth"] = "a date of birth can't be in the future"
        elif today.year - dob.year > MAX_AGE_YEARS:
            errors["date_of_birth"] = f"that is more than {MAX_AGE_YEARS} years ago"
        return dob, False, None
    if not has_age:
        if not any(k in errors for k in ("age_years", "age_months", "age_days")):
            errors["age_years"] = (
                "give the age (years, or months/days for infants) or a date of birth"
            )
        return None, False, None
    y, m, d = years or 0, months or 0, days or 0
    if not 0 <= y <= MAX_AGE_YEARS:
        errors["age_years"] = f"age must be 0-{MAX_AGE_YEARS} years"
    if not 0 <= m <= (11 if y else 35):
        errors["age_months"] = "months must be 0-11 with years" if y else "months must be 0-35"
    if not 0 <= d <= (30 if (y or m) else 365):
        errors["age_days"] = (
            "days must be 0-30 with months or years" if (y or m) else "days must be 0-365"
        )
    if any(k in errors for k in ("age_years", "age_months", "age_days")):
        return None, False, None
    dob = _months_before(today, y * 12 + m)
    dob = date.fromordinal(dob.toordinal() - d)
    return dob, True, {"years": y, "months": m, "days": d}


def _name(
    data: dict[str, Any], key: str, pattern: re.Pattern[str], script: str, errors: dict[str, str]
) -> str:
    value = _text(data, key, errors, MAX_NAME)
    if (
        value
        and key not in errors
        and (
            not pattern.match(value) or NOT_IN_NAMES_RE.search(value) or not LETTER_RE.search(value)
        )
    ):
        errors[key] = f"use {script} letters only"
    return value


def clean_patient(data: Any, today: date, *, partial: bool = False) -> dict[str, Any]:
    """Validate a registration (or, with ``partial``, a correction). Returns body fields."""
    if not isinstance(data, dict):
        raise ValidationFailed("the request body must be a JSON object")
    errors: dict[str, str] = {}
    unknown = set(data) - API_FIELDS
    for key in sorted(unknown):
        errors[key] = "unknown field"
    out: dict[str, Any] = {}

    def given(*keys: str) -> bool:
        return not partial or any(k in data for k in keys)

    if given("name_hi"):
        out["name_hi"] = _name(data, "name_hi", DEVANAGARI_NAME_RE, "Devanagari (Hindi)", errors)
    if given("name_en"):
        out["name_en"] = _name(data, "name_en", LATIN_NAME_RE, "English (Latin)", errors)
    no_name = not partial and not out["name_hi"] and not out["name_en"]
    if no_name and "name_hi" not in errors and "name_en" not in errors:
        errors["name_en"] = "a name is required, in English or Hindi or both"
        errors["name_hi"] = "a name is required, in English or Hindi or both"

    if given("sex"):
        sex = str(data.get("sex") or "").strip().upper()
        if sex not in SEXES:
            errors["sex"] = "must be M, F or O"
        out["sex"] = sex

    if given("date_of_birth", "age_years", "age_months", "age_days"):
        dob, estimated, age_given = birth_date(data, today, errors)
        out["date_of_birth"] = dob.isoformat() if dob else None
        out["dob_estimated"] = estimated
        if not partial:
            out["age_given"] = age_given

    if given("guardian_relation", "guardian_name"):
        relation = str(data.get("guardian_relation") or "").strip().upper().replace(" ", "")
        name = _text(data, "guardian_name", errors, MAX_NAME)
        if relation and relation not in RELATIONS:
            errors["guardian_relation"] = "must be S/O, D/O, W/O or C/O"
        if name and not relation:
            errors["guardian_relation"] = "say how the guardian is related: S/O, D/O, W/O or C/O"
        if relation and not name and "guardian_name" not in errors:
            errors["guardian_name"] = "give the guardian's name"
        if (
            name
            and "guardian_name" not in errors
            and (
                not ANY_NAME_RE.match(name)
                or NOT_IN_NAMES_RE.search(name)
                or not LETTER_RE.search(name)
            )
        ):
            errors["guardian_name"] = "use letters only"
        out["guardian_relation"], out["guardian_name"] = relation, name

    if given("mobile"):
        mobile = ascii_digits(re.sub(r"[\s\-]", "", str(data.get("mobile") or "")))
        if mobile.startswith("+91"):
            mobile = mobile[3:]
        if mobile and not MOBILE_RE.match(mobile):
            errors["mobile"] = "a mobile number has 10 digits and starts with 6, 7, 8 or 9"
        out["mobile"] = mobile

    if given("abha_number"):
        abha = ascii_digits(re.sub(r"[\s\-]", "", str(data.get("abha_number") or "")))
        if abha and not ABHA_RE.match(abha):
            # Format only: issued numbers seem to end in a Luhn check digit, but ABDM
            # documents none, and refusing a patient's real card is worse than a typo.
            errors["abha_number"] = gettext("an ABHA number has 14 digits")
        out["abha_number"] = abha

    if given("abha_address"):
        out["abha_address"], error = clean_abha_address(data.get("abha_address"))
        if error:
            errors["abha_address"] = error

    if given("category"):
        category = str(data.get("category") or "general").strip().lower()
        if category not in CATEGORIES:
            errors["category"] = f"must be one of {', '.join(CATEGORIES)}"
        out["category"] = category

    if given("address"):
        address = data.get("address") or {}
        if not isinstance(address, dict):
            errors["address"] = "must be an object with line, district, state and pin"
            address = {}
        for key in sorted(set(address) - set(ADDRESS_FIELDS)):
            errors[f"address.{key}"] = "unknown field"
        if not partial or "line" in address:
            out["address_line"] = _text(address, "line", errors, MAX_LINE, "address.line")
        if not partial or "district" in address:
            out["district"] = _text(address, "district", errors, MAX_DISTRICT, "address.district")
        if not partial or "state" in address:
            state = _text(address, "state", errors, MAX_DISTRICT, "address.state")
            if state:
                match = next(
                    (s for s, hi in STATES.items() if state.lower() == s.lower() or state == hi),
                    None,
                )
                if match is None:
                    errors["address.state"] = "not a state or union territory of India"
                state = match or state
            out["state"] = state
        if not partial or "pin" in address:
            pin = ascii_digits(re.sub(r"\s", "", str(address.get("pin") or "")))
            if pin and not PIN_RE.match(pin):
                errors["address.pin"] = "a PIN code has 6 digits and does not start with 0"
            out["pin"] = pin

    if errors:
        raise ValidationFailed("please correct the highlighted fields", errors)
    return out
