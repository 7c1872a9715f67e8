"""What valid clinical entries look like: one set of rules for the API and the desk.

Each ``clean_*`` takes the API's shape and returns the event body's fields, or
raises ValidationFailed naming every bad field. Screens post strings; numbers
are accepted as numbers or as numeric text.
"""

from __future__ import annotations

import math
import re
from datetime import date, timedelta
from typing import Any

from nirantar.errors import ValidationFailed
from nirantar.opd import catalogue
from nirantar.opd.events import NOTE_KINDS
from nirantar.textutil import (
    CONTROL_MESSAGE,
    has_control_characters,
    has_control_characters_in_lines,
    normalise_lines,
)

# (lowest, highest, unit, decimals): outside these a reading is a typing mistake,
# not a patient - BP 400/20 or 60 °C is refused with the limits named.
VITALS: dict[str, tuple[float, float, str, int]] = {
    "bp_systolic": (50, 300, "mmHg", 0),
    "bp_diastolic": (30, 200, "mmHg", 0),
    "pulse": (20, 250, "/min", 0),
    "temperature_c": (30, 45, "°C", 1),
    "spo2": (50, 100, "%", 0),
    "respiratory_rate": (4, 80, "/min", 0),
    "weight_kg": (0.3, 350, "kg", 1),
    "height_cm": (30, 250, "cm", 1),
}
MAX_TEXT = 2000
MAX_ITEMS = 20
DEVANAGARI_RE = re.compile(r"[\u0900-\u097F]")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def text_field(
    value: Any,
    name: str,
    errors: dict[str, str],
    *,
    limit: int,
    required: bool,
    lines: bool = False,
) -> str:
    """Text, stripped; ``lines``: a note of several lines (line breaks are kept)."""
    text = value.strip() if isinstance(value, str) else ""
    if lines:
        text = normalise_lines(text)
    bad = has_control_characters_in_lines(text) if lines else has_control_characters(text)
    if value is not None and not isinstance(value, str):
        errors[name] = "must be text"
    elif bad:
        errors[name] = CONTROL_MESSAGE
    elif len(text) > limit:
        errors[name] = f"at most {limit} characters"
    elif required and not text:
        errors[name] = "required"
    return text


def number(value: Any) -> float | None:
    """A number from JSON or a form; None for blank; ValueError for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    try:
        result = float(value.strip().replace(",", ".") if isinstance(value, str) else value)
    except OverflowError as exc:  # an integer of hundreds of digits
        raise ValueError("not a number") from exc
    if not math.isfinite(result):
        raise ValueError("not a number")
    return result


def clean_vitals(data: Any) -> dict[str, Any]:
    """{"vitals": {...}, "bmi": n | None}. At least one reading; BP needs both halves."""
    if not isinstance(data, dict):
        raise ValidationFailed("vitals must be an object", {"body": "a JSON object is required"})
    errors: dict[str, str] = {}
    vitals: dict[str, int | str] = {}
    for key, (low, high, unit, decimals) in VITALS.items():
        try:
            value = number(data.get(key))
        except (TypeError, ValueError):
            errors[key] = "must be a number"
            continue
        if value is None:
            continue
        if not low <= value <= high:
            errors[key] = f"{value:g} {unit} is outside {low:g}–{high:g} {unit}"
            continue
        # Events hold no floats (their encoding must be exact): decimals travel as text.
        vitals[key] = f"{value:.{decimals}f}" if decimals else int(round(value))
    unknown = set(data) - set(VITALS)
    for key in sorted(unknown):
        errors[str(key)[:40]] = "unknown field"
    systolic, diastolic = vitals.get("bp_systolic"), vitals.get("bp_diastolic")
    if (systolic is None) != (diastolic is None) and not {"bp_systolic", "bp_diastolic"} & set(
        errors
    ):
        missing = "bp_diastolic" if diastolic is None else "bp_systolic"
        errors[missing] = "blood pressure needs both systolic and diastolic"
    elif systolic is not None and diastolic is not None and int(systolic) <= int(diastolic):
        errors["bp_diastolic"] = "diastolic must be lower than systolic"
    if not vitals and not errors:
        errors["vitals"] = "record at least one reading"
    if errors:
        raise ValidationFailed("please correct the vitals", errors)
    bmi = None
    if "weight_kg" in vitals and "height_cm" in vitals:
        metres = float(vitals["height_cm"]) / 100
        bmi = f"{float(vitals['weight_kg']) / metres**2:.1f}"
    return {"vitals": vitals, "bmi": bmi}


def clean_diagnosis(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    code = data.get("code")
    found = catalogue.find_diagnosis(code) if isinstance(code, str) else None
    if found is None:
        shown = str(code)[:20] if code else ""
        errors["code"] = f"{shown} is not an ICD-10 code in the list" if shown else "required"
    status = data.get("status") or "provisional"
    if status not in ("provisional", "final"):
        errors["status"] = "provisional or final"
    note = text_field(data.get("note"), "note", errors, limit=200, required=False)
    if errors:
        raise ValidationFailed("the diagnosis can't be recorded", errors)
    assert found is not None
    return {"code": found.code, "title": found.title, "status": status, "note": note}


def clean_item(item: Any, prefix: str, errors: dict[str, str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        errors[prefix] = "must be an object"
        return {}
    unknown = set(item) - {
        "drug",
        "dose",
        "route",
        "frequency",
        "duration_days",
        "instructions",
    }
    for key in sorted(unknown):
        errors[f"{prefix}.{str(key)[:40]}"] = "unknown field"
    name = text_field(item.get("drug"), f"{prefix}.drug", errors, limit=120, required=True)
    drug = catalogue.find_drug(name) if name else None
    dose = text_field(item.get("dose"), f"{prefix}.dose", errors, limit=40, required=True)
    route = str(item.get("route") or (drug.route if drug else "")).strip().lower()
    if route not in catalogue.ROUTES:
        errors[f"{prefix}.route"] = "one of " + ", ".join(catalogue.ROUTES)
    frequency = str(item.get("frequency") or "").strip().upper()
    if frequency not in catalogue.FREQUENCIES:
        errors[f"{prefix}.frequency"] = "one of " + ", ".join(catalogue.FREQUENCIES)
    try:
        days = number(item.get("duration_days"))
    except (TypeError, ValueError):
        days = -1
    if days is None or days != int(days) or not 1 <= days <= 365:
        errors[f"{prefix}.duration_days"] = "a whole number of days, 1–365"
        days = 0
    instructions = text_field(
        item.get("instructions"), f"{prefix}.instructions", errors, limit=200, required=False
    )
    english, hindi = instructions, catalogue.INSTRUCTIONS.get(instructions.lower(), "")
    if DEVANAGARI_RE.search(instructions):  # written in Hindi: it is the Hindi line
        english, hindi = "", instructions
    return {
        "drug": drug.name if drug else name,
        "drug_code": drug.code if drug else "",
        "in_formulary": drug is not None,
        "dose": dose,
        "route": route,
        "frequency": frequency,
        "duration_days": int(days),
        "instructions": english,
        "instructions_hi": hindi,
    }


def clean_prescription(data: dict[str, Any]) -> dict[str, Any]:
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise ValidationFailed("an empty prescription", {"items": "add at least one medicine"})
    if len(items) > MAX_ITEMS:
        raise ValidationFailed("too many medicines", {"items": f"at most {MAX_ITEMS}"})
    errors: dict[str, str] = {}
    cleaned = [clean_item(item, f"items.{i}", errors) for i, item in enumerate(items)]
    if errors:
        raise ValidationFailed("please correct the prescription", errors)
    return {"items": cleaned}


def clean_note(data: dict[str, Any], today: date) -> dict[str, Any]:
    errors: dict[str, str] = {}
    kind = data.get("kind")
    if kind not in NOTE_KINDS:
        errors["kind"] = "one of " + ", ".join(NOTE_KINDS)
    follow_up = data.get("follow_up") or ""
    text = text_field(
        data.get("text"), "text", errors, limit=MAX_TEXT, required=not follow_up, lines=True
    )
    if follow_up:
        try:
            if not DATE_RE.match(str(follow_up)):
                raise ValueError(follow_up)
            day = date.fromisoformat(str(follow_up))
        except ValueError:
            errors["follow_up"] = "a date, YYYY-MM-DD"
        else:
            follow_up = day.isoformat()
            if kind != "advice":
                errors["follow_up"] = "a follow-up date goes with advice"
            elif not today < day <= today + timedelta(days=366):
                errors["follow_up"] = "a day after today, within a year"
    if errors:
        raise ValidationFailed("the note can't be recorded", errors)
    return {"kind": kind, "text": text, "follow_up": str(follow_up)}


def clean_allergy(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    substance = text_field(data.get("substance"), "substance", errors, limit=100, required=True)
    reaction = text_field(data.get("reaction"), "reaction", errors, limit=200, required=False)
    if errors:
        raise ValidationFailed("the allergy can't be recorded", errors)
    return {"substance": substance, "reaction": reaction}


def clean_reason(value: Any, *, required: bool, field: str = "reason") -> str:
    errors: dict[str, str] = {}
    reason = text_field(value, field, errors, limit=200, required=required)
    if not errors and required and len(reason) < 3:
        errors[field] = "give a reason (a few words)"
    if errors:
        raise ValidationFailed("a reason is needed", errors)
    return reason
