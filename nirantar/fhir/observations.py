"""Verified laboratory results as FHIR R4 Observations.

Only results a pathologist has verified are served: they are what the JSON API shows a
doctor, a nurse or the records office, and what the signed report prints. A result still
awaiting verification is not an Observation here (a bench result is not yet something a
clinician may act on). A verified result is ``final``; a verified amendment ``amended``.

An Observation's id is ``lab-`` and the result's own id (``ORIGIN:SEQ:N``: the node that
entered it, the event's sequence number there, the result's place in the event) with
dots for colons, e.g. ``lab-node-a.30.0``: stable, and the same on every node.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from nirantar import timeutil
from nirantar.fhir.validation import Invalid, issue
from nirantar.lab import catalogue
from nirantar.lab.actions import split_value
from nirantar.lab.models import LabOrder, Result, Sample

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ANALYTE_SYSTEM = "urn:nirantar:analyte"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ID = re.compile(r"\Alab-([a-z][a-z0-9-]{0,39}(?:\.[0-9]{1,12}){1,2})\Z")
# The catalogue's units, as UCUM codes. A unit not here is given as text only.
UCUM_CODES = {
    "%": "%",
    "10^3/uL": "10*3/uL",
    "10^6/uL": "10*6/uL",
    "U/L": "U/L",
    "fL": "fL",
    "g/dL": "g/dL",
    "mIU/L": "m[IU]/L",
    "mg/L": "mg/L",
    "mg/dL": "mg/dL",
    "mm/h": "mm/h",
    "mmol/L": "mmol/L",
    "ng/dL": "ng/dL",
    "ug/dL": "ug/dL",
}
FLAGS = {
    "H": "High",
    "L": "Low",
    "HH": "Critical high",
    "LL": "Critical low",
    "A": "Abnormal",
    "N": "Normal",
}


def observation_id(result_id: str) -> str:
    return "lab-" + result_id.replace(":", ".")


def result_id(observation: str) -> str | None:
    match = ID.match(observation)
    return match[1].replace(".", ":") if match else None


def _quantity(number: Decimal, unit: str) -> dict[str, Any]:
    out: dict[str, Any] = {"value": float(number)}
    if unit:
        out["unit"] = unit
        if unit in UCUM_CODES:
            out.update(system=UCUM, code=UCUM_CODES[unit])
    return out


def _number(text: str) -> Decimal | None:
    comparator, number = split_value(text.strip()) if text.strip() else ("", None)
    return None if comparator else number


def observation(result: Result, sample: Sample, encounter: str = "") -> dict[str, Any]:
    analyte = catalogue.ANALYTES.get(result.analyte)
    name = analyte.name if analyte else result.analyte
    coding = [{"system": ANALYTE_SYSTEM, "code": result.analyte, "display": name}]
    if analyte and analyte.loinc:
        coding.insert(0, {"system": LOINC, "code": analyte.loinc, "display": name})
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": observation_id(result.result_id),
        "identifier": [{"system": "urn:nirantar:lab-result", "value": result.result_id}],
        "status": "amended" if result.amends else "final",
        "category": [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": "laboratory", "display": "Laboratory"}]}
        ],
        "code": {"coding": coding, "text": name},
        "subject": {"reference": f"Patient/{result.uhid}"},
    }
    if encounter:
        resource["encounter"] = {"reference": f"Encounter/{encounter}"}
    if sample.collected_at_ms:
        resource["effectiveDateTime"] = timeutil.from_ms(sample.collected_at_ms).isoformat()
    if sample.verified_at_ms:
        resource["issued"] = timeutil.from_ms(sample.verified_at_ms).isoformat()
    qualitative = bool(analyte and analyte.qualitative)
    comparator, number = split_value(result.value.strip())
    if number is not None and not qualitative:
        quantity = _quantity(number, result.unit)
        if comparator:
            quantity["comparator"] = comparator
        resource["valueQuantity"] = quantity
    else:
        resource["valueString"] = result.value
    flag = result.flag or ("N" if (result.low or result.high) else "")
    if flag in FLAGS:
        resource["interpretation"] = [
            {"coding": [{"system": INTERPRETATION, "code": flag, "display": FLAGS[flag]}]}
        ]
    band: dict[str, Any] = {}
    if qualitative and result.low:
        band["text"] = result.low  # the normal text result, e.g. "Nil"
    else:
        low, high = _number(result.low), _number(result.high)
        if low is not None:
            band["low"] = _quantity(low, result.unit)
        if high is not None:
            band["high"] = _quantity(high, result.unit)
    if band:
        resource["referenceRange"] = [band]
    if analyte and analyte.method:
        resource["method"] = {"text": analyte.method}
    return resource


def verified(sample: Sample) -> list[Result]:
    """The sample's results its latest verification covered: what the JSON API shows those
    who act on results. An amendment awaiting verification leaves the verified value
    served until the pathologist verifies the amendment, which then replaces it."""
    return list(
        Result.objects.filter(
            accession=sample.accession,
            uhid=sample.uhid,
            result_id__in=list(sample.verified_results),
        )
    )


def encounters_of_samples(samples: list[Sample]) -> dict[str, str]:
    """accession -> the visit or admission its order came from (if any)."""
    numbers = {o for s in samples for o in s.orders}
    visits = {
        o.order_no: (o.visit, o.uhid)
        for o in LabOrder.objects.filter(order_no__in=numbers).exclude(visit="")
    }
    found = {}
    for s in samples:
        for number in s.orders:
            visit = visits.get(number)
            if visit and visit[1] == s.uhid:
                found[s.accession] = visit[0]
                break
    return found


def loinc_param(value: str) -> set[str]:
    """The analyte codes a ``code=`` names: ``http://loinc.org|718-7``, ``718-7``, or the
    hospital's own ``urn:nirantar:analyte|HGB``; comma-separated values are alternatives."""
    codes: set[str] = set()
    for part in value.split(","):
        system, bar, code = part.partition("|")
        if not bar:
            system, code = "", part
        code = code.strip()
        if system in ("", LOINC):
            codes |= {a.code for a in catalogue.ANALYTES.values() if a.loinc == code}
        if system in ("", ANALYTE_SYSTEM):
            codes |= {code.upper()} & set(catalogue.ANALYTES)
        if system not in ("", LOINC, ANALYTE_SYSTEM):
            raise Invalid(
                400, [issue("not-supported", "code: a LOINC code (http://loinc.org|...)", "code")]
            )
    return codes


def observations_of(samples: list[Sample], codes: set[str] | None) -> list[dict[str, Any]]:
    """Every verified result of these samples (``lab.queries.access_reported_samples``),
    in their order."""
    encounters = encounters_of_samples(samples)
    found = []
    for sample in samples:
        for r in sorted(verified(sample), key=lambda r: r.analyte):
            if codes is None or r.analyte in codes:
                found.append(observation(r, sample, encounters.get(sample.accession, "")))
    return found
