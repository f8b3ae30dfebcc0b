"""Credit counts are never negative by their column's type (PostgreSQL domains) rather than by
table CHECK constraints; the rules that join several columns stay table CHECKs.

Why: PostgreSQL reads every table CHECK back from its stored text and plans it again on each
statement that writes the table. On the five tables a debit writes, that was a quarter of the
server's instructions per debit (callgrind). A domain's CHECK is compiled once per session and
runs only for the columns a statement assigns. See credits/models/fields.py.

`live` is computed from `remaining`, and PostgreSQL will not change the type of a column a
generated column reads: it is dropped and added again around the change (with its index). On
SQLite every step rebuilds its table, which drops the table's triggers: the last operation
puts back the ones that keep lots, consumptions and ledger entries (X1).

The SQL: credits/sql/credit_count_domains.postgresql.sql, and on SQLite
credits/sql/lots_and_consumptions_kept.sqlite.sql and ledger_entries_immutable.sqlite.sql.
"""

import credits.models.fields
import django.db.models.expressions
from django.conf import settings
from django.db import migrations, models

from credits import sql

SQLITE_TRIGGERS = ["lots_and_consumptions_kept.sqlite.sql", "ledger_entries_immutable.sqlite.sql"]


def create_domains(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "credit_count_domains.postgresql.sql")


def drop_domains(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/credit_count_domains.postgresql.sql")


def reinstall_sqlite_triggers(apps, schema_editor):
    for name in SQLITE_TRIGGERS:
        sql.create_sqlite_triggers(schema_editor, name)


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0001_initial'),
        ('credits', '0010_room_for_hot_updates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(create_domains, drop_domains),
        migrations.RemoveConstraint(
            model_name='assignment',
            name='assignment_credits_positive',
        ),
        migrations.RemoveConstraint(
            model_name='clientaccount',
            name='client_assigned_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='clientaccount',
            name='client_used_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='clientaccount',
            name='client_limit_matches_kind',
        ),
        migrations.RemoveConstraint(
            model_name='consumption',
            name='consumption_funding_adds_up',
        ),
        migrations.RemoveConstraint(
            model_name='creditpool',
            name='pool_balance_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='creditpool',
            name='pool_held_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='creditpool',
            name='pool_assigned_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='creditpool',
            name='pool_threshold_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='hold',
            name='hold_credits_positive',
        ),
        migrations.RemoveConstraint(
            model_name='hold',
            name='hold_funding_adds_up',
        ),
        migrations.RemoveConstraint(
            model_name='ledgerentry',
            name='entry_balance_after_not_negative',
        ),
        migrations.RemoveConstraint(
            model_name='lot',
            name='lot_quantity_positive',
        ),
        migrations.RemoveConstraint(
            model_name='lot',
            name='lot_remaining_within_quantity',
        ),
        migrations.AlterField(
            model_name='assignment',
            name='credits',
            field=credits.models.fields.PositiveCreditCountField(verbose_name='credits'),
        ),
        migrations.AlterField(
            model_name='clientaccount',
            name='assigned_remaining',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='assigned remaining'),
        ),
        migrations.AlterField(
            model_name='clientaccount',
            name='limit',
            field=credits.models.fields.CreditCountField(blank=True, null=True, verbose_name='limit (credits)'),
        ),
        migrations.AlterField(
            model_name='clientaccount',
            name='used',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='used in the window'),
        ),
        migrations.AlterField(
            model_name='consumption',
            name='credits',
            field=credits.models.fields.CreditCountField(verbose_name='credits'),
        ),
        migrations.AlterField(
            model_name='consumption',
            name='from_assigned',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='from assigned credits'),
        ),
        migrations.AlterField(
            model_name='consumption',
            name='from_pool',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='from the pool'),
        ),
        migrations.AlterField(
            model_name='creditpool',
            name='assigned',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='assigned'),
        ),
        migrations.AlterField(
            model_name='creditpool',
            name='balance',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='balance'),
        ),
        migrations.AlterField(
            model_name='creditpool',
            name='held',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='held'),
        ),
        migrations.AlterField(
            model_name='creditpool',
            name='low_balance_threshold',
            field=credits.models.fields.CreditCountField(default=0, verbose_name='low-balance alert below'),
        ),
        migrations.AlterField(
            model_name='hold',
            name='credits',
            field=credits.models.fields.PositiveCreditCountField(verbose_name='credits'),
        ),
        migrations.AlterField(
            model_name='hold',
            name='from_assigned',
            field=credits.models.fields.CreditCountField(verbose_name='from assigned credits'),
        ),
        migrations.AlterField(
            model_name='hold',
            name='from_pool',
            field=credits.models.fields.CreditCountField(verbose_name='from the pool'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='balance_after',
            field=credits.models.fields.CreditCountField(verbose_name='balance after'),
        ),
        migrations.AlterField(
            model_name='lot',
            name='quantity',
            field=credits.models.fields.PositiveCreditCountField(verbose_name='quantity'),
        ),
        migrations.RemoveIndex(
            model_name='lot',
            name='lot_live_spending_order',
        ),
        migrations.RemoveField(
            model_name='lot',
            name='live',
        ),
        migrations.AlterField(
            model_name='lot',
            name='remaining',
            field=credits.models.fields.CreditCountField(verbose_name='remaining'),
        ),
        migrations.AddField(
            model_name='lot',
            name='live',
            field=models.GeneratedField(db_persist=True, expression=models.Q(('remaining__gt', 0)), output_field=models.BooleanField()),
        ),
        migrations.AddIndex(
            model_name='lot',
            index=models.Index(condition=models.Q(('live', True)), fields=['organisation', 'expires_at', 'created_at', 'id'], name='lot_live_spending_order'),
        ),
        migrations.AddConstraint(
            model_name='clientaccount',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('limit__isnull', True), ('limit_kind', 'none')), models.Q(models.Q(('limit_kind', 'none'), _negated=True), ('limit__isnull', False)), _connector='OR'), name='client_limit_matches_kind'),
        ),
        migrations.AddConstraint(
            model_name='consumption',
            constraint=models.CheckConstraint(condition=models.Q(('credits', django.db.models.expressions.CombinedExpression(models.F('from_assigned'), '+', models.F('from_pool')))), name='consumption_funding_adds_up'),
        ),
        migrations.AddConstraint(
            model_name='hold',
            constraint=models.CheckConstraint(condition=models.Q(('credits', django.db.models.expressions.CombinedExpression(models.F('from_assigned'), '+', models.F('from_pool')))), name='hold_funding_adds_up'),
        ),
        migrations.AddConstraint(
            model_name='lot',
            constraint=models.CheckConstraint(condition=models.Q(('remaining__lte', models.F('quantity'))), name='lot_remaining_within_quantity'),
        ),
        migrations.RunPython(reinstall_sqlite_triggers, migrations.RunPython.noop),
    ]
