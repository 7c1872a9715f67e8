"""Migration 0002 rebuilds the blocking table keyed by (key, uhid): a node that upgrades
keeps every key it had filed, on either engine, and can go back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

FILED = [
    ("m:9810012345", "101-0000001-1"),
    ("n:rm:shrm", "101-0000001-1"),
    ("n:rm:shrm", "101-0000002-9"),
]


def migrate(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("dedupe", target)])


def filed() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, uhid FROM dedupe_blocking_key ORDER BY key, uhid")
        return [tuple(row) for row in cursor.fetchall()]


def file(keys: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO dedupe_blocking_key (key, uhid) VALUES (%s, %s)", keys)


def uhid_indexed() -> bool:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "dedupe_blocking_key")
    return any(about["columns"] == ["uhid"] and about["index"] for about in found.values())


def test_an_upgrading_node_keeps_its_filed_keys_and_can_go_back():
    try:
        migrate("0001_initial")
        file(FILED)
        migrate("0002_blocking_key_without_rowid")
        assert filed() == sorted(FILED) and uhid_indexed()
        with pytest.raises(Exception):  # noqa: B017, PT011 - the key is the row: no twice
            file(FILED[:1])
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'dedupe_blocking_key'")
                assert cursor.fetchone()[0].endswith("WITHOUT ROWID")
        migrate("0001_initial")
        assert filed() == sorted(FILED) and uhid_indexed()
    finally:
        migrate("0002_blocking_key_without_rowid")
    assert filed() == sorted(FILED)
