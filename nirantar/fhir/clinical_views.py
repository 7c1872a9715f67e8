"""FHIR endpoints of the clinical record: Condition and MedicationRequest.

Both are read with the right to read the clinical record: the OPD's (``opd.read``) for
what the OPD recorded, the wards' (``wards.read``) for what a stay's admission and
discharge say. A search reads each part the caller may read, each through its module's
audited accessor; a read by id through the accessor of the entry's module.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from nirantar.accounts.permissions import allowed
from nirantar.errors import NotFound, ValidationFailed
from nirantar.fhir import conditions, entries, medications, search
from nirantar.fhir import encounters as encounter_resources
from nirantar.fhir.views import fhir_response, operation, search_uhid, searchset
from nirantar.opd import queries as opd_queries
from nirantar.opd.permissions import READ_CLINICAL
from nirantar.wards import queries as ward_queries
from nirantar.wards.permissions import READ_CHART

CLINICAL_PARAMS = ("patient", "subject", "encounter")


def subject_of(params: dict[str, str]) -> tuple[str, str]:
    """(UHID, encounter number or '') a clinical search names: ``patient``/``subject``,
    ``encounter`` or both (then both must hold: a visit of another patient finds nothing).
    The UHID is '' when only an encounter nobody has is named."""
    encounter = (
        encounter_resources.encounter_param(params["encounter"]) if params.get("encounter") else ""
    )
    if params.get("patient") or params.get("subject"):
        return search_uhid(encounter_resources.patient_param(params)), encounter
    return encounter_resources.owner(encounter), encounter


def in_encounter(found: list[dict[str, Any]], encounter: str) -> list[dict[str, Any]]:
    if not encounter:
        return found
    wanted = f"Encounter/{encounter}"
    return [r for r in found if r.get("encounter", {}).get("reference") == wanted]


def page(
    request: HttpRequest, kind: str, params: dict[str, str], found: list[dict[str, Any]]
) -> HttpResponse:
    count, offset = search.paging(params)
    shown = [(r["id"], r) for r in found[offset : offset + count]]
    return fhir_response(searchset(request, kind, params, shown, len(found), offset, count))


def opd_entries(
    request: HttpRequest, uhid: str, kinds: tuple[str, ...], action: str
) -> tuple[list[opd_queries.EntryView], set[str]]:
    """The patient's OPD entries of ``kinds`` that stand and the patient's visit numbers,
    if the caller may read the OPD record (audited); nothing otherwise."""
    if not allowed(request.user, READ_CLINICAL.name):
        return [], set()
    visits, views = opd_queries.access_entries(
        request.user, uhid, kinds=kinds, action=action, via="fhir", request=request
    )
    return [v for v in views if v.current], {v.visit_no for v in visits}


@operation({"GET": (READ_CLINICAL, READ_CHART)})
def conditions_search(request: HttpRequest) -> HttpResponse:
    """A patient's diagnoses that stand, newest first: the OPD's (with ``opd.read``) and
    the stays' (with ``wards.read``), each part an audited read of the patient."""
    params = search.read_params(request.GET, CLINICAL_PARAMS, CLINICAL_PARAMS)
    search.paging(params)  # a bad _count is a 400 before anything is read
    uhid, encounter = subject_of(params)
    found: list[dict[str, Any]] = []
    try:
        if uhid:
            views, visits = opd_entries(request, uhid, conditions.KINDS, "condition.search")
            found += conditions.of_entries(views, visits)
            if allowed(request.user, READ_CHART.name):
                for stay in ward_queries.access_stays(
                    request.user, uhid, action="condition.search", via="fhir", request=request
                ):
                    found += conditions.of_admission(stay)
    except NotFound:
        found = []  # nobody registered under the UHID: nothing read, nothing audited
    found = in_encounter(conditions.newest_first(found), encounter)
    return page(request, "Condition", params, found)


@operation({"GET": (READ_CLINICAL, READ_CHART)})
def condition_read(request: HttpRequest, condition: str) -> HttpResponse:
    """An OPD diagnosis (``opd-...``) through the OPD's ``access_entry``, a stay's
    (``IP-...-admitting|discharge``) through the wards' ``access_chart``: both audited."""
    missing = NotFound(f"no Condition/{condition[:40]}")
    opd_id = entries.parse(conditions.OPD_ID, condition)
    if opd_id:
        try:
            view, visit = opd_queries.access_entry(
                request.user,
                opd_id[0],
                kinds=conditions.KINDS,
                action="condition.read",
                via="fhir",
                request=request,
            )
        except NotFound as exc:
            raise missing from exc
        known = entries.names({view.entry.actor})
        return fhir_response(conditions.condition(view, visit.visit_no if visit else "", known))
    stay = conditions.STAY_ID.match(condition)
    if stay:
        try:
            chart = ward_queries.access_chart(
                request.user, stay[1], action="condition.read", via="fhir", request=request
            )
        except (NotFound, ValidationFailed) as exc:
            raise missing from exc
        found = conditions.stay_condition(chart.admission, stay[2])
        if found is not None:
            return fhir_response(found)
    raise missing


@operation({"GET": (READ_CLINICAL,)})
def medication_requests_search(request: HttpRequest) -> HttpResponse:
    """A patient's prescribed medicines that stand, newest prescription first (in each, the
    prescription's order): one audited read of the patient's OPD record."""
    params = search.read_params(request.GET, CLINICAL_PARAMS, CLINICAL_PARAMS)
    search.paging(params)
    uhid, encounter = subject_of(params)
    found: list[dict[str, Any]] = []
    try:
        if uhid:
            views, visits = opd_entries(request, uhid, medications.KINDS, "medication.search")
            views.sort(key=lambda v: (v.entry.at_ms, v.entry.entry_id), reverse=True)
            found = medications.of_entries(views, visits)
    except NotFound:
        found = []
    return page(request, "MedicationRequest", params, in_encounter(found, encounter))


@operation({"GET": (READ_CLINICAL,)})
def medication_request_read(request: HttpRequest, medication: str) -> HttpResponse:
    missing = NotFound(f"no MedicationRequest/{medication[:40]}")
    parsed = entries.parse(medications.ID, medication)
    if not parsed:
        raise missing
    entry_id, number = parsed[0], int(parsed[1])
    try:
        view, visit = opd_queries.access_entry(
            request.user,
            entry_id,
            kinds=medications.KINDS,
            action="medication.read",
            via="fhir",
            request=request,
        )
    except NotFound as exc:
        raise missing from exc
    if number > len(view.data.get("items", [])):
        raise missing
    known = entries.names({view.entry.actor})
    return fhir_response(
        medications.medication_request(view, number, visit.visit_no if visit else "", known)
    )
