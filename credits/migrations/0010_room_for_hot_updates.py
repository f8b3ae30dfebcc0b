"""Leave room on the pages of the rows every debit updates (pool, client account, lot).

An UPDATE that finds room on the row's own page is a HOT update: no index entry, and the old
version is pruned in place. Under concurrent debits a full page often cannot be pruned (other
backends hold it pinned), the new version moves to another page, and a table of 65 pools grew
to 50 pages during the benchmark, which every scan of it then read. With pages filled to 20 %
at insert, the versions of a busy row stay on its page. Applies to pages written from now on
(VACUUM FULL repacks existing tables). The SQL: credits/sql/room_for_hot_updates.postgresql.sql.
"""

from django.db import migrations

from credits import sql


def leave_room(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "room_for_hot_updates.postgresql.sql")


def fill_pages(apps, schema_editor):
    sql.run_on_postgresql(schema_editor, "undo/room_for_hot_updates.postgresql.sql")


class Migration(migrations.Migration):
    dependencies = [("credits", "0009_links_checked_by_ledger_check")]
    operations = [migrations.RunPython(leave_room, fill_pages)]
