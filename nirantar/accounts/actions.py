"""The only write path for users, tokens and the audit trail: check, then emit events."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.encoding import escape_uri_path

from nirantar.accounts import events
from nirantar.accounts.models import ApiToken, AuditEntry, DeniedAttempt, User
from nirantar.accounts.permissions import ROLES
from nirantar.errors import NotFound, ValidationFailed
from nirantar.ledger.hlc import wall_ms
from nirantar.ledger.writer import writing
from nirantar.textutil import CONTROL_MESSAGE, has_control_characters

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
TOKEN_PREFIX = "nrt"  # noqa: S105 - a label, not a secret
TOKEN_DAYS = 90
DENIED_REPEAT_MS = 60_000  # the same refusal is recorded at most once a minute
MIN_REASON = 10  # characters of reason for opening a record in an emergency


def _password_problems(password: str, user: User) -> str | None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        return " ".join(exc.messages)
    return None


def check_new_user(username: str, role: str, password: str, full_name: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    if not USERNAME_RE.match(username or ""):
        fields["username"] = (
            "2-40 lower-case letters, digits, dots, dashes or underscores, starting with a letter"
        )
    elif User.objects.filter(username=username).exists():
        fields["username"] = f"user {username} already exists"
    if role not in ROLES:
        fields["role"] = f"role must be one of {', '.join(ROLES)}"
    if len(full_name) > 200:
        fields["full_name"] = "at most 200 characters"
    elif has_control_characters(full_name):
        fields["full_name"] = CONTROL_MESSAGE
    problem = _password_problems(password, User(username=username, full_name=full_name))
    if problem:
        fields["password"] = problem
    return fields


def do_add_user(actor: str, username: str, role: str, password: str, full_name: str = "") -> User:
    username = (username or "").strip()
    full_name = (full_name or username).strip()
    with writing() as w:
        fields = check_new_user(username, role, password, full_name)
        if fields:
            raise ValidationFailed("the user can't be added", fields)
        w.emit(
            events.USER_ADDED,
            f"user:{username}",
            {
                "username": username,
                "full_name": full_name,
                "role": role,
                "password_hash": make_password(password),
                "active": True,
            },
            actor=actor,
        )
    return User.objects.get(username=username)


def _existing(username: str) -> User:
    # A name that could never have been made is not looked up (a NUL byte in it would
    # be an error on PostgreSQL, not "no such user").
    valid = isinstance(username, str) and USERNAME_RE.match(username)
    user = User.objects.filter(username=username).first() if valid else None
    if user is None:
        raise NotFound(f"no user {username}", {"username": f"no user {username}"})
    return user


def do_change_user(
    actor: str,
    username: str,
    *,
    role: str | None = None,
    full_name: str | None = None,
    active: bool | None = None,
    password: str | None = None,
    totp_secret: str | None = None,
    registration_no: str | None = None,
) -> User:
    """Change a user; the change reaches every node. A disabled user is refused everywhere
    once the news arrives - at sign-in, and for every API token."""
    with writing() as w:
        user = _existing(username)
        changes: dict[str, Any] = {}
        fields: dict[str, str] = {}
        if role is not None:
            if role not in ROLES:
                fields["role"] = f"role must be one of {', '.join(ROLES)}"
            changes["role"] = role
        if full_name is not None:
            if not full_name.strip() or len(full_name) > 200:
                fields["full_name"] = "1-200 characters"
            elif has_control_characters(full_name):
                fields["full_name"] = CONTROL_MESSAGE
            changes["full_name"] = full_name.strip()
        if active is not None:
            changes["active"] = active
        if password is not None:
            problem = _password_problems(password, user)
            if problem:
                fields["password"] = problem
            changes["password_hash"] = make_password(password)
        if totp_secret is not None:
            changes["totp_secret"] = totp_secret
        if registration_no is not None:
            registration_no = registration_no.strip()
            if len(registration_no) > 40:
                fields["registration_no"] = "at most 40 characters"
            elif has_control_characters(registration_no):
                fields["registration_no"] = CONTROL_MESSAGE
            changes["registration_no"] = registration_no
        if fields:
            raise ValidationFailed("the user can't be changed", fields)
        if changes:
            w.emit(
                events.USER_CHANGED,
                f"user:{username}",
                {"username": username, **changes},
                actor=actor,
            )
    return User.objects.get(username=username)


def new_totp_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def do_issue_token(actor: str, username: str, label: str = "", days: int = TOKEN_DAYS) -> str:
    """Issue an API token for ``username``; the only time the token is ever shown."""
    with writing() as w:
        if not User.objects.filter(username=username, is_active=True).exists():
            raise ValidationFailed("no such user", {"username": f"no active user {username}"})
        if not 1 <= days <= 3650:
            raise ValidationFailed("bad expiry", {"days": "a token lasts 1-3650 days"})
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(days=days)
        w.emit(
            events.TOKEN_ISSUED,
            f"user:{username}",
            {
                "token_id": token_id,
                "username": username,
                "token_hash": hash_token(secret),
                "label": label[:100],
                "expires_at_ms": int(expires.timestamp() * 1000),
            },
            actor=actor,
        )
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def do_revoke_token(actor: str, token_id: str) -> None:
    with writing() as w:
        token = ApiToken.objects.filter(token_id=token_id).first()
        if token is None:
            raise NotFound(f"no token {token_id}", {"token": "no such token"})
        w.emit(
            events.TOKEN_REVOKED,
            f"user:{token.username}",
            {"token_id": token_id, "username": token.username},
            actor=actor,
        )


def do_record_access(
    user: Any,
    patient: str,
    action: str,
    *,
    via: str,
    address: str = "",
    reason: str = "",
    break_glass: bool = False,
) -> None:
    """Record that ``user`` read ``patient``'s record; the audit is part of the signed log."""
    with writing() as w:
        w.emit(
            events.RECORD_ACCESSED,
            f"audit:{patient}",
            {
                "patient": patient,
                "action": action,
                "via": via,
                "address": address[:60],
                "reason": reason[:500],
                "break_glass": break_glass,
            },
            actor=user.username,
        )


def do_record_search(
    user: Any, query: str, patients: list[str], *, via: str, address: str = ""
) -> None:
    """Record which patients a search showed to ``user`` (names on a result list are a read)."""
    if not patients:
        return
    with writing() as w:
        w.emit(
            events.RECORDS_SEARCHED,
            "audit:search",
            {"query": query[:100], "patients": patients, "via": via, "address": address[:60]},
            actor=user.username,
        )


def do_review_access(actor: str, event: str, note: str) -> None:
    """An auditor's review of an emergency (break-the-glass) access."""
    with writing() as w:
        known = isinstance(event, str) and re.fullmatch(r"[0-9a-f]{64}", event)
        entry = AuditEntry.objects.filter(event=event, break_glass=True).first() if known else None
        if entry is None:
            raise NotFound("no emergency access with that reference", {"event": "not found"})
        note = note.strip()
        if not note:
            raise ValidationFailed("a review needs a note", {"note": "say what was found"})
        if has_control_characters(note):
            raise ValidationFailed("the note " + CONTROL_MESSAGE, {"note": CONTROL_MESSAGE})
        w.emit(
            events.ACCESS_REVIEWED,
            f"audit:{entry.patient}",
            {"event": event, "patient": entry.patient, "note": note[:500]},
            actor=actor,
        )


def do_record_denied(user: Any, permission: str, request: Any = None) -> None:
    """Record that ``user`` tried something their role may not do.

    The same refusal (user, permission, path) is recorded once a minute, so a script
    looping on a refused call cannot flood every node's log.
    """
    from nirantar.accounts.addresses import client_address

    path = escape_uri_path(request.path)[:300] if request is not None else ""
    recently = wall_ms() - DENIED_REPEAT_MS
    if DeniedAttempt.objects.filter(
        actor=user.username, permission=permission, path=path, at_ms__gte=recently
    ).exists():
        return
    with writing() as w:
        w.emit(
            events.ACCESS_DENIED,
            "audit:denied",
            {
                "permission": permission,
                "method": str(getattr(request, "method", "") or "")[:10],
                # Percent-encoded: a %00 in the URL must not become a NUL in the log.
                "path": path,
                "address": client_address(request) if request is not None else "",
            },
            actor=user.username,
        )
