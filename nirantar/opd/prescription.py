"""The prescription: bilingual, A5 (or A4), with the UHID as a barcode.

Drugs are printed in English, as pharmacists read them; how to take each one is
printed in English and Hindi, as the patient reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from nirantar import timeutil
from nirantar.accounts import queries as accounts
from nirantar.lab.queries import test_names
from nirantar.opd import catalogue
from nirantar.opd.queries import EntryView, VisitRecord, standing
from nirantar.printing import barcodes
from nirantar.printing.renderer import A4, A5, PageSize, render_pdf
from nirantar.registration.catalogue import SEXES
from nirantar.registration.models import Patient

FORMATS: dict[str, PageSize] = {"a5": A5, "a4": A4}
VITAL_LABELS = (
    ("bp", "BP", "रक्तचाप", "mmHg"),
    ("pulse", "Pulse", "नाड़ी", "/min"),
    ("temperature_c", "Temp", "तापमान", "°C"),
    ("spo2", "SpO₂", "SpO₂", "%"),
    ("respiratory_rate", "RR", "श्वसन दर", "/min"),
    ("weight_kg", "Wt", "वज़न", "kg"),
    ("height_cm", "Ht", "लंबाई", "cm"),
    ("bmi", "BMI", "बीएमआई", "kg/m²"),
)


@dataclass(frozen=True)
class Line:
    number: int
    drug: str
    in_formulary: bool
    dose: str
    route_en: str
    route_hi: str
    frequency: str
    frequency_en: str
    frequency_hi: str
    days: int
    instructions: str
    instructions_hi: str
    by: str  # the prescribing doctor's user name


def lines(prescriptions: list[EntryView]) -> list[Line]:
    found = []
    for view in prescriptions:
        for item in view.data.get("items", []):
            route = catalogue.ROUTES.get(item["route"], (item["route"], ""))
            frequency = catalogue.FREQUENCIES.get(item["frequency"], (item["frequency"], ""))
            found.append(
                Line(
                    len(found) + 1,
                    item["drug"],
                    item["in_formulary"],
                    item["dose"],
                    route[0],
                    route[1],
                    item["frequency"],
                    frequency[0],
                    frequency[1],
                    item["duration_days"],
                    item.get("instructions", ""),
                    item.get("instructions_hi", ""),
                    view.entry.actor,
                )
            )
    return found


def vitals_text(record: VisitRecord) -> list[tuple[str, str, str]]:
    current = record.current("vitals")
    if not current:
        return []
    values: dict[str, Any] = {}
    for view in current:  # later readings of the same visit win
        values.update(view.data.get("vitals", {}))
    values.pop("bmi", None)  # from the latest weight and height together, not one reading's
    if "weight_kg" in values and "height_cm" in values:
        metres = float(values["height_cm"]) / 100
        values["bmi"] = f"{float(values['weight_kg']) / metres**2:.1f}"
    if "bp_systolic" in values:
        values["bp"] = f"{values['bp_systolic']}/{values['bp_diastolic']}"
    return [
        (en, hi, f"{values[key]} {unit}") for key, en, hi, unit in VITAL_LABELS if key in values
    ]


def prescription_context(record: VisitRecord, patient: Patient) -> dict[str, Any]:
    visit = record.visit
    prescriptions = record.current("prescription")
    drugs = lines(prescriptions)
    # Every prescriber signs for their own lines; with none, whoever made the diagnosis.
    authors = list(
        dict.fromkeys(
            [v.entry.actor for v in prescriptions]
            or [v.entry.actor for v in record.current("diagnosis")][-1:]
        )
    )
    staff = accounts.staff_names(authors)
    doctors = [staff.get(a, (a, "")) for a in authors]
    age, unit = patient.age_on(visit.local_date)
    sex_en, sex_hi = SEXES.get(patient.sex, ("", ""))
    at = timeutil.local(
        timeutil.from_ms(prescriptions[-1].entry.at_ms if prescriptions else visit.at_ms)
    )
    advice = record.current("advice")
    follow_up = next((v.data["follow_up"] for v in reversed(advice) if v.data.get("follow_up")), "")
    department = record.department
    return {
        "hospital": settings.NODE.hospital,
        "hospital_hi": settings.NODE.hospital_hi,
        "patient": patient,
        "visit": visit,
        "department_en": department.name_en if department else visit.department,
        "department_hi": department.name_hi if department else "",
        "age": f"{age} {unit}",
        "sex_en": sex_en,
        "sex_hi": sex_hi,
        "date": at.strftime("%d-%m-%Y %H:%M"),
        "barcode_svg": barcodes.code128_svg(patient.uhid.replace("-", "")),
        "vitals": vitals_text(record),
        "complaints": [v.data["text"] for v in record.current("complaints")],
        "diagnoses": record.current("diagnosis"),
        "lines": drugs,
        "unlisted": any(not line.in_formulary for line in drugs),
        "tests": [name for order in record.lab_orders for name in test_names(order.tests)],
        "advice": [v.data["text"] for v in advice if v.data.get("text")],
        "follow_up": follow_up,
        "referrals": record.current("referral"),
        "allergies": [
            f"{v.data['substance']}"
            + (f" ({v.data['reaction']})" if v.data.get("reaction") else "")
            for v in standing(patient.uhid)[0]
        ],
        "doctors": doctors,
        "names": {a: staff.get(a, (a, ""))[0] for a in authors},
        "several": len(authors) > 1,
        "printed": timeutil.local(timeutil.now()).strftime("%d-%m-%Y %H:%M"),
        "node": settings.NODE.node,
    }


def prescription_pdf(record: VisitRecord, patient: Patient, page: str = "a5") -> bytes:
    context = prescription_context(record, patient)
    html = render_to_string("opd/prescription.html", {**context, "page": page})
    return render_pdf(html, FORMATS[page])
