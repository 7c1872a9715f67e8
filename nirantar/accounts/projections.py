"""Projections of users, tokens and the audit trail."""

from __future__ import annotations

from typing import Any

from nirantar.accounts import events
from nirantar.accounts.models import AccessReview, ApiToken, AuditEntry, DeniedAttempt, User
from nirantar.ledger import bulk, lww
from nirantar.ledger.events import Event
from nirantar.ledger.projection import event_version, handles, handles_batch, register_models

register_models(User, ApiToken, AuditEntry, AccessReview, DeniedAttempt)
for _type in (
    events.USER_ADDED,
    events.USER_CHANGED,
    events.TOKEN_ISSUED,
    events.TOKEN_REVOKED,
    events.RECORD_ACCESSED,
    events.RECORDS_SEARCHED,
    events.ACCESS_REVIEWED,
    events.ACCESS_DENIED,
):
    event_version(_type, 1)

# Event body field -> User field. Each is last-writer-wins by (HLC, origin).
USER_FIELDS = {
    "full_name": "full_name",
    "role": "role",
    "password_hash": "password",
    "active": "is_active",
    "totp_secret": "totp_secret",
    "registration_no": "registration_no",
}


def _apply_user(event: Event, values: dict[str, Any]) -> None:
    username = event.body["username"]
    user = User.objects.filter(username=username).first()
    created = user is None
    if user is None:
        user = User(
            username=username,
            full_name=username,
            role="clerk",
            is_active=False,
            created_at_ms=event.hlc.wall,
            created_by=event.actor,
            field_stamps={},
        )
    stamp = lww.stamp_of(event)
    stamps = dict(user.field_stamps)
    changed = False
    for key, field in USER_FIELDS.items():
        if key in values:
            changed |= lww.assign(user, stamps, field, values[key], stamp)
    if event.type == events.USER_ADDED:
        # Two nodes adding one username while apart: the earliest creation is the creation.
        first = stamps.get("_created")
        if first is None or tuple(stamp) < tuple(first):
            stamps["_created"] = stamp
            user.created_at_ms, user.created_by, changed = event.hlc.wall, event.actor, True
    if created or changed:
        user.field_stamps = stamps
        user.save()


@handles(events.USER_ADDED, events.USER_CHANGED)
def on_user_event(event: Event) -> None:
    _apply_user(event, event.body)


@handles(events.TOKEN_ISSUED)
def on_token_issued(event: Event) -> None:
    body = event.body
    token, created = ApiToken.objects.get_or_create(
        token_id=body["token_id"],
        defaults={
            "username": body["username"],
            "token_hash": body["token_hash"],
            "label": body.get("label", ""),
            "issued_at_ms": event.hlc.wall,
            "expires_at_ms": body.get("expires_at_ms"),
        },
    )
    if not created and not token.token_hash:  # its revocation arrived first
        ApiToken.objects.filter(pk=token.pk).update(
            username=body["username"],
            token_hash=body["token_hash"],
            label=body.get("label", ""),
            issued_at_ms=event.hlc.wall,
            expires_at_ms=body.get("expires_at_ms"),
        )


@handles(events.TOKEN_REVOKED)
def on_token_revoked(event: Event) -> None:
    # Monotone: once revoked, always revoked, whichever event arrives first.
    updated = ApiToken.objects.filter(token_id=event.body["token_id"]).update(revoked=True)
    if not updated:
        ApiToken.objects.create(
            token_id=event.body["token_id"],
            username=event.body["username"],
            token_hash="",
            issued_at_ms=0,
            revoked=True,
        )


AUDIT_COLUMNS = (
    "event",
    "patient",
    "actor",
    "action",
    "via",
    "node",
    "address",
    "reason",
    "at_ms",
    "break_glass",
)


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
                    bool(body.get("break_glass", False)),
                )
            )
    bulk.insert_ignore(AuditEntry._meta.db_table, AUDIT_COLUMNS, rows)
    return failures


@handles(events.ACCESS_REVIEWED)
def on_access_reviewed(event: Event) -> None:
    body = event.body
    AccessReview.objects.get_or_create(
        event=event.hash,
        defaults={
            "access": body["event"],
            "patient": body["patient"],
            "reviewer": event.actor,
            "note": body.get("note", ""),
            "at_ms": event.hlc.wall,
        },
    )


@handles(events.ACCESS_DENIED)
def on_access_denied(event: Event) -> None:
    body = event.body
    DeniedAttempt.objects.get_or_create(
        event=event.hash,
        defaults={
            "actor": event.actor,
            "permission": body.get("permission", ""),
            "method": body.get("method", ""),
            "path": body.get("path", ""),
            "node": event.origin,
            "address": body.get("address", ""),
            "at_ms": event.hlc.wall,
        },
    )
