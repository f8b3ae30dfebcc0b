"""The SQL the credits app installs in the database (functions, triggers), one file per object.

Why files: SQL kept in Python strings inside migrations cannot be read, linted or diffed as
SQL, and the next migration that changes a function had to copy the whole string. A migration
now loads the file as it stands when it runs (`read`); a later change of the object ships a
new file (or a new version of it) with the migration that installs it.
"""

import re
import sqlite3
from pathlib import Path

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

FOLDER = Path(__file__).resolve().parent


def read(name: str) -> str:
    """The text of `credits/sql/<name>` (e.g. "credits_debit.sql")."""
    return (FOLDER / name).read_text(encoding="utf-8")


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
