"""Reads of registration data for screens, APIs, PDFs and the CLI.

Every read of one patient's record goes through ``access_patient`` (or
``access_visit``): it checks the user's right and records the read in the
signed audit trail, each condition on its own line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext
from rapidfuzz import fuzz

from nirantar import sql
from nirantar.accounts import actions as account_actions
from nirantar.accounts import permissions
from nirantar.accounts.auth import client_address
from nirantar.errors import ActionError, NotFound, ValidationFailed
from nirantar.ledger.numbering import InvalidNumber
from nirantar.ledger.writer import node
from nirantar.registration import events, rules, search
from nirantar.registration.actions import parse_uhid
from nirantar.registration.models import Department, Patient, Visit
from nirantar.registration.permissions import BREAK_GLASS, READ_PATIENT
from nirantar.registration.projections import field_values
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters

MAX_QUERY = 100


def departments() -> list[Department]:
    return list(Department.objects.filter(active=True).order_by("name_en"))


def department(code: str) -> Department | None:
    return Department.objects.filter(code=code).first()


def get_patient(uhid: str) -> Patient | None:
    return Patient.objects.filter(uhid=uhid, is_registered=True).first()


def sex_and_birth(uhid: str) -> tuple[str, date | None] | None:
    """(sex, date of birth) of a registered patient - what reference ranges need - in plain
    SQL: it is asked for every analyser message."""
    row = sql.one(
        "SELECT sex, date_of_birth FROM registration_patient WHERE uhid = %s AND is_registered",
        [uhid],
    )
    return (row[0], sql.date_value(row[1])) if row else None


def access_patient(
    user: Any, uhid_text: str, *, action: str, via: str, request: Any = None, reason: str = ""
) -> Patient:
    """The patient's record, if ``user`` may read it; the read is audited.

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
    patient = get_patient(uhid)
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
    patient = access_patient(user, visit.uhid, action=action, via=via, request=request)
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
    name."""
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
    qs = Patient.objects.filter(is_registered=True)
    if criteria.impossible:
        return [], 0
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
                    patient.field_stamps.get(field) == stamp,
                )
            )
    return sorted(changes, key=lambda c: (c.field, c.hlc_wall, c.origin))


def visits_of(uhid: str, limit: int = 50) -> list[Visit]:
    return list(Visit.objects.filter(uhid=uhid).order_by("-at_ms")[:limit])


def last_department(uhid: str) -> str | None:
    visit = Visit.objects.filter(uhid=uhid).order_by("-at_ms").first()
    return visit.department if visit else None
