"""Issued laboratory reports as FHIR R4 DiagnosticReports, with the signed PDF.

One DiagnosticReport per sample whose report has been issued (verified, then signed by
the pathologist's "issue report"). Its id is the sample's accession (``S-101-0000001-3``).
Only a **current** report is served: one whose results are still the ones its signature
covers. After an amendment the laboratory itself refuses the old PDF until the amendment
is verified and the report issued again; so does this module (a search leaves the sample
out, a read answers 409), rather than serve values nobody verified or a superseded PDF.

``presentedForm`` is the signed report PDF, made by the laboratory's own
``report.report_pdf`` - the code behind ``/api/v1/lab/samples/{accession}/report.pdf`` -
so its signature checks with ``nirantar lab check-report``. A read carries it inline
(``data``, with ``size`` and SHA-1 ``hash``); a search carries only its ``url`` (that same
report endpoint, readable with the same bearer token), since a page of searchset entries
with a rendered, base64-encoded PDF each would be megabytes and seconds of rendering.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from django.conf import settings

from nirantar import timeutil
from nirantar.accounts import queries as accounts
from nirantar.errors import Conflict
from nirantar.fhir import observations
from nirantar.fhir import service_requests as requests
from nirantar.lab import actions as lab_actions
from nirantar.lab import catalogue, report
from nirantar.lab import queries as lab_queries
from nirantar.lab.models import LabOrder, Result, Sample
from nirantar.registration import queries as registration
from nirantar.registration.models import Patient, Visit

V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
ACCESSION_SYSTEM = "urn:nirantar:accession"
# The laboratory's sections as diagnostic service sections (v2-0074), besides LAB.
SECTIONS = {
    "haematology": ("HM", "Hematology"),
    "biochemistry": ("CH", "Chemistry"),
    "microbiology": ("MB", "Microbiology"),
}


def _iso(ms: int | None) -> str:
    return timeutil.from_ms(ms).isoformat() if ms else ""


def _code(sample: Sample) -> dict[str, Any]:
    """One test: its own code (LOINC panel where the catalogue has one). Several tests in
    one sample (an LFT and a KFT in one serum tube): their names as text - one coding
    can't stand for two panels."""
    if len(sample.tests) == 1:
        return requests.test_code(sample.tests[0])
    names = [t.name_en if t else code for code, t in _tests(sample)]
    return {"text": ", ".join(names)}


def _tests(sample: Sample) -> list[tuple[str, catalogue.LabTest | None]]:
    return [(code, catalogue.TESTS.get(code)) for code in sample.tests]


def _category(sample: Sample) -> list[dict[str, Any]]:
    coding = [{"system": V2_0074, "code": "LAB", "display": "Laboratory"}]
    section = SECTIONS.get(sample.section)
    if section:
        coding.append({"system": V2_0074, "code": section[0], "display": section[1]})
    return [{"coding": coding}]


def _based_on(sample: Sample, orders: dict[str, LabOrder]) -> list[dict[str, str]]:
    """The ServiceRequests (order, test) this sample was collected for, of its patient."""
    found = []
    for number in sample.orders:
        order = orders.get(number)
        if order is None or order.uhid != sample.uhid:
            continue  # not here yet, or (a bad peer) another patient's
        for test in sample.tests:
            if test in order.tests:
                ref = f"ServiceRequest/{requests.request_id(order.order_no, test)}"
                found.append({"reference": ref})
    return found


def presented_form(
    sample: Sample, patient: Patient | None, results: list[Result], url: str = ""
) -> dict[str, Any]:
    """The signed report PDF: inline (``data``) unless a ``url`` is given."""
    form: dict[str, Any] = {
        "contentType": "application/pdf",
        "title": f"Laboratory report {sample.accession}",
        "creation": _iso(sample.reported_at_ms),
    }
    if url or patient is None:
        form["url"] = url or pdf_path(sample)
        return form
    pdf = report.report_pdf(sample, patient, results)
    form.update(
        data=base64.b64encode(pdf).decode(),
        size=len(pdf),
        hash=base64.b64encode(hashlib.sha1(pdf, usedforsecurity=False).digest()).decode(),
    )
    return form


def pdf_path(sample: Sample) -> str:
    """Where the laboratory serves the report PDF (the JSON API, the same bearer token)."""
    return f"/api/v1/lab/samples/{sample.accession}/report.pdf"


def diagnostic_report(
    sample: Sample,
    results: list[Result],
    *,
    encounter: str = "",
    orders: dict[str, LabOrder] | None = None,
    verifier: str = "",
    form: dict[str, Any] | None = None,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": sample.accession,
        "identifier": [{"system": ACCESSION_SYSTEM, "value": sample.accession}],
    }
    based_on = _based_on(sample, orders or {})
    if based_on:
        resource["basedOn"] = based_on
    resource.update(
        status="amended" if any(r.amends for r in results) else "final",
        category=_category(sample),
        code=_code(sample),
        subject={"reference": f"Patient/{sample.uhid}"},
    )
    if encounter:
        resource["encounter"] = {"reference": f"Encounter/{encounter}"}
    if sample.collected_at_ms:
        resource["effectiveDateTime"] = _iso(sample.collected_at_ms)
    resource["issued"] = _iso(sample.reported_at_ms)
    resource["performer"] = [{"display": f"Laboratory, {settings.NODE.hospital}".rstrip(", ")}]
    if sample.verified_by:
        resource["resultsInterpreter"] = [{"display": verifier or sample.verified_by}]
    ordered = sorted(results, key=lambda r: r.analyte)
    if ordered:
        resource["result"] = [
            {"reference": f"Observation/{observations.observation_id(r.result_id)}"}
            for r in ordered
        ]
    if form is not None:
        resource["presentedForm"] = [form]
    return resource


def current_results(sample: Sample) -> list[Result] | None:
    """The results of the sample's issued report; None if it has none or it is out of
    date (amended since)."""
    if not sample.report_hash or sample.status == "rejected":
        return None
    try:
        return lab_actions.reported_results(sample)
    except Conflict:
        return None


def _orders_of(samples: list[Sample]) -> dict[str, LabOrder]:
    numbers = {n for s in samples for n in s.orders}
    return {o.order_no: o for o in LabOrder.objects.filter(order_no__in=numbers)}


def _verifiers(samples: list[Sample]) -> dict[str, str]:
    names = accounts.staff_names({s.verified_by for s in samples if s.verified_by})
    return {user: name[0] for user, name in names.items() if name[0]}


def reports_of(
    samples: list[Sample], *, with_pdf: bool = False, base: str = ""
) -> list[tuple[dict[str, Any], list[Result], Sample]]:
    """(DiagnosticReport, its results, the sample) of every sample with a current report,
    in the samples' order. The PDF inline only ``with_pdf``; else its ``url`` (``base``
    and the laboratory's report path)."""
    kept: list[tuple[Sample, list[Result]]] = []
    for sample in samples:
        results = current_results(sample)
        if results is not None:
            kept.append((sample, results))
    encounters = observations.encounters_of_samples([s for s, _ in kept])
    orders = _orders_of([s for s, _ in kept])
    verifiers = _verifiers([s for s, _ in kept])
    found = []
    for sample, results in kept:
        patient = registration.get_patient(sample.uhid) if with_pdf else None
        form = presented_form(sample, patient, results, "" if with_pdf else base + pdf_path(sample))
        resource = diagnostic_report(
            sample,
            results,
            encounter=encounters.get(sample.accession, ""),
            orders=orders,
            verifier=verifiers.get(sample.verified_by, ""),
            form=form,
        )
        found.append((resource, results, sample))
    return found


def report_of(sample: Sample, with_pdf: bool = True, base: str = "") -> dict[str, Any]:
    """The DiagnosticReport of one sample (the PDF inline unless ``with_pdf`` is False).
    Raises the laboratory's Conflict if the sample has no current report. Nothing is
    audited here: the caller audits its read."""
    if current_results(sample) is None:
        raise Conflict(
            f"sample {sample.accession} has no current report (none issued, or amended since)",
            {"accession": "no current report"},
        )
    return reports_of([sample], with_pdf=with_pdf, base=base)[0][0]


def reports_of_visit(visit: Visit) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each current report of a visit's (or admission's) laboratory orders, oldest sample
    first, with the PDF inline and its Observations. Nothing is audited here: the caller
    audits its read of the visit."""
    orders = lab_queries.orders_for_visits([visit]).get(visit.visit_no, [])
    by_order = lab_queries.samples_of_orders(orders)
    samples: dict[str, Sample] = {}
    for found in by_order.values():
        for sample in found:
            samples.setdefault(sample.accession, sample)
    ordered = sorted(samples.values(), key=lambda s: (s.collected_at_ms or 0, s.accession))
    answer = []
    for resource, results, sample in reports_of(ordered, with_pdf=True):
        encounter = resource.get("encounter", {}).get("reference", "").removeprefix("Encounter/")
        answer.append(
            (
                resource,
                [
                    observations.observation(r, sample, encounter)
                    for r in sorted(results, key=lambda r: r.analyte)
                ],
            )
        )
    return answer
