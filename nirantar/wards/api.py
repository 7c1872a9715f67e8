"""The wards' part of the JSON API: beds, admissions, transfers, the chart, discharge,
the census and the conflict worklist. Same actions, rules and audit as the screens."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

import hashlib
import json
from datetime import date
from typing import Any, Literal

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts.auth import client_address, needs
from nirantar.accounts.permissions import allowed, require
from nirantar.errors import Conflict as ConflictError
from nirantar.errors import NotFound, ValidationFailed
from nirantar.schemas import ERRORS
from nirantar.wards import actions, documents, queries
from nirantar.wards.models import Admission, Conflict, WardEntry
from nirantar.wards.permissions import (
    ADMIT,
    BEDS,
    BOARD,
    CHART,
    CONFLICTS,
    LAYOUT,
    PROGRESS,
    READ_CHART,
)

router = Router(tags=["wards"])


def _iso(ms: int | None) -> str | None:
    return timeutil.from_ms(ms).isoformat() if ms is not None else None


class OccupantOut(Schema):
    admission: str
    uhid: str
    name_en: str
    name_hi: str
    sex: str
    age: str
    since: str | None
    attending: str


class BedOut(Schema):
    bed: str
    ward: str
    room: str
    state: Literal["vacant", "occupied", "reserved", "cleaning", "out_of_service"]
    occupant: OccupantOut | None
    occupants: list[OccupantOut]
    double_booked: bool
    reserved_for: str
    service_reason: str


class WardOut(Schema):
    ward: str
    name_en: str
    name_hi: str
    kind: str
    sex: str
    counts: dict[str, int]


class BedsOut(Schema):
    beds: list[BedOut]
    wards: list[WardOut]
    counts: dict[str, int]


def _occupant(o: queries.Occupant) -> dict[str, Any]:
    return {
        "admission": o.admission,
        "uhid": o.uhid,
        "name_en": o.name_en,
        "name_hi": o.name_hi,
        "sex": o.sex,
        "age": o.age,
        "since": _iso(o.since_ms),
        "attending": o.attending,
    }


@router.get(
    "/beds",
    response={200: BedsOut, **ERRORS},
    summary="The bed board: every bed's state and occupant (ward=, kind=, sex= to filter)",
    auth=needs(BOARD),
)
def beds(
    request: HttpRequest,
    ward: str = Query("", max_length=10),
    kind: str = Query("", max_length=12),
    sex: Literal["", "M", "F"] = Query(""),
) -> Any:
    boards = queries.board(ward.upper(), kind, sex)
    if ward and not boards:
        raise NotFound(f"no ward {ward}", {"ward": "no such ward"})
    new = _not_shown_today(request, queries.shown(boards))
    if new:
        account_actions.do_record_search(
            request.user,
            f"bed board {ward or kind or 'all'}",
            new,
            via="api",
            address=client_address(request),
        )
    out = []
    for b in boards:
        for bed in b.beds:
            occupants = [_occupant(o) for o in bed.occupants]
            out.append(
                {
                    "bed": bed.bed,
                    "ward": bed.ward,
                    "room": bed.room,
                    "state": bed.state,
                    "occupant": occupants[0] if occupants else None,
                    "occupants": occupants,
                    "double_booked": bed.double_booked,
                    "reserved_for": bed.reserved_for,
                    "service_reason": bed.service_reason,
                }
            )
    body = {
        "beds": out,
        "wards": [
            {
                "ward": b.ward.code,
                "name_en": b.ward.name_en,
                "name_hi": b.ward.name_hi,
                "kind": b.ward.kind,
                "sex": b.ward.sex,
                "counts": dict(b.counts),
            }
            for b in boards
        ],
        "counts": dict(queries.totals(boards)),
    }
    # Built to BedsOut's shape (the tests check it against the published schema); checking
    # 3,300 beds again field by field cost more than reading them.
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder),
        content_type="application/json; charset=utf-8",
    )


def _not_shown_today(request: HttpRequest, uhids: list[str]) -> list[str]:
    """The patients this token's board has not shown yet today in this server process: a
    board polled all day by a ward's system records each patient the first time it shows
    them each day, as a screen's session does, not the whole hospital at every poll. (Kept
    in the process's memory: a restart or another worker records them once more.)"""
    token = request.headers.get("Authorization", "")
    key = "wards-board:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    today = timeutil.today().isoformat()
    seen = cache.get(key)
    already: set[str] = seen[1] if seen and seen[0] == today else set()
    new = [uhid for uhid in uhids if uhid not in already]
    if new:
        cache.set(key, (today, already.union(new)), timeout=36 * 3600)
    return new


class BedIn(Schema):
    model_config = ConfigDict(extra="forbid")
    bed: str = Field(..., max_length=20)
    room: str = Field("", max_length=40)


class WardIn(Schema):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(..., max_length=8, examples=["MW1"])
    name_en: str = Field(..., max_length=80, examples=["Medical Ward 1"])
    name_hi: str = Field(..., max_length=80, examples=["मेडिकल वार्ड 1"])
    kind: Literal["general", "private", "icu", "paediatric", "maternity", "emergency"]
    sex: Literal["M", "F", "any"] = "any"
    department: str = Field("", max_length=10)
    beds: list[BedIn] = Field(..., min_length=1, max_length=500)


@router.put(
    "/wards/{code}",
    response={200: WardOut, **ERRORS},
    summary="Define a ward and its beds (the newest definition stands)",
    auth=needs(LAYOUT),
)
def define_ward(request: HttpRequest, code: str, payload: WardIn) -> Any:
    if payload.code.upper() != code.upper():
        raise ValidationFailed("the code in the path and the body differ", {"code": "differs"})
    ward = actions.do_define_ward(request.user.username, payload.model_dump())
    return {
        "ward": ward.code,
        "name_en": ward.name_en,
        "name_hi": ward.name_hi,
        "kind": ward.kind,
        "sex": ward.sex,
        "counts": {},
    }


class ServiceIn(Schema):
    model_config = ConfigDict(extra="forbid")
    in_service: bool
    reason: str = Field("", max_length=200)


class ReserveIn(Schema):
    model_config = ConfigDict(extra="forbid")
    uhid: str = Field("", max_length=20, description="empty to cancel the reservation")
    note: str = Field("", max_length=200)


class BedStateOut(Schema):
    bed: str
    state: str
    reserved_for: str
    in_service: bool


def _bed_state(bed: Any) -> dict[str, Any]:
    return {
        "bed": bed.bed,
        "state": bed.state,
        "reserved_for": bed.reserved_for,
        "in_service": bed.in_service,
    }


@router.post(
    "/beds/{bed}/service",
    response={200: BedStateOut, **ERRORS},
    summary="Take a bed out of service (with a reason) or put it back",
    auth=needs(BEDS),
)
def bed_service(request: HttpRequest, bed: str, payload: ServiceIn) -> Any:
    return _bed_state(
        actions.do_set_bed_service(request.user.username, bed, payload.in_service, payload.reason)
    )


@router.post(
    "/beds/{bed}/cleaned",
    response={200: BedStateOut, **ERRORS},
    summary="The bed a patient left is clean: vacant again",
    auth=needs(BEDS),
)
def bed_cleaned(request: HttpRequest, bed: str) -> Any:
    return _bed_state(actions.do_clean_bed(request.user.username, bed))


@router.post(
    "/beds/{bed}/reservation",
    response={200: BedStateOut, **ERRORS},
    summary="Reserve a vacant bed for a patient (uhid empty: cancel)",
    auth=needs(ADMIT),
)
def bed_reservation(request: HttpRequest, bed: str, payload: ReserveIn) -> Any:
    return _bed_state(
        actions.do_reserve_bed(request.user.username, bed, payload.uhid, payload.note)
    )


class PlacementOut(Schema):
    bed: str
    ward: str
    kind: str
    reason: str
    at: str
    by: str


class DischargeVersionOut(Schema):
    discharge: str
    type: str
    at: str | None
    by: str
    standing: bool
    recorded_at: str | None


class AdmissionOut(Schema):
    admission: str
    uhid: str
    ward: str
    bed: str
    attending: str
    diagnosis: str
    source: str
    visit: str
    note: str
    admitted_at: str | None
    admitted_by: str
    node: str
    discharged: bool
    discharge: dict[str, Any]
    discharged_at: str | None
    discharges: list[DischargeVersionOut]
    placements: list[PlacementOut]
    form: str
    wristband: str
    discharge_summary: str


def admission_out(
    a: Admission, placements: list[Any] | None = None, *, clinical: bool = True
) -> dict[str, Any]:
    """An admission; without ``clinical`` (a caller who may not read charts: the admission
    desk, the records office's list) the diagnosis, note and discharge summary are left out."""
    base = f"/api/v1/admissions/{a.admission_no}"
    return {
        "admission": a.admission_no,
        "uhid": a.uhid,
        "ward": a.ward,
        "bed": a.bed,
        "attending": a.attending,
        "diagnosis": a.diagnosis if clinical else "",
        "source": a.source,
        "visit": a.visit,
        "note": a.note if clinical else "",
        "admitted_at": _iso(a.admitted_ms),
        "admitted_by": a.admitted_by,
        "node": a.node,
        "discharged": a.discharged,
        "discharge": a.discharge if clinical else {"type": a.discharge.get("type", "")},
        "discharged_at": _iso(a.discharged_ms),
        "discharges": [
            {
                "discharge": v["discharge"],
                "type": v["type"],
                "at": _iso(v["at"]),
                "by": v["by"],
                "standing": v["stamp"] == a.discharge_stamp,
                "recorded_at": _iso(v["stamp"][0]),
            }
            for v in a.discharge_versions
        ],
        "placements": [
            {
                "bed": p.bed,
                "ward": p.ward,
                "kind": p.kind,
                "reason": p.reason,
                "at": _iso(p.at_ms),
                "by": p.actor,
            }
            for p in placements or []
        ],
        "form": f"{base}/form.pdf",
        "wristband": f"{base}/wristband.pdf",
        "discharge_summary": f"{base}/discharge-summary.pdf",
    }


class AdmitIn(Schema):
    model_config = ConfigDict(extra="forbid")
    uhid: str = Field(..., max_length=20, examples=["101-0000001-3"])
    bed: str = Field(..., max_length=20, examples=["MW1-07"])
    attending: str = Field(..., max_length=150, description="the attending doctor's username")
    diagnosis: str = Field("", max_length=300, examples=["Community-acquired pneumonia"])
    source: Literal["opd", "emergency", "direct"] = "direct"
    visit: str = Field("", max_length=24, description="the OPD visit that advised admission")
    note: str = Field("", max_length=300)


@router.post(
    "/admissions",
    response={201: AdmissionOut, **ERRORS},
    summary="Admit a patient to a bed (admission number minted at this node)",
    auth=needs(ADMIT),
)
def admit(request: HttpRequest, payload: AdmitIn) -> Any:
    admission = actions.do_admit(request.user.username, payload.model_dump())
    return Status(201, _admit_read(request, admission.admission_no, "wards.admit"))


def _read(request: HttpRequest, admission: str, action: str) -> dict[str, Any]:
    """The admission as its chart has it; an audited read of the patient."""
    found = queries.access_chart(request.user, admission, action=action, via="api", request=request)
    return admission_out(found.admission, found.placements)


def _admit_read(request: HttpRequest, admission: str, action: str) -> dict[str, Any]:
    """After a write by someone who may write but not read charts (a clerk): what they did,
    with the audit of the patient's record."""
    if allowed(request.user, READ_CHART.name):
        return _read(request, admission, action)
    row, _ = queries.access_admission(
        request.user, admission, action=action, via="api", request=request
    )
    return admission_out(row, clinical=False)


@router.get(
    "/admissions",
    response={200: list[AdmissionOut], **ERRORS},
    summary="Patients admitted now (ward= to filter)",
    auth=needs(BOARD),
)
def admissions(request: HttpRequest, ward: str = Query("", max_length=10)) -> Any:
    rows = queries.open_admissions(ward.upper())
    account_actions.do_record_search(
        request.user,
        f"admissions {ward or 'all'}",
        sorted({a.uhid for a in rows}),
        via="api",
        address=client_address(request),
    )
    clinical = allowed(request.user, READ_CHART.name)
    return [admission_out(a, clinical=clinical) for a in rows]


@router.get(
    "/admissions/{admission}",
    response={200: AdmissionOut, **ERRORS},
    summary="One admission: where the patient is, and where they have been",
    auth=needs(READ_CHART),
)
def admission(request: HttpRequest, admission: str) -> Any:
    return _read(request, admission, "wards.admission")


class TransferIn(Schema):
    model_config = ConfigDict(extra="forbid")
    bed: str = Field(..., max_length=20)
    reason: str = Field("", max_length=200)


@router.post(
    "/admissions/{admission}/transfer",
    response={200: AdmissionOut, **ERRORS},
    summary="Move the patient to another bed or ward (also resolves a double-booked bed)",
    auth=needs(ADMIT),
)
def transfer(request: HttpRequest, admission: str, payload: TransferIn) -> Any:
    actions.do_transfer(request.user.username, admission, payload.bed, payload.reason)
    return _admit_read(request, admission, "wards.transfer")


class DischargeIn(Schema):
    model_config = ConfigDict(extra="forbid")
    type: Literal["normal", "lama", "referred", "absconded", "death"]
    at: str | None = Field(None, max_length=40, description="ISO time; hospital time if bare")
    diagnoses: str = Field("", max_length=4000)
    procedures: str = Field("", max_length=4000)
    course: str = Field("", max_length=4000)
    condition: str = Field("", max_length=4000)
    medicines: str = Field("", max_length=4000)
    follow_up: str = Field("", max_length=4000)


@router.post(
    "/admissions/{admission}/discharge",
    response={200: AdmissionOut, **ERRORS},
    summary="Discharge (normal, lama, referred, absconded, death) with the summary",
    auth=needs(PROGRESS),
)
def discharge(request: HttpRequest, admission: str, payload: DischargeIn) -> Any:
    actions.do_discharge(request.user.username, admission, payload.model_dump())
    return _read(request, admission, "wards.discharge")


class ConfirmIn(Schema):
    model_config = ConfigDict(extra="forbid")
    discharge: str = Field(..., max_length=60, description="the discharge (its id) that stands")
    note: str = Field(..., max_length=200)


@router.post(
    "/admissions/{admission}/discharge/confirm",
    response={200: AdmissionOut, **ERRORS},
    summary="Say which of two discharges made apart stands (resolves the conflict)",
    auth=needs(PROGRESS),
)
def confirm_discharge(request: HttpRequest, admission: str, payload: ConfirmIn) -> Any:
    actions.do_confirm_discharge(request.user.username, admission, payload.discharge, payload.note)
    return _read(request, admission, "wards.discharge")


class ChartEntryIn(Schema):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["vitals", "io", "nursing_note", "medication", "progress_note"]
    data: dict[str, str | int | float | None] = Field(..., examples=[{"pulse": 88}])
    at: str | None = Field(None, max_length=40)
    corrects: str = Field("", max_length=60)


class ChartEntryOut(Schema):
    entry: str
    admission: str
    kind: str
    data: dict[str, Any]
    corrects: str
    corrected: bool
    at: str
    recorded_at: str
    by: str
    node: str


def entry_out(e: WardEntry, corrected: set[str] | None = None) -> dict[str, Any]:
    return {
        "entry": e.entry_id,
        "admission": e.admission_no,
        "kind": e.kind,
        "data": e.data,
        "corrects": e.corrects,
        "corrected": e.entry_id in (corrected or set()),
        "at": _iso(e.at_ms),
        "recorded_at": _iso(e.recorded_ms),
        "by": e.actor,
        "node": e.node,
    }


@router.post(
    "/admissions/{admission}/entries",
    response={201: ChartEntryOut, **ERRORS},
    summary="Chart an entry: vitals, intake/output, nursing note, medicine given, progress note",
    auth=needs(CHART),
)
def record_entry(request: HttpRequest, admission: str, payload: ChartEntryIn) -> Any:
    if payload.kind == "progress_note":
        require(request.user, PROGRESS.name, request)  # doctors write progress notes
    entry = actions.do_record_entry(
        request.user.username,
        admission,
        payload.kind,
        {**payload.data, "at": payload.at, "corrects": payload.corrects},
    )
    return Status(201, entry_out(entry))


@router.get(
    "/admissions/{admission}/entries",
    response={200: list[ChartEntryOut], **ERRORS},
    summary="The stay's chart entries, oldest first (kind= to filter)",
    auth=needs(READ_CHART),
)
def entries(request: HttpRequest, admission: str, kind: str = Query("", max_length=16)) -> Any:
    found = queries.access_chart(
        request.user, admission, action="wards.chart", via="api", request=request
    )
    corrected = found.corrected
    return [entry_out(e, corrected) for e in found.entries if not kind or e.kind == kind]


class WardLabOrderIn(Schema):
    model_config = ConfigDict(extra="forbid")
    tests: list[str] = Field(..., max_length=30, examples=[["CBC", "KFT"]])
    note: str = Field("", max_length=200)


class WardLabOrderOut(Schema):
    order: str
    tests: list[str]
    status: str


@router.post(
    "/admissions/{admission}/lab-orders",
    response={201: WardLabOrderOut, **ERRORS},
    summary="Order laboratory tests for an admitted patient (the ward's nurse collects)",
    auth=needs(PROGRESS),
)
def lab_order(request: HttpRequest, admission: str, payload: WardLabOrderIn) -> Any:
    order = actions.do_order_tests(request.user.username, admission, payload.tests, payload.note)
    return Status(201, {"order": order.order_no, "tests": order.tests, "status": order.status})


def _pdf(pdf: bytes, name: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


PDF_RESPONSE = {"responses": {"200": {"content": {"application/pdf": {}}}}}


@router.get(
    "/admissions/{admission}/discharge-summary.pdf",
    response={200: None, **ERRORS},
    summary="The discharge summary, bilingual (after discharge)",
    openapi_extra=PDF_RESPONSE,
    auth=needs(READ_CHART),
)
def discharge_summary_pdf(request: HttpRequest, admission: str) -> HttpResponse:
    found = queries.access_chart(
        request.user, admission, action="wards.discharge_summary", via="pdf", request=request
    )
    if not found.admission.discharged:
        raise ConflictError(
            f"{found.admission.admission_no} is not discharged yet", {"admission": "admitted"}
        )
    return _pdf(documents.discharge_summary_pdf(found), f"discharge-{admission}.pdf")


@router.get(
    "/admissions/{admission}/form.pdf",
    response={200: None, **ERRORS},
    summary="The admission form (A4)",
    openapi_extra=PDF_RESPONSE,
    auth=needs(ADMIT),
)
def form_pdf(request: HttpRequest, admission: str) -> HttpResponse:
    found = documents.stay_for_print(request, admission, action="wards.form")
    return _pdf(documents.admission_form_pdf(found), f"admission-{admission}.pdf")


@router.get(
    "/admissions/{admission}/wristband.pdf",
    response={200: None, **ERRORS},
    summary="The patient's wristband label, with the UHID as a barcode",
    openapi_extra=PDF_RESPONSE,
    auth=needs(ADMIT),
)
def wristband_pdf(request: HttpRequest, admission: str) -> HttpResponse:
    found = documents.stay_for_print(request, admission, action="wards.wristband")
    return _pdf(documents.wristband_pdf(found), f"wristband-{admission}.pdf")


CENSUS_DATE = Query(None, alias="date", description="YYYY-MM-DD; today if not given")


class CensusRowOut(Schema):
    ward: str
    name_en: str
    name_hi: str
    beds: int
    at_midnight: int
    occupancy: float
    admitted: int
    discharged: int
    transferred_in: int
    transferred_out: int


class CensusOut(Schema):
    date: date
    wards: list[CensusRowOut]
    total: int
    beds: int


@router.get(
    "/census",
    response={200: CensusOut, **ERRORS},
    summary="The midnight census by ward for a date (default today): occupancy and movement",
    auth=needs(BOARD),
)
def census(request: HttpRequest, day: date | None = CENSUS_DATE) -> Any:
    chosen = day or timeutil.today()
    rows, total = queries.census(chosen)
    return {
        "date": chosen,
        "wards": [
            {
                "ward": r.ward.code,
                "name_en": r.ward.name_en,
                "name_hi": r.ward.name_hi,
                "beds": r.beds,
                "at_midnight": r.at_midnight,
                "occupancy": round(r.occupancy, 1),
                "admitted": r.admitted,
                "discharged": r.discharged,
                "transferred_in": r.transferred_in,
                "transferred_out": r.transferred_out,
            }
            for r in rows
        ],
        "total": total,
        "beds": sum(r.beds for r in rows),
    }


class InvolvedOut(Schema):
    admission: str
    uhid: str
    ward: str
    bed: str
    discharged: bool
    admitted_at: str | None
    node: str


class ConflictOut(Schema):
    conflict: str
    kind: Literal["double_booked", "admitted_twice", "contradictory_discharge"]
    subject: str
    ward: str
    detail: str
    open: bool
    detected_at: str | None
    resolved_at: str | None
    records: list[InvolvedOut]


def conflict_out(c: Conflict, found: dict[str, Admission]) -> dict[str, Any]:
    records = []
    for number in c.records:
        a = found.get(number)
        records.append(
            {
                "admission": number,
                "uhid": a.uhid if a else "",
                "ward": a.ward if a else "",
                "bed": a.bed if a else "",
                "discharged": bool(a and a.discharged),
                "admitted_at": _iso(a.admitted_ms) if a else None,
                "node": a.node if a else "",
            }
        )
    return {
        "conflict": c.key,
        "kind": c.kind,
        "subject": c.subject,
        "ward": c.ward,
        "detail": c.detail,
        "open": c.is_open,
        "detected_at": _iso(c.detected_ms),
        "resolved_at": _iso(c.resolved_ms),
        "records": records,
    }


@router.get(
    "/conflicts",
    response={200: list[ConflictOut], **ERRORS},
    summary="Open conflicts (resolved=true: also those resolved) with the records involved",
    auth=needs(CONFLICTS),
)
def conflicts(
    request: HttpRequest, resolved: bool = False, ward: str = Query("", max_length=10)
) -> Any:
    rows = queries.conflicts(resolved, ward.upper())
    found = queries.conflict_admissions(rows)
    account_actions.do_record_search(
        request.user,
        "conflicts",
        sorted({a.uhid for a in found.values()}),
        via="api",
        address=client_address(request),
    )
    return [conflict_out(c, found) for c in rows]
