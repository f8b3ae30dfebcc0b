"""The database's rules live in versioned SQL files, and the newest file of each rule is what the
database runs (issue 14; the triggers are the last line of defence of X1, X2).

`credits/sql/<name>.sql` or `<name>.<flavour>.sql` is the newest version of a rule (the one a
reader opens), `history/` holds the older versions older migrations install, `undo/` what a
migration's reverse runs (credits/sql/README.md). These tests prove that every file a
migration names exists and every file is loaded, and that after `migrate` the functions and
triggers in the database are, to the character, those the newest files create: a rule edited
in its file without a migration that installs it, or a migration left installing an old
version last, fails here.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest
from django.db import connection

from credits import sql

MIGRATIONS = Path(importlib.import_module("credits.migrations").__file__).parent
FILE_NAME = re.compile(r"[\w./]+\.sql")
FUNCTION = re.compile(
    r"CREATE (?:OR REPLACE )?FUNCTION (\w+)\(.*?\$\$(.*?)\$\$", re.DOTALL | re.IGNORECASE
)
POSTGRESQL_TRIGGER = re.compile(r"CREATE TRIGGER (\w+)", re.IGNORECASE)
SQL_STATEMENT = re.compile(
    r"\b(?:CREATE|DROP|ALTER)\s+(?:OR\s+REPLACE\s+)?(?:TRIGGER|FUNCTION|DOMAIN|TABLE|SEQUENCE)\b",
    re.IGNORECASE,
)
SQLITE_TRIGGER = re.compile(
    r"CREATE\s+TRIGGER\s+(?:IF\s+NOT\s+EXISTS\s+)?((\w+).*?);?\s*\Z", re.DOTALL | re.IGNORECASE
)


def migration_strings() -> list[tuple[str, str]]:
    """(migration file, string) for every string constant of the credits migrations (the
    pieces of an f-string included)."""
    found = []
    for path in sorted(MIGRATIONS.glob("0*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((path.name, node.value))
    return found


def files_loaded_by_migrations() -> dict[str, set[str]]:
    """The migrations (by number) that name each file: every string constant of a credits
    migration that is a file name ending in `.sql` (the helpers of credits.sql take them)."""
    loaded: dict[str, set[str]] = {}
    for migration, text in migration_strings():
        if FILE_NAME.fullmatch(text):
            loaded.setdefault(text, set()).add(migration[:4])
    return loaded


def files_in_folder() -> set[str]:
    return {path.relative_to(sql.FOLDER).as_posix() for path in sql.FOLDER.rglob("*.sql")}


def newest_files(flavour: str) -> list[str]:
    """The newest version of each rule for one database: the top folder's files, named
    `<name>.<flavour>.sql` (or `<name>.sql`, PostgreSQL only)."""
    names = sorted(path.name for path in sql.FOLDER.glob("*.sql"))
    if flavour == "sqlite":
        return [name for name in names if name.endswith(".sqlite.sql")]
    return [name for name in names if not name.endswith(".sqlite.sql")]


def without_comments(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines() if not line.startswith("--"))


def test_no_credits_migration_holds_sql_of_its_own_issue_14():
    # given every string of the credits migrations
    strings = migration_strings()

    # then none is a statement that creates, drops or alters a database object: that SQL is
    # in credits/sql/, where a reader finds each rule once
    assert [(name, text[:60]) for name, text in strings if SQL_STATEMENT.search(text)] == []


def test_every_sql_file_a_migration_names_exists_issue_14():
    # given the file names the credits migrations hand to credits.sql
    loaded = files_loaded_by_migrations()

    # then each is a file of credits/sql/ (a typo would fail only when that migration runs)
    assert loaded, "no migration names a file of credits/sql/"
    assert sorted(set(loaded) - files_in_folder()) == []


def test_every_sql_file_is_loaded_by_a_migration_issue_14():
    # given the files of credits/sql/, the newest versions, history/ and undo/
    files = files_in_folder()

    # then a migration loads each: a file no migration installs would be read as a rule
    # the database does not run
    assert sorted(files - set(files_loaded_by_migrations())) == []


def test_a_version_in_history_is_loaded_by_the_migration_its_name_numbers_issue_14():
    # given the older versions, named history/<name>.<migration>[.<flavour>].sql
    loaded = files_loaded_by_migrations()
    history = sorted(name for name in files_in_folder() if name.startswith("history/"))

    # then the migration that installed each version still loads it (the rule of README.md)
    assert history
    for name in history:
        number = re.search(r"\.(\d{4})\.", name)
        assert number, f"{name} does not name the migration that installs it"
        assert number.group(1) in loaded.get(name, set()), name


def test_the_bounds_migration_0022_brings_rows_to_the_bounds_its_sql_installs_x6():
    # given what migration 0022 brings rows to before it adds the domains' upper bounds
    bounds = importlib.import_module("credits.migrations.0022_bounds")
    text = sql.read("policy_upper_bounds.postgresql.sql")

    # then its SQL bounds the domains at the same numbers (else the migration could fail)
    assert f"CHECK (VALUE <= {bounds.MAX_MONTHS})" in text
    assert f"CHECK (VALUE <= {bounds.MAX_DAYS})" in text
    assert (bounds.MAX_MONTHS, bounds.MAX_DAYS) == (1200, 365)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_functions_postgresql_runs_are_those_of_the_newest_files_issue_14():
    # given every function the newest PostgreSQL files create, with its body
    expected = {
        name: body
        for file in newest_files("postgresql")
        for name, body in FUNCTION.findall(sql.read(file))
    }
    assert {"credits_debit", "credits_debit_from_lots"} <= set(expected)

    # when the migrated database is asked for the body of each function it has
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc"
            " WHERE pronamespace = 'public'::regnamespace ORDER BY proname"
        )
        installed = cursor.fetchall()

    # then they are the same functions (one version each), to the character
    assert [name for name, _body in installed] == sorted(expected)
    for name, body in installed:
        assert body == expected[name], f"{name} differs from its newest file"


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_triggers_postgresql_runs_are_those_of_the_newest_files_x1():
    # given every trigger the newest PostgreSQL files create
    expected = sorted(
        name
        for file in newest_files("postgresql")
        for name in POSTGRESQL_TRIGGER.findall(sql.read(file))
    )

    # when the migrated database lists its triggers (not the internal ones of constraints)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")
        installed = [name for (name,) in cursor.fetchall()]

    # then they are the same
    assert installed == expected


@pytest.mark.django_db
def test_the_triggers_sqlite_runs_are_those_of_the_newest_files_with_their_text_x1():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's triggers (PostgreSQL's: the tests above)")
    # given every trigger the newest SQLite files create, as SQLite stores its statement
    # (from the trigger's name on, without IF NOT EXISTS and the final semicolon)
    expected = {}
    for file in newest_files("sqlite"):
        for statement in sql.statements(file):
            found = SQLITE_TRIGGER.search(without_comments(statement))
            assert found, f"{file}: not a CREATE TRIGGER: {statement[:60]}"
            expected[found.group(2)] = f"CREATE TRIGGER {found.group(1)}"

    # when the migrated database lists its triggers
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        installed = dict(cursor.fetchall())

    # then they are the same triggers, with the same text
    assert sorted(installed) == sorted(expected)
    for name, text in installed.items():
        assert text == expected[name], f"{name} differs from its newest file"
