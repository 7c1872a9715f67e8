"""The sync loop a node runs beside its web server (`nirantar sync --forever`).

It exchanges with every configured peer on a short interval, and at once when
this node writes something (it watches its own head), so a registration made
here reaches the other nodes within a second or two. A peer that can't be
reached is retried with exponential backoff, so a dead hub costs nothing.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import close_old_connections

from nirantar.ledger import models, sync
from nirantar.ledger.writer import LocalNode

log = logging.getLogger(__name__)

JOIN_FILE = "join.json"


@dataclass
class Round:
    exchanged: list[sync.Exchange]
    failed: list[tuple[str, str]]
    join_status: str | None = None


def join_state(data_dir: Path) -> dict[str, str] | None:
    path = data_dir / JOIN_FILE
    return json.loads(path.read_text()) if path.exists() else None


class Syncer:
    def __init__(
        self,
        local: LocalNode,
        data_dir: Path,
        interval: float = 2.0,
        max_backoff: float | None = None,
    ) -> None:
        self.local = local
        self.data_dir = data_dir
        self.interval = interval
        if max_backoff is None:
            max_backoff = float(os.environ.get("NIRANTAR_SYNC_MAX_BACKOFF", "60"))
        self.max_backoff = max_backoff

    def run_once(self, force: bool = False) -> Round:
        result = Round([], [])
        if self.local.revoked():
            return result  # no peer accepts anything from a revoked node
        if not self.local.enrolled():
            state = join_state(self.data_dir)
            if state is None:
                return result
            try:
                result.join_status = sync.complete_join(self.local, state["hub"])
            except sync.SyncError as exc:
                result.failed.append((state["hub"], str(exc)))
                return result
            if result.join_status != "approved":
                return result
            log.info(
                "enrolment approved: this node is %s number %s",
                self.local.name,
                self.local.number(),
            )
        now = datetime.now(UTC)
        for peer in models.Peer.objects.order_by("id"):
            if not force and peer.next_attempt and peer.next_attempt > now:
                continue
            try:
                result.exchanged.append(sync.exchange(self.local, peer))
            except (sync.SyncError, OSError) as exc:
                failures = peer.failures + 1
                delay = min(self.max_backoff, self.interval * 2 ** min(failures, 10))
                models.Peer.objects.filter(pk=peer.pk).update(
                    failures=failures,
                    last_error=str(exc)[:500],
                    last_attempt=now,
                    next_attempt=now + timedelta(seconds=delay),
                )
                result.failed.append((peer.url, str(exc)))
                log.info("sync with %s failed (%s); next try in %.0f s", peer.url, exc, delay)
        return result

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            close_old_connections()
            try:
                self.run_once()
            except Exception:  # a bug must not stop replication for good
                log.exception("sync round failed")
            self._wait(stop)

    def _wait(self, stop: threading.Event) -> None:
        """Sleep until the next round, waking early when this node writes an event."""
        head = self.local.store.head(self.local.name)[0]
        waited = 0.0
        while waited < self.interval and not stop.is_set():
            stop.wait(0.2)
            waited += 0.2
            close_old_connections()
            if self.local.store.head(self.local.name)[0] != head:
                return
