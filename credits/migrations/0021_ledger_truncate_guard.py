"""The ledger guard's gaps (issue 13): TRUNCATE refused, a consumption's figures fixed.

* PostgreSQL: a statement trigger refuses TRUNCATE on every table of the ledger (entries, lots,
  consumptions, holds, pools, accounts, assignments): the row triggers of 0002 and 0009
  refuse UPDATE and DELETE, but TRUNCATE fires none of them
  (credits/sql/ledger_truncate_guard.postgresql.sql). SQLite has no TRUNCATE.
* Both: a consumption's credits, funding, organisation, client and hold never change
  (credits/sql/consumption_figures_fixed.*); `ledger_check` also proves each consumption's
  credits equal its entries, for a database whose owner disabled the trigger.

The application's role cannot disable or drop any of these triggers once it owns no table:
`manage.py grant_app_role` (README, "Production").

On SQLite a later migration that rebuilds credits_consumption must call
`create_consumption_triggers` after it (see `credits.sql.drop_sqlite_triggers` for why).
"""

from django.db import migrations

from credits import sql

POSTGRES_FILES = [
    "ledger_truncate_guard.postgresql.sql",
    "consumption_figures_fixed.postgresql.sql",
]
POSTGRES_UNDO = [
    "undo/ledger_truncate_guard.postgresql.sql",
    "undo/consumption_figures_fixed.postgresql.sql",
]
SQLITE_TRIGGERS = "consumption_figures_fixed.sqlite.sql"


def create_consumption_triggers(apps, schema_editor):
    """SQLite only (PostgreSQL keeps its triggers through a column change)."""
    sql.create_sqlite_triggers(schema_editor, SQLITE_TRIGGERS)


def drop_consumption_triggers(apps, schema_editor):
    sql.drop_sqlite_triggers(schema_editor, SQLITE_TRIGGERS)


def install(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, *POSTGRES_FILES)
    create_consumption_triggers(apps, schema_editor)


def uninstall(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, *POSTGRES_UNDO)
    drop_consumption_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("credits", "0020_admin_labels_and_action_guard")]

    operations = [migrations.RunPython(install, uninstall)]
