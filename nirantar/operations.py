"""Node-level operations behind the CLI: founding a hospital, rebuild, status."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from nirantar.accounts import queries as accounts_queries
from nirantar.dedupe import backfill
from nirantar.ledger import bootstrap, bulk, models, projection, syncer, writer
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
    differences: list[str] = []
    # Two dumps of every table live to the end: the cyclic collector would walk them again
    # and again (bulk.collector_paused).
    with bulk.collector_paused():
        before = projection.dump() if check else None
        with writer.writing(local):
            count = projection.rebuild(local.store.in_causal_order(), progress)
            if before is not None:
                after = projection.dump()
                differences = [table for table in before if before[table] != after.get(table)]
                transaction.set_rollback(True)
    return count, differences


def _peer_status(
    local: writer.LocalNode, peer: models.Peer, mine: dict[str, int], now: datetime
) -> dict[str, Any]:
    theirs = {str(k): int(v) for k, v in (peer.their_vector or {}).items()}
    ahead = sum(max(0, seq - theirs.get(origin, 0)) for origin, seq in mine.items())
    behind = sum(max(0, seq - mine.get(origin, 0)) for origin, seq in theirs.items())
    lag = None
    if mine.get(local.name, 0) > theirs.get(local.name, 0):
        oldest = local.store.get(local.name, theirs.get(local.name, 0) + 1)
        if oldest is not None:
            lag = round((now - oldest.hlc.datetime()).total_seconds(), 1)
    return {
        "url": peer.url,
        "name": peer.name,
        "last_contact": peer.last_contact.isoformat() if peer.last_contact else None,
        "last_error": peer.last_error,
        "failures": peer.failures,
        "next_attempt": peer.next_attempt.isoformat() if peer.next_attempt else None,
        "ahead": ahead,
        "behind": behind,
        "lag_seconds": lag,
        "clock_offset_ms": peer.clock_offset_ms,
    }


def _backlog_alarm(
    local: writer.LocalNode, rows: list[models.Peer], now: datetime
) -> dict[str, Any] | None:
    """This node's own events that no peer has had for longer than the set time."""
    head = local.store.head(local.name)[0]
    if not head or not rows:
        return None
    best = max(int((p.their_vector or {}).get(local.name, 0)) for p in rows)
    if best >= head:
        return None
    oldest = local.store.get(local.name, best + 1)
    if oldest is None:
        return None
    age = now - oldest.hlc.datetime()
    if age < timedelta(minutes=settings.BACKLOG_ALARM_MINUTES):
        return None
    return {
        "kind": "backlog",
        "origin": local.name,
        "event": oldest.id,
        "detail": f"{head - best} events written here have reached no peer for "
        f"{int(age.total_seconds() // 60)} minutes",
        "at": now.isoformat(),
    }


def status() -> dict[str, Any]:
    local = writer.node()
    now = datetime.now(UTC)
    origin = Origin.objects.filter(name=local.name).first()
    authority = Origin.objects.filter(name="authority").first()
    mine = local.store.vector()
    rows = list(models.Peer.objects.order_by("id"))
    alarms = [
        {
            "kind": a.kind,
            "origin": a.origin,
            "event": a.event_id,
            "detail": a.detail,
            "at": a.created_at.isoformat(),
        }
        for a in models.Alarm.objects.filter(resolved_at=None).order_by("created_at")
    ]
    backlog = _backlog_alarm(local, rows, now)
    if backlog:
        alarms.append(backlog)
    joining = None
    revoked = local.revoked()
    if not local.enrolled() and not revoked:
        state = syncer.join_state(settings.DATA_DIR)
        if state:
            joining = {"hub": state["hub"], "code": state["code"]}
    return {
        "node": local.name,
        "number": origin.number if origin and origin.public_key == local.public_key else None,
        "enrolled": local.enrolled(),
        "revoked": revoked,
        "joining": joining,
        "hospital": authority.hospital if authority else "",
        # The hospital's identity: the hash of its genesis, which no other hospital shares.
        # `restore --genesis` checks a backup against it; the runbook says to note it down.
        "genesis": authority.enrolment_hash if authority else "",
        "vector": mine,
        "events": local.store.count(),
        "held": models.Held.objects.count(),
        "peers": [_peer_status(local, peer, mine, now) for peer in rows],
        "quarantined": list(models.Quarantine.objects.values("origin", "reason")),
        "alarms": alarms,
        # Events a since-disabled user made where the news had not yet arrived.
        "after_disable": [asdict(late) for late in accounts_queries.work_after_disable()],
        # A restore's duplicate worklist still being worked out (nirantar dedupe backfill).
        "worklist_pending": backfill.pending(),
    }


def digest() -> str:
    """A fingerprint of every projection: equal on two nodes that hold the same events."""
    dump = projection.dump()
    return hashlib.sha256(json.dumps(dump, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class JoinFailed(Exception):
    pass


def request_join(data_dir: Path, hub_url: str, own_url: str = "") -> str:
    """Ask the hub to enrol this (new) node; remember the hub and the code."""
    from nirantar.ledger import sync

    local = writer.node()
    hub_url = normalise_url(hub_url)
    try:
        answer = sync.PeerClient(local, hub_url).join(url=own_url)
    except sync.SyncError as exc:
        raise JoinFailed(f"could not ask {hub_url} to enrol this node: {exc}") from exc
    code = str(answer["code"])
    (data_dir / syncer.JOIN_FILE).write_text(json.dumps({"hub": hub_url, "code": code}))
    add_peer(hub_url)
    return code


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http:// or https:// address")
    return url


def add_peer(url: str) -> models.Peer:
    url = normalise_url(url)
    peer, _ = models.Peer.objects.get_or_create(url=url, defaults={"added_at": datetime.now(UTC)})
    return peer


def lift_quarantine(origin: str, actor: str) -> bool:
    deleted = models.Quarantine.objects.filter(origin=origin).delete()[0]
    models.Alarm.objects.filter(origin=origin, kind="equivocation", resolved_at=None).update(
        resolved_at=datetime.now(UTC), resolved_by=actor
    )
    return bool(deleted)
