"""The only write path of outpatient care: check the request against current state, emit events.

Every action takes the OPD visit number as typed (with or without dashes) and
raises ActionError - nothing written - when the request can't be carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nirantar import timeutil
from nirantar.accounts import queries as accounts
from nirantar.errors import Conflict, NotFound, ValidationFailed
from nirantar.lab import actions as lab
from nirantar.lab.models import LabOrder
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.writer import Writer, writing
from nirantar.opd import events, rules
from nirantar.opd.models import Entry, QueueState
from nirantar.registration import actions as registration
from nirantar.registration import events as registration_events
from nirantar.registration import queries as registration_queries
from nirantar.registration.models import Visit


@dataclass(frozen=True)
class Place:
    """Where a visit stands: its round, its step, the room it is in, and who put it there."""

    visit: Visit
    round: int
    step: str
    room_en: str
    room_hi: str
    by: str
    at_ms: int

    @property
    def closed(self) -> bool:
        return self.step == "done"


def parse_visit(text: Any) -> str:
    try:
        return registration_events.VISIT.normalise(str(text or ""))
    except InvalidNumber as exc:
        raise ValidationFailed(str(exc), {"visit": str(exc)}) from exc


def place_of(visit: Visit, state: QueueState | None) -> Place:
    if state is None:
        return Place(
            visit, 0, "waiting", visit.room_en, visit.room_hi, visit.registered_by, visit.at_ms
        )
    return Place(
        visit,
        state.round,
        state.step,
        state.room_en or visit.room_en,
        state.room_hi or visit.room_hi,
        state.by,
        state.at_ms,
    )


def find_place(visit_text: Any) -> Place:
    visit_no = parse_visit(visit_text)
    visit = Visit.objects.filter(visit_no=visit_no).first()
    if visit is None:
        raise NotFound(f"no visit {visit_no}", {"visit": "not registered"})
    return place_of(visit, QueueState.objects.filter(visit_no=visit_no, uhid=visit.uhid).first())


def _who(username: str) -> str:
    return accounts.staff_names([username]).get(username, (username, ""))[0]


def _when(ms: int) -> str:
    return timeutil.local(timeutil.from_ms(ms)).strftime("%H:%M")


def _room(place: Place, room: Any) -> dict[str, str]:
    """The room named (English or Hindi name, or just its number), or the visit's own."""
    if room in (None, ""):
        return {"en": place.room_en, "hi": place.room_hi}
    department = registration_queries.department(place.visit.department)
    text = str(room).strip().lower()
    for candidate in department.rooms if department else []:
        names = {candidate["en"].lower(), candidate["hi"].lower()}
        if text in names or text == candidate["en"].lower().removeprefix("room ").strip():
            return {"en": candidate["en"], "hi": candidate["hi"]}
    known = ", ".join(r["en"] for r in department.rooms) if department else ""
    raise ValidationFailed(f"no room {str(room)[:40]!r} here", {"room": f"one of: {known}"})


def _move(
    w: Writer, actor: str, place: Place, step: str, room: dict[str, str], reason: str = ""
) -> None:
    visit = place.visit
    w.emit(
        events.QUEUE_MOVED,
        events.patient_stream(visit.uhid),
        {
            "visit": visit.visit_no,
            "uhid": visit.uhid,
            "department": visit.department,
            "date": visit.local_date.isoformat(),
            "step": step,
            "round": place.round,
            "room": room,
            "reason": reason,
        },
        actor=actor,
    )


def do_call(actor: str, visit_text: Any, room: Any = None) -> Place:
    """Call a token to a room. Calling it again (the patient did not come) calls it again;
    a token someone else has called is theirs - the second caller is told who."""
    with writing() as w:
        place = _today(find_place(visit_text))
        target = _room(place, room)
        if place.step == "called" and target["en"] != place.room_en:
            raise Conflict(
                f"token {place.visit.token} is called to {place.room_en}: call it there, "
                f"or send the patient to {target['en']}",
                {"room": f"called to {place.room_en}"},
            )
        if place.step == "called" and place.by != actor:
            raise Conflict(
                f"token {place.visit.token} was called by {_who(place.by)} at {_when(place.at_ms)}",
                {"visit": "already called"},
            )
        if place.step not in ("waiting", "called"):
            raise Conflict(
                f"token {place.visit.token} is {STEP_WORDS[place.step]}", {"visit": place.step}
            )
        _move(w, actor, place, "called", target)
    return find_place(place.visit.visit_no)


def _today(place: Place) -> Place:
    """Queues are the day's: a token of another day is not called, started or sent."""
    day = timeutil.today()
    if place.visit.local_date != day:
        raise Conflict(
            f"visit {place.visit.visit_no} was for {place.visit.local_date:%d-%m-%Y}, "
            "not today: register a new visit",
            {"visit": "not today's"},
        )
    return place


def do_call_next(actor: str, department: str, room: Any = None) -> Place:
    """Call the longest-waiting token of today's queue (of one room, if given)."""
    with writing():
        for place in waiting_places(department):
            if room and place.room_en.lower() != str(room).lower():
                continue
            return do_call(actor, place.visit.visit_no, room)
    raise NotFound("no one is waiting", {"queue": "the queue is empty"})


def waiting_places(department: str) -> list[Place]:
    today = timeutil.today()
    visits = list(
        Visit.objects.filter(local_date=today, department=department).order_by("at_ms", "visit_no")
    )
    states = {
        (s.visit_no, s.uhid): s
        for s in QueueState.objects.filter(local_date=today, department=department)
    }
    places = [place_of(v, states.get((v.visit_no, v.uhid))) for v in visits]
    # A visit sent here from another room waits behind those already waiting in it.
    return sorted(
        (p for p in places if p.step == "waiting"),
        key=lambda p: p.at_ms if p.round else p.visit.at_ms,
    )


def do_start(actor: str, visit_text: Any) -> Place:
    """The doctor has the patient in front of them: in consultation."""
    with writing() as w:
        place = _today(find_place(visit_text))
        if place.step == "consulting":
            return place
        if place.step in ("done", "no_show"):
            raise Conflict(
                f"token {place.visit.token} is {STEP_WORDS[place.step]}", {"visit": place.step}
            )
        _move(w, actor, place, "consulting", {"en": place.room_en, "hi": place.room_hi})
    return find_place(place.visit.visit_no)


def do_close(actor: str, visit_text: Any) -> Place:
    with writing() as w:
        place = find_place(visit_text)
        if place.step in ("done", "no_show"):
            raise Conflict(
                f"visit {place.visit.visit_no} is already {STEP_WORDS[place.step]}",
                {"visit": place.step},
            )
        _move(w, actor, place, "done", {"en": place.room_en, "hi": place.room_hi})
    return find_place(place.visit.visit_no)


def do_no_show(actor: str, visit_text: Any) -> Place:
    with writing() as w:
        place = _today(find_place(visit_text))
        if place.step not in ("waiting", "called"):
            raise Conflict(
                f"token {place.visit.token} is {STEP_WORDS[place.step]}", {"visit": place.step}
            )
        _move(w, actor, place, "no_show", {"en": place.room_en, "hi": place.room_hi})
    return find_place(place.visit.visit_no)


def do_send(actor: str, visit_text: Any, room: Any, reason: str = "") -> Place:
    """Send the patient to another room of the department: they wait there next.
    Also brings back a patient marked absent who has turned up."""
    with writing() as w:
        place = _today(find_place(visit_text))
        if place.closed:
            raise Conflict(f"visit {place.visit.visit_no} is closed", {"visit": "done"})
        if room in (None, ""):
            raise ValidationFailed("which room?", {"room": "required"})
        target = _room(place, room)
        _move(w, actor, place, "sent", target, rules.clean_reason(reason, required=False))
    return find_place(place.visit.visit_no)


STEP_WORDS = {
    "waiting": "waiting",
    "called": "called",
    "consulting": "in consultation",
    "done": "closed",
    "no_show": "marked absent",
}


# -- clinical entries ----------------------------------------------------------------


def _open_visit(visit_text: Any, corrects: Any) -> Place:
    place = find_place(visit_text)
    if place.closed and not corrects:
        raise Conflict(
            f"visit {place.visit.visit_no} is closed: nothing new can be added to it",
            {"visit": "closed"},
        )
    return place


def _correction(place: Place, corrects: Any, reason: Any, kind: str) -> dict[str, str]:
    """{"corrects", "reason"} for a correction of an earlier entry; {} for a new one."""
    if corrects in (None, ""):
        if reason:
            return {"reason": rules.clean_reason(reason, required=False)}
        return {}
    # A correction belongs to the visit of what it corrects: that is where it is read, and
    # a closed visit must not take new content under the name of another visit's entry.
    original = Entry.objects.filter(entry_id=str(corrects)[:60], visit=place.visit.visit_no).first()
    if original is None:
        raise NotFound(
            f"no entry {str(corrects)[:60]} in visit {place.visit.visit_no}",
            {"corrects": "not an entry of this visit"},
        )
    if original.kind != kind:
        raise ValidationFailed(
            f"entry {original.entry_id} is a {original.kind}, not a {kind}",
            {"corrects": f"choose a {kind} entry"},
        )
    _still_standing(original)
    return {"corrects": original.entry_id, "reason": rules.clean_reason(reason, required=True)}


def _still_standing(original: Entry) -> None:
    """Only the entry that stands may be corrected or struck: correcting one already
    replaced would leave two standing (two prescriptions where the doctor meant one)."""
    later = Entry.objects.filter(corrects=original.entry_id).order_by("at_ms").first()
    if later is None:
        return
    if later.kind == "struck":
        raise Conflict(
            f"entry {original.entry_id} was struck out", {"corrects": "struck out already"}
        )
    raise Conflict(
        f"entry {original.entry_id} was already replaced by {later.entry_id}: "
        "correct that one instead",
        {"corrects": f"replaced by {later.entry_id}"},
    )


def _emit_entry(
    actor: str, type: str, place: Place, body: dict[str, Any], extra: dict[str, str]
) -> Entry:
    visit = place.visit
    with writing() as w:
        event = w.emit(
            type,
            events.patient_stream(visit.uhid),
            {"visit": visit.visit_no, "uhid": visit.uhid, **body, **extra},
            actor=actor,
        )
    return Entry.objects.get(entry_id=f"{event.origin}:{event.seq}")


def _record(
    actor: str, type: str, kind: str, visit_text: Any, data: dict[str, Any], body: dict[str, Any]
) -> Entry:
    with writing():
        place = _open_visit(visit_text, data.get("corrects"))
        extra = _correction(place, data.get("corrects"), data.get("reason"), kind)
        return _emit_entry(actor, type, place, body, extra)


def _fields(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("a JSON object is required", {"body": "a JSON object is required"})
    return data


def do_record_vitals(actor: str, visit_text: Any, data: Any) -> Entry:
    data = _fields(data)
    readings = {k: v for k, v in data.items() if k not in ("corrects", "reason")}
    return _record(
        actor, events.VITALS_RECORDED, "vitals", visit_text, data, rules.clean_vitals(readings)
    )


def do_record_note(actor: str, visit_text: Any, data: Any) -> Entry:
    data = _fields(data)
    body = rules.clean_note(data, timeutil.today())
    return _record(actor, events.NOTE_RECORDED, body["kind"], visit_text, data, body)


def do_record_diagnosis(actor: str, visit_text: Any, data: Any) -> Entry:
    data = _fields(data)
    body = rules.clean_diagnosis(data)
    return _record(actor, events.DIAGNOSIS_RECORDED, "diagnosis", visit_text, data, body)


def do_prescribe(actor: str, visit_text: Any, data: Any) -> Entry:
    data = _fields(data)
    body = rules.clean_prescription(data)
    return _record(actor, events.PRESCRIBED, "prescription", visit_text, data, body)


def do_record_allergy(actor: str, visit_text: Any, data: Any) -> Entry:
    data = _fields(data)
    body = rules.clean_allergy(data)
    return _record(actor, events.ALLERGY_RECORDED, "allergy", visit_text, data, body)


def do_order_labs(actor: str, visit_text: Any, data: Any) -> LabOrder:
    """Tests for the laboratory, ordered from this visit: the lab's own order, minted here."""
    data = _fields(data)
    with writing():
        place = _open_visit(visit_text, None)
        visit = place.visit
        return lab.do_order(
            actor,
            visit.uhid,
            data.get("tests"),
            source="opd",
            visit=visit.visit_no,
            department=visit.department,
            note=data.get("note") or "",
        )


def do_refer(actor: str, visit_text: Any, data: Any) -> tuple[Entry, Visit]:
    """Refer to another department: a new visit with its own token there, both or neither."""
    data = _fields(data)
    errors: dict[str, str] = {}
    department = None
    try:
        department = registration.find_department(data.get("department"))
    except ValidationFailed as exc:
        errors.update(exc.fields)
    try:
        reason = rules.clean_reason(data.get("reason"), required=True)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors or department is None:
        raise ValidationFailed("the referral can't be made", errors)
    with writing():
        place = _open_visit(visit_text, None)
        if department.code == place.visit.department:
            raise ValidationFailed(
                "that is this visit's own department",
                {"department": "refer to another department (or send to another room)"},
            )
        new = registration.do_register_visit(actor, place.visit.uhid, department.code)
        entry = _emit_entry(
            actor,
            events.REFERRED,
            place,
            {
                "department": department.code,
                "new_visit": new.visit_no,
                "token": new.token,
                "reason": reason,
            },
            {},
        )
    return entry, new


def do_advise_admission(actor: str, visit_text: Any, data: Any) -> Entry:
    """Advise admission: a request the wards receive (issue 7 admits from it)."""
    data = _fields(data)
    errors: dict[str, str] = {}
    urgency = data.get("urgency") or "routine"
    if urgency not in ("routine", "urgent"):
        errors["urgency"] = "routine or urgent"
    try:
        reason = rules.clean_reason(data.get("reason"), required=True)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    with writing():
        place = _open_visit(visit_text, None)
        code = place.visit.department
        if data.get("department"):
            try:
                code = registration.find_department(data["department"]).code
            except ValidationFailed as exc:
                errors.update(exc.fields)
        if errors:
            raise ValidationFailed("the admission advice can't be recorded", errors)
        return _emit_entry(
            actor,
            events.ADMISSION_ADVISED,
            place,
            {"department": code, "urgency": urgency, "reason": reason},
            {},
        )


def do_strike(actor: str, entry_text: Any, reason: Any, visit_text: Any = None) -> Entry:
    """Mark an entry as entered in error. It stays visible, struck through, with the reason.
    From a visit's screen, only that visit's entries may be struck."""
    entry_ref = str(entry_text or "")[:60]
    with writing():
        original = Entry.objects.filter(entry_id=entry_ref).first()
        if (
            visit_text is not None
            and original is not None
            and original.visit != parse_visit(visit_text)
        ):
            original = None
        if original is None:
            raise NotFound(f"no entry {entry_ref}", {"entry": "not found"})
        if original.kind == "struck":
            raise ValidationFailed("that is itself a striking-out", {"entry": "not an entry"})
        _still_standing(original)
        why = rules.clean_reason(reason, required=True)
        place = find_place(original.visit)
        if place.visit.uhid != original.uhid:
            raise NotFound("the entry's visit is not this patient's", {"entry": "no visit"})
        return _emit_entry(
            actor,
            events.ENTRY_STRUCK,
            place,
            {},
            {"corrects": original.entry_id, "reason": why},
        )
