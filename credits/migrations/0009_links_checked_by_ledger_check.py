"""The links a debit writes (organisation, client, lot, consumption) lose their database
constraints: the deferred checks were a sixth of the server's work per debit. In their place:
lots and consumptions refuse DELETE, as ledger entries refuse UPDATE and DELETE (X1), and
`ledger_check` proves that every link points at a row of the same organisation.

On SQLite, altering these fields rebuilds the ledger table, which drops its triggers: they are
put back at the end.
"""

import django.db.models.deletion
from django.db import migrations, models

REFUSAL = "lots and consumptions are never deleted: the ledger points at them"
ENTRY_REFUSAL = "ledger entries are immutable: write a correcting entry instead"

POSTGRES_UP = f"""
CREATE FUNCTION credits_refuse_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{REFUSAL}';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_lot_kept BEFORE DELETE ON credits_lot
    FOR EACH ROW EXECUTE FUNCTION credits_refuse_delete();
CREATE TRIGGER credits_consumption_kept BEFORE DELETE ON credits_consumption
    FOR EACH ROW EXECUTE FUNCTION credits_refuse_delete();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS credits_lot_kept ON credits_lot;
DROP TRIGGER IF EXISTS credits_consumption_kept ON credits_consumption;
DROP FUNCTION IF EXISTS credits_refuse_delete();
"""
SQLITE_UP = [
    f"""CREATE TRIGGER IF NOT EXISTS credits_lot_kept BEFORE DELETE ON credits_lot
        BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS credits_consumption_kept
        BEFORE DELETE ON credits_consumption
        BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS credits_ledgerentry_no_update
        BEFORE UPDATE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, '{ENTRY_REFUSAL}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS credits_ledgerentry_no_delete
        BEFORE DELETE ON credits_ledgerentry
        BEGIN SELECT RAISE(ABORT, '{ENTRY_REFUSAL}'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS credits_lot_kept;",
    "DROP TRIGGER IF EXISTS credits_consumption_kept;",
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0001_initial'),
        ('credits', '0008_debit_in_database'),
    ]

    operations = [
        migrations.AlterField(
            model_name='consumption',
            name='client',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='consumptions', to='clients.client'),
        ),
        migrations.AlterField(
            model_name='consumption',
            name='organisation',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='consumptions', to='clients.organisation'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='client',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='clients.client'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='consumption',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='credits.consumption'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='lot',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='credits.lot'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='organisation',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='clients.organisation'),
        ),
        migrations.RunPython(install, uninstall),
    ]
