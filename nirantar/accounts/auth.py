"""API bearer tokens: ``Authorization: Bearer nrt_<id>_<secret>``."""

from __future__ import annotations

import functools
import hmac
from typing import Any

from django.db import connection
from ninja.security import HttpBearer

from nirantar import sql
from nirantar.accounts.actions import TOKEN_PREFIX, hash_token
from nirantar.accounts.addresses import client_address
from nirantar.accounts.models import ApiToken, User
from nirantar.accounts.permissions import REGISTRY, Permission, allowed, require
from nirantar.ledger.hlc import wall_ms

__all__ = ["client_address"]  # also here, beside the bearer classes that use it


def user_for_token(token: str) -> User | None:
    prefix, _, rest = (token or "").partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not token_id or not secret:
        return None
    # One plain query for the token and its user: this runs on every API request, where
    # two ORM queries cost more to build than to run.
    found = sql.one(_TOKEN_USER_SQL(), [token_id])
    if found is None:
        return None
    token_hash, revoked, expires_at_ms, *user = found
    if not hmac.compare_digest(token_hash, hash_token(secret)):
        return None
    if revoked or (expires_at_ms is not None and expires_at_ms <= wall_ms()):
        return None
    if user[_user_fields().index("username")] is None:  # no such user, or not active
        return None
    return User.from_db(connection.alias, _user_fields(), user)


@functools.cache
def _user_fields() -> list[str]:
    return [field.attname for field in User._meta.concrete_fields]


@functools.cache
def _TOKEN_USER_SQL() -> str:  # noqa: N802 - a constant, built once the models are ready
    user = User._meta
    columns = ", ".join(f"u.{user.get_field(name).column}" for name in _user_fields())
    # Table and column names come from the models, never from input.
    return (
        f"SELECT t.token_hash, t.revoked, t.expires_at_ms, {columns} "  # noqa: S608
        f"FROM {ApiToken._meta.db_table} t LEFT JOIN {user.db_table} u "
        "ON u.username = t.username AND u.is_active WHERE t.token_id = %s"
    )


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
