"""Outpatient care's part of the JSON API: queues, consultations, prescriptions, timelines."""
# No `from __future__ import annotations` here: django-ninja reads these type hints at
# import time, through the permission decorator, so they must be real objects.

import json
from datetime import date
from typing import Any, Literal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, StrictFloat

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts.auth import client_address, needs
from nirantar.accounts.permissions import require
from nirantar.errors import ValidationFailed
from nirantar.lab.models import LabOrder
from nirantar.lab.queries import test_names
from nirantar.opd import actions, catalogue, prescription, queries
from nirantar.opd.actions import Place
from nirantar.opd.models import Entry
from nirantar.opd.permissions import (
    CONSULT,
    PRINT_PRESCRIPTION,
    QUEUE,
    READ_CLINICAL,
    VITALS,
)
from nirantar.registration import actions as registration
from nirantar.registration.api import VisitOut, visit_out
from nirantar.schemas import ERRORS

router = Router(tags=["outpatient"])


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class Correcting(Strict):
    corrects: str | None = Field(None, max_length=60, description="the entry this one replaces")
    reason: str | None = Field(None, max_length=200, description="why (required to correct)")


class RoomIn(Strict):
    room: str | None = Field(None, max_length=60, examples=["Room 102"])


class SendIn(Strict):
    room: str = Field(..., max_length=60, examples=["Room 102"])
    reason: str | None = Field(None, max_length=200)


class VitalsIn(Correcting):
    # Strict: a JSON true is not 1 kg, nor "120" a pressure.
    bp_systolic: StrictFloat | None = None
    bp_diastolic: StrictFloat | None = None
    pulse: StrictFloat | None = None
    temperature_c: StrictFloat | None = None
    spo2: StrictFloat | None = None
    respiratory_rate: StrictFloat | None = None
    weight_kg: StrictFloat | None = None
    height_cm: StrictFloat | None = None


class DiagnosisIn(Correcting):
    code: str = Field(..., max_length=20, examples=["E11.9"])
    status: Literal["provisional", "final"] = "provisional"
    note: str | None = Field(None, max_length=200)


class ItemIn(Strict):
    drug: str = Field(..., max_length=120, examples=["Metformin 500 mg tablet"])
    dose: str = Field(..., max_length=40, examples=["1 tablet"])
    route: str | None = Field(None, max_length=20, examples=["oral"])
    frequency: str = Field(..., max_length=10, examples=["BD"])
    duration_days: int = Field(..., examples=[30])
    instructions: str | None = Field(None, max_length=200, examples=["after food"])


class PrescriptionIn(Correcting):
    items: list[ItemIn] = Field(..., max_length=actions.rules.MAX_ITEMS)


class LabOrderIn(Strict):
    tests: list[str] = Field(..., max_length=30, examples=[["CBC", "KFT"]])
    note: str | None = Field(None, max_length=200)


class NoteIn(Correcting):
    kind: Literal["complaints", "findings", "advice", "alert"]
    text: str | None = Field(None, max_length=2000)
    follow_up: date | None = None


class AllergyIn(Correcting):
    substance: str = Field(..., max_length=100, examples=["Penicillin"])
    reaction: str | None = Field(None, max_length=200, examples=["rash"])


class ReferralIn(Strict):
    department: str = Field(..., max_length=100, examples=["Ophthalmology"])
    reason: str = Field(..., max_length=200)


class AdmissionIn(Strict):
    department: str | None = Field(None, max_length=100)
    urgency: Literal["routine", "urgent"] = "routine"
    reason: str = Field(..., max_length=200)


class StrikeIn(Strict):
    reason: str = Field(..., max_length=200)


class PlaceOut(Schema):
    visit: str
    token: str
    uhid: str
    department: str
    state: str
    round: int
    room: str
    room_hi: str
    by: str
    at: str


class TokenOut(PlaceOut):
    name_en: str
    name_hi: str
    called_at: str | None


class QueueOut(Schema):
    department: str
    date: date
    tokens: list[TokenOut]


class ClinicalEntryOut(Schema):
    entry: str
    visit: str
    uhid: str
    kind: str
    data: dict[str, Any]
    corrects: str
    reason: str
    at: str
    by: str
    node: str


class ClinicalEntryState(ClinicalEntryOut):
    current: bool
    corrected_by: list[str]
    struck_by: str | None


class LabOrderOut(Schema):
    order: str
    uhid: str
    visit: str
    tests: list[str]
    test_names: list[str]
    status: str
    source: str
    department: str
    at: str
    by: str
    node: str


class LabResultOut(Schema):
    accession: str
    analyte: str
    name: str
    value: str
    unit: str
    flag: str
    verified_at: str | None


class VisitRecordOut(Schema):
    visit: str
    date: date
    department: str
    token: str
    state: str
    entries: list[ClinicalEntryState]
    lab_orders: list[LabOrderOut]
    lab_results: list[LabResultOut]


class TimelineOut(Schema):
    uhid: str
    merged_from: str | None = Field(
        None, description="the UHID asked for, when it was merged into this record"
    )
    name_en: str
    name_hi: str
    allergies: list[ClinicalEntryState]
    alerts: list[ClinicalEntryState]
    visits: list[VisitRecordOut]


class AdmissionRequestOut(Schema):
    entry: str
    visit: str
    uhid: str
    department: str
    urgency: str
    reason: str
    at: str
    by: str
    node: str


class ReferralOut(Schema):
    entry: ClinicalEntryOut
    visit: VisitOut


class DiagnosisOut(Schema):
    code: str
    title: str


class DrugOut(Schema):
    code: str
    name: str
    form: str
    strength: str
    route: str


def iso(ms: int | None) -> str | None:
    return timeutil.from_ms(ms).isoformat() if ms else None


def place_out(place: Place) -> dict[str, Any]:
    visit = place.visit
    return {
        "visit": visit.visit_no,
        "token": visit.token,
        "uhid": visit.uhid,
        "department": visit.department,
        "state": place.step,
        "round": place.round,
        "room": place.room_en,
        "room_hi": place.room_hi,
        "by": place.by,
        "at": iso(place.at_ms),
    }


def _numbers(data: dict[str, Any]) -> dict[str, Any]:
    """Vitals as numbers: events keep decimals as text, since they may hold no floats."""
    vitals = {k: float(v) if isinstance(v, str) else v for k, v in data["vitals"].items()}
    bmi = float(data["bmi"]) if data.get("bmi") else None
    return {**data, "vitals": vitals, "bmi": bmi}


def entry_out(entry: Entry) -> dict[str, Any]:
    return {
        "entry": entry.entry_id,
        "visit": entry.visit,
        "uhid": entry.uhid,
        "kind": entry.kind,
        "data": _numbers(entry.data) if entry.kind == "vitals" else entry.data,
        "corrects": entry.corrects,
        "reason": entry.reason,
        "at": iso(entry.at_ms),
        "by": entry.actor,
        "node": entry.node,
    }


def entry_state(view: queries.EntryView) -> dict[str, Any]:
    return {
        **entry_out(view.entry),
        "current": view.current,
        "corrected_by": [e.entry_id for e in view.corrected_by],
        "struck_by": view.struck.entry_id if view.struck else None,
    }


def lab_order_out(order: LabOrder) -> dict[str, Any]:
    return {
        "order": order.order_no,
        "uhid": order.uhid,
        "visit": order.visit,
        "tests": order.tests,
        "test_names": [name for _, name, _ in test_names(order.tests)],
        "status": order.status,
        "source": order.source,
        "department": order.department,
        "at": iso(order.at_ms),
        "by": order.ordered_by,
        "node": order.node,
    }


def record_out(record: queries.VisitRecord) -> dict[str, Any]:
    return {
        "visit": record.visit.visit_no,
        "date": record.visit.local_date,
        "department": record.visit.department,
        "token": record.visit.token,
        "state": record.place.step,
        "entries": [entry_state(v) for v in record.entries],
        "lab_orders": [lab_order_out(o) for o in record.lab_orders],
        "lab_results": [
            {
                "accession": r.accession,
                "analyte": r.analyte,
                "name": r.name,
                "value": r.value,
                "unit": r.unit,
                "flag": r.flag,
                "verified_at": iso(r.verified_at_ms),
            }
            for r in record.lab_results
        ],
    }


def _body(payload: Schema) -> dict[str, Any]:
    return payload.model_dump(exclude_none=True, mode="json")


@router.get(
    "/queues/{department}",
    response={200: QueueOut, **ERRORS},
    summary="A department's tokens of the day, with their states",
    auth=needs(QUEUE, READ_CLINICAL),
)
def read_queue(request: HttpRequest, department: str, day: date | None = None) -> Any:
    found = registration.find_department(department)
    day = day or timeutil.today()
    tokens = queries.queue(found.code, day)
    queries.audit_listing(
        request.user, tokens, label=f"queue {found.code} {day}", via="api", request=request
    )
    return {
        "department": found.code,
        "date": day,
        "tokens": [
            {
                **place_out(t.place),
                "name_en": t.patient.name_en if t.patient else "",
                "name_hi": t.patient.name_hi if t.patient else "",
                "called_at": iso(t.place.at_ms if t.place.step == "called" else None),
            }
            for t in tokens
        ],
    }


@router.post(
    "/visits/{visit}/call",
    response={200: PlaceOut, **ERRORS},
    summary="Call a token (409 if someone else has called it)",
    auth=needs(QUEUE),
)
def call(request: HttpRequest, visit: str, payload: RoomIn) -> Any:
    return place_out(actions.do_call(request.user.username, visit, payload.room))


@router.post(
    "/visits/{visit}/start",
    response={200: PlaceOut, **ERRORS},
    summary="The patient is in consultation",
    auth=needs(QUEUE),
)
def start(request: HttpRequest, visit: str) -> Any:
    return place_out(actions.do_start(request.user.username, visit))


@router.post(
    "/visits/{visit}/no-show",
    response={200: PlaceOut, **ERRORS},
    summary="The patient did not come when called",
    auth=needs(QUEUE),
)
def no_show(request: HttpRequest, visit: str) -> Any:
    return place_out(actions.do_no_show(request.user.username, visit))


@router.post(
    "/visits/{visit}/send",
    response={200: PlaceOut, **ERRORS},
    summary="Send the patient to another room of the department (or back to the queue)",
    auth=needs(QUEUE),
)
def send(request: HttpRequest, visit: str, payload: SendIn) -> Any:
    return place_out(
        actions.do_send(request.user.username, visit, payload.room, payload.reason or "")
    )


@router.post(
    "/visits/{visit}/close",
    response={200: PlaceOut, **ERRORS},
    summary="Close the visit: nothing new can be added to it",
    auth=needs(CONSULT),
)
def close(request: HttpRequest, visit: str) -> Any:
    return place_out(actions.do_close(request.user.username, visit))


@router.post(
    "/visits/{visit}/vitals",
    response={201: ClinicalEntryOut, **ERRORS},
    summary="Record vitals (BMI is computed from weight and height)",
    auth=needs(VITALS),
)
def record_vitals(request: HttpRequest, visit: str, payload: VitalsIn) -> Any:
    return Status(
        201, entry_out(actions.do_record_vitals(request.user.username, visit, _body(payload)))
    )


@router.post(
    "/visits/{visit}/notes",
    response={201: ClinicalEntryOut, **ERRORS},
    summary="Record complaints, findings, advice (with a follow-up date) or an alert",
    auth=needs(CONSULT, VITALS),
)
def record_note(request: HttpRequest, visit: str, payload: NoteIn) -> Any:
    data = _body(payload)
    if data.get("kind") != "complaints":  # nurses take complaints; the rest is the doctor's
        require(request.user, CONSULT.name, request)
    return Status(201, entry_out(actions.do_record_note(request.user.username, visit, data)))


@router.post(
    "/visits/{visit}/allergies",
    response={201: ClinicalEntryOut, **ERRORS},
    summary="Record an allergy (shown in the patient's header from then on)",
    auth=needs(VITALS),
)
def record_allergy(request: HttpRequest, visit: str, payload: AllergyIn) -> Any:
    return Status(
        201, entry_out(actions.do_record_allergy(request.user.username, visit, _body(payload)))
    )


@router.post(
    "/visits/{visit}/diagnoses",
    response={201: ClinicalEntryOut, **ERRORS},
    summary="Record a diagnosis by ICD-10 code",
    auth=needs(CONSULT),
)
def record_diagnosis(request: HttpRequest, visit: str, payload: DiagnosisIn) -> Any:
    return Status(
        201, entry_out(actions.do_record_diagnosis(request.user.username, visit, _body(payload)))
    )


@router.post(
    "/visits/{visit}/prescriptions",
    response={201: ClinicalEntryOut, **ERRORS},
    summary="Prescribe (drugs not in the formulary are kept as written, and marked)",
    auth=needs(CONSULT),
)
def prescribe(request: HttpRequest, visit: str, payload: PrescriptionIn) -> Any:
    return Status(
        201, entry_out(actions.do_prescribe(request.user.username, visit, _body(payload)))
    )


@router.post(
    "/visits/{visit}/lab-orders",
    response={201: LabOrderOut, **ERRORS},
    summary="Order laboratory tests by catalogue code",
    auth=needs(CONSULT),
)
def order_labs(request: HttpRequest, visit: str, payload: LabOrderIn) -> Any:
    order = actions.do_order_labs(request.user.username, visit, _body(payload))
    return Status(201, lab_order_out(order))


@router.post(
    "/visits/{visit}/referrals",
    response={201: ReferralOut, **ERRORS},
    summary="Refer to another department: a new visit and token there",
    auth=needs(CONSULT),
)
def refer(request: HttpRequest, visit: str, payload: ReferralIn) -> Any:
    entry, new = actions.do_refer(request.user.username, visit, _body(payload))
    return Status(201, {"entry": entry_out(entry), "visit": visit_out(new)})


@router.post(
    "/visits/{visit}/admission-advice",
    response={201: ClinicalEntryOut, **ERRORS},
    summary="Advise admission: a request the wards receive",
    auth=needs(CONSULT),
)
def advise_admission(request: HttpRequest, visit: str, payload: AdmissionIn) -> Any:
    return Status(
        201, entry_out(actions.do_advise_admission(request.user.username, visit, _body(payload)))
    )


@router.post(
    "/entries/{entry}/strike",
    response={201: ClinicalEntryOut, **ERRORS},
    summary="Strike out an entry made in error (it stays visible, with the reason)",
    auth=needs(CONSULT),
)
def strike(request: HttpRequest, entry: str, payload: StrikeIn) -> Any:
    return Status(201, entry_out(actions.do_strike(request.user.username, entry, payload.reason)))


@router.get(
    "/visits/{visit}/record",
    response={200: VisitRecordOut, **ERRORS},
    summary="A visit's clinical record: every entry, corrections and all",
    auth=needs(READ_CLINICAL),
)
def read_record(request: HttpRequest, visit: str) -> Any:
    record, _ = queries.access_record(
        request.user, visit, action="visit.record", via="api", request=request
    )
    return record_out(record)


@router.get(
    "/visits/{visit}/prescription.pdf",
    response={200: None, **ERRORS},
    summary="The visit's prescription as a bilingual PDF (format=a5 or a4)",
    openapi_extra={"responses": {"200": {"content": {"application/pdf": {}}}}},
    auth=needs(PRINT_PRESCRIPTION),
)
def prescription_pdf(
    request: HttpRequest, visit: str, format: Literal["a5", "a4"] = "a5"
) -> HttpResponse:
    record, patient = queries.access_record(
        request.user, visit, action="visit.prescription", via="pdf", request=request
    )
    pdf = prescription.prescription_pdf(record, patient, format)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="prescription-{record.visit.visit_no}.pdf"'
    return response


@router.get(
    "/patients/{uhid}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="A patient's visits, newest first, with diagnoses, prescriptions and lab orders",
    auth=needs(READ_CLINICAL),
)
def read_timeline(request: HttpRequest, uhid: str) -> Any:
    found = queries.access_timeline(request.user, uhid, via="api", request=request)
    body = {
        "uhid": found.patient.uhid,
        "merged_from": found.patient.merged_from or None,
        "name_en": found.patient.name_en,
        "name_hi": found.patient.name_hi,
        "allergies": [entry_state(v) for v in found.allergies],
        "alerts": [entry_state(v) for v in found.alerts],
        "visits": [record_out(r) for r in found.visits],
    }
    # Built from the same functions as every other OPD answer, so it has TimelineOut's
    # shape (the tests check it against the published schema); checking a thousand
    # entries again field by field cost a third of the request.
    return HttpResponse(
        json.dumps(body, ensure_ascii=False, cls=DjangoJSONEncoder),
        content_type="application/json; charset=utf-8",
    )


@router.get(
    "/admission-requests",
    response={200: list[AdmissionRequestOut], **ERRORS},
    summary="Admission advised at the OPD and not struck out, newest first (for the wards)",
    auth=needs(READ_CLINICAL),
)
def admission_requests(request: HttpRequest) -> Any:
    advised = queries.admission_requests()
    account_actions.do_record_search(
        request.user,
        "admission requests",
        sorted({v.entry.uhid for v in advised}),
        via="api",
        address=client_address(request),
    )
    return [
        {
            "entry": v.entry.entry_id,
            "visit": v.entry.visit,
            "uhid": v.entry.uhid,
            "department": v.data["department"],
            "urgency": v.data["urgency"],
            "reason": v.entry.reason,
            "at": iso(v.entry.at_ms),
            "by": v.entry.actor,
            "node": v.entry.node,
        }
        for v in advised
    ]


@router.get(
    "/icd10",
    response={200: list[DiagnosisOut], **ERRORS},
    summary="Find ICD-10 diagnoses by code or words",
    auth=needs(CONSULT, READ_CLINICAL),
)
def find_icd10(request: HttpRequest, q: str = Query(..., max_length=100)) -> Any:
    if not q.strip():
        raise ValidationFailed("type a code or words", {"q": "empty search"})
    return [{"code": d.code, "title": d.title} for d in catalogue.search_diagnoses(q)]


@router.get(
    "/formulary",
    response={200: list[DrugOut], **ERRORS},
    summary="Find medicines in the formulary",
    auth=needs(CONSULT, READ_CLINICAL),
)
def find_drugs(request: HttpRequest, q: str = Query(..., max_length=100)) -> Any:
    if not q.strip():
        raise ValidationFailed("type part of a medicine's name", {"q": "empty search"})
    return [
        {"code": d.code, "name": d.name, "form": d.form, "strength": d.strength, "route": d.route}
        for d in catalogue.search_drugs(q)
    ]
