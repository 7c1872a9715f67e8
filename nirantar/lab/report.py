"""Sample labels and signed laboratory reports.

A **label** (50 x 25 mm, for label printers) carries the accession as a Code128
barcode - the number analysers read back in their results - with the UHID, name,
tests, container and collection time.

A **report** PDF is bilingual and carries two proofs made with the lab node's own
signing key (the key its events are signed with, known to every node):

- a QR code with the report's content hash and a signature over it, so anyone can
  check a printout against the genuine values offline;
- a signature over the PDF's own bytes, appended after ``%%EOF`` (PDF readers ignore
  what follows), so ``nirantar lab check-report FILE.pdf`` finds any byte altered.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from nirantar import timeutil
from nirantar.lab import catalogue
from nirantar.lab.models import Result, Sample
from nirantar.ledger import keys
from nirantar.ledger.models import Origin
from nirantar.ledger.writer import node
from nirantar.printing import barcodes
from nirantar.printing.renderer import A4, LABEL_50x25, render_pdf
from nirantar.registration.catalogue import SEXES
from nirantar.registration.models import Patient

TRAILER = b"\n%NIRANTAR-SIGNATURE "
QR_PREFIX = "NIRANTAR-LAB"


def label_pdf(sample: Sample, patient: Patient | None) -> bytes:
    at = timeutil.local(timeutil.from_ms(sample.collected_at_ms or 0))
    html = render_to_string(
        "lab/label.html",
        {
            "sample": sample,
            "patient": patient,
            "barcode_svg": barcodes.code128_svg(
                # 0.25 mm bars: two dots of a 203-dpi label printer, which 0.19 mm is not.
                sample.accession.replace("-", ""),
                module_width_mm=0.25,
                height_mm=7,
            ),
            "time": at.strftime("%d-%m %H:%M"),
        },
    )
    return render_pdf(html, LABEL_50x25)


def content(sample: Sample, patient: Patient, results: list[Result]) -> dict[str, Any]:
    """What the report says, in a canonical form its hash is taken over."""
    return {
        "accession": sample.accession,
        "uhid": patient.uhid,
        "name": patient.display_name,
        "results": sorted([r.analyte, r.value, r.unit, r.flag] for r in results),
        "verified_by": sample.verified_by,
        "verified_at_ms": sample.verified_at_ms,
    }


def content_hash(facts: dict[str, Any]) -> str:
    text = json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def qr_message(accession: str, digest: str) -> bytes:
    return f"{QR_PREFIX}|{accession}|{digest}".encode()


def sign_content(accession: str, digest: str) -> str:
    return keys.sign(node().key, qr_message(accession, digest))


@dataclass(frozen=True)
class Line:
    section: str
    name: str
    value: str
    unit: str
    flag: str
    range: str


def lines(results: list[Result]) -> list[Line]:
    order = {code: i for i, code in enumerate(catalogue.ANALYTES)}
    found = []
    for r in sorted(results, key=lambda r: order.get(r.analyte, 999)):
        analyte = catalogue.ANALYTES.get(r.analyte)
        test = next((t for t in catalogue.TESTS.values() if r.analyte in t.analytes), None)
        span = (
            f"{r.low}–{r.high}"
            if r.low and r.high
            else (f"< {r.high}" if r.high else (f"> {r.low}" if r.low else ""))
        )
        if analyte is not None and analyte.qualitative:
            span = analyte.normal_text
        found.append(
            Line(
                test.section if test else "",
                analyte.name if analyte else r.analyte,
                r.value,
                r.unit,
                r.flag,
                span,
            )
        )
    return found


def report_pdf(
    sample: Sample, patient: Patient, results: list[Result], names: dict[str, str]
) -> bytes:
    digest = sample.report_hash
    sex_en, sex_hi = SEXES.get(patient.sex, ("", ""))
    age, unit = patient.age_on(timeutil.today())
    html = render_to_string(
        "lab/report.html",
        {
            "hospital": settings.NODE.hospital,
            "hospital_hi": settings.NODE.hospital_hi,
            "sample": sample,
            "patient": patient,
            "age": f"{age} {unit}",
            "sex_en": sex_en,
            "sex_hi": sex_hi,
            "lines": lines(results),
            "sections": catalogue.SECTIONS,
            "verified_by": names.get(sample.verified_by, sample.verified_by),
            "verified_at": _when(sample.verified_at_ms),
            "collected_at": _when(sample.collected_at_ms),
            "reported_at": _when(sample.reported_at_ms),
            "barcode_svg": barcodes.code128_svg(patient.uhid.replace("-", "")),
            "qr_svg": barcodes.qr_svg(
                f"{QR_PREFIX}|{sample.report_node}|{sample.accession}|{digest}|"
                f"{sample.report_signature}",
                scale=2,
            ),
            "digest": digest,
        },
    )
    return sign_pdf(render_pdf(html, A4))


def _when(ms: int | None) -> str:
    return timeutil.local(timeutil.from_ms(ms)).strftime("%d-%m-%Y %H:%M") if ms else ""


def sign_pdf(pdf: bytes) -> bytes:
    local = node()
    signature = keys.sign(local.key, pdf)
    payload = base64.urlsafe_b64encode(f"{local.name}|{signature}".encode()).decode()
    return pdf + TRAILER + payload.encode() + b"\n"


@dataclass(frozen=True)
class Check:
    genuine: bool
    message: str
    accession: str = ""


def check_pdf(data: bytes) -> Check:
    """Is this a report PDF a lab node of this hospital signed, byte for byte?"""
    at = data.rfind(TRAILER)
    if at < 0:
        return Check(False, "no Nirantar signature in this file: not a Nirantar report")
    body, tail = data[:at], data[at + len(TRAILER) :].strip()
    try:
        origin_name, signature = base64.urlsafe_b64decode(tail).decode().split("|", 1)
    except (ValueError, UnicodeDecodeError):
        return Check(False, "the signature is damaged")
    origin = Origin.objects.filter(name=origin_name).first()
    if origin is None:
        return Check(False, f"signed by {origin_name}, which is not a node of this hospital")
    if not keys.verify(origin.public_key, signature, body):
        return Check(False, "the file was altered after it was signed: NOT genuine")
    return Check(True, f"genuine and unaltered: signed by the laboratory node {origin_name}")


def check_qr(text: str) -> Check:
    """Check the QR text of a printed report: was it made by a lab node of this hospital?"""
    parts = text.strip().split("|")
    if len(parts) != 5 or parts[0] != QR_PREFIX:
        return Check(False, "not a Nirantar laboratory report code")
    _, origin_name, accession, digest, signature = parts
    origin = Origin.objects.filter(name=origin_name).first()
    if origin is None or not keys.verify(
        origin.public_key, signature, qr_message(accession, digest)
    ):
        return Check(False, "the code's signature does not verify: NOT genuine", accession)
    sample = Sample.objects.filter(accession=accession).first()
    if sample is not None and sample.report_hash and sample.report_hash != digest:
        return Check(False, "this is not the report's latest version (it was amended)", accession)
    return Check(True, f"genuine: report of sample {accession}, signed by {origin_name}", accession)
