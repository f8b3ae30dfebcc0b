"""A debit in one statement on PostgreSQL (`credits_debit`), called only by
`credits.services.spending.debit`.

Why: a debit through the ORM is ten round trips, and the pool lock is held across all of them,
so one busy organisation could not pass ~160 debits a second. Inside the server the lock is
held only while the function runs. The rules are the same as the Python path's
(`credits.funding.decide_funding`, `_take_from_lots`, `_roll_monthly_window`); a differential
test (tests/credits/test_debit_in_database.py) runs both on the same histories and compares
every row they write.

The function never writes anything when it refuses: it reads and decides first, then writes.
When expiry is due (a lot, a hold, or the inactivity deadline) it answers `expiry_due` without
writing and the Python path, which owns expiry (S8 shares, holds), does the whole debit.

The SQL: credits/sql/history/credits_debit.0008.sql and
credits/sql/history/credits_debit_from_lots.0008.sql (the first versions; the newest are
credits/sql/credits_debit.sql and credits/sql/credits_debit_from_lots.sql).
"""

from django.db import migrations

from credits import sql


def install(apps, schema_editor):
    sql.run_on_postgresql(
        schema_editor,
        "history/credits_debit.0008.sql",
        "history/credits_debit_from_lots.0008.sql",
    )


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(
        schema_editor, "undo/credits_debit.0008.sql", "undo/credits_debit_from_lots.0008.sql"
    )


class Migration(migrations.Migration):
    dependencies = [("credits", "0007_lots_live_column")]
    operations = [migrations.RunPython(install, uninstall)]
