"""The SQL the credits app installs in the database (functions, triggers, domains), one file
per rule, loaded by the migrations through the helpers below.

Why files: SQL kept in Python strings inside migrations cannot be read, linted or diffed as
SQL, and the next migration that changed a function had to copy the whole string.

Versioning (README.md in this folder says the same, with the list of files):
- `<name>.sql` (PostgreSQL only) or `<name>.<flavour>.sql` (`postgresql`, `sqlite`) is always
  the NEWEST version of a rule: the one a reader opens, the one the newest migration that
  installs the rule loads, the one the database runs (tests/credits/test_sql_files.py).
- `history/<name>.<migration>.sql` (or `history/<name>.<migration>.<flavour>.sql`) is an older
  version, loaded only by the migration numbered in its name (and by the reverse of the
  migration that replaced it). Never edited.
- `undo/<same name>` removes what the file of that name creates (a migration's reverse).
- A migration never loads a file whose text a later change alters under it. To change a rule: copy
  `<name>.sql` to `history/<name>.<number of the migration that installed it>.sql` (and its
  `undo/` file to `undo/<name>.<number>.sql`), point the migrations that load it at the copies,
  edit `<name>.sql`, and install it with a new migration (whose reverse loads the copy).
"""

import re
import sqlite3
from pathlib import Path

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

FOLDER = Path(__file__).resolve().parent


def read(name: str) -> str:
    """The text of `credits/sql/<name>`: "credits_debit.sql", "history/credits_debit.0008.sql"."""
    return (FOLDER / name).read_text(encoding="utf-8")


def run_on_postgresql(schema_editor: BaseDatabaseSchemaEditor, *names: str) -> None:
    """Run each file, in order, on PostgreSQL (nothing elsewhere). Without parameters
    (`params=None`), so that a `%` in a function's body reaches the server as written."""
    if schema_editor.connection.vendor == "postgresql":
        for name in names:
            schema_editor.execute(read(name), params=None)


def statements(name: str) -> list[str]:
    """The file's statements one by one, for SQLite, whose driver runs one per call. A
    trigger's body holds semicolons of its own: SQLite's own tokenizer
    (`sqlite3.complete_statement`) says where each statement really ends."""
    found: list[str] = []
    pending = ""
    for line in read(name).splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                found.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        text.strip().startswith("--") or not text.strip() for text in pending.splitlines()
    ):
        raise ValueError(f"{name}: the last statement has no end")
    return found


def sqlite_triggers(name: str) -> list[str]:
    """The names of the triggers the file creates."""
    return re.findall(r"CREATE TRIGGER (?:IF NOT EXISTS )?(\w+)", read(name))


def create_sqlite_triggers(schema_editor: BaseDatabaseSchemaEditor, name: str) -> None:
    """Run the file's statements on SQLite (nothing elsewhere)."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in statements(name):
            schema_editor.execute(statement, params=None)


def drop_sqlite_triggers(schema_editor: BaseDatabaseSchemaEditor, name: str) -> None:
    """Drop the triggers the file creates, on SQLite (nothing elsewhere).

    Why a migration needs it: Django rebuilds a SQLite table for most changes of a column
    (new table, copy, DROP, RENAME). The DROP silently takes the table's own triggers with it
    (create them again afterwards), and the RENAME fails ("error in trigger …: no such table")
    while a trigger of another table names the dropped one (drop them first)."""
    if schema_editor.connection.vendor == "sqlite":
        for trigger in sqlite_triggers(name):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger};", params=None)
