"""Signing in: throttling and lockout, the optional second factor, session limits.

Attempts are counted at the node where they happen (``LoginAttempt`` is local:
counting them through the replicated log would let anyone with a keyboard flood
it). A user name with ``LOGIN_MAX_FAILURES`` failures within
``LOGIN_LOCK_MINUTES`` is refused until that window has passed or an
administrator unlocks it (``nirantar user unlock NAME``); an address with
``LOGIN_ADDRESS_MAX_FAILURES`` is refused the same way, so one machine can't
walk through every user name. A locked user name is refused before its password
is checked, so guessing on gets nowhere.

Users with a TOTP secret (administrators should have one) give a six-digit code
from their authenticator app after the password. A code is good for one sign-in.
"""

from __future__ import annotations

import base64
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max

from nirantar import timeutil
from nirantar.accounts.models import LoginAttempt, User
from nirantar.textutil import has_control_characters

SIGNED_IN_AT = "nirantar_signed_in_at"  # session key: when this session signed in (epoch s)
TOTP_DIGITS = 6
TOTP_STEP = 30  # seconds
TOTP_DRIFT = 1  # steps either side accepted, for a phone clock a little off


@dataclass(frozen=True)
class Lock:
    """Why sign-in is refused for now, and for how long."""

    reason: str  # "user" or "address"
    minutes: int


def _window_start() -> datetime:
    return timeutil.now() - timedelta(minutes=settings.LOGIN_LOCK_MINUTES)


def lock_for(username: str, address: str, exclude: int) -> Lock | None:
    """The lock that refuses this user name or this address now, if any, not counting
    the attempt ``exclude`` (the one being decided)."""
    failures = LoginAttempt.objects.filter(succeeded=False, at__gte=_window_start()).exclude(
        pk=exclude
    )
    checks = [
        ("user", failures.filter(username=username.lower()), settings.LOGIN_MAX_FAILURES),
        ("address", failures.filter(address=address), settings.LOGIN_ADDRESS_MAX_FAILURES),
    ]
    for reason, rows, limit in checks:
        recent = list(rows.order_by("-at").values_list("at", flat=True)[:limit])
        if len(recent) >= limit:
            # Locked until the oldest of the last `limit` failures leaves the window.
            until = recent[-1] + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
            minutes = max(1, math.ceil((until - timeutil.now()).total_seconds() / 60))
            return Lock(reason, minutes)
    return None


def locked_usernames() -> set[str]:
    """Every user name locked at this node now (one query, for lists of users)."""
    rows = (
        LoginAttempt.objects.filter(succeeded=False, at__gte=_window_start())
        .values("username")
        .annotate(failures=Count("id"))
        .filter(failures__gte=settings.LOGIN_MAX_FAILURES)
    )
    return {row["username"] for row in rows}


def begin(username: str, address: str) -> LoginAttempt | Lock:
    """Start an attempt: counted as a failure until ``succeed`` says otherwise.

    The row is written before the lock is checked, so attempts racing in parallel
    count each other and no more than the limit get through to the password check.
    An attempt refused by a lock is not kept: the lock ends when its message says.
    """
    attempt = LoginAttempt.objects.create(
        username=username.lower()[:150], address=address[:60], at=timeutil.now(), succeeded=False
    )
    lock = lock_for(username, address, exclude=attempt.pk)
    if lock is not None:
        attempt.delete()
        return lock
    return attempt


def forget(attempt: LoginAttempt) -> None:
    """Neither success nor failure: the password was right, the code is still to come."""
    attempt.delete()


def succeed(attempt: LoginAttempt, totp_step: int | None = None) -> bool:
    """Mark the attempt successful; False if its code was used by a racing sign-in."""
    try:
        with transaction.atomic():
            LoginAttempt.objects.filter(pk=attempt.pk).update(succeeded=True, totp_step=totp_step)
    except IntegrityError:
        return False
    # The user's typos from this address are forgiven; failures from elsewhere stay.
    LoginAttempt.objects.filter(
        username=attempt.username, address=attempt.address, succeeded=False
    ).delete()
    # Keep the table small: only the lock window and the last used codes matter.
    LoginAttempt.objects.filter(at__lt=timeutil.now() - timedelta(days=1)).delete()
    return True


def unlock(username: str) -> int:
    """Forget a user name's failed attempts at this node; returns how many."""
    if has_control_characters(username):
        return 0
    deleted, _ = LoginAttempt.objects.filter(username=username.lower(), succeeded=False).delete()
    return deleted


def _totp(secret: str) -> TOTP:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    # SHA-1: what authenticator apps use (RFC 6238); collisions do not weaken HMAC-SHA-1.
    return TOTP(key, TOTP_DIGITS, SHA1(), TOTP_STEP, enforce_key_length=False)  # noqa: S303


def totp_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator app shows for ``secret`` (used by tests and the CLI)."""
    return _totp(secret).generate(int(at if at is not None else time.time())).decode()


def check_code(user: User, code: str) -> int | None:
    """The time step ``code`` belongs to, if it is right and has not been used before."""
    code = "".join(ch for ch in code if not ch.isspace())
    if len(code) != TOTP_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(user.totp_secret)
    now_step = int(time.time()) // TOTP_STEP
    last_used = LoginAttempt.objects.filter(
        username=user.username, succeeded=True, totp_step__isnull=False
    ).aggregate(last=Max("totp_step"))["last"]
    for step in range(now_step - TOTP_DRIFT, now_step + TOTP_DRIFT + 1):
        if last_used is not None and step <= last_used:
            continue  # a code already used (or an older one) is a replay
        try:
            totp.verify(code.encode(), step * TOTP_STEP)
        except InvalidToken:
            continue
        return step
    return None


def provisioning_uri(user: User, issuer: str) -> str:
    """``otpauth://`` URI for an authenticator app (shown once, when the secret is made)."""
    return _totp(user.totp_secret).get_provisioning_uri(user.username, issuer)
