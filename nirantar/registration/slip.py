"""The OPD slip: A5, or 80 mm thermal roll. One template, two page sizes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from nirantar import timeutil
from nirantar.printing import barcodes
from nirantar.printing.renderer import A5, THERMAL_80, PageSize, render_pdf
from nirantar.registration.catalogue import CATEGORIES, RELATIONS, SEXES
from nirantar.registration.models import Department, Patient, Visit

FORMATS: dict[str, PageSize] = {"a5": A5, "thermal80": THERMAL_80}


def slip_context(visit: Visit, patient: Patient, department: Department | None) -> dict[str, Any]:
    at = timeutil.local(timeutil.from_ms(visit.at_ms))
    age, unit = patient.age_on(visit.local_date)
    unit_hi = {"Y": "वर्ष", "M": "माह", "D": "दिन"}.get(unit, "")
    sex_en, sex_hi = SEXES.get(patient.sex, ("", ""))
    relation = RELATIONS.get(patient.guardian_relation)
    digits = patient.uhid.replace("-", "")
    return {
        "hospital": settings.NODE.hospital,
        "hospital_hi": settings.NODE.hospital_hi,
        "visit": visit,
        "patient": patient,
        "department_en": department.name_en if department else visit.department,
        "department_hi": department.name_hi if department else "",
        "age": f"{age} {unit}" + (" (approx.)" if patient.dob_estimated else ""),
        "age_hi": f"{age} {unit_hi}",
        "sex_en": sex_en,
        "sex_hi": sex_hi,
        "relation": patient.guardian_relation,
        "relation_hi": relation[1] if relation else "",
        "category": CATEGORIES.get(patient.category, ("", ""))[0],
        "date": at.strftime("%d-%m-%Y"),
        "time": at.strftime("%H:%M"),
        "counter": f"{visit.counter} · {visit.node}",
        "barcode_svg": barcodes.code128_svg(digits),
        "qr_svg": barcodes.qr_svg(
            f"UHID:{patient.uhid};VISIT:{visit.visit_no};TOKEN:{visit.token}"
        ),
    }


def slip_html(context: dict[str, Any], page: str) -> str:
    return render_to_string("registration/slip.html", {**context, "page": page})


def slip_pdf(
    visit: Visit, patient: Patient, department: Department | None, page: str = "a5"
) -> bytes:
    size = FORMATS[page]
    return render_pdf(slip_html(slip_context(visit, patient, department), page), size)
