"""Reads of outpatient data for the desk, the display, the API and PDFs.

A read of one patient's clinical record goes through ``access_record`` (or
``access_timeline``), which checks the right and records the read in the audit
trail. The token display reads no patient: it shows tokens and rooms only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext

from nirantar import timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts import permissions
from nirantar.accounts import queries as accounts
from nirantar.accounts.addresses import client_address
from nirantar.errors import NotFound
from nirantar.lab import queries as lab
from nirantar.lab.models import LabOrder
from nirantar.opd.actions import Place, place_of
from nirantar.opd.models import Entry, QueueState
from nirantar.opd.permissions import READ_CLINICAL
from nirantar.registration import queries as registration
from nirantar.registration.models import Department, Patient, Visit

ENTRY_FIELDS = (
    "entry_id",
    "visit",
    "uhid",
    "kind",
    "data",
    "corrects",
    "reason",
    "at_ms",
    "actor",
    "node",
)


@dataclass(frozen=True)
class EntryRow:
    """An entry as read for display: the model's fields without a model's cost, which
    for the thousand entries of a long timeline is a third of the request."""

    entry_id: str
    visit: str
    uhid: str
    kind: str
    data: dict[str, Any]
    corrects: str
    reason: str
    at_ms: int
    actor: str
    node: str


def _rows(entries: Any) -> list[EntryRow]:
    return [EntryRow(*values) for values in entries.values_list(*ENTRY_FIELDS)]


@dataclass
class EntryView:
    """An entry with what became of it: corrected by later entries, or struck out."""

    entry: EntryRow
    corrected_by: list[EntryRow] = field(default_factory=list)
    struck: EntryRow | None = None

    @property
    def current(self) -> bool:
        return not self.corrected_by and self.struck is None

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def data(self) -> dict[str, Any]:
        return self.entry.data

    @property
    def brief(self) -> str:
        """One line for a timeline: what a past visit's entry said."""
        return brief(self.entry)


def brief(entry: EntryRow) -> str:
    data, kind = entry.data, entry.kind
    if kind == "diagnosis":
        status = gettext("final") if data.get("status") == "final" else gettext("provisional")
        return f"{data['code']} {data['title']} ({status})"
    if kind == "prescription":
        return "; ".join(
            f"{i['drug']} {i['dose']} {i['frequency']} × {i['duration_days']}"
            for i in data.get("items", [])
        )
    if kind == "vitals":
        v = data.get("vitals", {})
        parts = [f"BP {v['bp_systolic']}/{v['bp_diastolic']}"] if "bp_systolic" in v else []
        if "pulse" in v:
            parts.append(f"{gettext('Pulse')} {v['pulse']}")
        parts += [
            f"{v[key]} {unit}"
            for key, unit in (("temperature_c", "°C"), ("spo2", "% SpO₂"), ("weight_kg", "kg"))
            if key in v
        ]
        if data.get("bmi"):
            parts.append(f"BMI {data['bmi']}")
        return " · ".join(parts)
    if kind == "referral":
        return f"{gettext('Referred to')} {data['department']} ({data['new_visit']})"
    if kind == "admission":
        return f"{gettext('Admission advised')}: {entry.reason}"
    if kind == "allergy":
        return f"{gettext('Allergy')}: {data['substance']}"
    text = str(data.get("text", ""))
    if data.get("follow_up"):
        text = f"{text} — {gettext('follow-up')} {data['follow_up']}"
    return text


def entry_views(entries: Iterable[EntryRow]) -> list[EntryView]:
    """Every entry (struck-out markers folded into what they strike), oldest first."""
    rows = sorted(entries, key=lambda e: (e.at_ms, e.entry_id))
    views = {e.entry_id: EntryView(e) for e in rows if e.kind != "struck"}
    for e in rows:
        target = views.get(e.corrects) if e.corrects else None
        if target is None:
            continue
        if e.kind == "struck":
            target.struck = target.struck or e
        else:
            target.corrected_by.append(e)
    return list(views.values())


STEP_LABELS = {
    "waiting": lambda: gettext("waiting"),
    "called": lambda: gettext("called"),
    "consulting": lambda: gettext("in consultation"),
    "done": lambda: gettext("done"),
    "no_show": lambda: gettext("absent"),
}


@dataclass
class VisitRecord:
    visit: Visit
    place: Place
    department: Department | None
    entries: list[EntryView]
    lab_orders: list[LabOrder]
    lab_results: list[lab.ReportedResult] = field(default_factory=list)

    @property
    def step_label(self) -> str:
        return STEP_LABELS[self.place.step]()

    def of_kind(self, *kinds: str) -> list[EntryView]:
        return [v for v in self.entries if v.kind in kinds]

    def current(self, *kinds: str) -> list[EntryView]:
        return [v for v in self.of_kind(*kinds) if v.current]

    # For templates, which cannot pass arguments.
    @property
    def entries_vitals(self) -> list[EntryView]:
        return self.current("vitals")

    @property
    def entries_diagnosis(self) -> list[EntryView]:
        return self.current("diagnosis")

    @property
    def entries_prescription(self) -> list[EntryView]:
        return self.current("prescription")

    @property
    def summary(self) -> list[EntryView]:
        """What a past visit is remembered by: diagnoses, prescriptions, vitals, advice."""
        return self.current(
            "diagnosis", "prescription", "vitals", "advice", "referral", "admission"
        )


@dataclass
class Timeline:
    patient: Patient
    visits: list[VisitRecord]
    allergies: list[EntryView]
    alerts: list[EntryView]
    staff: dict[str, tuple[str, str]]


def _records(visits: list[Visit], entries: list[EntryRow]) -> list[VisitRecord]:
    by_visit: dict[str, list[EntryRow]] = {}
    for e in entries:
        by_visit.setdefault(e.visit, []).append(e)
    numbers = [v.visit_no for v in visits]
    states = {(s.visit_no, s.uhid): s for s in QueueState.objects.filter(visit_no__in=numbers)}
    orders = lab.orders_for_visits(visits)
    results = lab.verified_results_for_visits(visits)
    departments = {d.code: d for d in Department.objects.all()}
    return [
        VisitRecord(
            v,
            place_of(v, states.get((v.visit_no, v.uhid))),
            departments.get(v.department),
            entry_views(by_visit.get(v.visit_no, [])),
            orders.get(v.visit_no, []),
            results.get(v.visit_no, []),
        )
        for v in visits
    ]


def timeline(patient: Patient, limit: int = 500) -> Timeline:
    """The patient's visits, newest first, each with its entries and lab orders: those of
    every UHID merged into the record too."""
    group = registration.group_of(patient.uhid)
    visits = list(Visit.objects.filter(uhid__in=group).order_by("-at_ms")[:limit])
    # Entries of the visits shown, and the allergies and alerts that stand from any visit.
    entries = _rows(
        Entry.objects.filter(uhid__in=group).filter(
            Q(visit__in=[v.visit_no for v in visits]) | Q(kind__in=STANDING_KINDS)
        )
    )
    records = _records(visits, entries)
    allergies, alerts = _standing(entries)
    staff = accounts.staff_names({e.actor for e in entries} | {v.registered_by for v in visits})
    return Timeline(patient, records, allergies, alerts, staff)


STANDING_KINDS = ("allergy", "alert", "struck")


def _standing(entries: list[EntryRow]) -> tuple[list[EntryView], list[EntryView]]:
    views = entry_views(e for e in entries if e.kind in STANDING_KINDS)
    return (
        [v for v in views if v.kind == "allergy" and v.current],
        [v for v in views if v.kind == "alert" and v.current],
    )


def standing(uhid: str) -> tuple[list[EntryView], list[EntryView]]:
    """The patient's allergies and alerts that stand (not corrected away or struck out),
    recorded under any UHID of the patient's record."""
    group = registration.group_of(uhid)
    return _standing(_rows(Entry.objects.filter(uhid__in=group, kind__in=STANDING_KINDS)))


def visit_record(visit: Visit) -> VisitRecord:
    return _records([visit], _rows(Entry.objects.filter(visit=visit.visit_no, uhid=visit.uhid)))[0]


def access_record(
    user: Any, visit_text: str, *, action: str, via: str, request: Any = None
) -> tuple[VisitRecord, Patient]:
    """One visit's clinical record, if ``user`` may read it; the read is audited."""
    permissions.require(user, READ_CLINICAL.name, request)
    visit, patient = registration.access_visit(
        user, visit_text, action=action, via=via, request=request
    )
    return visit_record(visit), patient


def access_timeline(user: Any, uhid_text: str, *, via: str, request: Any = None) -> Timeline:
    permissions.require(user, READ_CLINICAL.name, request)
    patient = registration.access_patient(
        user, uhid_text, action="patient.timeline", via=via, request=request
    )
    return timeline(patient)


def patient_entries(uhid: str, kinds: tuple[str, ...], visit: str = "") -> list[EntryView]:
    """A patient's entries of ``kinds`` (of every visit, or of ``visit``), each with what
    became of it (corrected, struck), oldest first. Not audited: for a caller that has
    audited the read (``access_entries``), or that audits it itself (a document it builds).
    Entries under any UHID of ``uhid``'s record (merged ones too) are the patient's."""
    group = registration.group_of(uhid)
    rows = Entry.objects.filter(uhid__in=group, kind__in=(*kinds, "struck"))
    if visit:
        rows = rows.filter(visit=visit)
    return [v for v in entry_views(_rows(rows)) if v.kind in kinds]


def access_entries(
    user: Any, uhid_text: str, *, kinds: tuple[str, ...], action: str, via: str, request: Any = None
) -> tuple[list[Visit], list[EntryView]]:
    """A patient's visits and entries of ``kinds``, if ``user`` may read the clinical record;
    the read is audited (NotFound, nothing audited, for nobody registered)."""
    permissions.require(user, READ_CLINICAL.name, request)
    patient = registration.access_patient(user, uhid_text, action=action, via=via, request=request)
    visits = list(Visit.objects.filter(uhid__in=registration.group_of(patient.uhid)))
    return visits, patient_entries(patient.uhid, kinds)


def access_entry(
    user: Any, entry_id: str, *, kinds: tuple[str, ...], action: str, via: str, request: Any = None
) -> tuple[EntryView, Visit | None]:
    """One entry of ``kinds`` with what became of it, and its visit (only a visit of the
    entry's own patient), if ``user`` may read the clinical record; the read is audited."""
    row = Entry.objects.filter(entry_id=entry_id, kind__in=kinds).first()
    if row is None:
        raise NotFound(f"no entry {entry_id[:60]}")
    permissions.require(user, READ_CLINICAL.name, request)
    registration.access_patient(
        user, row.uhid, action=action, via=via, request=request, follow_merge=False
    )
    [view] = [
        v for v in patient_entries(row.uhid, kinds, row.visit) if v.entry.entry_id == entry_id
    ]
    return view, Visit.objects.filter(visit_no=row.visit, uhid=row.uhid).first()


# -- queues ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    place: Place
    patient: Patient | None

    @property
    def visit(self) -> Visit:
        return self.place.visit


def queue(department: str, day: date | None = None) -> list[Token]:
    """A department's tokens of the day: those in consultation and called first, then
    the waiting in the order they came, then the closed and absent."""
    day = day or timeutil.today()
    visits = list(Visit.objects.filter(local_date=day, department=department))
    states = {
        (s.visit_no, s.uhid): s
        for s in QueueState.objects.filter(local_date=day, department=department)
    }
    patients = {
        p.uhid: p
        for p in Patient.objects.filter(uhid__in={v.uhid for v in visits}, is_registered=True)
    }
    order = {"consulting": 0, "called": 1, "waiting": 2, "done": 3, "no_show": 4}
    tokens = [
        Token(place_of(v, states.get((v.visit_no, v.uhid))), patients.get(v.uhid)) for v in visits
    ]

    def key(t: Token) -> tuple[int, int]:
        p = t.place
        arrived = p.at_ms if p.round else p.visit.at_ms
        return (order[p.step], arrived if p.step == "waiting" else -p.at_ms)

    return sorted(tokens, key=key)


def audit_listing(
    user: Any,
    tokens: list[Token],
    *,
    label: str,
    via: str,
    request: Any = None,
    already: set[str] | None = None,
) -> set[str]:
    """Record which patients a queue list showed ``user`` (names on a list are a read).
    ``already``: those recorded for this user before, which a refresh does not repeat."""
    shown = {t.visit.uhid for t in tokens if t.patient is not None}
    new = sorted(shown - (already or set()))
    account_actions.do_record_search(
        user, label, new, via=via, address=client_address(request) if request else ""
    )
    return shown | (already or set())


@dataclass(frozen=True)
class RoomBoard:
    room_en: str
    room_hi: str
    serving: list[str]  # tokens called or in consultation, latest call first
    waiting: int


def board(department: Department, day: date | None = None) -> tuple[list[RoomBoard], list[str]]:
    """What the waiting hall's screen shows: per room, the tokens now called or being seen
    and how many wait; and the latest calls, newest first. Tokens only - no names."""
    day = day or timeutil.today()
    visits = {
        v.visit_no: v for v in Visit.objects.filter(local_date=day, department=department.code)
    }
    states = {
        (s.visit_no, s.uhid): s
        for s in QueueState.objects.filter(local_date=day, department=department.code)
    }
    rooms: dict[str, RoomBoard] = {
        r["en"]: RoomBoard(r["en"], r["hi"], [], 0) for r in department.rooms
    }
    serving: list[tuple[int, str, str]] = []
    calls: list[tuple[int, str, str]] = []
    for visit in visits.values():
        state = states.get((visit.visit_no, visit.uhid))
        place = place_of(visit, state)
        room = rooms.setdefault(place.room_en, RoomBoard(place.room_en, place.room_hi, [], 0))
        if place.step == "waiting":
            rooms[place.room_en] = RoomBoard(
                room.room_en, room.room_hi, room.serving, room.waiting + 1
            )
        elif place.step in ("called", "consulting") and state is not None:
            serving.append((state.last_called_ms or state.at_ms, visit.token, place.room_en))
            if state.last_called_ms:  # a consultation started without a call is no call
                calls.append((state.last_called_ms, visit.token, place.room_en))
    for _at, token, room_en in sorted(serving, reverse=True):
        rooms[room_en].serving.append(token)
    calls.sort(reverse=True)
    latest = [f"{token} → {rooms[room].room_hi} · {room}" for _at, token, room in calls[:5]]
    return list(rooms.values()), latest


def latest_call_ms(department: str, day: date | None = None) -> int:
    day = day or timeutil.today()
    latest = (
        QueueState.objects.filter(local_date=day, department=department)
        .exclude(last_called_ms=None)
        .order_by("-last_called_ms")
        .values_list("last_called_ms", flat=True)
        .first()
    )
    return int(latest or 0)


def admission_requests(limit: int = 200) -> list[EntryView]:
    """Admission advised at the OPD and not struck out, newest first (for the wards)."""
    advised = _rows(Entry.objects.filter(kind="admission").order_by("-at_ms")[:limit])
    struck = set(
        Entry.objects.filter(kind="struck", corrects__in=[e.entry_id for e in advised]).values_list(
            "corrects", flat=True
        )
    )
    return [EntryView(e) for e in advised if e.entry_id not in struck]
