"""Name search indexes, one per database engine (see registration/search.py).

SQLite: an external-content FTS5 table with the trigram tokenizer, kept in step
with registration_patient by triggers, so every write path - projections,
rebuild, restore - maintains it without Python code remembering to.
PostgreSQL: pg_trgm's GIN index, which serves LIKE '%...%'.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE registration_patient_fts USING fts5("
    "search_text, content='registration_patient', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER registration_patient_fts_ai AFTER INSERT ON registration_patient BEGIN "
    "INSERT INTO registration_patient_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER registration_patient_fts_ad AFTER DELETE ON registration_patient BEGIN "
    "INSERT INTO registration_patient_fts(registration_patient_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER registration_patient_fts_au AFTER UPDATE OF search_text ON registration_patient "
    "BEGIN INSERT INTO registration_patient_fts(registration_patient_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO registration_patient_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS registration_patient_fts_au",
    "DROP TRIGGER IF EXISTS registration_patient_fts_ad",
    "DROP TRIGGER IF EXISTS registration_patient_fts_ai",
    "DROP TABLE IF EXISTS registration_patient_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX registration_patient_search_trgm ON registration_patient "
    "USING gin (search_text gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS registration_patient_search_trgm"]


def forward(apps, schema_editor):
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}
    for sql in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    statements = {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}
    for sql in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("registration", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
