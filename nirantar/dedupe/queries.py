"""Reads of duplicate detection for screens and the API; every list of patients shown to a
person is audited (``do_record_search``), like the counter's search."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import F

from nirantar.accounts import actions as account_actions
from nirantar.accounts import permissions
from nirantar.accounts.addresses import client_address
from nirantar.dedupe.models import BlockingKey, DuplicatePair, PairReview
from nirantar.dedupe.permissions import REVIEW
from nirantar.errors import NotFound
from nirantar.registration import candidates as registry
from nirantar.registration import matching, rules
from nirantar.registration.models import Patient
from nirantar.registration.permissions import READ_PATIENT, REGISTER

# At the counter: at most this many patients read from one key's bucket, and in all,
# so a key far commoner than expected can't stall the clerk's screen. Above the largest
# bucket seen among a million synthetic patients (1,629; docs/matching.md), so at that
# size nothing is cut; the mobile, the smallest bucket, is read first.
BUCKET_CAP = 2000
CANDIDATE_CAP = 4000
SUGGESTIONS = 5


def record_from_form(data: dict[str, Any], today: date) -> matching.Record:
    """The matcher's record of what the clerk has typed so far (anything may be missing)."""
    errors: dict[str, str] = {}
    dob, estimated, _ = rules.birth_date(data, today, errors)
    if errors:
        dob, estimated = None, False
    relation = str(data.get("guardian_relation") or "")
    address = data.get("address") or {}
    return matching.Record(
        name_en=str(data.get("name_en") or "")[:100],
        name_hi=str(data.get("name_hi") or "")[:100],
        sex=str(data.get("sex") or "") if data.get("sex") in ("M", "F", "O") else "",
        birth_date=dob,
        birth_estimated=estimated,
        guardian_relation=relation if relation in ("S/O", "D/O", "W/O", "C/O") else "",
        guardian_name=str(data.get("guardian_name") or "")[:100],
        mobile=rules.ascii_digits(str(data.get("mobile") or ""))[:20],
        district=str(address.get("district") or "").strip().lower()[:60],
    )


def candidates(record: matching.Record) -> set[str]:
    """UHIDs filed under any of the record's search keys, capped per key and in all."""
    found: set[str] = set()
    # The mobile first: the smallest bucket and the strongest hint.
    keys = sorted(matching.blocking_keys(record, for_search=True), key=lambda k: k[0] != "m")
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute(
                f"SELECT uhid FROM {BlockingKey._meta.db_table} "  # noqa: S608 - our own names
                "WHERE key = %s LIMIT %s",
                [key, BUCKET_CAP],
            )
            found.update(row[0] for row in cursor.fetchall())
            if len(found) >= CANDIDATE_CAP:
                break
    return found


@dataclass(frozen=True)
class Suggestion:
    patient: Patient
    match: matching.Match


def find_suggestions(record: matching.Record, limit: int = SUGGESTIONS) -> list[Suggestion]:
    """Existing patients likely to be the person being registered, best first."""
    if not record.names() and not record.mobile:
        return []
    records = registry.match_records(candidates(record), changed=False, merged_away=False)
    found = matching.likely_duplicates(
        record, [_Candidate(uhid, r) for uhid, (r, _) in records.items()], limit=limit
    )
    patients = registry.patients_by_uhid(c.uhid for c, _ in found)
    return [Suggestion(patients[c.uhid], m) for c, m in found if c.uhid in patients]


@dataclass(frozen=True)
class _Candidate:
    uhid: str
    record: matching.Record


def suggest(
    user: Any, data: dict[str, Any], today: date, *, via: str, request: Any = None
) -> list[Suggestion]:
    """``find_suggestions`` for a clerk at the counter: checks the right, audits the shown."""
    permissions.require(user, REGISTER.name, request)
    permissions.require(user, READ_PATIENT.name, request)
    record = record_from_form(data, today)
    found = find_suggestions(record)
    typed = " ".join(n for n in (record.name_en, record.name_hi, record.mobile) if n)
    account_actions.do_record_search(
        user,
        f"likely duplicates of: {typed}",
        [s.patient.uhid for s in found],
        via=via,
        address=client_address(request) if request is not None else "",
    )
    return found


STATUSES = ("open", "dismissed", "merged")


@dataclass(frozen=True)
class PairView:
    pair: DuplicatePair
    a: Patient | None
    b: Patient | None
    status: str  # open | dismissed
    review: PairReview | None


def _with_status(status: str) -> Any:
    """Pairs by status, worked out when read: merged (both UHIDs show under one record
    now), else dismissed (the last verdict), else open."""
    dismissed = PairReview.objects.filter(dismissed=True).values("pair")
    pairs = DuplicatePair.objects.annotate(
        shown_a=registry.shown_under("uhid_a"), shown_b=registry.shown_under("uhid_b")
    )
    if status == "merged":
        return pairs.filter(shown_a=F("shown_b"))
    apart = pairs.exclude(shown_a=F("shown_b"))
    if status == "open":
        return apart.exclude(pair__in=dismissed)
    if status == "dismissed":
        return apart.filter(pair__in=dismissed)
    return DuplicatePair.objects.none()


def pairs_page(
    user: Any,
    *,
    status: str,
    offset: int,
    limit: int,
    via: str,
    request: Any = None,
) -> tuple[list[PairView], int]:
    """One page of the worklist (``status`` open or dismissed), best score first, with
    both records; the records shown are audited as read."""
    permissions.require(user, REVIEW.name, request)
    qs = _with_status(status)
    total = qs.count()
    page = list(qs.order_by("-score", "pair")[offset : offset + limit])
    patients = registry.patients_by_uhid(u for p in page for u in (p.uhid_a, p.uhid_b))
    reviews = {r.pair: r for r in PairReview.objects.filter(pair__in=[p.pair for p in page])}
    account_actions.do_record_search(
        user,
        f"duplicates worklist ({status})",
        sorted(patients),
        via=via,
        address=client_address(request) if request is not None else "",
    )
    views = [
        PairView(p, patients.get(p.uhid_a), patients.get(p.uhid_b), status, reviews.get(p.pair))
        for p in page
    ]
    return views, total


def pair_view(user: Any, uhid_a: str, uhid_b: str, *, via: str, request: Any = None) -> PairView:
    """One listed pair (after a verdict on it, say); its records are audited as shown."""
    permissions.require(user, REVIEW.name, request)
    a, b = sorted((uhid_a, uhid_b))
    pair = DuplicatePair.objects.filter(pair=f"{a}|{b}").first()
    if pair is None:
        raise NotFound("no such pair on the worklist", {"uhid_b": "not a listed pair"})
    patients = registry.patients_by_uhid((a, b))
    review = PairReview.objects.filter(pair=pair.pair).first()
    account_actions.do_record_search(
        user,
        f"duplicates pair {pair.pair}",
        sorted(patients),
        via=via,
        address=client_address(request) if request is not None else "",
    )
    status = next(s for s in STATUSES if _with_status(s).filter(pair=pair.pair).exists())
    return PairView(pair, patients.get(a), patients.get(b), status, review)
