"""The pool's policy numbers are bounded by their column's type (PostgreSQL domains), and the
expiry's months are always set, so no table CHECK is left on the pool but the one that joins its
figures (balance ≥ held + assigned).

Why: every debit updates the pool row, and PostgreSQL plans every table CHECK of the pool again
on each such statement: the three policy checks (months ≥ 0, days ≥ 0, "an expiring kind has
months") were 6 % of the server's instructions per debit (callgrind). See
credits/models/fields.py. `expiry_months` keeps its value whatever the kind (12 where it was
empty) and only the expiring kinds read it.

The SQL: credits/sql/policy_domains.postgresql.sql.
"""

import credits.models.fields
from django.db import migrations

from credits import sql


def create_domains(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "policy_domains.postgresql.sql")


def drop_domains(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/policy_domains.postgresql.sql")


def months_everywhere(apps, schema_editor):
    CreditPool = apps.get_model("credits", "CreditPool")
    CreditPool.objects.filter(expiry_months__isnull=True).update(expiry_months=12)
    CreditPool.objects.filter(expiry_months__lt=1).update(expiry_months=12)


class Migration(migrations.Migration):

    dependencies = [
        ('credits', '0012_clients_without_a_limit_count_nothing'),
    ]

    operations = [
        migrations.RunPython(create_domains, drop_domains),
        migrations.RunPython(months_everywhere, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='creditpool',
            name='pool_expiry_has_months',
        ),
        migrations.AlterField(
            model_name='creditpool',
            name='expiry_months',
            field=credits.models.fields.MonthsField(default=12, help_text='For expiry after purchase or after months without use.', verbose_name='expiry months'),
        ),
        migrations.AlterField(
            model_name='creditpool',
            name='reminder_days',
            field=credits.models.fields.DaysField(default=30, verbose_name='expiry reminder (days before)'),
        ),
    ]
