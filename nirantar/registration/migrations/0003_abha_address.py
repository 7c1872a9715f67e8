"""The patient's ABHA address, indexed for the counter's search.

On SQLite, Django adds a NOT NULL column by copying the table into a new one, which
drops the triggers that keep the name index (0002) in step: they are made again, and
the index rebuilt, after the copy - and after the copy that undoing this makes.
"""

import importlib

from django.db import migrations, models

NAME_SEARCH = importlib.import_module("nirantar.registration.migrations.0002_name_search")
TRIGGERS = [sql for sql in NAME_SEARCH.SQLITE_FORWARD if sql.startswith("CREATE TRIGGER")]


def restore_name_index(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in NAME_SEARCH.SQLITE_BACKWARD:
        if sql.startswith("DROP TRIGGER"):
            schema_editor.execute(sql)
    for sql in TRIGGERS:
        schema_editor.execute(sql)
    schema_editor.execute(
        "INSERT INTO registration_patient_fts(registration_patient_fts) VALUES ('rebuild')"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registration", "0002_name_search"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_name_index),
        migrations.AddField(
            model_name="patient",
            name="abha_address",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["abha_address"], name="patient_abha_address"),
        ),
        migrations.RunPython(restore_name_index, migrations.RunPython.noop),
    ]
