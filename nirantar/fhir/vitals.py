"""Vital signs, from the OPD (``opd.vitals_recorded``) and the ward chart
(``wards.entry_recorded`` kind vitals), as FHIR R4 vital-signs Observations.

One Observation per quantity measured, coded as the R4 vital-signs profiles code them
(LOINC, UCUM): blood pressure is one panel (85354-9) with systolic (8480-6) and diastolic
(8462-4) components; heart rate 8867-4; respiratory rate 9279-1; body temperature 8310-5
(the OPD and wards record Celsius); oxygen saturation 2708-6 and 59408-5 (pulse
oximetry); body weight 29463-7; body height 8302-2; BMI 39156-5 (as the OPD computed it
from the same reading's weight and height).

An Observation's id is ``vs-``, the entry's id and the quantity, e.g. ``vs-node-a.30-bp``
(``vs``, not ``vitals``: a FHIR id has at most 64 characters). A reading corrected by a
later one (or struck out, at the OPD) is left out of a search and read as
``entered-in-error``; the reading that corrects another is ``corrected``; others ``final``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from nirantar.fhir import entries
from nirantar.fhir.observations import CATEGORY_SYSTEM, LOINC, UCUM
from nirantar.fhir.validation import Invalid, issue
from nirantar.opd import queries as opd
from nirantar.opd.queries import EntryView
from nirantar.registration.models import Visit
from nirantar.wards import queries as ward_queries
from nirantar.wards.models import Admission, WardEntry

KINDS = ("vitals",)
# part of the id -> (LOINC codes and display, the recorded field, unit shown, UCUM code)
QUANTITIES: dict[str, tuple[list[tuple[str, str]], str, str, str]] = {
    "pulse": ([("8867-4", "Heart rate")], "pulse", "beats/minute", "/min"),
    "rr": ([("9279-1", "Respiratory rate")], "respiratory_rate", "breaths/minute", "/min"),
    "temp": ([("8310-5", "Body temperature")], "temperature_c", "Cel", "Cel"),
    "spo2": (
        [
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ],
        "spo2",
        "%",
        "%",
    ),
    "weight": ([("29463-7", "Body weight")], "weight_kg", "kg", "kg"),
    "height": ([("8302-2", "Body height")], "height_cm", "cm", "cm"),
    "bmi": ([("39156-5", "Body mass index (BMI) [Ratio]")], "bmi", "kg/m2", "kg/m2"),
}
BP = ("85354-9", "Blood pressure panel with all children optional")
BP_PARTS = (
    ("bp_systolic", "8480-6", "Systolic blood pressure"),
    ("bp_diastolic", "8462-4", "Diastolic blood pressure"),
)
PARTS = ("bp", *QUANTITIES)
ID = re.compile(rf"\Avs-{entries.ENTRY}-({'|'.join(PARTS)})\Z")
LOINC_CODES = {BP[0]: "bp"} | {
    code: part for part, (cs, *_) in QUANTITIES.items() for code, _ in cs
}


def _number(value: Any) -> int | float | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    # A peer's "1e400" passes the projection's float() as inf: no quantity, not bad JSON.
    if not number.is_finite() or not math.isfinite(float(number)):
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _quantity(value: Any, unit: str, code: str) -> dict[str, Any] | None:
    number = _number(value)
    if number is None:
        return None
    return {"value": number, "unit": unit, "system": UCUM, "code": code}


def _code(codings: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "coding": [{"system": LOINC, "code": c, "display": d} for c, d in codings],
        "text": codings[0][1],
    }


class Reading:
    """One vitals entry, OPD or ward, as the Observations need it."""

    def __init__(
        self,
        entry_id: str,
        uhid: str,
        values: dict[str, Any],
        at_ms: int,
        actor: str,
        encounter: str,
        status: str,
    ) -> None:
        self.entry_id, self.uhid, self.values = entry_id, uhid, values
        self.at_ms, self.actor, self.encounter, self.status = at_ms, actor, encounter, status


def _status(replaced: bool, corrects: bool) -> str:
    if replaced:
        return "entered-in-error"
    return "corrected" if corrects else "final"


def opd_reading(view: EntryView, encounter: str) -> Reading:
    entry = view.entry
    values = dict(view.data.get("vitals") or {})
    if view.data.get("bmi") is not None:
        values["bmi"] = view.data["bmi"]
    status = _status(not view.current, bool(entry.corrects))
    return Reading(entry.entry_id, entry.uhid, values, entry.at_ms, entry.actor, encounter, status)


def ward_readings(admission: Admission, rows: list[WardEntry]) -> list[Reading]:
    """A stay's vitals entries (``rows``: all of them, to see which are corrected)."""
    corrected = {r.corrects for r in rows if r.corrects}
    return [
        Reading(
            r.entry_id,
            r.uhid,
            dict(r.data),
            r.at_ms,
            r.actor,
            admission.admission_no,
            _status(r.entry_id in corrected, bool(r.corrects)),
        )
        for r in rows
    ]


def observation(reading: Reading, part: str, known: dict[str, str]) -> dict[str, Any] | None:
    """The Observation of one quantity of a reading (None if the reading has none)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"vs-{entries.key(reading.entry_id)}-{part}",
        "identifier": entries.identifier(reading.entry_id),
        "status": reading.status,
        "category": [
            {
                "coding": [
                    {"system": CATEGORY_SYSTEM, "code": "vital-signs", "display": "Vital Signs"}
                ],
                "text": "Vital Signs",
            }
        ],
    }
    if part == "bp":
        components = []
        for field, code, display in BP_PARTS:
            quantity = _quantity(reading.values.get(field), "mmHg", "mm[Hg]")
            if quantity is not None:
                components.append({"code": _code([(code, display)]), "valueQuantity": quantity})
        if not components:
            return None
        resource["code"] = _code([BP])
    else:
        codings, field, unit, ucum = QUANTITIES[part]
        quantity = _quantity(reading.values.get(field), unit, ucum)
        if quantity is None:
            return None
        resource["code"] = _code(codings)
    resource["subject"] = {"reference": f"Patient/{reading.uhid}"}
    if reading.encounter:
        resource["encounter"] = {"reference": f"Encounter/{reading.encounter}"}
    resource["effectiveDateTime"] = entries.iso(reading.at_ms)
    resource["performer"] = [entries.person(reading.actor, known)]
    if part == "bp":
        resource["component"] = components
    else:
        resource["valueQuantity"] = quantity
    return resource


def observations(readings: list[Reading], parts: set[str] | None = None) -> list[dict[str, Any]]:
    """Every quantity of these readings (only ``parts``, if given), in the readings' order."""
    known = entries.names({r.actor for r in readings})
    found = []
    for reading in readings:
        for part in PARTS:
            if parts is None or part in parts:
                made = observation(reading, part, known)
                if made is not None:
                    found.append(made)
    return found


def of_opd(views: list[EntryView], visits: set[str]) -> list[Reading]:
    """Readings of OPD vitals entries of one patient; ``visits``: that patient's visits."""
    return [opd_reading(v, v.entry.visit if v.entry.visit in visits else "") for v in views]


def of_visit(visit: Visit) -> list[dict[str, Any]]:
    """The visit's vital signs that stand, oldest first. Not audited: the caller audits."""
    current = [v for v in opd.patient_entries(visit.uhid, KINDS, visit.visit_no) if v.current]
    return observations(of_opd(current, {visit.visit_no}))


def of_admission(admission: Admission) -> list[dict[str, Any]]:
    """The stay's charted vital signs that stand, oldest first. Not audited: the caller audits."""
    readings = ward_readings(admission, ward_queries.stay_entries(admission, "vitals"))
    return observations([r for r in readings if r.status != "entered-in-error"])


def code_param(value: str) -> set[str]:
    """The parts (bp, pulse, ...) a ``code=`` names by LOINC; other systems name none here
    (the laboratory's own codes are checked by observations.loinc_param)."""
    parts = set()
    for text in value.split(","):
        system, bar, code = text.partition("|")
        if not bar:
            system, code = "", text
        if system in ("", LOINC) and code.strip() in LOINC_CODES:
            parts.add(LOINC_CODES[code.strip()])
    return parts


def category_param(value: str) -> str:
    """'laboratory' or 'vital-signs'; Invalid (400) for anything else."""
    system, bar, code = value.partition("|")
    if not bar:
        system, code = "", value
    if system not in ("", CATEGORY_SYSTEM) or code not in ("laboratory", "vital-signs"):
        raise Invalid(
            400,
            [issue("not-supported", "category: laboratory or vital-signs", "category")],
        )
    return code


def newest_first(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(resources, key=lambda r: (r["effectiveDateTime"], r["id"]), reverse=True)
