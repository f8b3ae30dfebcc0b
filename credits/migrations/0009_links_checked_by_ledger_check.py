"""The links a debit writes (organisation, client, lot, consumption) lose their database
constraints: the deferred checks were a sixth of the server's work per debit. In their place:
lots and consumptions refuse DELETE, as ledger entries refuse UPDATE and DELETE (X1), and
`ledger_check` proves that every link points at a row of the same organisation.

On SQLite, altering these fields rebuilds the ledger table, which drops its triggers: they are
put back at the end.

The SQL: credits/sql/lots_and_consumptions_kept.*.sql (and, on SQLite,
credits/sql/ledger_entries_immutable.sqlite.sql put back).
"""

import django.db.models.deletion
from django.db import migrations, models

from credits import sql

SQLITE_TRIGGERS = ["lots_and_consumptions_kept.sqlite.sql", "ledger_entries_immutable.sqlite.sql"]


def install(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "lots_and_consumptions_kept.postgresql.sql")
    for name in SQLITE_TRIGGERS:
        sql.create_sqlite_triggers(schema_editor, name)


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/lots_and_consumptions_kept.postgresql.sql")
    sql.drop_sqlite_triggers(schema_editor, "lots_and_consumptions_kept.sqlite.sql")


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
