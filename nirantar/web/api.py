"""Node-level API: GET /api/v1/status."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from nirantar import operations
from nirantar.accounts.auth import needs
from nirantar.accounts.permissions import MANAGE_NODES, MANAGE_USERS, READ_STATUS, allowed, require
from nirantar.schemas import ERRORS

router = Router(tags=["node"])


class PeerOut(Schema):
    url: str
    name: str
    last_contact: str | None
    last_error: str
    failures: int
    next_attempt: str | None
    ahead: int
    behind: int
    lag_seconds: float | None
    clock_offset_ms: int | None


class AlarmOut(Schema):
    kind: str
    origin: str
    event: str
    detail: str
    at: str


class JoiningOut(Schema):
    hub: str
    code: str


class QuarantineOut(Schema):
    origin: str
    reason: str


class LateEventOut(Schema):
    origin: str
    seq: int
    type: str
    stream: str
    at_ms: int


class AfterDisableOut(Schema):
    username: str
    disabled_at_ms: int
    disabled_by: str
    disabled_on: str
    events: list[LateEventOut]


class StatusOut(Schema):
    node: str
    number: int | None
    enrolled: bool
    revoked: bool
    joining: JoiningOut | None
    hospital: str
    vector: dict[str, int]
    events: int
    held: int
    peers: list[PeerOut]
    quarantined: list[QuarantineOut]
    alarms: list[AlarmOut]
    after_disable: list[AfterDisableOut]
    digest: str | None = None


@router.get(
    "/status",
    response={200: StatusOut, **ERRORS},
    summary="This node, its version vector, peers, alarms",
    auth=needs(READ_STATUS),
)
def node_status(request: HttpRequest, digest: bool = False) -> dict[str, Any]:
    """``digest=true`` (administrators) adds a fingerprint of every table: two nodes that
    hold the same events show the same digest. It reads every table, so it is slow on a
    big node. ``after_disable`` (events disabled users made at nodes that had not yet
    heard) is shown to administrators only."""
    info = operations.status()
    if not allowed(request.user, MANAGE_USERS.name):
        info["after_disable"] = []
    if digest:
        require(request.user, MANAGE_NODES.name, request)
        info["digest"] = operations.digest()
    return info
