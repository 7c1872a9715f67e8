"""API bearer tokens: ``Authorization: Bearer nrt_<id>_<secret>``."""

from __future__ import annotations

import hmac
from typing import Any

from nirantar.accounts.actions import TOKEN_PREFIX, hash_token
from nirantar.accounts.models import ApiToken, User


def user_for_token(token: str) -> User | None:
    prefix, _, rest = (token or "").partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not token_id or not secret:
        return None
    row = ApiToken.objects.filter(token_id=token_id).first()
    if row is None or not hmac.compare_digest(row.token_hash, hash_token(secret)):
        return None
    return User.objects.filter(username=row.username, is_active=True).first()


def client_address(request: Any) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))[:60]
