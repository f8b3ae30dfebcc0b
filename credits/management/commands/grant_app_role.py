"""`manage.py grant_app_role portal_app`: what the application's database role may do.

Why a role of its own: the ledger's last line of defence is in the database (triggers that
refuse to change, delete or truncate ledger rows; `credits_debit`; CHECKs and domains). A role
that owns the tables can `ALTER TABLE … DISABLE TRIGGER`, `DROP TRIGGER`, `DROP FUNCTION` or
`TRUNCATE`: if the web and worker processes ran as the role that ran the migrations, a bug or
an injected statement could switch the guard off. So production runs migrations as an owner
role and the processes as an application role that may only read and write rows (SELECT,
INSERT, UPDATE, DELETE), use the sequences and execute the functions: PostgreSQL refuses it
every change of the schema with "must be owner" or "permission denied".

Why a management command rather than a SQL file: it runs with the deployment's own
DATABASE_URL (the owner's, right after `migrate`), knows the schema Django uses, and refuses
before granting anything a role that would keep the power this step is meant to take away
(a superuser, a role that may create roles, a member of the owner role, a role owning objects
of the schema). Running it again is harmless (GRANT and ALTER DEFAULT PRIVILEGES are
idempotent), and the default privileges cover the tables later migrations create.
"""

import re

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction

# Lower case: PostgreSQL folds unquoted names, and the checks below compare names as text.
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# The application reads django_migrations (checks at start-up) and never migrates.
READ_ONLY_TABLES = ("django_migrations",)


class Command(BaseCommand):
    help = (
        "Grant a database role what the web and worker processes need (rows, sequences, "
        "functions; now and for later migrations) and nothing that changes the schema. Run "
        "by the owner role after `migrate`. PostgreSQL only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the application's role (it must exist and LOGIN)")
        parser.add_argument("--schema", default="public", help="the schema of the tables")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, role: str, schema: str, database: str, **options) -> None:
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError(
                f"grant_app_role is for PostgreSQL; this database is {connection.vendor}, "
                "which has no roles (SQLite is for the embedded, single-process setup)."
            )
        for name in (role, schema):
            if not ROLE_NAME.match(name):
                raise CommandError(
                    f"“{name}” is not a plain SQL name (lower-case letters, digits, _)."
                )
        quote = connection.ops.quote_name
        with transaction.atomic(using=database), connection.cursor() as cursor:
            refusal = _refusal(cursor, role, schema)
            if refusal:
                raise CommandError(refusal)
            r, s = quote(role), quote(schema)
            statements = [
                # PostgreSQL before 15 let every role create objects in `public`.
                f"REVOKE CREATE ON SCHEMA {s} FROM PUBLIC",
                f"REVOKE CREATE ON SCHEMA {s} FROM {r}",
                f"GRANT USAGE ON SCHEMA {s} TO {r}",
                # REVOKE first: a TRUNCATE, TRIGGER or REFERENCES granted by hand goes too.
                f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {r}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {r}",
                *(
                    f"REVOKE INSERT, UPDATE, DELETE ON {s}.{quote(table)} FROM {r}"
                    for table in _existing(cursor, schema, READ_ONLY_TABLES)
                ),
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {r}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
                f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {s} TO {r}",
                # What the owner (this role) creates in later migrations.
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} "
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {r}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {r}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT EXECUTE ON FUNCTIONS TO {r}",
            ]
            for statement in statements:
                cursor.execute(statement)
            cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [role, schema])
            if cursor.fetchone()[0]:
                raise CommandError(
                    f"{role} may still create objects in schema {schema} (granted by a role "
                    f"other than this one): run `REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC, "
                    f"{role}` as the schema's owner, then this command again."
                )
            tables, sequences, functions = _counts(cursor, schema)
        self.stdout.write(
            f"{role} may read and write the rows of {tables} tables, use {sequences} sequences "
            f"and run {functions} functions of schema {schema}, and the same on what later "
            "migrations create; it owns nothing, so it cannot alter, disable, drop or truncate."
        )


def _refusal(cursor, role: str, schema: str) -> str | None:
    """Why `role` cannot be the application's role, or None. Checked before anything is
    granted: each of these would let it switch the guard off whatever is granted."""
    cursor.execute(
        "SELECT rolsuper, rolcreaterole, rolbypassrls, pg_has_role(%s, current_user, 'MEMBER')"
        " FROM pg_roles WHERE rolname = %s",
        [role, role],
    )
    found = cursor.fetchone()
    if found is None:
        return (
            f"There is no role {role}: create it first (as a superuser: "
            f"CREATE ROLE {role} LOGIN PASSWORD '…'), then run this command again."
        )
    superuser, creates_roles, bypasses_rls, member_of_owner = found
    cursor.execute("SELECT current_user")
    (owner,) = cursor.fetchone()
    if superuser or creates_roles or bypasses_rls:
        return (
            f"{role} is a superuser or may create roles or bypass row security: it could "
            f"change or disable anything. Use a plain role (ALTER ROLE {role} NOSUPERUSER "
            "NOCREATEROLE NOBYPASSRLS)."
        )
    if role == owner or member_of_owner:
        return (
            f"{role} is (or is a member of) {owner}, the role running this command, which "
            "owns the tables: the application needs a role of its own."
        )
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(schema)s AND c.relowner = %(role)s::regrole
        UNION ALL
        SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = %(schema)s AND p.proowner = %(role)s::regrole
        UNION ALL
        SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = %(schema)s AND t.typowner = %(role)s::regrole
              AND t.typrelid = 0 AND t.typelem = 0
        UNION ALL
        SELECT n.nspname FROM pg_namespace n
            WHERE n.nspname = %(schema)s AND n.nspowner = %(role)s::regrole
        ORDER BY 1 LIMIT 10
        """,
        {"schema": schema, "role": role},
    )
    owned = [name for (name,) in cursor.fetchall()]
    if owned:
        return (
            f"{role} owns {', '.join(owned)} in schema {schema}: an owner may alter, disable or "
            f"drop them. Give them to the owner role (REASSIGN OWNED BY {role} TO {owner}, as "
            "a superuser) and run migrations as the owner only."
        )
    cursor.execute(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
              AND NOT pg_has_role(current_user, c.relowner, 'USAGE')
        ORDER BY 1 LIMIT 10
        """,
        [schema],
    )
    foreign = [name for (name,) in cursor.fetchall()]
    if foreign:
        return (
            f"{owner} does not own {', '.join(foreign)}: run this command as the role that "
            "ran `migrate` (the owner of the tables)."
        )
    return None


def _existing(cursor, schema: str, tables: tuple[str, ...]) -> list[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = ANY(%s) ORDER BY 1",
        [schema, list(tables)],
    )
    return [name for (name,) in cursor.fetchall()]


def _counts(cursor, schema: str) -> tuple[int, int, int]:
    cursor.execute(
        """
        SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')),
               count(*) FILTER (WHERE c.relkind = 'S'),
               (SELECT count(*) FROM pg_proc p JOIN pg_namespace m ON m.oid = p.pronamespace
                    WHERE m.nspname = %(schema)s)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %(schema)s
        """,
        {"schema": schema},
    )
    return cursor.fetchone()
