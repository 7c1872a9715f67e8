"""Projections of users, tokens and audit entries."""

from __future__ import annotations

from nirantar.accounts import events
from nirantar.accounts.models import ApiToken, AuditEntry, User
from nirantar.ledger import bulk, lww
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, handles_batch, register_models

register_models(User, ApiToken, AuditEntry)
for _type in (
    events.USER_ADDED,
    events.TOKEN_ISSUED,
    events.RECORD_ACCESSED,
    events.RECORDS_SEARCHED,
):
    event_version(_type, 1)


@handles(events.USER_ADDED)
def on_user_added(event: Event) -> None:
    body = event.body
    user = User.objects.filter(username=body["username"]).first()
    created = user is None
    if user is None:
        user = User(
            username=body["username"],
            created_at_ms=event.hlc.wall,
            created_by=event.actor,
            field_stamps={},
        )
    stamp = lww.stamp_of(event)
    stamps = dict(user.field_stamps)
    changed = False
    for field, value in (
        ("full_name", body["full_name"]),
        ("role", body["role"]),
        ("password", body["password_hash"]),
        ("is_active", body["active"]),
    ):
        changed |= lww.assign(user, stamps, field, value, stamp)
    # Two nodes adding one username while apart: the earliest creation is kept as creation.
    first = stamps.get("_created")
    if first is None or tuple(stamp) < tuple(first):
        stamps["_created"] = stamp
        user.created_at_ms, user.created_by, changed = event.hlc.wall, event.actor, True
    if created or changed:
        user.field_stamps = stamps
        user.save()


@handles(events.TOKEN_ISSUED)
def on_token_issued(event: Event) -> None:
    body = event.body
    ApiToken.objects.get_or_create(
        token_id=body["token_id"],
        defaults={
            "username": body["username"],
            "token_hash": body["token_hash"],
            "label": body.get("label", ""),
            "issued_at_ms": event.hlc.wall,
        },
    )


AUDIT_COLUMNS = ("event", "patient", "actor", "action", "via", "node", "address", "reason", "at_ms")


@handles_batch(events.RECORD_ACCESSED, events.RECORDS_SEARCHED)
def on_audit_events(batch: list[Event]) -> list[tuple[Event, str]]:
    """Append-only: one entry per (event, patient); a repeat adds nothing."""
    failures: list[tuple[Event, str]] = []
    rows = []
    for event in batch:
        body = event.body
        try:
            if event.type == events.RECORD_ACCESSED:
                pairs = [(str(body["patient"]), str(body["action"]))]
            else:
                pairs = [(str(p), "patient.search_result") for p in body["patients"]]
        except (KeyError, TypeError) as exc:
            failures.append((event, f"{type(exc).__name__}: {exc}"))
            continue
        for patient, action in pairs:
            rows.append(
                (
                    event.hash,
                    patient,
                    event.actor,
                    action,
                    str(body.get("via", "")),
                    event.origin,
                    str(body.get("address", "")),
                    str(body.get("reason", "")),
                    event.hlc.wall,
                )
            )
    bulk.insert_ignore(AuditEntry._meta.db_table, AUDIT_COLUMNS, rows)
    return failures
