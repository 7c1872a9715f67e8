"""The only write path for users, tokens and audit entries: check, then emit events."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError

from nirantar.accounts import events
from nirantar.accounts.models import User
from nirantar.accounts.permissions import ROLES
from nirantar.errors import ValidationFailed
from nirantar.ledger.writer import writing

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,39}$")
TOKEN_PREFIX = "nrt"  # noqa: S105 - a label, not a secret


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
    try:
        validate_password(password, User(username=username, full_name=full_name))
    except DjangoValidationError as exc:
        fields["password"] = " ".join(exc.messages)
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


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def do_issue_token(actor: str, username: str, label: str = "") -> str:
    """Issue an API token for ``username``; the only time the token is ever shown."""
    with writing() as w:
        if not User.objects.filter(username=username, is_active=True).exists():
            raise ValidationFailed("no such user", {"username": f"no active user {username}"})
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        w.emit(
            events.TOKEN_ISSUED,
            f"user:{username}",
            {
                "token_id": token_id,
                "username": username,
                "token_hash": hash_token(secret),
                "label": label[:100],
            },
            actor=actor,
        )
    return f"{TOKEN_PREFIX}_{token_id}_{secret}"


def do_record_access(
    user: Any, patient: str, action: str, *, via: str, address: str = "", reason: str = ""
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
