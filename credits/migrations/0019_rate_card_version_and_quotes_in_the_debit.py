"""The pool's rate-card version, and the debit function that claims quotes and checks it.

Why: `consume` (the call pages and the REST API make) ran inside a transaction of its own, read
its action with a query each time and claimed a quote with a second UPDATE, so it never took the
one-round-trip debit. Now it prices from a per-process cache of rate cards (credits/ratecards.py)
and makes one call of `credits_debit`, which claims the quote itself (atomic with the debit,
without a transaction around it) and compares the version the caller priced at with the pool's.

* `CreditPool.rate_card_version`: set anew by triggers at every INSERT, UPDATE and DELETE of
  billable actions, their prices by parameters and SMS rates (credits/sql/rate_card_version.*).
  No pool trigger or CHECK looks at it, and no ledger entry follows it: `ledger_check` compares
  balance, held, assigned and the accounts only.
* `credits_debit` gains `p_quote` and `p_rate_card_version` (credits/sql/credits_debit.sql);
  the 11-argument version of migration 0012 (credits/sql/history/credits_debit.0012.sql, which
  the reverse installs again) is dropped. `credits_debit_from_lots` is unchanged.

On SQLite, adding the field rebuilds the pool's table, which has no trigger of its own to lose;
the rate-card triggers are created after it. A later migration that makes SQLite rebuild
credits_creditpool, credits_billableaction, credits_actionprice or credits_smsrate must run
`drop_rate_card_triggers` before and `create_rate_card_triggers` after it (see
`credits.sql.drop_sqlite_triggers` for why): the rebuild otherwise fails (the pool) or loses the
triggers silently (the three others; tests/credits/test_fast_consume.py would then fail).
"""

from django.db import migrations, models

from credits import sql

SQLITE_TRIGGERS = "rate_card_version.sqlite.sql"


def create_rate_card_triggers(apps, schema_editor):
    """SQLite only (PostgreSQL keeps its triggers through a column change)."""
    sql.create_sqlite_triggers(schema_editor, SQLITE_TRIGGERS)


def drop_rate_card_triggers(apps, schema_editor):
    """SQLite only: before a migration that rebuilds one of the four tables."""
    sql.drop_sqlite_triggers(schema_editor, SQLITE_TRIGGERS)


def install(apps, schema_editor):
    sql.run_on_postgresql(
        schema_editor,
        "undo/credits_debit.0012.sql",
        "history/credits_debit.0019.sql",
        "rate_card_version.postgresql.sql",
    )
    create_rate_card_triggers(apps, schema_editor)


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(
        schema_editor,
        "undo/rate_card_version.postgresql.sql",
        "undo/credits_debit.sql",
        "history/credits_debit.0012.sql",
    )
    drop_rate_card_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("credits", "0018_alerts_and_reminders")]

    operations = [
        migrations.AddField(
            model_name="creditpool",
            name="rate_card_version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(install, uninstall),
    ]
