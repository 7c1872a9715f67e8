"""OPD visits and ward admissions as FHIR R4 Encounters.

An Encounter's id is the hospital's own number: the visit number (OP-...) of an OPD
visit, the admission number (IP-...) of a stay. Reads go through registration's
``access_visit`` and the wards' ``access_admission``, so each is audited as the JSON API
audits it; a search is one audited read of the patient (``access_patient``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from nirantar import timeutil
from nirantar.fhir import search
from nirantar.fhir.validation import Invalid, issue
from nirantar.opd.models import QueueState
from nirantar.registration import events as registration_events
from nirantar.registration import queries as registration
from nirantar.registration.models import Visit
from nirantar.wards.events import ADMISSION
from nirantar.wards.models import Admission, Ward

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
DEPARTMENT_SYSTEM = "urn:nirantar:department"
VISIT_SYSTEM = "urn:nirantar:visit"
ADMISSION_SYSTEM = "urn:nirantar:admission"
CLASSES = {
    "AMB": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "IMP": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
}
# The wards' discharge types, as discharge-disposition codes.
DISPOSITIONS = {
    "normal": ("home", "Home"),
    "lama": ("aadvice", "Left against advice"),
    "absconded": ("aadvice", "Left against advice"),
    "referred": ("other-hcf", "Other healthcare facility"),
    "death": ("exp", "Expired"),
}


def _iso(ms: int) -> str:
    return timeutil.from_ms(ms).isoformat()


def visit_status(visit: Visit, state: QueueState | None) -> str:
    """From the OPD queue: seen (done) is finished, a no-show cancelled, in the room
    in-progress; waiting or called is arrived. Once the visit's day is over, a visit
    still in the room is finished and one never seen is cancelled."""
    step = state.step if state else "waiting"
    if step == "done":
        return "finished"
    if step == "no_show":
        return "cancelled"
    over = visit.local_date < timeutil.today()
    if step == "consulting":
        return "finished" if over else "in-progress"
    return "cancelled" if over else "arrived"


def queue_state(visit: Visit) -> QueueState | None:
    return QueueState.objects.filter(visit_no=visit.visit_no, uhid=visit.uhid).first()


def visit_encounter(visit: Visit, state: QueueState | None) -> dict[str, Any]:
    department = registration.department(visit.department)
    period: dict[str, str] = {"start": _iso(visit.at_ms)}
    if state is not None and state.step == "done":
        period["end"] = _iso(state.at_ms)
    return {
        "resourceType": "Encounter",
        "id": visit.visit_no,
        "identifier": [{"system": VISIT_SYSTEM, "value": visit.visit_no}],
        "status": visit_status(visit, state),
        "class": CLASSES["AMB"],
        "serviceType": {
            "coding": [{"system": DEPARTMENT_SYSTEM, "code": visit.department}],
            "text": department.name_en if department else visit.department,
        },
        "subject": {"reference": f"Patient/{visit.uhid}"},
        "period": period,
    }


def admission_encounter(admission: Admission) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": admission.admission_no,
        "identifier": [{"system": ADMISSION_SYSTEM, "value": admission.admission_no}],
        "status": "finished" if admission.discharged else "in-progress",
        "class": CLASSES["IMP"],
        "subject": {"reference": f"Patient/{admission.uhid}"},
    }
    ward = Ward.objects.filter(code=admission.ward).first() if admission.ward else None
    if ward is not None and ward.department:
        department = registration.department(ward.department)
        resource["serviceType"] = {
            "coding": [{"system": DEPARTMENT_SYSTEM, "code": ward.department}],
            "text": department.name_en if department else ward.department,
        }
    period: dict[str, str] = {}
    if admission.admitted_ms is not None:
        period["start"] = _iso(admission.admitted_ms)
    if admission.discharged and admission.discharged_ms is not None:
        period["end"] = _iso(admission.discharged_ms)
    if period:
        resource["period"] = period
    # Only a visit of the same patient: a bad peer could name someone else's.
    if (
        admission.visit
        and Visit.objects.filter(visit_no=admission.visit, uhid=admission.uhid).exists()
    ):
        resource["partOf"] = {"reference": f"Encounter/{admission.visit}"}
    if admission.discharged:
        kind = str(admission.discharge.get("type", ""))
        code, display = DISPOSITIONS.get(kind, ("oth", "Other"))
        resource["hospitalization"] = {
            "dischargeDisposition": {
                "coding": [{"system": DISCHARGE_DISPOSITION, "code": code, "display": display}],
                "text": kind or "discharged",
            }
        }
    locations = []
    status = "completed" if admission.discharged else "active"
    if admission.bed:
        locations.append({"location": {"reference": f"Location/{admission.bed}"}, "status": status})
    if admission.ward:
        ward_ref: dict[str, str] = {"reference": f"Location/{admission.ward}"}
        if ward is not None:
            ward_ref["display"] = ward.name_en
        locations.append({"location": ward_ref, "status": status})
    if locations:
        resource["location"] = locations
    return resource


def kind_of(number: str) -> str:
    """'visit' or 'admission', by the number's prefix; '' for anything else."""
    compact = number.strip().upper()
    if compact.startswith(registration_events.VISIT.prefix):
        return "visit"
    if compact.startswith(ADMISSION.prefix):
        return "admission"
    return ""


def patient_param(params: dict[str, str]) -> str:
    """The UHID a search names, from ``patient=UHID|Patient/UHID`` or ``subject=Patient/UHID``."""
    given = [(k, params[k]) for k in ("patient", "subject") if params.get(k)]
    if not given:
        raise Invalid(400, [issue("invalid", "give patient= (a UHID) or subject=Patient/UHID")])
    if len({v.removeprefix("Patient/") for _, v in given}) > 1:
        raise Invalid(400, [issue("invalid", "patient and subject name different patients")])
    key, value = given[0]
    if key == "subject" and not value.startswith("Patient/"):
        raise Invalid(400, [issue("invalid", "subject: only Patient/UHID is supported", "subject")])
    return value.removeprefix("Patient/")


def encounters_of(uhids: list[str]) -> list[dict[str, Any]]:
    """Every visit and stay of a patient (under any of ``uhids``: the UHIDs of one record,
    ``registration.queries.group_of``), newest first."""
    visits = list(Visit.objects.filter(uhid__in=uhids))
    states = {
        (s.visit_no, s.uhid): s
        for s in QueueState.objects.filter(
            visit_no__in=[v.visit_no for v in visits], uhid__in=uhids
        )
    }
    dated: list[tuple[int, str, dict[str, Any]]] = [
        (v.at_ms, v.visit_no, visit_encounter(v, states.get((v.visit_no, v.uhid)))) for v in visits
    ]
    for a in Admission.objects.filter(uhid__in=uhids, is_admitted=True):
        dated.append((a.admitted_ms or 0, a.admission_no, admission_encounter(a)))
    dated.sort(key=lambda d: (-d[0], d[1]))
    return [d[2] for d in dated]


# Encounter.status's value set (R4): a search may name any of them.
STATUSES = (
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
)


def narrowing(params: dict[str, str]) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    """What narrows a search's Encounters: ``date`` (when the visit or stay began) and
    ``status`` (any of a comma-separated list). Checked here, before anything is read."""
    wanted = set(params["status"].split(",")) if params.get("status") else set()
    unknown = sorted(wanted - set(STATUSES))
    if unknown:
        message = f"status: {unknown[0][:30]!r} is not an Encounter status"
        raise Invalid(400, [issue("invalid", message, "status")])
    began = search.date_filter(params["date"]) if params.get("date") else None

    def narrow(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if wanted:
            found = [r for r in found if r["status"] in wanted]
        if began is not None:
            found = [
                r
                for r in found
                if r.get("period", {}).get("start")
                and began(datetime.fromisoformat(r["period"]["start"]))
            ]
        return found

    return narrow


def encounter_param(value: str) -> str:
    """The visit or admission number an ``encounter=`` search names (``Encounter/OP-...``
    or the bare number), normalised; Invalid (400) if it names neither."""
    number = value.removeprefix("Encounter/")
    fmt = {"visit": registration_events.VISIT, "admission": ADMISSION}.get(kind_of(number))
    try:
        if fmt is None:
            raise ValueError(number)
        return fmt.normalise(number)
    except ValueError as exc:
        raise Invalid(
            400,
            [issue("invalid", "encounter: a visit (OP-...) or admission (IP-...)", "encounter")],
        ) from exc


def owner(number: str) -> str:
    """The UHID of the visit or admission ``number`` ('' if there is none)."""
    if kind_of(number) == "visit":
        rows = Visit.objects.filter(visit_no=number)
    else:
        rows = Admission.objects.filter(admission_no=number, is_admitted=True)  # type: ignore[assignment]
    return str(rows.values_list("uhid", flat=True).first() or "")
