"""The periodic jobs' batches in one statement each on PostgreSQL: `credits_expire`
(credits/sql/credits_expire.sql, the SQL twin of `settle_expiry`) and `credits_reset_monthly`
(credits/sql/credits_reset_monthly.sql, of `restart_window`). At 100,000 organisations the
Python batches spent their time on model instances and SQL text, up to ten times what the
writes themselves cost (issue 15). SQLite keeps the Python path."""

from django.db import migrations

from credits import sql


def install(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "credits_expire.sql", "credits_reset_monthly.sql")


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(
        schema_editor, "undo/credits_expire.sql", "undo/credits_reset_monthly.sql"
    )


class Migration(migrations.Migration):
    dependencies = [("credits", "0024_jobs_read_only_due_work")]
    operations = [migrations.RunPython(install, uninstall)]
