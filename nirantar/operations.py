"""Node-level operations behind the CLI: founding a hospital, rebuild, status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from nirantar.ledger import bootstrap, models, projection, writer
from nirantar.ledger.models import Origin
from nirantar.registration import actions as registration
from nirantar.registration.catalogue import demo_departments


def found(
    *,
    hospital: str,
    number: int,
    departments: list[dict[str, Any]] | None = None,
    actor: str = "init",
) -> None:
    """Genesis, this node's enrolment and the department catalogue, in one transaction."""
    local = writer.node()
    with writer.writing(local):
        bootstrap.found_hospital(local, hospital=hospital, number=number, actor=actor)
        for department in departments if departments is not None else demo_departments():
            registration.do_define_department(actor, department)


def rebuild(
    *, check: bool = False, progress: Callable[[int], None] | None = None
) -> tuple[int, list[str]]:
    """Recompute every projection from the log; with ``check``, compare and roll back."""
    local = writer.node()
    before = projection.dump() if check else None
    differences: list[str] = []
    with writer.writing(local):
        count = projection.rebuild(local.store.in_causal_order(), progress)
        if before is not None:
            after = projection.dump()
            differences = [table for table in before if before[table] != after.get(table)]
            transaction.set_rollback(True)
    return count, differences


def status() -> dict[str, Any]:
    local = writer.node()
    origin = Origin.objects.filter(name=local.name).first()
    authority = Origin.objects.filter(name="authority").first()
    return {
        "node": local.name,
        "number": origin.number if origin else None,
        "enrolled": local.enrolled(),
        "hospital": authority.hospital if authority else "",
        "vector": local.store.vector(),
        "events": local.store.count(),
        "held": models.Held.objects.count(),
        "peers": [],
        "quarantined": list(models.Quarantine.objects.values("origin", "reason")),
        "alarms": [
            {
                "kind": a.kind,
                "origin": a.origin,
                "event": a.event_id,
                "detail": a.detail,
                "at": a.created_at.isoformat(),
            }
            for a in models.Alarm.objects.filter(resolved_at=None).order_by("created_at")
        ],
    }
