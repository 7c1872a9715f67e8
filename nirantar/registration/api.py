"""Registration's part of the JSON API: patients, visits and slips."""
# No `from __future__ import annotations` here: django-ninja reads these type hints at
# import time, through the permission decorator, so they must be real objects.

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from nirantar import timeutil
from nirantar.accounts.auth import needs
from nirantar.registration import actions, queries, rules, slip
from nirantar.registration.catalogue import CATEGORIES
from nirantar.registration.models import Patient, PatientMerge, Visit
from nirantar.registration.permissions import (
    BREAK_GLASS,
    CORRECT,
    MERGE,
    PRINT_SLIP,
    READ_PATIENT,
    REGISTER,
)
from nirantar.schemas import ERRORS

router = Router(tags=["registration"])

# Break the glass over the API: the reason for opening a record without the usual right.
EMERGENCY_HEADER = "X-Emergency-Reason"

Relation = Literal["S/O", "D/O", "W/O", "C/O"]


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class AddressIn(Strict):
    line: str | None = Field(None, max_length=rules.MAX_LINE)
    district: str | None = Field(None, max_length=rules.MAX_DISTRICT)
    state: str | None = Field(None, max_length=rules.MAX_DISTRICT)
    pin: str | None = Field(None, max_length=10, examples=["261001"])


class PatientIn(Strict):
    name_hi: str | None = Field(None, max_length=rules.MAX_NAME, examples=["राम कुमार शर्मा"])
    name_en: str | None = Field(None, max_length=rules.MAX_NAME, examples=["Ram Kumar Sharma"])
    sex: Literal["M", "F", "O"]
    date_of_birth: date | None = None
    age_years: int | None = Field(None, ge=0, le=rules.MAX_AGE_YEARS)
    age_months: int | None = Field(None, ge=0, le=35)
    age_days: int | None = Field(None, ge=0, le=365)
    guardian_relation: Relation | None = None
    guardian_name: str | None = Field(None, max_length=rules.MAX_NAME)
    mobile: str | None = Field(None, max_length=20, examples=["9876543210"])
    abha_number: str | None = Field(
        None,
        max_length=20,
        description="14 digits, hyphens optional",
        examples=["91-5101-6530-5101"],
    )
    abha_address: str | None = Field(
        None, max_length=64, description="stored lower-cased", examples=["ram.sharma@abdm"]
    )
    category: Literal[tuple(CATEGORIES)] = "general"  # type: ignore[valid-type]
    address: AddressIn | None = None


class PatientPatch(Strict):
    name_hi: str | None = Field(None, max_length=rules.MAX_NAME)
    name_en: str | None = Field(None, max_length=rules.MAX_NAME)
    sex: Literal["M", "F", "O"] | None = None
    date_of_birth: date | None = None
    age_years: int | None = Field(None, ge=0, le=rules.MAX_AGE_YEARS)
    age_months: int | None = Field(None, ge=0, le=35)
    age_days: int | None = Field(None, ge=0, le=365)
    guardian_relation: Relation | None = None
    guardian_name: str | None = Field(None, max_length=rules.MAX_NAME)
    mobile: str | None = Field(None, max_length=20)
    abha_number: str | None = Field(None, max_length=20)
    abha_address: str | None = Field(None, max_length=64)
    category: Literal[tuple(CATEGORIES)] | None = None  # type: ignore[valid-type]
    address: AddressIn | None = None
    reason: str | None = Field(None, max_length=200)


class AddressOut(Schema):
    line: str
    district: str
    state: str
    pin: str


class PatientOut(Schema):
    uhid: str
    name_hi: str
    name_en: str
    sex: str
    date_of_birth: date | None
    dob_estimated: bool
    age: str
    guardian_relation: str
    guardian_name: str
    mobile: str
    abha_number: str = Field(..., description="14 digits, no hyphens; '' if not known")
    abha_address: str = Field(..., description="lower-cased; '' if not known")
    category: str
    address: AddressOut
    registered_at: str | None
    registered_node: str
    merged_from: str | None = Field(
        None,
        description="the UHID asked for, when it was merged into this record (the answer "
        "is the survivor's record)",
    )
    merged_uhids: list[str] = Field(
        [],
        description="UHIDs merged into this record: their visits, orders, results and "
        "stays show here",
    )


class MergeIn(Strict):
    survivor: str = Field(..., max_length=20, examples=["101-0000001-3"])
    duplicate: str = Field(..., max_length=20, examples=["102-0000001-1"])
    reason: str = Field(..., max_length=200, examples=["same person: same ABHA, mobile, father"])


class MergeOut(Schema):
    survivor: str
    duplicate: str
    merged: bool = Field(..., description="the pair's state now")
    shows_under: str = Field(..., description="the record the duplicate's UHID shows under now")
    group: list[str] = Field(..., description="every UHID in that record, survivor first")
    reason: str
    actor: str
    at: str
    node: str
    conflict: str = Field(
        ...,
        description="why this merged pair is not followed (merged into two, or a cycle made "
        "on nodes apart); '' when it is",
    )


class SearchOut(Schema):
    kind: str
    results: list[PatientOut]


class ChangeOut(Schema):
    field: str
    value: Any
    at: str
    node: str
    actor: str
    kind: str
    reason: str
    current: bool


class HistoryOut(Schema):
    uhid: str
    changes: list[ChangeOut]


class VisitIn(Strict):
    uhid: str = Field(..., max_length=20, examples=["101-0000001-3"])
    department: str = Field(..., max_length=100, examples=["Medicine"])


class VisitOut(Schema):
    visit: str
    uhid: str
    token: str
    department: str
    department_name: str
    department_name_hi: str
    room: str
    room_hi: str
    date: date
    registered_at: str
    counter: str
    node: str
    slip: str


def patient_out(patient: Patient, merged: list[str] | None = None) -> dict[str, Any]:
    """``merged``: the UHIDs merged into the record, if the caller has them already."""
    age, unit = patient.age_on(timeutil.today())
    if merged is None:
        merged = queries.group_of(patient.uhid)[1:]
    return {
        "uhid": patient.uhid,
        "name_hi": patient.name_hi,
        "name_en": patient.name_en,
        "sex": patient.sex,
        "date_of_birth": patient.date_of_birth,
        "dob_estimated": patient.dob_estimated,
        "age": f"{age} {unit}".strip(),
        "guardian_relation": patient.guardian_relation,
        "guardian_name": patient.guardian_name,
        "mobile": patient.mobile,
        "abha_number": patient.abha_number,
        "abha_address": patient.abha_address,
        "category": patient.category,
        "address": {
            "line": patient.address_line,
            "district": patient.district,
            "state": patient.state,
            "pin": patient.pin,
        },
        "registered_at": (
            timeutil.from_ms(patient.registered_at_ms).isoformat()
            if patient.registered_at_ms
            else None
        ),
        "registered_node": patient.registered_node,
        "merged_from": patient.merged_from or None,
        "merged_uhids": merged,
    }


def merge_out(pair: PatientMerge) -> dict[str, Any]:
    return {
        "survivor": pair.survivor,
        "duplicate": pair.duplicate,
        "merged": pair.merged,
        "shows_under": queries.survivor_of(pair.duplicate),
        "group": queries.group_of(pair.duplicate),
        "reason": pair.reason,
        "actor": pair.actor,
        "at": timeutil.from_ms(pair.at_ms).isoformat(),
        "node": pair.node,
        "conflict": pair.overridden,
    }


def visit_out(visit: Visit) -> dict[str, Any]:
    department = queries.department(visit.department)
    return {
        "visit": visit.visit_no,
        "uhid": visit.uhid,
        "token": visit.token,
        "department": visit.department,
        "department_name": department.name_en if department else visit.department,
        "department_name_hi": department.name_hi if department else "",
        "room": visit.room_en,
        "room_hi": visit.room_hi,
        "date": visit.local_date,
        "registered_at": timeutil.from_ms(visit.at_ms).isoformat(),
        "counter": visit.counter,
        "node": visit.node,
        "slip": f"/api/v1/visits/{visit.visit_no}/slip.pdf",
    }


@router.post(
    "/patients",
    response={201: PatientOut, **ERRORS},
    summary="Register a patient",
    auth=needs(REGISTER),
)
def register_patient(request: HttpRequest, payload: PatientIn) -> Status[dict[str, Any]]:
    data = payload.model_dump(exclude_unset=True, mode="json")
    patient = actions.do_register_patient(request.user.username, data)
    return Status(201, patient_out(patient))


@router.get(
    "/patients",
    response={200: SearchOut, **ERRORS},
    summary="Find patients",
    auth=needs(READ_PATIENT),
)
def find_patients(request: HttpRequest, q: str = Query(..., max_length=100)) -> dict[str, Any]:
    kind, patients = queries.search_patients(request.user, q, via="api", request=request)
    merged = queries.merged_into_each({p.uhid for p in patients})
    return {"kind": kind, "results": [patient_out(p, merged.get(p.uhid, [])) for p in patients]}


@router.post(
    "/patients/merge",
    response={200: MergeOut, **ERRORS},
    summary="Merge a duplicate patient's record into the survivor's (records staff)",
    auth=needs(MERGE),
)
def merge_patients(request: HttpRequest, payload: MergeIn) -> dict[str, Any]:
    actions.do_merge_patients(
        request.user.username, payload.survivor, payload.duplicate, payload.reason
    )
    return merge_out(_pair(payload))


@router.post(
    "/patients/unmerge",
    response={200: MergeOut, **ERRORS},
    summary="Undo a merge: both records show apart again, exactly as before (records staff)",
    auth=needs(MERGE),
)
def unmerge_patients(request: HttpRequest, payload: MergeIn) -> dict[str, Any]:
    actions.do_unmerge_patients(
        request.user.username, payload.survivor, payload.duplicate, payload.reason
    )
    return merge_out(_pair(payload))


def _pair(payload: MergeIn) -> PatientMerge:
    survivor = actions.parse_uhid(payload.survivor, "survivor")
    duplicate = actions.parse_uhid(payload.duplicate, "duplicate")
    return PatientMerge.objects.get(survivor=survivor, duplicate=duplicate)


@router.get(
    "/merge-conflicts",
    response={200: list[MergeOut], **ERRORS},
    summary="Merges made apart that clash and are not followed, oldest first (records staff)",
    auth=needs(MERGE),
)
def merge_conflicts(request: HttpRequest) -> list[dict[str, Any]]:
    return [merge_out(p) for p in queries.merge_conflicts()]


@router.get(
    "/patients/{uhid}/merges",
    response={200: list[MergeOut], **ERRORS},
    summary="Every merge a UHID is part of, merged or undone, with any conflict",
    auth=needs(MERGE),
)
def patient_merges(request: HttpRequest, uhid: str) -> list[dict[str, Any]]:
    return [merge_out(p) for p in queries.merges_of(actions.parse_uhid(uhid))]


@router.get(
    "/patients/{uhid}",
    response={200: PatientOut, **ERRORS},
    summary="Read a patient (roles without the usual right: give X-Emergency-Reason)",
    auth=needs(READ_PATIENT, BREAK_GLASS),
)
def read_patient(request: HttpRequest, uhid: str) -> dict[str, Any]:
    patient = queries.access_patient(
        request.user,
        uhid,
        action="patient.read",
        via="api",
        request=request,
        reason=request.headers.get(EMERGENCY_HEADER, ""),
    )
    return patient_out(patient)


@router.get(
    "/patients/{uhid}/history",
    response={200: HistoryOut, **ERRORS},
    summary="Every value each field of a patient has had",
    auth=needs(READ_PATIENT, BREAK_GLASS),
)
def patient_history(request: HttpRequest, uhid: str) -> dict[str, Any]:
    patient = queries.access_patient(
        request.user,
        uhid,
        action="patient.history",
        via="api",
        request=request,
        reason=request.headers.get(EMERGENCY_HEADER, ""),
    )
    return {
        "uhid": patient.uhid,
        "changes": [change_out(c) for c in queries.history(patient)],
    }


def change_out(change: queries.Change) -> dict[str, Any]:
    return {
        "field": change.field,
        "value": change.value,
        "at": timeutil.from_ms(change.hlc_wall).isoformat(),
        "node": change.origin,
        "actor": change.actor,
        "kind": change.kind,
        "reason": change.reason,
        "current": change.current,
    }


@router.patch(
    "/patients/{uhid}",
    response={200: PatientOut, **ERRORS},
    summary="Correct a patient's details",
    auth=needs(CORRECT),
)
def correct_patient(request: HttpRequest, uhid: str, payload: PatientPatch) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True, mode="json")
    reason = data.pop("reason", "") or ""
    actions.do_correct_patient(request.user.username, uhid, data, reason)
    # The answer shows the whole record, so it is an audited read like any other.
    patient = queries.access_patient(
        request.user, uhid, action="patient.correct", via="api", request=request
    )
    return patient_out(patient)


@router.post(
    "/visits",
    response={201: VisitOut, **ERRORS},
    summary="Register an OPD visit",
    auth=needs(REGISTER),
)
def register_visit(request: HttpRequest, payload: VisitIn) -> Status[dict[str, Any]]:
    visit = actions.do_register_visit(request.user.username, payload.uhid, payload.department)
    return Status(201, visit_out(visit))


@router.get(
    "/visits/{visit}",
    response={200: VisitOut, **ERRORS},
    summary="Read a visit",
    auth=needs(READ_PATIENT),
)
def read_visit(request: HttpRequest, visit: str) -> dict[str, Any]:
    row, _ = queries.access_visit(
        request.user, visit, action="visit.read", via="api", request=request
    )
    return visit_out(row)


@router.get(
    "/visits/{visit}/slip.pdf",
    response={200: None, **ERRORS},
    summary="The OPD slip as PDF (format=a5 or thermal80)",
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
    auth=needs(PRINT_SLIP),
)
def visit_slip(
    request: HttpRequest, visit: str, format: Literal["a5", "thermal80"] = "a5"
) -> HttpResponse:
    row, patient = queries.access_visit(
        request.user, visit, action="visit.slip", via="pdf", request=request
    )
    pdf = slip.slip_pdf(row, patient, queries.department(row.department), format)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="slip-{row.visit_no}.pdf"'
    return response
