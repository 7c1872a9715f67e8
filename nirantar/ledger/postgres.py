"""The event store on PostgreSQL - for the hub and any node that outgrows one file.

Several hub app servers act as one node, so writers are serialised by a
transaction-scoped advisory lock taken before anything is read and released
at commit: a node's own seq stays gapless, and projections - which read a row,
change it and write it back - never lose an update to a concurrent writer.
It is one lock for the whole ledger, like SQLite's single writer: ingest works
in batches, so the lock is taken once per batch, not once per event.
"""

from __future__ import annotations

from django.db import connections

from nirantar.ledger.store import EventStore

LEDGER_LOCK = 0x6E6972616E746172  # "nirantar"


class PostgresStore(EventStore):
    vendor = "postgresql"

    def lock(self, origin: str) -> None:
        connection = connections[self.db]
        if not connection.in_atomic_block:
            raise RuntimeError("ledger writes must happen inside a transaction")
        with connection.cursor() as cursor:
            # Re-taking a lock this transaction already holds returns at once.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK])
