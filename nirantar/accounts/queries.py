"""Reads of accounts data for screens and APIs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from nirantar.accounts.models import AccessReview, AuditEntry, DeniedAttempt, User
from nirantar.ledger.models import Event


def active_user(username: str) -> User | None:
    return User.objects.filter(username=username, is_active=True).first()


def users() -> QuerySet[User]:
    return User.objects.order_by("username")


def audit_entries(
    *,
    patient: str = "",
    actor: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    break_glass_only: bool = False,
    limit: int = 500,
) -> list[AuditEntry]:
    qs = AuditEntry.objects.all()
    if patient:
        qs = qs.filter(patient=patient)
    if actor:
        qs = qs.filter(actor=actor)
    if since is not None:
        qs = qs.filter(at_ms__gte=int(since.timestamp() * 1000))
    if until is not None:
        qs = qs.filter(at_ms__lt=int(until.timestamp() * 1000))
    if break_glass_only:
        qs = qs.filter(break_glass=True)
    return list(qs.order_by("-at_ms")[:limit])


def reviews_of(entries: list[AuditEntry]) -> dict[str, list[AccessReview]]:
    found: dict[str, list[AccessReview]] = {}
    for review in AccessReview.objects.filter(access__in={e.event for e in entries}):
        found.setdefault(review.access, []).append(review)
    return found


def unreviewed_emergencies() -> list[AuditEntry]:
    reviewed = AccessReview.objects.values_list("access", flat=True)
    return list(
        AuditEntry.objects.filter(break_glass=True).exclude(event__in=reviewed).order_by("-at_ms")
    )


@dataclass
class Viewer:
    """One person who saw a patient's record: for the patient's DPDP request."""

    username: str
    full_name: str
    role: str
    times: int
    first_ms: int
    last_ms: int
    ways: list[str]
    emergency: bool


def seen_by(patient: str) -> list[Viewer]:
    viewers: dict[str, Viewer] = {}
    names = {u.username: u for u in User.objects.all()}
    for entry in AuditEntry.objects.filter(patient=patient).order_by("at_ms"):
        user = names.get(entry.actor)
        viewer = viewers.setdefault(
            entry.actor,
            Viewer(
                entry.actor,
                user.full_name if user else entry.actor,
                user.get_role_display() if user else "",
                0,
                entry.at_ms,
                entry.at_ms,
                [],
                False,
            ),
        )
        viewer.times += 1
        viewer.last_ms = entry.at_ms
        way = f"{entry.action} ({entry.via})"
        if way not in viewer.ways:
            viewer.ways.append(way)
        viewer.emergency |= entry.break_glass
    return sorted(viewers.values(), key=lambda v: v.last_ms, reverse=True)


def denied_attempts(limit: int = 200) -> list[DeniedAttempt]:
    return list(DeniedAttempt.objects.order_by("-at_ms")[:limit])


@dataclass
class LateWork:
    """What a disabled user did after being disabled, at nodes that had not yet heard."""

    username: str
    disabled_at_ms: int
    disabled_by: str
    disabled_on: str  # the node where the user was disabled
    events: list[dict[str, Any]]


def work_after_disable(limit: int = 100) -> list[LateWork]:
    """For each disabled user, their events stamped after the disabling (newest first).

    A node refuses a disabled user once it knows; until the news arrives, it
    doesn't. Those events are valid and kept - they were signed by an honest node
    - but an administrator should look at them.
    """
    found = []
    for user in User.objects.filter(is_active=False).order_by("username"):
        stamp = user.field_stamps.get("is_active")
        if not stamp:
            continue
        wall, count, origin = stamp
        after = Q(hlc_wall__gt=wall) | Q(hlc_wall=wall, hlc_count__gt=count)
        rows = list(
            Event.objects.filter(after, actor=user.username)
            .order_by("-hlc_wall", "-hlc_count")
            .values("origin", "seq", "type", "stream", "hlc_wall")[:limit]
        )
        if not rows:
            continue
        disabling = (
            Event.objects.filter(
                stream=f"user:{user.username}", origin=origin, hlc_wall=wall, hlc_count=count
            )
            .values_list("actor", flat=True)
            .first()
        )
        found.append(
            LateWork(
                username=user.username,
                disabled_at_ms=wall,
                disabled_by=disabling or "",
                disabled_on=origin,
                events=[
                    {
                        "origin": row["origin"],
                        "seq": row["seq"],
                        "type": row["type"],
                        "stream": row["stream"],
                        "at_ms": row["hlc_wall"],
                    }
                    for row in rows
                ],
            )
        )
    return found


def staff_names(usernames: set[str] | list[str]) -> dict[str, tuple[str, str]]:
    """username -> (full name, registration number), for records and printouts."""
    return {
        u.username: (u.full_name, u.registration_no)
        for u in User.objects.filter(username__in=set(usernames))
    }
