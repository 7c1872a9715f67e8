"""Finding patients by name, on each database engine's own machinery.

SQLite (edges): an FTS5 trigram index over ``search_text``, kept in step by
triggers (see migration 0002). PostgreSQL (hub): a pg_trgm GIN index serving
LIKE '%...%'. Both answer "substring, case-insensitive" in either script.

At most ``CANDIDATES`` records are taken for ranking. On SQLite the FTS5 match
drives the query and is read newest row first, so it stops at the 200th
match: a common pair of names (thousands of matches among millions of
patients) no longer costs more than a rare one. Taken as an ``IN (subquery)``,
SQLite built the whole list of matches first - 100-230 ms for the commonest
pairs on the 10M-patient benchmark database, against 2-20 ms read this way. A
rare pair made of common trigrams still scans their whole posting lists.
"""

from __future__ import annotations

from django.db import connection

from nirantar.registration.models import Patient

CANDIDATES = 200


def _fts_phrase(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _like_pattern(token: str) -> str:
    escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_candidates(tokens: list[str]) -> list[Patient]:
    """Registered patients whose names contain every token (already lower-cased); on
    SQLite the newest first."""
    long_tokens = [t for t in tokens if len(t) >= 3]
    short_tokens = [t for t in tokens if len(t) < 3]
    if connection.vendor == "sqlite" and long_tokens:
        # The trigram index needs three characters; shorter tokens filter the rows it
        # yields, still inside the one streaming query.
        match = " AND ".join(_fts_phrase(t) for t in long_tokens)
        shorter = "".join(" AND p.search_text LIKE %s ESCAPE '\\'" for _ in short_tokens)
        return list(
            Patient.objects.raw(
                "SELECT p.* FROM registration_patient_fts f "  # noqa: S608 - fixed text only
                "JOIN registration_patient p ON p.id = f.rowid "
                "WHERE registration_patient_fts MATCH %s AND p.is_registered"
                + shorter
                + " ORDER BY f.rowid DESC LIMIT %s",
                [match, *(_like_pattern(t) for t in short_tokens), CANDIDATES],
            )
        )
    qs = Patient.objects.filter(is_registered=True)
    for token in tokens:
        qs = qs.filter(search_text__contains=token)
    return list(qs[:CANDIDATES])
