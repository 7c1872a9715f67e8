"""Reads of the wards: the bed board, a stay's chart, the census, the conflict worklist.

A board or list that shows patients is a read of each of them: the caller records which
(``shown``) in the audit log, as the OPD and laboratory lists do.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q

from nirantar import sql, timeutil
from nirantar.accounts import actions as account_actions
from nirantar.accounts import permissions
from nirantar.accounts import queries as accounts
from nirantar.accounts.addresses import client_address
from nirantar.errors import NotFound, ValidationFailed
from nirantar.lab.models import LabOrder
from nirantar.registration import queries as registration
from nirantar.registration.models import Patient, age_on
from nirantar.wards.actions import find_admission
from nirantar.wards.models import Admission, Bed, Conflict, Placement, Ward, WardEntry
from nirantar.wards.permissions import ADMIT, READ_CHART


@dataclass(frozen=True)
class Occupant:
    admission: str
    uhid: str
    name_en: str
    name_hi: str
    sex: str
    age: str
    since_ms: int | None
    attending: str


@dataclass(frozen=True)
class BedView:
    bed: str
    ward: str
    room: str
    state: str
    occupants: list[Occupant]
    reserved_for: str
    service_reason: str

    @property
    def double_booked(self) -> bool:
        return len(self.occupants) > 1


@dataclass
class WardBoard:
    ward: Ward
    beds: list[BedView] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def _age(born: date | None, today: date) -> str:
    number, unit = age_on(born, today)
    return f"{number}{unit}" if unit else ""


def wards(kind: str = "", sex: str = "") -> list[Ward]:
    found = Ward.objects.order_by("code")
    if kind:
        found = found.filter(kind=kind)
    if sex:
        found = found.filter(sex__in=(sex, "any"))
    return list(found)


def board(ward: str = "", kind: str = "", sex: str = "") -> list[WardBoard]:
    """Every listed bed of the chosen wards with its state and occupants, ward by ward.
    Three queries whatever the number of beds; the two big ones in plain SQL (the whole
    hospital is 3,300 beds and 3,000 patients, and the ORM's cost is per row)."""
    chosen = [w for w in wards(kind, sex) if not ward or w.code == ward]
    boards = {w.code: WardBoard(w) for w in chosen}
    if not boards:
        return []
    beds = sql.rows(
        "SELECT bed, ward, room, state, occupants, reserved_for, service_reason FROM wards_bed "
        "WHERE (listed OR state = 'occupied') AND (%s = '' OR ward = %s) "
        'ORDER BY ward, "order", bed',
        [ward, ward],
    )
    # Everyone in a bed now, with who they are: the occupants of the beds above (a stay
    # known only by a transfer that came before its admission has no patient yet).
    stays = {
        row[0]: row
        for row in sql.rows(
            "SELECT a.admission_no, a.uhid, a.admitted_ms, a.attending, p.name_en, p.name_hi, "
            "p.sex, p.date_of_birth FROM wards_admission a "
            "LEFT JOIN registration_patient p ON p.uhid = a.uhid "
            "WHERE NOT a.discharged AND (%s = '' OR a.ward = %s)",
            [ward, ward],
        )
    }
    today = timeutil.today()
    ages: dict[Any, str] = {}
    for bed, ward_code, room, state, occupants_text, reserved_for, reason in beds:
        target = boards.get(ward_code)
        if target is None:
            continue
        occupants = sql.json_value(occupants_text) if occupants_text else []
        shown = []
        for number in occupants:
            found = stays.get(number) or _stay(number)
            _, uhid, since, attending, name_en, name_hi, sex_, born = found
            if born not in ages:
                ages[born] = _age(sql.date_value(born), today)
            shown.append(
                Occupant(
                    number,
                    uhid,
                    name_en or "",
                    name_hi or "",
                    sex_ or "",
                    ages[born],
                    since,
                    attending,
                )
            )
        target.beds.append(BedView(bed, ward_code, room, state, shown, reserved_for, reason))
        target.counts[state] += 1
        if len(occupants) > 1:
            target.counts["double_booked"] += 1
    return list(boards.values())


def _stay(number: str) -> tuple[Any, ...]:
    """An occupant not found among the open stays of the ward (a transfer between the two
    reads, or a discharge that did not stand): read on its own."""
    row = sql.one(
        "SELECT a.admission_no, a.uhid, a.admitted_ms, a.attending, p.name_en, p.name_hi, "
        "p.sex, p.date_of_birth FROM wards_admission a "
        "LEFT JOIN registration_patient p ON p.uhid = a.uhid WHERE a.admission_no = %s",
        [number],
    )
    return row or (number, "", None, "", "", "", "", None)


def shown(boards: list[WardBoard]) -> list[str]:
    """The patients a board showed, for the audit log."""
    return sorted({o.uhid for b in boards for bed in b.beds for o in bed.occupants if o.uhid})


def totals(boards: list[WardBoard]) -> Counter[str]:
    total: Counter[str] = Counter()
    for b in boards:
        total.update(b.counts)
    return total


# -- a stay ----------------------------------------------------------------------------


@dataclass
class Chart:
    admission: Admission
    patient: Patient
    placements: list[Placement]
    entries: list[WardEntry]
    orders: list[LabOrder]
    names: dict[str, tuple[str, str]]  # username -> (full name, registration number)

    def of(self, kind: str) -> list[WardEntry]:
        return [e for e in self.entries if e.kind == kind]

    @property
    def corrected(self) -> set[str]:
        return {e.corrects for e in self.entries if e.corrects}


def chart(admission: Admission, patient: Patient) -> Chart:
    # Only what was recorded of this stay's own patient (a hostile node could name the
    # admission under another UHID: kept in the log, shown nowhere).
    placements = list(
        Placement.objects.filter(admission_no=admission.admission_no, uhid=admission.uhid)
    )
    placements.sort(key=lambda p: tuple(p.stamp))
    entries = list(
        WardEntry.objects.filter(admission_no=admission.admission_no, uhid=admission.uhid).order_by(
            "at_ms", "entry_id"
        )
    )
    orders = list(LabOrder.objects.filter(visit=admission.admission_no).order_by("at_ms"))
    users = {admission.attending, admission.admitted_by, admission.discharge.get("by", "")}
    users |= {e.actor for e in entries} | {p.actor for p in placements}
    return Chart(
        admission, patient, placements, entries, orders, accounts.staff_names(users - {""})
    )


def access_chart(
    user: Any, admission_text: Any, *, action: str, via: str, request: Any = None
) -> Chart:
    """A stay's chart, if ``user`` may read it; the read is audited."""
    permissions.require(user, READ_CHART.name, request)
    admission = find_admission(admission_text)
    # A stay stays with the record it was made under (see ``access_visit``).
    patient = registration.access_patient(
        user, admission.uhid, action=action, via=via, request=request, follow_merge=False
    )
    return chart(admission, patient)


def access_admission(
    user: Any, admission_text: Any, *, action: str, via: str, request: Any = None
) -> tuple[Admission, Patient | None]:
    """A stay's admission (not its chart) and its patient, for the admission desk that
    admitted or prints for them; an audited read of the patient."""
    if not permissions.allowed(user, READ_CHART.name):
        permissions.require(user, ADMIT.name, request)
    admission = find_admission(admission_text)
    account_actions.do_record_access(
        user,
        admission.uhid,
        action,
        via=via,
        address=client_address(request) if request is not None else "",
    )
    return admission, registration.get_patient(admission.uhid)


def stay_entries(admission: Admission, kind: str) -> list[WardEntry]:
    """A stay's chart entries of ``kind`` (only its own patient's), oldest first. Not
    audited: for a caller that has audited the read (``access_stays``), or audits it."""
    return list(
        WardEntry.objects.filter(
            admission_no=admission.admission_no, uhid=admission.uhid, kind=kind
        ).order_by("at_ms", "entry_id")
    )


def access_stays(
    user: Any, uhid_text: str, *, action: str, via: str, request: Any = None
) -> list[Admission]:
    """A patient's stays, if ``user`` may read the chart; the read is audited (NotFound,
    nothing audited, for nobody registered)."""
    permissions.require(user, READ_CHART.name, request)
    patient = registration.access_patient(user, uhid_text, action=action, via=via, request=request)
    group = registration.group_of(patient.uhid)  # stays under UHIDs merged into it too
    return list(Admission.objects.filter(uhid__in=group, is_admitted=True))


def access_stay_entry(
    user: Any, entry_id: str, *, kind: str, action: str, via: str, request: Any = None
) -> tuple[WardEntry, Admission, list[WardEntry]]:
    """One chart entry of ``kind``, its stay, and the stay's entries of that kind (to tell
    whether a later one corrects it), if ``user`` may read the chart; the read is audited."""
    row = WardEntry.objects.filter(entry_id=entry_id, kind=kind).first()
    admission = (
        Admission.objects.filter(
            admission_no=row.admission_no, uhid=row.uhid, is_admitted=True
        ).first()
        if row
        else None
    )
    if row is None or admission is None:
        raise NotFound(f"no chart entry {entry_id[:60]}")
    permissions.require(user, READ_CHART.name, request)
    registration.access_patient(
        user, row.uhid, action=action, via=via, request=request, follow_merge=False
    )
    return row, admission, stay_entries(admission, kind)


def open_admissions(ward: str = "") -> list[Admission]:
    found = Admission.objects.filter(is_admitted=True, discharged=False)
    if ward:
        found = found.filter(ward=ward)
    return list(found.order_by("ward", "bed"))


def stays_of(uhids: list[str]) -> list[tuple[Admission, list[Placement]]]:
    """Every admission of these UHIDs (admitted here already) with its placements in time
    order, oldest admission first: what billing counts bed-days from."""
    admissions = list(
        Admission.objects.filter(uhid__in=uhids, is_admitted=True).order_by(
            "admitted_ms", "admission_no"
        )
    )
    placed: dict[str, list[Placement]] = defaultdict(list)
    rows = Placement.objects.filter(admission_no__in=[a.admission_no for a in admissions])
    for row in rows.order_by("at_ms", "placement_id"):
        placed[row.admission_no].append(row)
    return [(a, placed[a.admission_no]) for a in admissions]


def ward_kinds() -> dict[str, str]:
    """Ward code -> kind (general, icu, private, ...)."""
    return dict(Ward.objects.values_list("code", "kind"))


# -- the census ------------------------------------------------------------------------


@dataclass
class CensusRow:
    ward: Ward
    beds: int  # in service
    at_midnight: int = 0
    admitted: int = 0
    discharged: int = 0
    transferred_in: int = 0
    transferred_out: int = 0

    @property
    def occupancy(self) -> float:
        return 100.0 * self.at_midnight / self.beds if self.beds else 0.0


CENSUS_FIRST, CENSUS_LAST = date(1900, 1, 1), date(2999, 12, 31)


def _midnight_ms(day: date) -> int:
    """The midnight that ends ``day`` in the hospital's time, in milliseconds."""
    moment = datetime.combine(day + timedelta(days=1), time(0), tzinfo=timeutil.hospital_zone())
    return int(moment.timestamp() * 1000)


def census(day: date) -> tuple[list[CensusRow], int]:
    """The midnight census of ``day`` by ward (patients in each ward as the day ended), with
    the day's admissions, discharges and transfers. A patient is counted once: one with
    two admissions open at once (a conflict) is counted in the earlier one's ward.
    Returns the rows and the hospital's total."""
    if not CENSUS_FIRST <= day <= CENSUS_LAST:
        raise ValidationFailed(
            "no census for that date",
            {"date": f"between {CENSUS_FIRST.isoformat()} and {CENSUS_LAST.isoformat()}"},
        )
    start, end = _midnight_ms(day - timedelta(days=1)), _midnight_ms(day)
    rows = {w.code: CensusRow(w, 0) for w in Ward.objects.order_by("code")}
    for ward_code, count in Counter(
        Bed.objects.filter(listed=True, in_service=True).values_list("ward", flat=True)
    ).items():
        if ward_code in rows:
            rows[ward_code].beds = count
    # Only the stays the day can have seen: begun before it ended, not over before it began
    # (a year's history is hundreds of thousands of stays; the day's are a few thousand).
    relevant = Admission.objects.filter(is_admitted=True, admitted_ms__lt=end).filter(
        Q(discharged_ms__isnull=True) | Q(discharged_ms__gte=start)
    )
    stays = list(
        relevant.values_list(
            "admission_no", "uhid", "admitted_ms", "discharged_ms", "node", "discharge_stamp"
        )
    )
    placed: dict[str, list[tuple[tuple[Any, ...], int, str]]] = defaultdict(list)
    moves_of = Placement.objects.filter(
        at_ms__lt=end, admission_no__in=relevant.values("admission_no")
    )
    for number, ward_code, at, stamp in moves_of.values_list(
        "admission_no", "ward", "at_ms", "stamp"
    ):
        placed[number].append((tuple(stamp), at, ward_code))
    counted: set[str] = set()
    for number, uhid, admitted, discharged, _, left in sorted(stays, key=lambda s: (s[2], s[4])):
        placements = sorted(placed.get(number, []))
        if left:  # as on the board: a move made apart after the discharge never began
            placements = [p for p in placements if p[0] < tuple(left)] or placements[:1]
        moves = [(at, ward_code) for _, at, ward_code in placements]
        if not moves:
            continue
        present = discharged is None or discharged >= end
        if present and uhid not in counted:
            counted.add(uhid)
            ward_code = moves[-1][1]
            if ward_code in rows:
                rows[ward_code].at_midnight += 1
        if start <= admitted < end and moves[0][1] in rows:
            rows[moves[0][1]].admitted += 1
        if discharged is not None and start <= discharged < end and moves[-1][1] in rows:
            rows[moves[-1][1]].discharged += 1
        for (_, before), (at, after) in zip(moves, moves[1:], strict=False):
            if start <= at < end and before != after:
                if before in rows:
                    rows[before].transferred_out += 1
                if after in rows:
                    rows[after].transferred_in += 1
    result = list(rows.values())
    return result, sum(r.at_midnight for r in result)


@dataclass(frozen=True)
class Occupancy:
    ward: Ward
    beds: int  # listed and in service
    occupied: int  # beds with someone in them (a double-booked bed counts once)

    @property
    def percent(self) -> float:
        return 100.0 * self.occupied / self.beds if self.beds else 0.0


def occupancy(ward: str = "") -> list[Occupancy]:
    """Each ward's beds in service and beds occupied now, by ward code: counted by the
    database (one grouped query over wards_bed), no patient read. An occupied bed taken out
    of service or off the layout still counts as occupied, as the board shows it."""
    chosen = Ward.objects.order_by("code")
    if ward:
        chosen = chosen.filter(code=ward)
    rows = {w.code: [w, 0, 0] for w in chosen}
    counts = (
        Bed.objects.filter(ward__in=list(rows))
        .values("ward")
        .annotate(
            beds=Count("bed", filter=Q(listed=True, in_service=True)),
            occupied=Count("bed", filter=Q(state="occupied")),
        )
    )
    for row in counts:
        rows[row["ward"]][1:] = [row["beds"], row["occupied"]]
    return [Occupancy(w, beds, occupied) for w, beds, occupied in rows.values()]


# -- conflicts -------------------------------------------------------------------------


def conflicts(include_resolved: bool = False, ward: str = "") -> list[Conflict]:
    found = Conflict.objects.all()
    if not include_resolved:
        found = found.filter(is_open=True)
    if ward:
        found = found.filter(ward=ward)
    return list(found.order_by("-is_open", "detected_ms", "key"))


def conflict_admissions(rows: list[Conflict]) -> dict[str, Admission]:
    numbers = {n for c in rows for n in c.records}
    return {a.admission_no: a for a in Admission.objects.filter(admission_no__in=numbers)}


# -- for the screens' forms ------------------------------------------------------------


def free_beds() -> list[tuple[str, str, str]]:
    """(bed, state, reserved for) of every bed a patient could be put in now: vacant, or
    reserved (for the patient it names), in layout order. For the forms' bed lists."""
    return list(
        Bed.objects.filter(listed=True, in_service=True, state__in=("vacant", "reserved"))
        .order_by("ward", "order")
        .values_list("bed", "state", "reserved_for")
    )


def double_booked(bed: str) -> bool:
    """Whether more than one patient lies in ``bed`` now."""
    occupants = Bed.objects.filter(bed=bed).values_list("occupants", flat=True).first()
    return len(occupants or []) > 1


def doctors() -> list[Any]:
    """Active doctors, who may be a stay's attending."""
    return list(accounts.users().filter(role="doctor", is_active=True).order_by("full_name"))


def admission_advice(limit: int = 200) -> list[tuple[Any, Patient | None]]:
    """Admission advised at the OPD and not acted on yet: not struck out, no admission made
    from its visit, the patient not admitted now. Newest first, with the patient."""
    from nirantar.opd.queries import admission_requests

    advised = admission_requests(limit)
    visits = [a.entry.visit for a in advised]
    uhids = {a.entry.uhid for a in advised}
    admitted_from = set(
        Admission.objects.filter(visit__in=visits, is_admitted=True).values_list("visit", flat=True)
    )
    in_bed = set(
        Admission.objects.filter(uhid__in=uhids, is_admitted=True, discharged=False).values_list(
            "uhid", flat=True
        )
    )
    pending = [
        a for a in advised if a.entry.visit not in admitted_from and a.entry.uhid not in in_bed
    ]
    people = {p.uhid: p for p in Patient.objects.filter(uhid__in={a.entry.uhid for a in pending})}
    return [(a, people.get(a.entry.uhid)) for a in pending]
