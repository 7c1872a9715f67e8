"""The only write path of registration: check the request against current state, emit events."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from nirantar import sql, timeutil
from nirantar.errors import Conflict, NotFound, ValidationFailed
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.writer import writing
from nirantar.registration import events, rules
from nirantar.registration.models import (
    Department,
    MergedPatient,
    Patient,
    PatientMerge,
    Visit,
)
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters


def parse_uhid(text: Any, field: str = "uhid") -> str:
    """The UHID in its display form, or ValidationFailed saying what is wrong with it."""
    try:
        return events.UHID.normalise(str(text or ""))
    except InvalidNumber as exc:
        raise ValidationFailed(str(exc), {field: str(exc)}) from exc


def find_department(value: Any) -> Department:
    text = rules.normalise_text(value) if isinstance(value, str) else ""
    if has_control_characters(text):
        text = ""  # matches no department: refused below, naming the real ones
    # Plain SQL: every visit asks. UPPER on both sides is what the ORM's iexact does.
    department = sql.instance(
        Department,
        "active AND (UPPER(code) = UPPER(%s) OR UPPER(name_en) = UPPER(%s) OR name_hi = %s)",
        [text, text, text],
        order_by="code",
    )
    if department is None:
        names = ", ".join(Department.objects.filter(active=True).values_list("name_en", flat=True))
        raise ValidationFailed(
            f"unknown department {text!r}", {"department": f"choose one of: {names}"}
        )
    return department


def do_define_department(actor: str, data: dict[str, Any]) -> None:
    code = str(data.get("code", "")).upper()
    rooms = data.get("rooms") or []
    if not code.isalnum() or len(code) > 10:
        raise ValidationFailed("bad department", {"code": "1-10 letters or digits"})
    if not rooms or not all(isinstance(r, dict) and r.get("en") and r.get("hi") for r in rooms):
        raise ValidationFailed(
            "bad department", {"rooms": "each room needs an English and a Hindi name"}
        )
    with writing() as w:
        w.emit(
            events.DEPARTMENT_DEFINED,
            f"department:{code}",
            {
                "code": code,
                "name_en": rules.normalise_text(data["name_en"]),
                "name_hi": rules.normalise_text(data["name_hi"]),
                "rooms": [{"en": r["en"], "hi": r["hi"]} for r in rooms],
                "active": bool(data.get("active", True)),
            },
            actor=actor,
        )


def do_register_patient(actor: str, data: Any) -> Patient:
    """Register a new patient under a UHID minted here. Nothing is written if data is bad."""
    fields = rules.clean_patient(data, timeutil.today())
    with writing() as w:
        node_number, seq = w.next_number(events.UHID.kind)
        uhid = events.UHID.format(node_number, seq)
        w.emit(
            events.PATIENT_REGISTERED,
            events.patient_stream(uhid),
            patient_body(uhid, fields),
            actor=actor,
        )
    return _patient(uhid)


def _patient(uhid: str) -> Patient:
    """The row the write just projected (plain SQL: every registration asks)."""
    found = sql.instance(Patient, "uhid = %s", [uhid])
    if found is None:
        raise Patient.DoesNotExist(uhid)
    return found


def patient_body(uhid: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The body of a registration of ``fields`` (as ``rules.clean_patient`` returns them).
    The benchmarks' synthetic hospital builds its registrations with it too."""
    return {
        "uhid": uhid,
        **{
            k: fields[k]
            for k in rules.PATIENT_FIELDS
            if k not in ("address_line", "district", "state", "pin")
        },
        "age_given": fields["age_given"],
        "address": {
            "line": fields["address_line"],
            "district": fields["district"],
            "state": fields["state"],
            "pin": fields["pin"],
        },
    }


def do_correct_patient(actor: str, uhid_text: Any, data: Any, reason: str = "") -> Patient:
    """Correct some fields of a patient. Each field is last-writer-wins across nodes."""
    uhid = parse_uhid(uhid_text)
    changes = rules.clean_patient(data, timeutil.today(), partial=True)
    if has_control_characters(str(reason or "")):
        raise ValidationFailed("the reason " + CONTROL_MESSAGE, {"reason": CONTROL_MESSAGE})
    with writing() as w:
        patient = Patient.objects.filter(uhid=uhid, is_registered=True).first()
        if patient is None:
            raise NotFound(f"no patient with UHID {uhid}", {"uhid": "not registered"})
        into = _merged_into(uhid)
        if into:  # its record is not shown anywhere: a change there would be lost to sight
            raise Conflict(
                f"{uhid} is merged into {into}: correct {into} instead",
                {"uhid": f"merged into {into}"},
            )
        name_hi = changes.get("name_hi", patient.name_hi)
        name_en = changes.get("name_en", patient.name_en)
        if not name_hi and not name_en:
            raise ValidationFailed(
                "a patient must keep a name",
                {"name_en": "a name is required", "name_hi": "a name is required"},
            )
        changes = {k: v for k, v in changes.items() if _current(patient, k) != v}
        if changes:
            w.emit(
                events.PATIENT_CORRECTED,
                events.patient_stream(uhid),
                {"uhid": uhid, "changes": changes, "reason": rules.normalise_text(reason)[:200]},
                actor=actor,
            )
    return Patient.objects.get(uhid=uhid)


def _current(patient: Patient, field: str) -> Any:
    value = getattr(patient, field)
    return value.isoformat() if field == "date_of_birth" and value else value


def do_register_visit(actor: str, uhid_text: Any, department_value: Any) -> Visit:
    """Register today's OPD visit and give a token: per department per day, counter-prefixed."""
    errors: dict[str, str] = {}
    uhid = department = None
    try:
        uhid = parse_uhid(uhid_text)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        department = find_department(department_value)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors or uhid is None or department is None:
        raise ValidationFailed("the visit can't be registered", errors)
    letter = settings.NODE.counter_letter
    today = timeutil.today()
    with writing() as w:
        if not sql.one(
            "SELECT 1 FROM registration_patient WHERE uhid = %s AND is_registered", [uhid]
        ):
            raise NotFound(f"no patient with UHID {uhid}", {"uhid": "not registered"})
        node_number, seq = w.next_number(events.VISIT.kind)
        visit_no = events.VISIT.format(node_number, seq)
        _, token_no = w.next_number(
            "token", token_scope(letter, department.code, today.isoformat())
        )
        room = department.rooms[(token_no - 1) % len(department.rooms)]
        w.emit(
            events.VISIT_REGISTERED,
            events.patient_stream(uhid),
            {
                "visit": visit_no,
                "uhid": uhid,
                "department": department.code,
                "room": {"en": room["en"], "hi": room["hi"]},
                "token": format_token(letter, token_no),
                "token_no": token_no,
                "counter": letter,
                "date": today.isoformat(),
            },
            actor=actor,
        )
    found = sql.instance(Visit, "visit_no = %s", [visit_no])
    if found is None:
        raise Visit.DoesNotExist(visit_no)
    return found


def token_scope(letter: str, department: str, day: str) -> str:
    return f"{letter}:{department}:{day}"


def format_token(letter: str, number: int) -> str:
    return f"{letter}-{number:03d}"


def do_register_patient_and_visit(
    actor: str, data: Any, department_value: Any
) -> tuple[Patient, Visit]:
    """A new patient and their first visit, in one transaction: both or neither."""
    errors: dict[str, str] = {}
    try:
        find_department(department_value)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        rules.clean_patient(data, timeutil.today())
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed("please correct the highlighted fields", errors)
    with writing():
        patient = do_register_patient(actor, data)
        visit = do_register_visit(actor, patient.uhid, department_value)
    return patient, visit


def _merge_request(survivor_text: Any, duplicate_text: Any, reason: Any) -> tuple[str, str, str]:
    """The pair and reason of a merge or unmerge, or ValidationFailed naming every problem."""
    errors: dict[str, str] = {}
    survivor = duplicate = ""
    try:
        survivor = parse_uhid(survivor_text, "survivor")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        duplicate = parse_uhid(duplicate_text, "duplicate")
    except ValidationFailed as exc:
        errors.update(exc.fields)
    text = rules.normalise_text(reason) if isinstance(reason, str) else ""
    if has_control_characters(text):
        errors["reason"] = CONTROL_MESSAGE
    elif not text:
        errors["reason"] = "say why (recorded with the merge)"
    elif len(text) > 200:
        errors["reason"] = "at most 200 characters"
    if not errors and survivor == duplicate:
        errors["duplicate"] = "a patient cannot be merged with itself"
    if errors:
        raise ValidationFailed("the merge can't be made", errors)
    return survivor, duplicate, text


def _merged_into(uhid: str) -> str:
    found = MergedPatient.objects.filter(uhid=uhid).values_list("survivor", flat=True).first()
    return found or ""


def do_merge_patients(actor: str, survivor_text: Any, duplicate_text: Any, reason: Any) -> None:
    """Merge the duplicate's record into the survivor's: an event, nothing rewritten.

    Every module then shows the duplicate's visits, orders, results and stays under
    the survivor, and the duplicate's UHID still finds the survivor."""
    survivor, duplicate, text = _merge_request(survivor_text, duplicate_text, reason)
    with writing() as w:
        registered = set(
            Patient.objects.filter(uhid__in=(survivor, duplicate), is_registered=True).values_list(
                "uhid", flat=True
            )
        )
        missing = {f: u for f, u in (("survivor", survivor), ("duplicate", duplicate))}
        missing = {f: u for f, u in missing.items() if u not in registered}
        if missing:
            raise NotFound(
                "no patient with UHID " + " or ".join(missing.values()),
                dict.fromkeys(missing, "not registered"),
            )
        into = _merged_into(survivor)
        if into:
            raise Conflict(
                f"{survivor} is itself merged into {into}: merge into {into} instead",
                {"survivor": f"merged into {into}"},
            )
        into = _merged_into(duplicate)
        if into:
            raise Conflict(
                f"{duplicate} is already merged into {into}",
                {"duplicate": f"merged into {into}; unmerge it first to merge it elsewhere"},
            )
        w.emit(
            events.PATIENTS_MERGED,
            events.patient_stream(duplicate),
            {"survivor": survivor, "duplicate": duplicate, "reason": text},
            actor=actor,
        )


def do_unmerge_patients(actor: str, survivor_text: Any, duplicate_text: Any, reason: Any) -> None:
    """Undo a merge: both records show apart again, exactly as before (nothing was moved).

    A pair not followed because of a conflict (merged into two, a cycle made apart) is
    unmerged the same way: that is how the records team resolves it."""
    survivor, duplicate, text = _merge_request(survivor_text, duplicate_text, reason)
    with writing() as w:
        pair = PatientMerge.objects.filter(survivor=survivor, duplicate=duplicate).first()
        if pair is None or not pair.merged:
            into = _merged_into(duplicate)
            hint = f"; it is merged into {into}" if into else ""
            raise Conflict(
                f"{duplicate} is not merged into {survivor}{hint}",
                {"duplicate": f"not merged into {survivor}{hint}"},
            )
        w.emit(
            events.PATIENTS_UNMERGED,
            events.patient_stream(duplicate),
            {"survivor": survivor, "duplicate": duplicate, "reason": text},
            actor=actor,
        )
