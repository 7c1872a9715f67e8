"""The audit trail over the API: GET /api/v1/audit (auditors only)."""
# No `from __future__ import annotations`: django-ninja reads these hints at import time.

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from nirantar import timeutil
from nirantar.accounts import queries
from nirantar.accounts.auth import needs
from nirantar.accounts.permissions import READ_AUDIT
from nirantar.registration.actions import parse_uhid
from nirantar.schemas import ERRORS

router = Router(tags=["audit"])


class EntryOut(Schema):
    actor: str
    action: str
    at: str
    node: str
    via: str
    address: str
    reason: str
    break_glass: bool
    reviewed: bool


class AuditOut(Schema):
    patient: str
    entries: list[EntryOut]


@router.get(
    "/audit",
    response={200: AuditOut, **ERRORS},
    summary="Who read a patient's record, when, how and from where",
    auth=needs(READ_AUDIT),
)
def audit(request: HttpRequest, patient: str = Query(..., max_length=20)) -> dict[str, Any]:
    uhid = parse_uhid(patient, "patient")
    entries = queries.audit_entries(patient=uhid, limit=5000)
    reviewed = queries.reviews_of(entries)
    return {
        "patient": uhid,
        "entries": [
            {
                "actor": e.actor,
                "action": e.action,
                "at": timeutil.from_ms(e.at_ms).isoformat(),
                "node": e.node,
                "via": e.via,
                "address": e.address,
                "reason": e.reason,
                "break_glass": e.break_glass,
                "reviewed": e.event in reviewed,
            }
            for e in entries
        ],
    }
