"""Projections of registration events. The only code that writes registration tables.

Events can meet in any order (a correction made at one node may arrive at a
third before the registration does), so every handler is order-independent:
patients are last-writer-wins per field with every value kept in
PatientChange; visits and departments are creates keyed by minted ids.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from nirantar.ledger import lww, roster, sequences
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, register_models
from nirantar.registration import events
from nirantar.registration.models import Department, Patient, PatientChange, Visit
from nirantar.registration.rules import PATIENT_FIELDS

register_models(Department, Patient, PatientChange, Visit)
for _type in (
    events.DEPARTMENT_DEFINED,
    events.PATIENT_REGISTERED,
    events.PATIENT_CORRECTED,
    events.VISIT_REGISTERED,
):
    event_version(_type, 1)


@handles(events.DEPARTMENT_DEFINED)
def on_department_defined(event: Event) -> None:
    body = event.body
    department = Department.objects.filter(code=body["code"]).first() or Department(
        code=body["code"], field_stamps={}
    )
    stamps = dict(department.field_stamps)
    stamp = lww.stamp_of(event)
    for field in ("name_en", "name_hi", "rooms", "active"):
        lww.assign(department, stamps, field, body[field], stamp)
    department.field_stamps = stamps
    department.save()


def _field_values(body: dict[str, Any]) -> dict[str, Any]:
    values = {k: body[k] for k in PATIENT_FIELDS if k in body}
    address = body.get("address")
    if isinstance(address, dict):
        values.update(
            address_line=address.get("line", ""),
            district=address.get("district", ""),
            state=address.get("state", ""),
            pin=address.get("pin", ""),
        )
    return values


def _apply_fields(
    event: Event, uhid: str, values: dict[str, Any], kind: str, reason: str = ""
) -> Patient:
    patient = Patient.objects.filter(uhid=uhid).first() or Patient(uhid=uhid, field_stamps={})
    stamps = dict(patient.field_stamps)
    stamp = lww.stamp_of(event)
    changes = []
    for field, value in values.items():
        stored = date.fromisoformat(value) if field == "date_of_birth" and value else value
        if field != "date_of_birth" and stored is None:
            stored = ""
        lww.assign(patient, stamps, field, stored, stamp)
        changes.append(
            PatientChange(
                event=event.hash,
                field=field,
                uhid=uhid,
                value=value,
                hlc_wall=event.hlc.wall,
                hlc_count=event.hlc.counter,
                origin=event.origin,
                actor=event.actor,
                kind=kind,
                reason=reason,
            )
        )
    # (event, field) is unique, so applying an event twice adds nothing.
    PatientChange.objects.bulk_create(changes, ignore_conflicts=True)
    patient.field_stamps = stamps
    return patient


def search_text(patient: Patient) -> str:
    parts = (patient.name_en, patient.name_hi, patient.guardian_name)
    return " | ".join(p.lower() for p in parts if p)[:400]


@handles(events.PATIENT_REGISTERED)
def on_patient_registered(event: Event) -> None:
    body = event.body
    node_number, seq = events.UHID.parse(body["uhid"])
    roster.check_minted_by(event, node_number, f"UHID {body['uhid']}")
    patient = _apply_fields(event, body["uhid"], _field_values(body), "registered")
    stamp = lww.stamp_of(event)
    first = patient.field_stamps.get("_registered")
    if first is None or tuple(stamp) < tuple(first):  # the earliest registration is the record's
        patient.field_stamps = {**patient.field_stamps, "_registered": stamp}
        patient.is_registered = True
        patient.registered_at_ms = event.hlc.wall
        patient.registered_by = event.actor
        patient.registered_node = event.origin
    patient.search_text = search_text(patient)
    patient.save()
    sequences.observe(events.UHID.kind, str(node_number), seq)


@handles(events.PATIENT_CORRECTED)
def on_patient_corrected(event: Event) -> None:
    body = event.body
    patient = _apply_fields(
        event, body["uhid"], _field_values(body["changes"]), "corrected", body.get("reason", "")
    )
    patient.search_text = search_text(patient)
    patient.save()


@handles(events.VISIT_REGISTERED)
def on_visit_registered(event: Event) -> None:
    body = event.body
    node_number, seq = events.VISIT.parse(body["visit"])
    roster.check_minted_by(event, node_number, f"visit {body['visit']}")
    Visit.objects.get_or_create(
        visit_no=body["visit"],
        defaults={
            "uhid": body["uhid"],
            "department": body["department"],
            "room_en": body["room"]["en"],
            "room_hi": body["room"]["hi"],
            "token": body["token"],
            "token_no": body["token_no"],
            "counter": body["counter"],
            "local_date": date.fromisoformat(body["date"]),
            "at_ms": event.hlc.wall,
            "registered_by": event.actor,
            "node": event.origin,
        },
    )
    sequences.observe(events.VISIT.kind, str(node_number), seq)
    sequences.observe(
        "token", f"{body['counter']}:{body['department']}:{body['date']}", body["token_no"]
    )
