"""`credits_expire`: the expiry job's batch of organisations in one statement on PostgreSQL
(credits/sql/credits_expire.sql), the SQL twin of `settle_expiry`. At 100,000 organisations
the Python batch spent its time on model instances and SQL text, ten times what the writes
themselves cost (issue 15). SQLite keeps the Python path."""

from django.db import migrations

from credits import sql


def install(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "credits_expire.sql")


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/credits_expire.sql")


class Migration(migrations.Migration):
    dependencies = [("credits", "0024_jobs_read_only_due_work")]
    operations = [migrations.RunPython(install, uninstall)]
