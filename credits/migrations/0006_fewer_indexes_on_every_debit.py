"""Fewer indexes on the rows every debit writes (consumptions, ledger entries).

The foreign keys to the organisation and the client are served by the (…, -created_at)
indexes; the links most entries leave empty (hold, assignment, actor) are indexed only where
set. On SQLite, altering these fields rebuilds the ledger table, which drops its triggers:
the last operation puts back the ones that refuse UPDATE and DELETE (X1,
credits/sql/ledger_entries_immutable.sqlite.sql).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from credits import sql


def reinstall_sqlite_triggers(apps, schema_editor):
    sql.create_sqlite_triggers(schema_editor, "ledger_entries_immutable.sqlite.sql")


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0001_initial'),
        ('credits', '0005_pool_next_expiry'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='consumption',
            name='actor',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='consumption',
            name='client',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='consumptions', to='clients.client'),
        ),
        migrations.AlterField(
            model_name='consumption',
            name='organisation',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='consumptions', to='clients.organisation'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='actor',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='assignment',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='credits.assignment'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='client',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='clients.client'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='hold',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='credits.hold'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='organisation',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to='clients.organisation'),
        ),
        migrations.AddIndex(
            model_name='consumption',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor'], name='consumption_actor'),
        ),
        migrations.AddIndex(
            model_name='ledgerentry',
            index=models.Index(condition=models.Q(('hold__isnull', False)), fields=['hold'], name='entry_hold'),
        ),
        migrations.AddIndex(
            model_name='ledgerentry',
            index=models.Index(condition=models.Q(('assignment__isnull', False)), fields=['assignment'], name='entry_assignment'),
        ),
        migrations.AddIndex(
            model_name='ledgerentry',
            index=models.Index(condition=models.Q(('actor__isnull', False)), fields=['actor'], name='entry_actor'),
        ),
        migrations.RunPython(reinstall_sqlite_triggers, migrations.RunPython.noop),
    ]
