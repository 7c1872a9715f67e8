"""API bearer tokens: ``Authorization: Bearer nrt_<id>_<secret>``."""

from __future__ import annotations

import hmac
from typing import Any

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
    return str(request.META.get("REMOTE_ADDR", ""))[:60]


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
