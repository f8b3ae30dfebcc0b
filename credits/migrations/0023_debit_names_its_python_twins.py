"""`credits_debit` again, with the comments inside its body naming its Python twins where they
now live (`credits.services.core`): the body PostgreSQL stores is the text of
credits/sql/credits_debit.sql, so even a comment changes through a migration. Its rules are
those of 0019 (credits/sql/history/credits_debit.0019.sql), which the reverse puts back.
"""

from django.db import migrations

from credits import sql


def install(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "credits_debit.sql")


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "history/credits_debit.0019.sql")


class Migration(migrations.Migration):
    dependencies = [("credits", "0022_bounds")]
    operations = [migrations.RunPython(install, uninstall)]
