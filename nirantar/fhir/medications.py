"""OPD prescriptions as FHIR R4 MedicationRequests: one per medicine (intent ``order``).

An ``opd.prescribed`` entry lists up to 20 medicines; each is a MedicationRequest with
the id ``opd-`` + the entry's id + ``-N`` (N from 1, in the prescription's order), e.g.
``opd-node-a.30-2``. A formulary drug carries its formulary code (``urn:nirantar:formulary``)
as well as its name; a drug written in is its name as text only.

Status: ``active`` while the course runs (from the prescription to the end of its days),
``completed`` after; ``entered-in-error`` once the prescription was corrected or struck
(left out of a search; see entries.py). The dosage is given as written (text, route,
frequency, days) and, where the frequency has an exact FHIR form, as Timing: OD, BD, TDS
and QID as times a day (with their GTS codes), HS and OM as once a day at bedtime or in
the morning, WEEKLY as once a week, SOS as as-needed, STAT as once. The Hindi the patient
reads goes in ``patientInstruction``.
"""

from __future__ import annotations

import re
from typing import Any

from nirantar import timeutil
from nirantar.fhir import entries
from nirantar.opd import catalogue
from nirantar.opd import queries as opd
from nirantar.opd.queries import EntryView
from nirantar.registration.models import Visit

FORMULARY_SYSTEM = "urn:nirantar:formulary"
UCUM = "http://unitsofmeasure.org"
GTS = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
KINDS = ("prescription",)
ID = re.compile(rf"\Aopd-{entries.ENTRY}-([1-9][0-9]?)\Z")
DAY_MS = 86_400_000
# frequency -> (Timing.repeat, GTS code or "", as needed)
TIMINGS: dict[str, tuple[dict[str, Any], str, bool]] = {
    "OD": ({"frequency": 1, "period": 1, "periodUnit": "d"}, "QD", False),
    "BD": ({"frequency": 2, "period": 1, "periodUnit": "d"}, "BID", False),
    "TDS": ({"frequency": 3, "period": 1, "periodUnit": "d"}, "TID", False),
    "QID": ({"frequency": 4, "period": 1, "periodUnit": "d"}, "QID", False),
    "HS": ({"frequency": 1, "period": 1, "periodUnit": "d", "when": ["HS"]}, "", False),
    "OM": ({"frequency": 1, "period": 1, "periodUnit": "d", "when": ["MORN"]}, "AM", False),
    "WEEKLY": ({"frequency": 1, "period": 1, "periodUnit": "wk"}, "", False),
    "SOS": ({}, "", True),
    "STAT": ({"count": 1}, "", False),
}


def _days(days: int) -> dict[str, Any]:
    return {"value": days, "unit": "days", "system": UCUM, "code": "d"}


def _dosage(item: dict[str, Any]) -> dict[str, Any]:
    frequency = str(item["frequency"])
    route = str(item["route"])
    days = int(item["duration_days"])
    frequency_en, frequency_hi = catalogue.FREQUENCIES.get(frequency, (frequency, ""))
    route_en, route_hi = catalogue.ROUTES.get(route, (route, ""))
    english = [item["dose"], route_en, f"{frequency_en} ({frequency})", f"for {days} days"]
    if item.get("instructions"):
        english.append(item["instructions"])
    dosage: dict[str, Any] = {"text": ", ".join(english)}
    hindi = [p for p in (route_hi, frequency_hi, item.get("instructions_hi", "")) if p]
    if hindi:
        dosage["patientInstruction"] = ", ".join([*hindi, f"{days} दिन"])
    repeat, code, as_needed = TIMINGS.get(frequency, ({}, "", False))
    repeat = dict(repeat)
    if frequency != "STAT" and days > 0:
        repeat["boundsDuration"] = _days(days)
    timing: dict[str, Any] = {"code": {"text": frequency_en}}
    if code:
        timing["code"]["coding"] = [{"system": GTS, "code": code}]
    if repeat:
        timing["repeat"] = repeat
    dosage["timing"] = timing
    if as_needed:
        dosage["asNeededBoolean"] = True
    dosage["route"] = {"text": route}
    return dosage


def medication_request(
    view: EntryView, number: int, encounter: str, known: dict[str, str]
) -> dict[str, Any]:
    """Item ``number`` (from 1) of a prescription entry; ``encounter``: its visit ('' if not
    the patient's)."""
    entry = view.entry
    item = view.data["items"][number - 1]
    days = int(item["duration_days"])
    if not view.current:
        status = "entered-in-error"
    elif timeutil.now().timestamp() * 1000 < entry.at_ms + max(days, 1) * DAY_MS:
        status = "active"
    else:
        status = "completed"
    medicine: dict[str, Any] = {"text": item["drug"]}
    if item.get("drug_code") and item.get("in_formulary"):
        medicine["coding"] = [
            {"system": FORMULARY_SYSTEM, "code": item["drug_code"], "display": item["drug"]}
        ]
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": f"opd-{entries.key(entry.entry_id)}-{number}",
        "identifier": [{"system": entries.ENTRY_SYSTEM, "value": f"{entry.entry_id}:{number}"}],
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": medicine,
        "subject": {"reference": f"Patient/{entry.uhid}"},
    }
    if encounter:
        resource["encounter"] = {"reference": f"Encounter/{encounter}"}
    resource["authoredOn"] = entries.iso(entry.at_ms)
    resource["requester"] = entries.person(entry.actor, known)
    resource["dosageInstruction"] = [_dosage(item)]
    if days > 0:
        resource["dispenseRequest"] = {"expectedSupplyDuration": _days(days)}
    return resource


def of_entries(views: list[EntryView], visits: set[str]) -> list[dict[str, Any]]:
    """Every medicine of these prescription entries of one patient; ``visits``: that
    patient's visit numbers (another visit named gets no encounter)."""
    known = entries.names({v.entry.actor for v in views})
    return [
        medication_request(v, n, v.entry.visit if v.entry.visit in visits else "", known)
        for v in views
        for n in range(1, len(v.data.get("items", [])) + 1)
    ]


def of_visit(visit: Visit) -> list[dict[str, Any]]:
    """The visit's prescribed medicines that stand, in order. Not audited: the caller audits."""
    current = [v for v in opd.patient_entries(visit.uhid, KINDS, visit.visit_no) if v.current]
    return of_entries(current, {visit.visit_no})
