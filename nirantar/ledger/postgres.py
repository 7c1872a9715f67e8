"""The event store on PostgreSQL - for the hub and any node that outgrows one file.

Several hub app servers act as one node, so a node's appends are serialised by
a transaction-scoped advisory lock per origin: the lock is taken before the
head is read and released at commit, so seq stays gapless.
"""

from __future__ import annotations

from django.db import connections

from nirantar.ledger.store import EventStore


class PostgresStore(EventStore):
    vendor = "postgresql"

    def lock(self, origin: str) -> None:
        connection = connections[self.db]
        if not connection.in_atomic_block:
            raise RuntimeError("ledger writes must happen inside a transaction")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"nirantar.origin:{origin}"],
            )
