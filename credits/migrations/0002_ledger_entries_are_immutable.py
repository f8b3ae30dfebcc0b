"""Ledger entries are never updated or deleted (X1): the database refuses it, whatever the
code above it does. Corrections are new entries."""

from django.db import migrations

MESSAGE = "ledger entries are immutable: write a correcting entry instead"

POSTGRES_UP = f"""
CREATE FUNCTION credits_refuse_entry_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_ledgerentry_immutable
    BEFORE UPDATE OR DELETE ON credits_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION credits_refuse_entry_change();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS credits_ledgerentry_immutable ON credits_ledgerentry;
DROP FUNCTION IF EXISTS credits_refuse_entry_change();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER credits_ledgerentry_no_update BEFORE UPDATE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER credits_ledgerentry_no_delete BEFORE DELETE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS credits_ledgerentry_no_update;",
    "DROP TRIGGER IF EXISTS credits_ledgerentry_no_delete;",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
