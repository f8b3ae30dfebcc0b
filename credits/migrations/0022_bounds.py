"""Numbers bounded from above too (issue 13, credits.bounds): an expiry policy of at most
MAX_MONTHS months and reminder lead times of at most MAX_DAYS days, in the database itself, so
no row can hold a policy after which every grant fails (SQLite accepted 120000 months; every
later expiry date was past the year 9999). Costs and limits get their upper bound as model
validators (forms and `full_clean`); the services refuse past it before any write.

PostgreSQL: the policy's numbers are domains (credits/sql/policy_domains.postgresql.sql); each
domain gets a second CHECK (credits/sql/policy_upper_bounds.postgresql.sql). Other databases
(SQLite): the column CHECK the fields now write (`credits.models.fields`) needs the table
rebuilt. Rows past a bound (none can be made through the services) are brought to it first, or
the new CHECK would refuse the migration.
"""

import django.core.validators
from django.db import migrations, models

import credits.models.fields
from credits import sql

# credits.bounds as this migration set them (a later change of a bound is a migration of its
# own); credits/sql/policy_upper_bounds.postgresql.sql writes the same numbers (the test
# tests/credits/test_sql_files.py compares them).
MAX_MONTHS = 1200
MAX_DAYS = 365

RATE_CARD_TRIGGERS = "rate_card_version.sqlite.sql"


def within_bounds(apps, schema_editor):
    CreditPool = apps.get_model("credits", "CreditPool")
    CreditPool.objects.filter(expiry_months__gt=MAX_MONTHS).update(expiry_months=MAX_MONTHS)
    for name in ("reminder_days", "second_reminder_days"):
        CreditPool.objects.filter(**{f"{name}__gt": MAX_DAYS}).update(**{name: MAX_DAYS})


def bound_columns(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "policy_upper_bounds.postgresql.sql")
    if schema_editor.connection.vendor == "sqlite":
        # The pool's columns CHECK what their fields say now. The rate-card triggers name the
        # pool, so they go first and come back after (credits.sql.drop_sqlite_triggers).
        sql.drop_sqlite_triggers(schema_editor, RATE_CARD_TRIGGERS)
        schema_editor._remake_table(apps.get_model("credits", "CreditPool"))
        sql.create_sqlite_triggers(schema_editor, RATE_CARD_TRIGGERS)


def unbound_columns(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/policy_upper_bounds.postgresql.sql")


class Migration(migrations.Migration):
    dependencies = [("credits", "0021_ledger_truncate_guard")]

    operations = [
        migrations.RunPython(within_bounds, migrations.RunPython.noop),
        migrations.RunPython(bound_columns, unbound_columns),
        migrations.AlterField(
            model_name="actionprice",
            name="credits",
            field=models.BigIntegerField(
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(1000000000000),
                ],
                verbose_name="credits",
            ),
        ),
        migrations.AlterField(
            model_name="billableaction",
            name="credits",
            field=models.BigIntegerField(
                default=0,
                help_text="Flat: the cost. Per unit: the cost of one unit.",
                validators=[
                    django.core.validators.MinValueValidator(0),
                    django.core.validators.MaxValueValidator(1000000000000),
                ],
                verbose_name="credits",
            ),
        ),
        migrations.AlterField(
            model_name="clientaccount",
            name="limit",
            field=credits.models.fields.CreditCountField(
                blank=True,
                help_text=(
                    "What the client may draw from the pool in the window; empty without a limit."
                ),
                null=True,
                validators=[django.core.validators.MaxValueValidator(1000000000000)],
                verbose_name="limit (credits)",
            ),
        ),
        migrations.AlterField(
            model_name="creditpool",
            name="low_balance_threshold",
            field=credits.models.fields.CreditCountField(
                default=0,
                validators=[django.core.validators.MaxValueValidator(1000000000000)],
                verbose_name="low-balance alert below",
            ),
        ),
        migrations.AlterField(
            model_name="smsrate",
            name="credits_per_segment",
            field=models.BigIntegerField(
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(1000000000000),
                ],
                verbose_name="credits per part",
            ),
        ),
    ]
