"""Node-level API: GET /api/v1/status."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from nirantar import operations
from nirantar.accounts.permissions import READ_STATUS, requires

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


class StatusOut(Schema):
    node: str
    number: int | None
    enrolled: bool
    joining: JoiningOut | None
    hospital: str
    vector: dict[str, int]
    events: int
    held: int
    peers: list[PeerOut]
    quarantined: list[QuarantineOut]
    alarms: list[AlarmOut]


@router.get("/status", response=StatusOut, summary="This node, its version vector, peers, alarms")
@requires(READ_STATUS.name)
def node_status(request: HttpRequest) -> dict[str, Any]:
    return operations.status()
