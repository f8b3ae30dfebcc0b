"""Ledger entries are never updated or deleted (X1): the database refuses it, whatever the
code above it does. Corrections are new entries.

The SQL: credits/sql/ledger_entries_immutable.postgresql.sql, and on SQLite the first version
of its twin, credits/sql/history/ledger_entries_immutable.0002.sqlite.sql.
"""

from django.db import migrations

from credits import sql

SQLITE_TRIGGERS = "history/ledger_entries_immutable.0002.sqlite.sql"


def install(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "ledger_entries_immutable.postgresql.sql")
    sql.create_sqlite_triggers(schema_editor, SQLITE_TRIGGERS)


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/ledger_entries_immutable.postgresql.sql")
    sql.drop_sqlite_triggers(schema_editor, SQLITE_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
