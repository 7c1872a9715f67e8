"""Reads of registration data for screens, APIs, PDFs and the CLI.

Every read of one patient's record goes through ``access_patient`` (or
``access_visit``): it checks the user's right and records the read in the
signed audit trail, each condition on its own line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from django.utils.translation import gettext
from rapidfuzz import fuzz

from nirantar import sql
from nirantar.accounts import actions as account_actions
from nirantar.accounts import permissions
from nirantar.accounts.addresses import client_address
from nirantar.errors import ActionError, NotFound, ValidationFailed
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.writer import node
from nirantar.registration import events, rows, rules, search
from nirantar.registration.actions import parse_uhid
from nirantar.registration.models import (
    Department,
    MergedPatient,
    Patient,
    PatientMerge,
    Visit,
)
from nirantar.registration.permissions import BREAK_GLASS, READ_PATIENT
from nirantar.registration.projections import field_values
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters

MAX_QUERY = 100


def departments() -> list[Department]:
    return list(Department.objects.filter(active=True).order_by("name_en"))


def department(code: str) -> Department | None:
    return sql.instance(Department, "code = %s", [code], order_by="code")


def get_patient(uhid: str) -> Patient | None:
    """The record registered under exactly this UHID (merged away or not)."""
    # Plain SQL (sql.instance): every registration and every read of a patient asks.
    return sql.instance(Patient, "uhid = %s AND is_registered", [uhid], order_by="id")


# -- merges --------------------------------------------------------------------------
# Every module reads a patient's data through these: a UHID merged away shows under its
# survivor, and a survivor's record gathers the rows of every UHID merged into it. No
# row is ever moved between UHIDs, so an unmerge restores both records exactly.


# survivor_of and group_of run on every read of a patient, in plain SQL: the ORM's query
# building cost several times the queries themselves.


def survivor_of(uhid: str) -> str:
    """The UHID whose record ``uhid`` shows under: itself unless merged away."""
    row = sql.one("SELECT survivor FROM registration_merged_patient WHERE uhid = %s", [uhid])
    return str(row[0]) if row and row[0] else uhid


def group_of(uhid: str) -> list[str]:
    """Every UHID shown in ``uhid``'s record: its survivor first, then the UHIDs merged
    into it (transitively), in order."""
    found = sql.rows(
        "SELECT s.survivor, m.uhid FROM (SELECT COALESCE((SELECT survivor FROM "
        "registration_merged_patient WHERE uhid = %s), %s) AS survivor) s "
        "LEFT JOIN registration_merged_patient m ON m.survivor = s.survivor",
        [uhid, uhid],
    )
    survivor = str(found[0][0]) if found and found[0][0] else uhid
    return [survivor, *sorted(str(row[1]) for row in found if row[1] is not None)]


def survivors_of(uhids: set[str]) -> dict[str, str]:
    """``survivor_of`` for many UHIDs at once (only those merged away are keys)."""
    return dict(MergedPatient.objects.filter(uhid__in=uhids).values_list("uhid", "survivor"))


def merged_into_each(survivors: set[str]) -> dict[str, list[str]]:
    """For each of ``survivors``, the UHIDs merged into it (only those with any are keys)."""
    found: dict[str, list[str]] = {}
    rows = MergedPatient.objects.filter(survivor__in=survivors).order_by("uhid")
    for uhid, survivor in rows.values_list("uhid", "survivor"):
        found.setdefault(survivor, []).append(uhid)
    return found


def visits_of_patients(uhids: list[str]) -> list[Visit]:
    """Every OPD visit of these UHIDs, oldest first (billing charges each one)."""
    return list(Visit.objects.filter(uhid__in=uhids).order_by("at_ms", "visit_no"))


def merges_of(uhid: str) -> list[PatientMerge]:
    """Every merge pair ``uhid`` is part of (as duplicate or survivor), merged or not:
    the record's merge history and any conflicts for the records team."""
    pairs = PatientMerge.objects.filter(duplicate=uhid) | PatientMerge.objects.filter(survivor=uhid)
    return sorted(pairs, key=lambda p: tuple(p.stamp))


def merge_conflicts() -> list[PatientMerge]:
    """Merged pairs not followed (merged into two, or a cycle made apart), oldest first:
    the records team resolves each by unmerging one pair."""
    return sorted(
        PatientMerge.objects.filter(merged=True).exclude(overridden=""),
        key=lambda p: tuple(p.stamp),
    )


def sex_and_birth(uhid: str) -> tuple[str, date | None] | None:
    """(sex, date of birth) of a registered patient - what reference ranges need - in plain
    SQL: it is asked for every analyser message."""
    row = sql.one(
        "SELECT sex, date_of_birth FROM registration_patient WHERE uhid = %s AND is_registered",
        [uhid],
    )
    return (row[0], sql.date_value(row[1])) if row else None


def shown_record(uhid: str, *, follow_merge: bool = True) -> Patient | None:
    """The record shown for a registered UHID: its survivor's, if merged away
    (``merged_from`` set to the UHID asked for), else its own; None if not registered.
    Not audited: callers that show it to a person audit the read (``access_patient``)."""
    patient = get_patient(uhid)
    if patient is None:
        return None
    survivor = survivor_of(uhid) if follow_merge else uhid
    if survivor != uhid:
        merged_into = get_patient(survivor)
        if merged_into is not None:  # its registration may not have arrived here yet
            patient = merged_into
            patient.merged_from = uhid
    return patient


def access_patient(
    user: Any,
    uhid_text: str,
    *,
    action: str,
    via: str,
    request: Any = None,
    reason: str = "",
    follow_merge: bool = True,
) -> Patient:
    """The patient's record, if ``user`` may read it; the read is audited.

    A UHID merged away answers with its survivor's record (``merged_from`` set to the
    UHID asked for; the survivor's read is the one audited), unless ``follow_merge``
    is False. Callers read the record's data with ``group_of(patient.uhid)``.

    A user whose role lacks the usual right but may break the glass gets the record
    only with a reason (at least a few words), and the read is flagged for review.
    """
    emergency = not permissions.allowed(user, READ_PATIENT.name)
    if emergency:
        if not permissions.allowed(user, BREAK_GLASS.name):
            permissions.require(user, READ_PATIENT.name, request)
        if has_control_characters(reason):
            raise ValidationFailed("the reason " + CONTROL_MESSAGE, {"reason": CONTROL_MESSAGE})
        if len(reason.strip()) < account_actions.MIN_REASON:
            raise EmergencyReasonNeeded(
                "opening a record without the usual right needs a reason, recorded for review",
                {"reason": f"at least {account_actions.MIN_REASON} characters"},
            )
    uhid = parse_uhid(uhid_text)
    patient = shown_record(uhid, follow_merge=follow_merge)
    if patient is None:
        raise NotFound(f"no patient with UHID {uhid}", {"uhid": "not registered"})
    account_actions.do_record_access(
        user,
        patient.uhid,
        action,
        via=via,
        address=client_address(request) if request is not None else "",
        reason=reason,
        break_glass=emergency,
    )
    return patient


class EmergencyReasonNeeded(ActionError):
    status = 403
    code = "reason_required"


def access_visit(
    user: Any, visit_text: str, *, action: str, via: str, request: Any = None
) -> tuple[Visit, Patient]:
    permissions.require(user, READ_PATIENT.name, request)
    try:
        visit_no = events.VISIT.normalise(visit_text)
    except InvalidNumber as exc:
        raise ValidationFailed(str(exc), {"visit": str(exc)}) from exc
    visit = Visit.objects.filter(visit_no=visit_no).first()
    if visit is None:
        raise NotFound(f"no visit {visit_no}", {"visit": "not registered"})
    # A visit stays with the record it was made under, merged or not: its slip, its
    # prescription and its documents name that UHID and that record, as when written.
    patient = access_patient(
        user, visit.uhid, action=action, via=via, request=request, follow_merge=False
    )
    return visit, patient


def classify(query: str) -> tuple[str, str]:
    """What a clerk typed, normalised: ('uhid' | 'visit' | 'mobile' | 'abha' | 'abha_address' |
    'name', value). Anything with an @ is an ABHA address: no name, number or UHID has one."""
    text = rules.normalise_text(query)
    if not text:
        raise ValidationFailed("type a name, mobile number or UHID", {"q": "empty search"})
    if len(text) > MAX_QUERY:
        raise ValidationFailed("search too long", {"q": f"at most {MAX_QUERY} characters"})
    if has_control_characters(text):
        raise ValidationFailed("the search " + CONTROL_MESSAGE, {"q": CONTROL_MESSAGE})
    if "@" in text:
        address, error = rules.clean_abha_address(text)
        if error:
            raise ValidationFailed(gettext("not an ABHA address"), {"q": error})
        return "abha_address", address
    compact = rules.ascii_digits(re.sub(r"[\s\-]", "", text)).upper()
    digits = compact.isascii() and compact.isdecimal()
    if (
        compact.startswith(events.VISIT.prefix)
        and compact[2:].isascii()
        and compact[2:].isdecimal()
    ):
        try:
            return "visit", events.VISIT.normalise(compact)
        except InvalidNumber as exc:
            raise ValidationFailed(str(exc), {"q": str(exc)}) from exc
    if digits:
        if len(compact) == 11:
            try:
                return "uhid", events.UHID.normalise(compact)
            except InvalidNumber as exc:
                raise ValidationFailed(str(exc), {"q": str(exc)}) from exc
        if len(compact) == 10 and rules.MOBILE_RE.match(compact):
            return "mobile", compact
        if len(compact) == 12 and compact.startswith("91") and rules.MOBILE_RE.match(compact[2:]):
            return "mobile", compact[2:]
        if len(compact) == 14:
            return "abha", compact
        raise ValidationFailed(
            "not a number we know",
            {"q": "type a 10-digit mobile, an 11-digit UHID or a 14-digit ABHA number"},
        )
    if len(text) < 2:
        raise ValidationFailed("search too short", {"q": "type at least 2 letters of the name"})
    return "name", text.lower()


def find_patients(query: str, limit: int = 20) -> tuple[str, list[Patient]]:
    """Patients matching a UHID, visit number, mobile, ABHA number or address, or part of a
    name. A record merged away is never shown as a person of its own: its survivor is
    shown in its place (once)."""
    kind, found = _find_patients(query, limit)
    survivors = survivors_of({p.uhid for p in found})
    if not survivors:
        return kind, found
    records = {p.uhid: p for p in found}
    records.update(
        (p.uhid, p)
        for p in Patient.objects.filter(uhid__in=set(survivors.values()), is_registered=True)
    )
    shown: list[Patient] = []
    for patient in found:
        survivor = records.get(survivors.get(patient.uhid, patient.uhid))
        if survivor is not None and survivor not in shown:
            shown.append(survivor)
    return kind, shown


def _find_patients(query: str, limit: int) -> tuple[str, list[Patient]]:
    kind, value = classify(query)
    registered = Patient.objects.filter(is_registered=True)
    if kind == "uhid":
        return kind, list(registered.filter(uhid=value))
    if kind == "visit":
        visit = Visit.objects.filter(visit_no=value).first()
        return kind, list(registered.filter(uhid=visit.uhid)) if visit else []
    if kind == "mobile":
        return kind, list(registered.filter(mobile=value).order_by("-registered_at_ms")[:limit])
    if kind == "abha":
        return kind, list(registered.filter(abha_number=value)[:limit])
    if kind == "abha_address":
        return kind, list(registered.filter(abha_address=value)[:limit])
    candidates = search.name_candidates(value.split())

    def rank(p: Patient) -> tuple[bool, float, int]:
        names = [n.lower() for n in (p.name_en, p.name_hi) if n]
        starts = any(n.startswith(value) for n in names)
        score = max((fuzz.WRatio(value, n) for n in names), default=0.0)
        return (not starts, -score, -(p.registered_at_ms or 0))

    return kind, sorted(candidates, key=rank)[:limit]


def search_patients(
    user: Any, query: str, *, via: str, request: Any = None, limit: int = 20
) -> tuple[str, list[Patient]]:
    """``find_patients`` for a person: checks the right and audits which records were shown."""
    permissions.require(user, READ_PATIENT.name, request)
    kind, patients = find_patients(query, limit)
    account_actions.do_record_search(
        user,
        query,
        [p.uhid for p in patients],
        via=via,
        address=client_address(request) if request is not None else "",
    )
    return kind, patients


@dataclass(frozen=True)
class PatientFilter:
    """What a structured search (FHIR's, today) asks of registered patients: every field
    given must match. ``impossible`` is a criterion no record can meet (an identifier of
    a system we do not hold), so the answer is empty without a query."""

    uhid: str = ""
    abha_number: str = ""
    mobile: str = ""
    born_from: date | None = None
    born_to: date | None = None
    sex: str = ""
    name: str = ""  # the counter's name search, best match first
    impossible: bool = False


def filter_patients(criteria: PatientFilter, offset: int, count: int) -> tuple[list[Patient], int]:
    """One page of registered patients meeting ``criteria``, and how many meet it: newest
    registration first, or best name match first when a name is given."""
    # A record merged away is not a person of its own: its UHID finds the survivor.
    qs = Patient.objects.filter(is_registered=True).exclude(
        uhid__in=MergedPatient.objects.values("uhid")
    )
    if criteria.impossible:
        return [], 0
    if criteria.uhid:
        criteria = replace(criteria, uhid=survivor_of(criteria.uhid))
    # Never filter on "": it is the value of every record without that number.
    for field in ("uhid", "abha_number", "mobile", "sex"):
        value = getattr(criteria, field)
        if value:
            qs = qs.filter(**{field: value})
    if criteria.born_from is not None:
        qs = qs.filter(date_of_birth__gte=criteria.born_from)
    if criteria.born_to is not None:
        qs = qs.filter(date_of_birth__lte=criteria.born_to)
    if criteria.name:
        kind, ranked = find_patients(criteria.name, limit=search.CANDIDATES)
        if kind != "name":
            return [], 0  # digits are a UHID, mobile or ABHA number, never a name
        keep = set(qs.filter(id__in=[p.id for p in ranked]).values_list("id", flat=True))
        matches = [p for p in ranked if p.id in keep]
        return matches[offset : offset + count], len(matches)
    ordered = qs.order_by("-registered_at_ms", "uhid")
    return list(ordered[offset : offset + count]), qs.count()


def access_patients(
    user: Any,
    criteria: PatientFilter,
    offset: int,
    count: int,
    *,
    query: str,
    via: str,
    request: Any = None,
) -> tuple[list[Patient], int]:
    """``filter_patients`` for a person: checks the right and audits which records were
    shown (``query``: the search as the person wrote it)."""
    permissions.require(user, READ_PATIENT.name, request)
    page, total = filter_patients(criteria, offset, count)
    account_actions.do_record_search(
        user,
        query,
        [p.uhid for p in page],
        via=via,
        address=client_address(request) if request is not None else "",
    )
    return page, total


@dataclass(frozen=True)
class Change:
    """One value one event gave one field of a patient's record."""

    field: str
    value: Any
    hlc_wall: int
    origin: str
    actor: str
    kind: str  # registered | corrected
    reason: str
    current: bool  # this value is the record's value now (it won last-writer-wins)


def history(patient: Patient) -> list[Change]:
    """Every value each field of the record has had, read from the signed log itself.

    The log is the record: the history needs no table of its own, and the loser
    of two corrections made apart is there because both events are.
    """
    changes = []
    for event in node().store.stream(events.patient_stream(patient.uhid)):
        if event.type == events.PATIENT_REGISTERED:
            values, kind, reason = field_values(event.body), "registered", ""
        elif event.type == events.PATIENT_CORRECTED:
            body = event.body
            values, kind, reason = (
                field_values(body["changes"]),
                "corrected",
                body.get("reason", ""),
            )
        else:
            continue
        stamp = [event.hlc.wall, event.hlc.counter, event.origin]
        for field, value in values.items():
            if kind == "registered" and value in (None, "", False):
                continue
            changes.append(
                Change(
                    field,
                    value,
                    event.hlc.wall,
                    event.origin,
                    event.actor,
                    kind,
                    reason,
                    rows.stamp_of_field(patient.field_stamps, field) == stamp,
                )
            )
    return sorted(changes, key=lambda c: (c.field, c.hlc_wall, c.origin))


def visits_of(uhid: str, limit: int = 50) -> list[Visit]:
    """The visits of ``uhid``'s record (every UHID merged into it), newest first."""
    return list(Visit.objects.filter(uhid__in=group_of(uhid)).order_by("-at_ms")[:limit])


def last_department(uhid: str) -> str | None:
    visit = Visit.objects.filter(uhid__in=group_of(uhid)).order_by("-at_ms").first()
    return visit.department if visit else None
