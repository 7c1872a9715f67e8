"""Adding the ABHA address column keeps the SQLite name index working, both ways."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from nirantar.registration.models import Patient

BEFORE = [("registration", "0002_name_search")]
AFTER = [("registration", "0003_abha_address")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)


def migrate_to_the_latest():
    """Every app back at its newest migration: going back to ``BEFORE`` also undid the
    registration migrations after ``AFTER`` (the merges' tables), and whatever of other
    apps depends on them - which later tests on their own connections need."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def insert(uhid, name):
    """A patient row as the table was before the migration (the model is after it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registration_patient (uhid, is_registered, name_hi, name_en, sex, "
            "dob_estimated, guardian_relation, guardian_name, mobile, abha_number, category, "
            "address_line, district, state, pin, registered_by, registered_node, search_text, "
            "field_stamps) VALUES (%s, 1, '', %s, 'M', 0, '', '', '', '', 'general', '', '', "
            "'', '', 'clerk', 'n1', %s, '{}')",
            [uhid, name, name.lower()],
        )


def found(name):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.uhid FROM registration_patient p JOIN registration_patient_fts f "
            "ON f.rowid = p.id WHERE registration_patient_fts MATCH %s",
            [f'"{name.lower()}"'],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_names_stay_searchable_across_the_migration_and_back():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL adds the column in place; its name index is untouched")
    migrate(BEFORE)
    try:
        insert("101-0000001-3", "Savitri Devi")
        migrate(AFTER)
        assert found("Savitri") == ["101-0000001-3"]
        # The triggers index a row written after the migration.
        Patient.objects.create(uhid="101-0000002-1", name_en="Kamala Devi", search_text="kamala")
        assert found("Kamala") == ["101-0000002-1"]
        migrate(BEFORE)
        insert("101-0000003-X", "Parvati Devi")
        assert found("Parvati") == ["101-0000003-X"]
        assert found("Savitri") == ["101-0000001-3"]
    finally:
        migrate_to_the_latest()
