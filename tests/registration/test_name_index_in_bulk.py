"""A restore fills the name search index once, at the end of its load, on either engine
(``projections._name_index_once``): during the load no name is indexed row by row, and
after it - also after a load that failed part way - the index is there again as
migration 0002 made it, and finds the patients loaded meanwhile."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection

from nirantar.ledger import projection
from nirantar.registration import actions, queries
from nirantar.registration import projections as registration


def name_index() -> str:
    """How the name index is kept: pg_trgm's GIN index (PostgreSQL), the triggers that
    keep the FTS5 table (SQLite); empty if it is not."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexdef FROM pg_indexes "
                "WHERE indexname = 'registration_patient_search_trgm'"
            )
        else:
            cursor.execute(
                "SELECT sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'registration_patient' ORDER BY name"
            )
        return "; ".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("fails", [False, True], ids=["load ends", "load fails"])
def test_the_name_index_is_built_once_at_the_end_of_a_load(clerk, fails):
    kept = name_index()
    assert ("gin_trgm_ops" if connection.vendor == "postgresql" else "fts_ai") in kept
    with contextlib.suppress(RuntimeError), projection.bulk_loading():
        assert name_index() == ""  # nothing indexed a row at a time
        actions.do_register_patient(
            clerk.username,
            {"name_en": "Kusum Lata", "name_hi": "कुसुम लता", "sex": "F", "age_years": 41},
        )
        if fails:
            raise RuntimeError("a segment could not be read")
    assert name_index() == kept
    if connection.vendor == "sqlite":  # rebuilt with its terms gathered in memory up to:
        with connection.cursor() as cursor:
            cursor.execute("SELECT v FROM registration_patient_fts_config WHERE k = 'hashsize'")
            assert cursor.fetchall() == [(registration.FTS_HASHSIZE,)]
    for typed in ("kusum", "कुसुम"):
        kind, found = queries.find_patients(typed)
        assert kind == "name" and [p.name_en for p in found] == ["Kusum Lata"], typed
