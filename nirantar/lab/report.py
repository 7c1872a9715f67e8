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

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from nirantar import timeutil
from nirantar.accounts import queries as accounts
from nirantar.lab import catalogue
from nirantar.lab.models import Result, Sample
from nirantar.ledger import keys
from nirantar.ledger.models import Origin
from nirantar.ledger.writer import node
from nirantar.printing import barcodes
from nirantar.printing.renderer import A4, LABEL_50x25, render_pdf
from nirantar.registration.catalogue import SEXES
from nirantar.registration.models import Patient

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


def report_pdf(sample: Sample, patient: Patient, results: list[Result]) -> bytes:
    digest = sample.report_hash
    verifier = accounts.staff_names([sample.verified_by]).get(sample.verified_by)
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
            "verified_by": verifier[0] if verifier else sample.verified_by,
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
    return sign_pdf(render_pdf(html, A4), sample.accession, digest)


def _when(ms: int | None) -> str:
    return timeutil.local(timeutil.from_ms(ms)).strftime("%d-%m-%Y %H:%M") if ms else ""


TRAILER_RE = re.compile(
    rb"\n%NIRANTAR-SIGNATURE v1 ([A-Za-z0-9._-]{1,40}) (S-\d{3}-\d{7}-\d) ([0-9a-f]{64}) "
    rb"([A-Za-z0-9+/=_-]{20,200})\n\Z"
)


def pdf_message(body: bytes, accession: str, digest: str) -> bytes:
    """What a report PDF's signature covers. Labelled, so no other signature of the node
    (an event's, a QR code's) can pass for a report's."""
    return f"NIRANTAR-LAB-PDF|{accession}|{digest}|{hashlib.sha256(body).hexdigest()}".encode()


def sign_pdf(pdf: bytes, accession: str, digest: str) -> bytes:
    local = node()
    signature = keys.sign(local.key, pdf_message(pdf, accession, digest))
    return (
        pdf + f"\n%NIRANTAR-SIGNATURE v1 {local.name} {accession} {digest} {signature}\n".encode()
    )


@dataclass(frozen=True)
class Check:
    genuine: bool
    message: str
    accession: str = ""


def _signer(origin_name: str) -> tuple[Origin | None, str]:
    origin = Origin.objects.filter(name=origin_name, kind=Origin.NODE).first()
    if origin is None:
        return None, f"signed by {origin_name}, which is not a node of this hospital"
    if origin.revoked_after_seq is not None:
        return None, f"signed by {origin_name}, whose key has been revoked: it can't vouch"
    return origin, ""


def _still_current(accession: str, digest: str) -> str:
    """'' if the report is the sample's latest here, else why not (amended since)."""
    from nirantar.lab.actions import awaiting_verification

    sample = Sample.objects.filter(accession=accession).first()
    if sample is None or not sample.report_hash:
        return ""  # not synced here yet: the signature alone vouches for the file
    if sample.report_hash != digest or awaiting_verification(sample):
        return "its results were amended since: ask the laboratory for the current report"
    return ""


def check_pdf(data: bytes) -> Check:
    """Is this a report PDF a lab node of this hospital signed, byte for byte, and is it
    the sample's current report? The file must end with its signature line: anything
    added after it (a PDF update redrawing a value) fails the check."""
    found = TRAILER_RE.search(data[-400:])
    if found is None:
        return Check(False, "no Nirantar signature at the end of this file: NOT genuine")
    body = data[: len(data) - len(found.group(0))]
    origin_name, accession, digest, signature = (g.decode() for g in found.groups())
    origin, problem = _signer(origin_name)
    if origin is None:
        return Check(False, problem, accession)
    if not keys.verify(origin.public_key, signature, pdf_message(body, accession, digest)):
        return Check(False, "the file was altered after it was signed: NOT genuine", accession)
    stale = _still_current(accession, digest)
    if stale:
        return Check(False, f"signed, but not the current report: {stale}", accession)
    return Check(
        True, f"genuine and unaltered: report of {accession}, signed by {origin_name}", accession
    )


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
