"""The event store on SQLite - the embedded default for edge nodes."""

from __future__ import annotations

from django.db import connections

from nirantar.ledger.store import EventStore


class SQLiteStore(EventStore):
    vendor = "sqlite"

    def __init__(self, using: str = "default") -> None:
        super().__init__(using)
        options = connections[using].settings_dict.get("OPTIONS", {})
        # SQLite has one writer per file. Transactions must begin IMMEDIATE so
        # that the write lock is taken *before* a writer reads its head: with a
        # deferred BEGIN two processes could both read seq N and both try N+1.
        if options.get("transaction_mode") != "IMMEDIATE":
            raise RuntimeError(
                f"database {using!r} must set OPTIONS['transaction_mode'] = 'IMMEDIATE'"
            )

    def lock(self, origin: str) -> None:
        connection = connections[self.db]
        if not connection.in_atomic_block:
            raise RuntimeError("ledger writes must happen inside a transaction")
        # BEGIN IMMEDIATE already holds the database's single write lock.
