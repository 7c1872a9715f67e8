"""Diagnoses as FHIR R4 Conditions (category encounter-diagnosis).

- An OPD diagnosis (``opd.diagnosis_recorded``): ICD-10 code and title; provisional or
  final (``verificationStatus`` provisional or confirmed); its visit's Encounter. Its id
  is ``opd-`` and the entry's id (``opd-node-a.30``). A diagnosis corrected by a later
  one or struck out is left out of a search; read by its id it is ``entered-in-error``
  (see entries.py).
- A stay's admitting diagnosis (``Admission.diagnosis``, provisional) and the diagnoses of
  the discharge that stands (confirmed): free text as the ward wrote it, ``code.text``
  only, ids ``IP-...-admitting`` and ``IP-...-discharge``.

No clinicalStatus: the record does not say whether a condition has resolved. The builders
(``of_visit``, ``of_admission``) do not audit: their caller audits the read.
"""

from __future__ import annotations

import re
from typing import Any

from nirantar.fhir import entries
from nirantar.opd import queries as opd
from nirantar.opd.queries import EntryView
from nirantar.registration.models import Visit
from nirantar.wards.models import Admission

ICD10 = "http://hl7.org/fhir/sid/icd-10"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
KINDS = ("diagnosis",)
OPD_ID = re.compile(rf"\Aopd-{entries.ENTRY}\Z")
STAY_ID = re.compile(r"\A(IP-[0-9-]{1,30})-(admitting|discharge)\Z")
STAY_PARTS = ("admitting", "discharge")


def _category() -> list[dict[str, Any]]:
    coding = {"system": CATEGORY_SYSTEM, "code": "encounter-diagnosis"}
    return [{"coding": [{**coding, "display": "Encounter Diagnosis"}]}]


def _verification(code: str) -> dict[str, Any]:
    return {"coding": [{"system": VERIFICATION, "code": code}]}


def condition(view: EntryView, encounter: str, known: dict[str, str]) -> dict[str, Any]:
    """An OPD diagnosis entry; ``encounter``: its visit number ('' when not the patient's)."""
    entry, data = view.entry, view.data
    status = "confirmed" if data.get("status") == "final" else "provisional"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": "opd-" + entries.key(entry.entry_id),
        "identifier": entries.identifier(entry.entry_id),
        "verificationStatus": _verification(status if view.current else "entered-in-error"),
        "category": _category(),
        "code": {
            "coding": [{"system": ICD10, "code": data["code"], "display": data["title"]}],
            "text": data["title"],
        },
        "subject": {"reference": f"Patient/{entry.uhid}"},
    }
    if encounter:
        resource["encounter"] = {"reference": f"Encounter/{encounter}"}
    resource["recordedDate"] = entries.iso(entry.at_ms)
    resource["recorder"] = entries.person(entry.actor, known)
    if data.get("note"):
        resource["note"] = [{"text": data["note"]}]
    return resource


def of_entries(views: list[EntryView], visits: set[str]) -> list[dict[str, Any]]:
    """Diagnosis entries of one patient; ``visits``: that patient's visit numbers (an entry
    naming any other visit gets no encounter - a bad peer could name someone else's)."""
    known = entries.names({v.entry.actor for v in views})
    return [condition(v, v.entry.visit if v.entry.visit in visits else "", known) for v in views]


def of_visit(visit: Visit) -> list[dict[str, Any]]:
    """The visit's diagnoses that stand, oldest first. Not audited: the caller audits."""
    current = [v for v in opd.patient_entries(visit.uhid, KINDS, visit.visit_no) if v.current]
    return of_entries(current, {visit.visit_no})


def stay_condition(admission: Admission, part: str) -> dict[str, Any] | None:
    """The admitting diagnosis or the discharge's diagnoses of a stay, if written."""
    if part == "admitting":
        text, status = admission.diagnosis.strip(), "provisional"
        at, by = admission.admitted_ms, admission.admitted_by
    else:
        discharge = admission.discharge if admission.discharged else {}
        text, status = str(discharge.get("diagnoses", "")).strip(), "confirmed"
        at, by = admission.discharge_event_ms, str(discharge.get("by", ""))
    if not text:
        return None
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"{admission.admission_no}-{part}",
        "verificationStatus": _verification(status),
        "category": _category(),
        "code": {"text": text},
        "subject": {"reference": f"Patient/{admission.uhid}"},
        "encounter": {"reference": f"Encounter/{admission.admission_no}"},
    }
    if at:
        resource["recordedDate"] = entries.iso(at)
    if by:
        resource["recorder"] = entries.person(by, entries.names({by}))
    return resource


def of_admission(admission: Admission) -> list[dict[str, Any]]:
    """The stay's admitting diagnosis and, once discharged, its discharge diagnoses. Not
    audited: the caller audits."""
    found = [stay_condition(admission, part) for part in STAY_PARTS]
    return [c for c in found if c is not None]


def newest_first(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(resources, key=lambda r: (r.get("recordedDate", ""), r["id"]), reverse=True)
