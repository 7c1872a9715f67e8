"""API bearer tokens: ``Authorization: Bearer nrt_<id>_<secret>``."""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from ninja.security import HttpBearer

from nirantar.accounts.actions import TOKEN_PREFIX, hash_token
from nirantar.accounts.models import ApiToken, User
from nirantar.accounts.permissions import REGISTRY, Permission, allowed, require
from nirantar.ledger.hlc import wall_ms


def user_for_token(token: str) -> User | None:
    prefix, _, rest = (token or "").partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not token_id or not secret:
        return None
    row = ApiToken.objects.filter(token_id=token_id).first()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(secret)):
        return None
    if row.revoked or (row.expires_at_ms is not None and row.expires_at_ms <= wall_ms()):
        return None
    return User.objects.filter(username=row.username, is_active=True).first()


def client_address(request: Any) -> str:
    """Where the request came from: the peer's address, or - behind a proxy the node
    trusts (NIRANTAR_TRUST_PROXY) - the address that proxy saw, the last hop it added
    to X-Forwarded-For. Without this, every client behind nginx would be 127.0.0.1:
    one shared lockout counter, and no address in the audit trail."""
    meta = request.META
    if settings.TRUST_PROXY:
        forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "")).rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded[:60]
    return str(meta.get("REMOTE_ADDR", ""))[:60]


class RoleBearer(HttpBearer):
    """API authentication and authorisation in one: a valid token of a role that holds
    one of ``permissions``. It runs before the request body is read, so a refused caller
    learns nothing from validation errors."""

    openapi_scheme = "bearer"

    def __init__(self, *permissions: str) -> None:
        super().__init__()
        self.permissions = permissions

    @property
    def roles(self) -> frozenset[str]:
        return frozenset().union(*(REGISTRY[p].roles for p in self.permissions))

    def authenticate(self, request: Any, token: str) -> Any:
        user = user_for_token(token)
        if user is None:
            return None
        request.user = user
        if not any(allowed(user, p) for p in self.permissions):
            require(user, self.permissions[0], request)
        return user


def needs(*permissions: Permission) -> list[RoleBearer]:
    """``auth=needs(PERMISSION, ...)`` on an API operation declares and enforces its rule:
    a token whose role holds any of the permissions."""
    return [RoleBearer(*(p.name for p in permissions))]
