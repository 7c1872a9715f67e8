"""Finding patients by name, on each database engine's own machinery.

SQLite (edges): an FTS5 trigram index over ``search_text``, kept in step by
triggers (see migration 0002). PostgreSQL (hub): a pg_trgm GIN index serving
LIKE '%...%'. Both answer "substring, case-insensitive" in either script.
"""

from __future__ import annotations

from django.db import connection
from django.db.models.expressions import RawSQL

from nirantar.registration.models import Patient

CANDIDATES = 200


def _fts_phrase(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def name_candidates(tokens: list[str]) -> list[Patient]:
    """Registered patients whose names contain every token (already lower-cased)."""
    qs = Patient.objects.filter(is_registered=True)
    long_tokens = [t for t in tokens if len(t) >= 3]
    if connection.vendor == "sqlite" and long_tokens:
        match = " AND ".join(_fts_phrase(t) for t in long_tokens)
        qs = qs.filter(
            id__in=RawSQL(
                "SELECT rowid FROM registration_patient_fts "
                "WHERE registration_patient_fts MATCH %s",
                [match],
            )
        )
        tokens = [t for t in tokens if len(t) < 3]
    for token in tokens:
        qs = qs.filter(search_text__contains=token)
    return list(qs[:CANDIDATES])
