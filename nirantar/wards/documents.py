"""The wards' printouts: the admission form (A4), the wristband (UHID as a barcode) and the
discharge summary (A4, Hindi and English). Made from a stay's chart; each print is an
audited read of the patient."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from nirantar import timeutil
from nirantar.accounts.permissions import allowed
from nirantar.errors import NotFound
from nirantar.printing import barcodes
from nirantar.printing.renderer import A4, WRISTBAND, render_pdf
from nirantar.registration.catalogue import SEXES
from nirantar.wards.models import Ward
from nirantar.wards.permissions import READ_CHART
from nirantar.wards.queries import Chart, access_admission, access_chart, chart

DISCHARGE_TYPES = {
    "normal": ("Discharged", "छुट्टी"),
    "lama": ("Left against medical advice (LAMA)", "चिकित्सीय सलाह के विरुद्ध गए"),
    "referred": ("Referred to another hospital", "अन्य अस्पताल को रेफ़र"),
    "absconded": ("Absconded", "बिना सूचना चले गए"),
    "death": ("Death", "मृत्यु"),
}
SUMMARY_PARTS = [
    ("diagnoses", "Diagnoses", "निदान"),
    ("procedures", "Procedures", "प्रक्रियाएँ"),
    ("course", "Course in hospital", "अस्पताल में उपचार"),
    ("condition", "Condition at discharge", "छुट्टी के समय स्थिति"),
    ("medicines", "Medicines", "दवाइयाँ"),
    ("follow_up", "Follow-up advice", "आगे की सलाह"),
]


def stay_for_print(request: Any, admission_text: Any, *, action: str) -> Chart:
    """The stay, for whoever prints its form or wristband: the admission desk (which may not
    read charts) or ward staff. The print is an audited read of the patient."""
    if allowed(request.user, READ_CHART.name):
        return access_chart(request.user, admission_text, action=action, via="pdf", request=request)
    admission, patient = access_admission(
        request.user, admission_text, action=action, via="pdf", request=request
    )
    if patient is None:
        raise NotFound(f"no patient {admission.uhid}", {"uhid": "not registered here"})
    return chart(admission, patient)


def _when(ms: int | None) -> str:
    return timeutil.local(timeutil.from_ms(ms)).strftime("%d-%m-%Y %H:%M") if ms else ""


def _context(found: Chart) -> dict[str, Any]:
    a, patient = found.admission, found.patient
    ward = Ward.objects.filter(code=a.ward).first()
    first = found.placements[0] if found.placements else None
    first_ward = Ward.objects.filter(code=first.ward).first() if first else None
    sex_en, sex_hi = SEXES.get(patient.sex, ("", ""))
    age, unit = patient.age_on(timeutil.today())
    attending = found.names.get(a.attending, (a.attending, ""))
    return {
        "hospital": settings.NODE.hospital,
        "hospital_hi": settings.NODE.hospital_hi,
        "a": a,
        "patient": patient,
        "ward": ward,
        "first_ward": first_ward,
        "first_bed": first.bed if first else a.bed,
        "sex_en": sex_en,
        "sex_hi": sex_hi,
        "age": f"{age} {unit}" if unit else "",
        "attending": attending[0] or a.attending,
        "attending_reg": attending[1],
        "admitted_at": _when(a.admitted_ms),
        "placements": [
            {"bed": p.bed, "ward": p.ward, "kind": p.kind, "at": _when(p.at_ms), "reason": p.reason}
            for p in found.placements
        ],
        "barcode_svg": barcodes.code128_svg(patient.uhid.replace("-", ""), height_mm=8),
        "printed_at": timeutil.local(timeutil.now()).strftime("%d-%m-%Y %H:%M"),
        "node": settings.NODE.node,
    }


def admission_form_pdf(found: Chart) -> bytes:
    return render_pdf(render_to_string("wards/admission_form.html", _context(found)), A4)


def wristband_pdf(found: Chart) -> bytes:
    context = _context(found)
    context["barcode_svg"] = barcodes.code128_svg(
        found.patient.uhid.replace("-", ""), module_width_mm=0.3, height_mm=10
    )
    return render_pdf(render_to_string("wards/wristband.html", context), WRISTBAND)


def discharge_summary_pdf(found: Chart) -> bytes:
    a = found.admission
    context = _context(found)
    kind = a.discharge.get("type", "")
    by = a.discharge.get("by", "")
    context.update(
        {
            "discharge_en": DISCHARGE_TYPES.get(kind, (kind, ""))[0],
            "discharge_hi": DISCHARGE_TYPES.get(kind, ("", kind))[1],
            "discharged_at": _when(a.discharged_ms),
            "parts": [
                {"en": en, "hi": hi, "text": a.discharge.get(key, "")}
                for key, en, hi in SUMMARY_PARTS
                if a.discharge.get(key)
            ],
            "signed_by": found.names.get(by, (by, ""))[0] or by,
            "signed_reg": found.names.get(by, ("", ""))[1],
            "days": max(1, round(((a.discharged_ms or 0) - (a.admitted_ms or 0)) / 86_400_000)),
            "orders": found.orders,
        }
    )
    return render_pdf(render_to_string("wards/discharge_summary.html", context), A4)
