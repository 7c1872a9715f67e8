"""The only write path of the wards: check the request against what this node knows,
then emit events. Every action raises ActionError - nothing written - when the request
can't be carried out; the checks and the events share one write transaction, so two
clerks at one node can never put two patients in one bed.

Nodes apart can (each sees the bed vacant); the projections find that when the events
meet and put it on the conflict worklist, where a transfer resolves it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nirantar import timeutil
from nirantar.accounts import queries as accounts
from nirantar.errors import Conflict, NotFound, ValidationFailed
from nirantar.lab import actions as lab
from nirantar.lab.models import LabOrder
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.writer import writing
from nirantar.opd import rules
from nirantar.registration import actions as registration
from nirantar.registration import queries as registration_queries
from nirantar.wards import events
from nirantar.wards.models import Admission, Bed, Ward, WardEntry
from nirantar.wards.projections import BED_PART, WARD_CODE, event_id, ward_of_bed

CLOCK_GRACE_MS = 5 * 60 * 1000  # a time "now" typed on a clock a little ahead
MAX_TEXT = 4000


def _now_ms() -> int:
    return int(timeutil.now().timestamp() * 1000)


def parse_admission(text: Any) -> str:
    try:
        return events.ADMISSION.normalise(str(text or ""))
    except InvalidNumber as exc:
        raise ValidationFailed(str(exc), {"admission": str(exc)}) from exc


def find_admission(text: Any) -> Admission:
    number = parse_admission(text)
    row = Admission.objects.filter(admission_no=number, is_admitted=True).first()
    if row is None:
        raise NotFound(f"no admission {number}", {"admission": "not known here (yet)"})
    return row


def parse_bed(text: Any) -> str:
    code = str(text or "").strip().upper()
    try:
        ward_of_bed(code)
    except ValueError as exc:
        raise ValidationFailed(str(exc), {"bed": str(exc)}) from exc
    return code


def find_bed(text: Any) -> Bed:
    code = parse_bed(text)
    bed = Bed.objects.filter(bed=code, listed=True).first()
    if bed is None:
        raise NotFound(f"there is no bed {code}", {"bed": "no such bed in the layout"})
    return bed


def parse_time(value: Any, field: str, *, default_now: bool = True) -> int:
    """Milliseconds from an ISO time as typed (local hospital time if it has no zone),
    or now; never more than a few minutes ahead of this node's clock."""
    now = _now_ms()
    if value in (None, "") and default_now:
        return now
    if not isinstance(value, str):
        raise ValidationFailed(f"bad {field}", {field: "a date and time, YYYY-MM-DDTHH:MM"})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed(
            f"bad {field}", {field: "a date and time, YYYY-MM-DDTHH:MM"}
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timeutil.hospital_zone())
    ms = int(moment.timestamp() * 1000)
    if ms > now + CLOCK_GRACE_MS:
        raise ValidationFailed(f"{field} is in the future", {field: "can't be in the future"})
    return ms


def _text(
    data: dict[str, Any],
    key: str,
    errors: dict[str, str],
    *,
    limit: int = 300,
    required: bool = False,
    lines: bool = False,
) -> str:
    return rules.text_field(data.get(key), key, errors, limit=limit, required=required, lines=lines)


def _fields(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("a JSON object is required", {"body": "a JSON object"})
    return data


# -- the layout ------------------------------------------------------------------------


def do_define_ward(actor: str, data: Any) -> Ward:
    """Define (or redefine) a ward and its beds: the newest definition stands."""
    data = _fields(data)
    errors: dict[str, str] = {}
    code = str(data.get("code") or "").strip().upper()
    if not WARD_CODE.match(code):
        errors["code"] = "1-8 capital letters and digits, starting with a letter"
    names = {k: _text(data, k, errors, limit=80, required=True) for k in ("name_en", "name_hi")}
    kind, sex = data.get("kind"), data.get("sex") or "any"
    if kind not in events.WARD_KINDS:
        errors["kind"] = "one of " + ", ".join(events.WARD_KINDS)
    if sex not in events.WARD_SEXES:
        errors["sex"] = "M, F or any"
    department = str(data.get("department") or "").strip().upper()
    beds = data.get("beds")
    listed: list[dict[str, str]] = []
    if not isinstance(beds, list) or not 1 <= len(beds) <= 500:
        errors["beds"] = "1 to 500 beds"
    else:
        for item in beds:
            item = item if isinstance(item, dict) else {"bed": item}
            part = str(item.get("bed") or "").strip().upper()
            part = part.removeprefix(f"{code}-")
            room = str(item.get("room") or "").strip()[:40]
            if not BED_PART.match(part):
                errors["beds"] = f"bed {part!r}: 1-6 capital letters and digits"
                break
            listed.append({"bed": f"{code}-{part}", "room": room})
        if len({b["bed"] for b in listed}) != len(listed):
            errors["beds"] = "a bed is listed twice"
    if errors:
        raise ValidationFailed("the ward can't be defined", errors)
    with writing() as w:
        if department:
            department = registration.find_department(department).code
        kept = {b["bed"] for b in listed}
        taken = [
            bed
            for bed, occupants in Bed.objects.filter(ward=code, listed=True).values_list(
                "bed", "occupants"
            )
            if occupants and bed not in kept
        ]
        if taken:
            raise Conflict(
                f"beds {', '.join(taken)} have patients in them: transfer them first",
                {"beds": "occupied beds can't be taken away"},
            )
        w.emit(
            events.WARD_DEFINED,
            f"ward:{code}",
            {
                **names,
                "code": code,
                "kind": kind,
                "sex": sex,
                "department": department,
                "beds": listed,
            },
            actor=actor,
        )
    return Ward.objects.get(code=code)


def do_set_bed_service(actor: str, bed_text: Any, in_service: Any, reason: Any) -> Bed:
    if not isinstance(in_service, bool):
        raise ValidationFailed("in_service must be true or false", {"in_service": "true or false"})
    why = rules.clean_reason(reason, required=not in_service)
    with writing() as w:
        bed = find_bed(bed_text)
        if not in_service and bed.occupants:
            raise Conflict(
                f"bed {bed.bed} is occupied: transfer the patient first", {"bed": "occupied"}
            )
        w.emit(
            events.BED_SERVICE_SET,
            f"ward:{bed.ward}",
            {"bed": bed.bed, "in_service": in_service, "reason": why},
            actor=actor,
        )
    return Bed.objects.get(bed=bed.bed)


def do_reserve_bed(actor: str, bed_text: Any, uhid_text: Any, note: Any = "") -> Bed:
    """Hold a vacant bed for a patient (an empty UHID cancels the reservation)."""
    errors: dict[str, str] = {}
    text = rules.text_field(note, "note", errors, limit=200, required=False)
    if errors:
        raise ValidationFailed("bad note", errors)
    uhid = registration.parse_uhid(uhid_text) if uhid_text else ""
    with writing() as w:
        bed = find_bed(bed_text)
        if uhid:
            if registration_queries.get_patient(uhid) is None:
                raise NotFound(f"no patient {uhid}", {"uhid": "not registered"})
            if bed.state != "vacant":
                raise Conflict(f"bed {bed.bed} is {bed.state}", {"bed": bed.state})
        elif not bed.reserved_for:
            raise Conflict(f"bed {bed.bed} is not reserved", {"bed": "not reserved"})
        w.emit(
            events.BED_RESERVATION_SET,
            f"ward:{bed.ward}",
            {"bed": bed.bed, "uhid": uhid, "note": text},
            actor=actor,
        )
    return Bed.objects.get(bed=bed.bed)


def do_clean_bed(actor: str, bed_text: Any) -> Bed:
    """The bed a patient left has been cleaned: it is vacant again."""
    with writing() as w:
        bed = find_bed(bed_text)
        if bed.state != "cleaning":
            raise Conflict(f"bed {bed.bed} is {bed.state}, not being cleaned", {"bed": bed.state})
        w.emit(events.BED_CLEANED, f"ward:{bed.ward}", {"bed": bed.bed}, actor=actor)
    return Bed.objects.get(bed=bed.bed)


def _bed_for(bed_text: Any, uhid: str) -> Bed:
    """A bed this patient may be put in now, or ActionError saying why not."""
    bed = find_bed(bed_text)
    if not bed.in_service:
        raise Conflict(
            f"bed {bed.bed} is out of service ({bed.service_reason})", {"bed": "out of service"}
        )
    if bed.state == "occupied":
        raise Conflict(
            f"bed {bed.bed} is occupied ({', '.join(bed.occupants)})", {"bed": "occupied"}
        )
    if bed.state == "cleaning":
        raise Conflict(
            f"bed {bed.bed} is being cleaned: mark it clean first", {"bed": "being cleaned"}
        )
    if bed.state == "reserved" and bed.reserved_for != uhid:
        raise Conflict(f"bed {bed.bed} is reserved for {bed.reserved_for}", {"bed": "reserved"})
    ward = Ward.objects.filter(code=bed.ward).first()
    patient = registration_queries.get_patient(uhid)
    if (
        ward is not None
        and patient is not None
        and ward.sex in ("M", "F")
        and patient.sex
        in (
            "M",
            "F",
        )
        and patient.sex != ward.sex
    ):
        raise Conflict(
            f"{ward.name_en} is a ward for {'men' if ward.sex == 'M' else 'women'}",
            {"bed": "ward for the other sex"},
        )
    return bed


def do_admit(actor: str, data: Any) -> Admission:
    """Admit a registered patient to a bed under an admission number minted here."""
    data = _fields(data)
    errors: dict[str, str] = {}
    diagnosis = _text(data, "diagnosis", errors, limit=300)
    note = _text(data, "note", errors, limit=300)
    source = data.get("source") or "direct"
    if source not in events.SOURCES:
        errors["source"] = "one of " + ", ".join(events.SOURCES)
    attending = str(data.get("attending") or "").strip()
    doctor = accounts.active_user(attending) if attending else None
    if doctor is None or doctor.role != "doctor":
        errors["attending"] = "the username of a doctor"
    if not data.get("bed"):
        errors["bed"] = "required"
    visit = ""
    if data.get("visit"):
        try:
            from nirantar.opd.actions import parse_visit

            visit = parse_visit(data["visit"])
        except ValidationFailed as exc:
            errors.update(exc.fields)
    uhid = ""
    try:
        uhid = registration.parse_uhid(data.get("uhid"))
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("the admission can't be made", errors)
    with writing() as w:
        if registration_queries.get_patient(uhid) is None:
            raise NotFound(f"no patient {uhid}", {"uhid": "not registered here (yet)"})
        already = Admission.objects.filter(uhid=uhid, is_admitted=True, discharged=False).first()
        if already is not None:
            raise Conflict(
                f"{uhid} is already admitted ({already.admission_no}, bed {already.bed})",
                {"uhid": "already admitted"},
            )
        bed = _bed_for(data["bed"], uhid)
        node_number, seq = w.next_number(events.ADMISSION.kind)
        number = events.ADMISSION.format(node_number, seq)
        w.emit(
            events.PATIENT_ADMITTED,
            f"patient:{uhid}",
            {
                "admission": number,
                "uhid": uhid,
                "ward": bed.ward,
                "bed": bed.bed,
                "attending": attending,
                "diagnosis": diagnosis,
                "source": source,
                "visit": visit,
                "note": note,
            },
            actor=actor,
        )
    return Admission.objects.get(admission_no=number)


def _open(admission_text: Any) -> Admission:
    row = find_admission(admission_text)
    if row.discharged:
        raise Conflict(f"{row.admission_no} was discharged", {"admission": "discharged"})
    return row


def do_transfer(actor: str, admission_text: Any, bed_text: Any, reason: Any = "") -> Admission:
    """Move an admitted patient to another bed (any ward). Also how a double-booked bed is
    resolved: one of its patients moves."""
    why = rules.clean_reason(reason, required=False)
    with writing() as w:
        row = _open(admission_text)
        target = parse_bed(bed_text)
        if target == row.bed:
            raise Conflict(f"{row.admission_no} is already in bed {target}", {"bed": "same bed"})
        bed = _bed_for(target, row.uhid)
        w.emit(
            events.PATIENT_TRANSFERRED,
            f"patient:{row.uhid}",
            {
                "admission": row.admission_no,
                "uhid": row.uhid,
                "ward": bed.ward,
                "bed": bed.bed,
                "reason": why,
            },
            actor=actor,
        )
    return Admission.objects.get(admission_no=row.admission_no)


def do_discharge(actor: str, admission_text: Any, data: Any) -> Admission:
    """Discharge with a type and a summary; the bed goes to cleaning."""
    data = _fields(data)
    errors: dict[str, str] = {}
    kind = data.get("type")
    if kind not in events.DISCHARGE_TYPES:
        errors["type"] = "one of " + ", ".join(events.DISCHARGE_TYPES)
    summary = {
        key: _text(data, key, errors, limit=MAX_TEXT, lines=True)
        for key in ("diagnoses", "procedures", "course", "condition", "medicines", "follow_up")
    }
    if kind == "normal" and not summary["diagnoses"] and "diagnoses" not in errors:
        errors["diagnoses"] = "a discharge summary names the diagnoses"
    at = _now_ms()
    try:
        at = parse_time(data.get("at"), "at")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("the discharge can't be recorded", errors)
    with writing() as w:
        row = _open(admission_text)
        if row.admitted_ms is not None and at < row.admitted_ms:
            admitted = timeutil.local(timeutil.from_ms(row.admitted_ms))
            raise ValidationFailed(
                "the discharge time is before the admission",
                {"at": f"must be after the admission ({admitted:%Y-%m-%d %H:%M})"},
            )
        w.emit(
            events.PATIENT_DISCHARGED,
            f"patient:{row.uhid}",
            {"admission": row.admission_no, "uhid": row.uhid, "type": kind, "at": at, **summary},
            actor=actor,
        )
    return Admission.objects.get(admission_no=row.admission_no)


def do_confirm_discharge(actor: str, admission_text: Any, discharge: Any, note: Any) -> Admission:
    """Say which of the discharges made apart stands (the conflict worklist's resolution)."""
    why = rules.clean_reason(note, required=True, field="note")
    chosen = str(discharge or "")[:60]
    with writing() as w:
        row = find_admission(admission_text)
        if chosen not in {v["discharge"] for v in row.discharge_versions}:
            raise NotFound(
                f"{row.admission_no} has no discharge {chosen}", {"discharge": "not found"}
            )
        w.emit(
            events.DISCHARGE_CONFIRMED,
            f"patient:{row.uhid}",
            {"admission": row.admission_no, "uhid": row.uhid, "discharge": chosen, "note": why},
            actor=actor,
        )
    return Admission.objects.get(admission_no=row.admission_no)


# -- the chart -------------------------------------------------------------------------


def _number(data: dict[str, Any], key: str, errors: dict[str, str], high: float) -> int | None:
    try:
        value = rules.number(data.get(key))
    except (TypeError, ValueError):
        errors[key] = "must be a number"
        return None
    if value is None:
        return None
    if not 0 <= value <= high:
        errors[key] = f"0 to {high:g}"
        return None
    return int(round(value))


def clean_entry(kind: Any, data: Any) -> dict[str, Any]:
    """The fields of a chart entry of ``kind``, checked; ValidationFailed otherwise."""
    data = _fields(data)
    errors: dict[str, str] = {}
    if kind == "vitals":
        return dict(rules.clean_vitals(data)["vitals"])
    if kind == "io":
        values = {
            key: _number(data, key, errors, 10000)
            for key in ("intake_oral_ml", "intake_iv_ml", "output_urine_ml", "output_other_ml")
        }
        kept: dict[str, Any] = {k: v for k, v in values.items() if v is not None}
        note = _text(data, "note", errors, limit=200)
        if note:
            kept["note"] = note
        if not errors and not any(k.endswith("_ml") for k in kept):
            errors["intake_oral_ml"] = "record at least one amount"
    elif kind in ("nursing_note", "progress_note"):
        kept = {"text": _text(data, "text", errors, limit=MAX_TEXT, required=True, lines=True)}
    elif kind == "medication":
        kept = {
            "drug": _text(data, "drug", errors, limit=120, required=True),
            "dose": _text(data, "dose", errors, limit=60, required=True),
            "route": _text(data, "route", errors, limit=30, required=True),
        }
        note = _text(data, "note", errors, limit=200)
        if note:
            kept["note"] = note
    else:
        raise ValidationFailed("unknown entry", {"kind": "one of " + ", ".join(events.ENTRY_KINDS)})
    unknown = (
        set(data)
        - set(kept)
        - {"note", "at", "corrects"}
        - {"intake_oral_ml", "intake_iv_ml", "output_urine_ml", "output_other_ml"}
    )
    for key in sorted(unknown):
        errors[str(key)[:40]] = "unknown field"
    if errors:
        raise ValidationFailed("please correct the entry", errors)
    return kept


def do_record_entry(actor: str, admission_text: Any, kind: Any, data: Any) -> WardEntry:
    """A chart entry (vitals, intake/output, nursing note, medication given, progress note),
    append-only; a correction names the entry it corrects."""
    data = _fields(data)
    fields = clean_entry(kind, {k: v for k, v in data.items() if k not in ("at", "corrects")})
    at = parse_time(data.get("at"), "at")
    corrects = str(data.get("corrects") or "")[:60]
    with writing() as w:
        row = _open(admission_text)
        if row.admitted_ms is not None and at < row.admitted_ms - CLOCK_GRACE_MS:
            raise ValidationFailed("the time is before the admission", {"at": "before admission"})
        if (
            corrects
            and not WardEntry.objects.filter(
                entry_id=corrects, admission_no=row.admission_no, kind=kind
            ).exists()
        ):
            raise NotFound(f"no {kind} entry {corrects} in this stay", {"corrects": "not found"})
        event = w.emit(
            events.ENTRY_RECORDED,
            f"patient:{row.uhid}",
            {
                "admission": row.admission_no,
                "uhid": row.uhid,
                "kind": kind,
                "at": at,
                "data": fields,
                "corrects": corrects,
            },
            actor=actor,
        )
    return WardEntry.objects.get(entry_id=event_id(event))


def do_order_tests(actor: str, admission_text: Any, tests: Any, note: Any = "") -> LabOrder:
    """Tests ordered on the ward go to the laboratory, under the admission's number."""
    with writing():
        row = _open(admission_text)
        return lab.do_order(
            actor,
            row.uhid,
            tests,
            source="ward",
            visit=row.admission_no,
            department=row.ward,
            note=str(note or ""),
        )
