"""The ledger guard's gaps (issue 13, X1): TRUNCATE refused on every ledger table, a consumption's
credits fixed by a trigger and proven by `ledger_check`, and an application role that owns no
table, so that it can neither disable nor drop the guard.

The tests marked postgres need the PostgreSQL of `make test` (scripts/with-test-services), whose
`postgres` superuser is the owner of the tables, as the owner role is in production.
"""

from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection, connections, transaction
from django.utils import timezone

from credits import ratecards, services
from credits.audit import consumption_drift, ledger_drift
from credits.models import (
    Assignment,
    ClientAccount,
    Consumption,
    CreditPool,
    Hold,
    LedgerEntry,
    Lot,
)

pytestmark = pytest.mark.django_db

GUARDED = {
    "credits_ledgerentry": LedgerEntry,
    "credits_lot": Lot,
    "credits_consumption": Consumption,
    "credits_hold": Hold,
    "credits_creditpool": CreditPool,
    "credits_clientaccount": ClientAccount,
    "credits_assignment": Assignment,
}
APP_ROLE = "portal_app_test"


@pytest.fixture
def ledger(organisation, make_client, now):
    """Acme: two lots (60 expiring, 40 not), 20 assigned to a list, a 70-credit debit paid by
    both lots (the list's 20, then 50 of the pool), a hold of 10 captured as 7, a free action.
    Every guarded table has rows; 8 entries."""
    services.grant(
        organisation=organisation, credits=60, source="promotion", now=now,
        expires_at=now + timedelta(days=30),
    )  # fmt: skip
    services.grant(organisation=organisation, credits=40, source="purchase", now=now)
    listed = make_client("List")
    services.assign(organisation=organisation, client=listed, credits=20, now=now)
    debit = services.debit(client=listed, credits=70, action_code="export", now=now)
    own = organisation.clients.get(kind="own")
    held = services.hold(client=own, credits=10, expires_at=now + timedelta(days=1), now=now)
    captured = services.capture(hold=held, credits=7, now=now)
    free = services.debit(client=own, credits=0, action_code="look", now=now)
    return {"debit": debit, "captured": captured, "free": free}


def _counts() -> dict[str, int]:
    return {table: model.objects.count() for table, model in GUARDED.items()}


def _execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _pending_checks_done() -> None:
    """This test's rows were written in its own transaction, whose deferred foreign-key checks
    are still pending; PostgreSQL refuses a TRUNCATE before them ("pending trigger events"),
    so they run now, as a commit would."""
    _execute("SET CONSTRAINTS ALL IMMEDIATE")


def _figures_of(consumption: Consumption) -> tuple[int, int, int]:
    consumption.refresh_from_db()
    return consumption.credits, consumption.from_assigned, consumption.from_pool


# --- TRUNCATE -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("table", list(GUARDED))
def test_truncate_of_a_ledger_table_is_refused_and_its_rows_stay_x1(ledger, table):
    """Issue 13: TRUNCATE fires no row trigger, so it emptied the ledger in one statement.
    CASCADE too: it would otherwise reach past a foreign key that refuses the plain form."""
    # Given a ledger with rows in every guarded table
    before = _counts()
    assert all(before.values()), before
    _pending_checks_done()
    # When the table is truncated (with CASCADE, the strongest form)
    with (
        pytest.raises(Exception, match="the credit ledger is never truncated") as refused,
        transaction.atomic(),
    ):
        _execute(f"TRUNCATE {table} CASCADE")
    # Then the database refuses, naming a ledger table, and every row is still there
    assert "(table credits_" in str(refused.value)
    assert _counts() == before


@pytest.mark.postgres
def test_truncate_of_the_ledger_entries_names_the_table_x1(ledger):
    """Issue 13: the statement the issue ran, as it ran it."""
    # Given the ledger's entries
    entries = LedgerEntry.objects.count()
    _pending_checks_done()
    # When they are truncated
    with (
        pytest.raises(Exception, match=r"never truncated \(table credits_ledgerentry\)"),
        transaction.atomic(),
    ):
        _execute("TRUNCATE credits_ledgerentry")
    # Then they are all still there
    assert LedgerEntry.objects.count() == entries == 8


@pytest.mark.postgres
def test_truncating_the_organisations_with_cascade_is_refused_x1(ledger):
    """Issue 13: a cascade from another table reaches the ledger's tables and fires their
    guard."""
    before = _counts()
    _pending_checks_done()
    with (
        pytest.raises(Exception, match="the credit ledger is never truncated"),
        transaction.atomic(),
    ):
        _execute("TRUNCATE clients_organisation CASCADE")
    assert _counts() == before


@pytest.mark.postgres
def test_the_test_runs_flush_passes_the_guard_and_leaves_it_on_x1(ledger):
    """Issue 13: the flush after transactional tests (tests/conftest.py) empties every table,
    as a superuser with `session_replication_role = replica`; once done, the guard is on
    again in the same transaction."""
    # Given a ledger with rows
    assert LedgerEntry.objects.count() == 8
    _pending_checks_done()
    # When Django flushes every table, as after a transactional test
    tables = connection.introspection.django_table_names(only_existing=True)
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables))
    # Then every guarded table is empty
    assert set(_counts().values()) == {0}
    # And a TRUNCATE after it is refused again
    with (
        pytest.raises(Exception, match="the credit ledger is never truncated"),
        transaction.atomic(),
    ):
        _execute("TRUNCATE credits_ledgerentry")


# --- a consumption's credits ------------------------------------------------------------------


def test_the_database_refuses_to_change_a_consumptions_credits_x1(ledger):
    """Issue 13 (both databases): the raw UPDATE that ledger_check did not see is refused."""
    # Given a debit of 70 (20 assigned, 50 from the pool)
    debit = ledger["debit"]
    # When its credits are rewritten behind the services' back (funding too, as the CHECK
    # constraint requires)
    with (
        pytest.raises(Exception, match="immutable: its credits, funding"),
        transaction.atomic(),
    ):
        _execute(
            "UPDATE credits_consumption SET credits = credits + 5,"
            " from_pool = from_pool + 5 WHERE id = %s",
            [debit.pk],
        )
    # Then nothing changed
    assert _figures_of(debit) == (70, 20, 50)


def test_the_trigger_still_lets_a_deleted_persons_link_go_x1(ledger, make_user):
    """Issue 13: deleting a person sets its consumptions' actor to NULL (SET_NULL), an update
    of the consumption that must still pass."""
    # Given a consumption made by a person
    debit = ledger["debit"]
    person = make_user("ann")
    Consumption.objects.filter(pk=debit.pk).update(actor=person)
    # When the link is let go, as SET_NULL does
    Consumption.objects.filter(pk=debit.pk).update(actor=None)
    # Then the row changed, and its figures did not
    debit.refresh_from_db()
    assert (debit.actor_id, _figures_of(debit)) == (None, (70, 20, 50))


def _with_consumption_guard_off() -> None:
    """As the owner of the tables (or a superuser) can: the trigger off for this test's
    transaction only (PostgreSQL's ALTER TABLE and SQLite's DROP TRIGGER both roll back)."""
    if connection.vendor == "postgresql":
        _pending_checks_done()
        _execute("ALTER TABLE credits_consumption DISABLE TRIGGER USER")
    else:
        _execute("DROP TRIGGER IF EXISTS credits_consumption_figures_fixed")


def test_ledger_check_names_a_consumption_whose_credits_were_rewritten_x1(ledger, capsys):
    """Issue 13: the pool, lots and entries still agree, so only the consumption's own figure
    tells; ledger_check names the organisation, the consumption and both figures."""
    # Given a debit of 70 rewritten to 75, with the guard switched off by the tables' owner
    debit = ledger["debit"]
    _with_consumption_guard_off()
    _execute(
        "UPDATE credits_consumption SET credits = credits + 5, from_pool = from_pool + 5"
        " WHERE id = %s",
        [debit.pk],
    )
    # When the check runs
    with pytest.raises(CommandError, match=r"ledger drift: 1 figure\(s\) or link\(s\)"):
        call_command("ledger_check")
    # Then it names what drifted, with the figures
    assert (
        f"Acme (acme): consumption #{debit.pk} credits is 75, entries add up to 70"
        in capsys.readouterr().err
    )


def test_ledger_check_names_a_consumption_without_entries_x1(ledger, capsys):
    """Issue 13: a consumption of 7 written with no entry behind it (nothing was paid)."""
    # Given a consumption inserted behind the services' back
    own = ledger["free"].client
    forged = Consumption.objects.create(
        organisation_id=own.organisation_id, client=own, action_code="x", credits=7,
        from_pool=7, created_at=timezone.now(),
    )  # fmt: skip
    # When the check runs, then it names it
    with pytest.raises(CommandError, match="ledger drift: 1 figure"):
        call_command("ledger_check")
    assert (
        f"Acme (acme): consumption #{forged.pk} credits is 7, entries add up to 0"
        in capsys.readouterr().err
    )


def test_a_clean_ledger_has_no_consumption_drift_and_passes_ledger_check_x1(ledger, capsys):
    """Issue 13: debits paid by two lots, a partial capture (its entry without credits plus
    the lots') and a free action all add up: the new check raises no false alarm."""
    # Given the ledger of the fixture, written by the services
    # When the consumption check and the whole check run
    drift = consumption_drift()
    call_command("ledger_check")
    # Then neither finds anything
    assert drift == []
    assert "ledger clean" in capsys.readouterr().out


def test_the_consumption_check_is_one_query_whatever_the_number_of_consumptions_x1(
    ledger, django_assert_num_queries
):
    """Issue 13: set-based, one grouped query for every consumption (no query per row)."""
    # Given three consumptions, then 23 more
    with django_assert_num_queries(1):
        consumption_drift()
    own = ledger["free"].client
    for _ in range(20):
        services.debit(client=own, credits=1, action_code="export", now=timezone.now())
    assert Consumption.objects.count() == 23
    # When the check runs again, then it is still one query
    with django_assert_num_queries(1):
        assert consumption_drift() == []


def test_ledger_check_for_another_organisation_does_not_report_acmes_consumption_x1(
    ledger, make_organisation
):
    """Issue 13: the check scoped to organisations reads only theirs."""
    # Given Acme's debit rewritten, and another organisation
    other = make_organisation("other", name="Other")
    _with_consumption_guard_off()
    _execute(
        "UPDATE credits_consumption SET credits = 80, from_pool = 60 WHERE id = %s",
        [ledger["debit"].pk],
    )
    # When each organisation is checked, then only Acme's check names it
    assert ledger_drift([other.pk]) == []
    assert [str(d) for d in ledger_drift([ledger["debit"].organisation_id])] == [
        f"Acme (acme): consumption #{ledger['debit'].pk} credits is 80, entries add up to 70"
    ]


# --- the application's role ------------------------------------------------------------------


def test_grant_app_role_refuses_sqlite_which_has_no_roles():
    """Issue 13: the grant step is PostgreSQL's; on SQLite it says so and does nothing."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's answer")
    with pytest.raises(CommandError, match="grant_app_role is for PostgreSQL; this database is"):
        call_command("grant_app_role", APP_ROLE)


@pytest.fixture
def app_role(transactional_db):
    """A login role of the test server, dropped afterwards with what was granted to it (the
    test server trusts local connections: no password)."""
    _drop_role()
    _execute(f"CREATE ROLE {APP_ROLE} LOGIN")
    yield APP_ROLE
    _drop_role()


def _drop_role() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE])
        if cursor.fetchone():
            cursor.execute(f"DROP OWNED BY {APP_ROLE}")
            cursor.execute(f"DROP ROLE {APP_ROLE}")


def _connect_as(role: str) -> psycopg.Connection:
    config = connection.settings_dict
    return psycopg.connect(
        host=config["HOST"], port=config["PORT"], dbname=config["NAME"], user=role,
        autocommit=True,
    )  # fmt: skip


@contextmanager
def _django_connected_as(role: str):
    """The application as it runs in production: Django's default connection opened with the
    app role's DATABASE settings (everything the code does goes through it)."""
    original = connections["default"]
    as_role = original.__class__(
        {**original.settings_dict, "USER": role, "PASSWORD": ""}, alias="default"
    )
    connections["default"] = as_role
    ratecards.clear()
    try:
        yield as_role
    finally:
        ratecards.clear()
        as_role.close()
        connections["default"] = original


def _enabled_guards() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE c.relname LIKE 'credits%%' AND NOT t.tgisinternal AND t.tgenabled = 'O'"
            " ORDER BY 1"
        )
        return [name for (name,) in cursor.fetchall()]


def _function_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [name])
        return cursor.fetchone()[0] == 1


REFUSED = {
    "disable a trigger": (
        "ALTER TABLE credits_ledgerentry DISABLE TRIGGER credits_ledgerentry_immutable",
        "must be owner of table credits_ledgerentry",
    ),
    "disable every trigger": (
        "ALTER TABLE credits_consumption DISABLE TRIGGER ALL",
        "must be owner of table credits_consumption",
    ),
    "drop a trigger": (
        "DROP TRIGGER credits_ledgerentry_no_truncate ON credits_ledgerentry",
        "must be owner of",
    ),
    "drop the debit function": (
        "DROP FUNCTION credits_debit",
        "must be owner of function credits_debit",
    ),
    "replace a guard's function": (
        "CREATE OR REPLACE FUNCTION credits_refuse_entry_change() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$",
        "permission denied for schema public",
    ),
    "drop a CHECK": (
        "ALTER TABLE credits_consumption DROP CONSTRAINT consumption_funding_adds_up",
        "must be owner of table credits_consumption",
    ),
    "truncate": ("TRUNCATE credits_ledgerentry", "permission denied for table credits_ledgerentry"),
    "replica mode": (
        "SET session_replication_role = replica",
        'permission denied to set parameter "session_replication_role"',
    ),
    "create a table": ("CREATE TABLE credits_shadow (id int)", "permission denied for schema"),
    "record a migration": (
        "INSERT INTO django_migrations (app, name, applied) VALUES ('credits', 'x', now())",
        "permission denied for table django_migrations",
    ),
}


@pytest.mark.postgres
@pytest.mark.parametrize(("statement", "error"), list(REFUSED.values()), ids=list(REFUSED))
def test_the_app_role_cannot_switch_the_ledger_guard_off_issue_13(app_role, statement, error):
    """Issue 13: after the grant step the application's role owns nothing, so PostgreSQL
    refuses it every change of the schema and the statements that skip triggers."""
    # Given the grant step run by the tables' owner after migrate
    call_command("grant_app_role", app_role)
    guards = _enabled_guards()
    assert {"credits_ledgerentry_immutable", "credits_ledgerentry_no_truncate"} <= set(guards)
    # When the application's role tries
    with (
        _connect_as(app_role) as as_role,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match=error),
    ):
        as_role.execute(statement)
    # Then every guard is still on, and the debit function still there
    assert _enabled_guards() == guards
    assert _function_exists("credits_debit")


def _open_organisation(now):
    """An organisation with an owner, the demo's catalogue and a card on file."""
    from django.contrib.auth import get_user_model

    from clients import services as client_services
    from demo.catalogue import install_catalogue, set_up_billing

    install_catalogue()
    owner = get_user_model().objects.create_user("owner", password="a-long-test-password")
    organisation = client_services.create_organisation(
        name="Acme", slug="acme", owner=owner, preset="crm"
    )
    set_up_billing(organisation, None, enterprise=False, now=now)
    return organisation, owner


@pytest.mark.postgres
def test_the_app_role_buys_consumes_holds_and_serves_pages_and_the_api_issue_13(app_role, client):
    """Issue 13: what the web processes do needs rows, sequences and functions only. Through
    a Django connection opened as the app role: an organisation opened, a card purchase
    (invoice, PDF task, payment, credits), priced consumes through the prepared
    `credits_debit` statement, a hold captured, a portal page, an API consume with its
    Idempotency-Key replayed, and ledger_check."""
    from api import keycache
    from api import services as api_services
    from billing import services as billing_services

    call_command("grant_app_role", app_role)
    now = timezone.now()
    with _django_connected_as(app_role) as db:
        # Given an organisation opened and its billing set up, as the app role
        organisation, owner = _open_organisation(now)
        own = organisation.clients.get(kind="own")
        # When it buys 120 credits by card, consumes an action twice, holds and captures
        bought = billing_services.purchase(
            organisation=organisation, now=now, method="card", credits=120
        )
        services.consume(client=own, action="ai_summary", now=now)  # warms the rate card
        services.consume(client=own, action="ai_summary", now=now)
        held = services.hold(client=own, credits=5, expires_at=now + timedelta(hours=1), now=now)
        services.capture(hold=held, now=now)
        # And serves the home page and an API consume, retried with the same key
        client.force_login(owner)
        home = client.get("/o/acme/")
        keycache.clear()
        secret = api_services.create_key(
            organisation=organisation, name="app", scope="write", now=now, actor=owner
        ).secret
        headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}", "HTTP_IDEMPOTENCY_KEY": "k-1"}
        answers = [
            client.post(
                "/api/v1/consumptions/", {"action": "ai_summary"},
                content_type="application/json", **headers,
            )
            for _ in range(2)
        ]  # fmt: skip
        keycache.clear()
        # Then each succeeded, as that role, and the ledger adds up
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, name FROM pg_prepared_statements WHERE name = 'credits_debit'"
            )
            assert cursor.fetchall() == [(app_role, "credits_debit")]
        assert bought.status == "paid"
        assert (home.status_code, [a.status_code for a in answers]) == (200, [201, 201])
        assert answers[0].json()["id"] == answers[1].json()["id"]
        assert ledger_drift() == []
        spent = list(
            Consumption.objects.filter(organisation=organisation).values_list("credits", flat=True)
        )
        assert len(spent) == 4
        assert CreditPool.objects.get(pk=organisation.pk).balance == 120 - sum(spent)


@pytest.mark.postgres
def test_the_app_role_runs_every_periodic_job_issue_13(app_role):
    """Issue 13: what the worker processes do needs no more: every task of the beat schedule
    (expiry, resets, usage roll-up with its INSERT … SELECT, ledger_check, reminders, alerts,
    renewals, sweeps, top-ups, webhooks, clean-ups) runs as the app role over an organisation
    with history."""
    from django.conf import settings

    from billing import services as billing_services
    from config.celery import app

    call_command("grant_app_role", app_role)
    now = timezone.now()
    with _django_connected_as(app_role):
        # Given an organisation with a purchase and consumptions, as the app role
        organisation, _owner = _open_organisation(now)
        billing_services.purchase(organisation=organisation, now=now, method="card", credits=120)
        services.consume(client=organisation.clients.get(kind="own"), action="ai_summary", now=now)
        app.loader.import_default_modules()
        # When every periodic task runs
        ran, failed = [], {}
        for entry in settings.CELERY_BEAT_SCHEDULE.values():
            result = app.tasks[entry["task"]].apply(args=entry.get("args", ()))
            ran.append(entry["task"])
            if not result.successful():
                failed[entry["task"]] = repr(result.result)
        # Then none failed (17 tasks when issue 13 was done)
        assert failed == {}
        assert len(ran) >= 17


@pytest.mark.postgres
def test_grant_app_role_covers_tables_of_later_migrations_and_runs_twice_issue_13(app_role):
    """Issue 13: default privileges grant rows (not TRUNCATE) of what the owner creates later;
    running the step again changes nothing."""
    # Given the grant step run twice
    call_command("grant_app_role", app_role)
    call_command("grant_app_role", app_role)
    try:
        # When a later migration (the owner) creates a table
        _execute("CREATE TABLE credits_later (id bigint GENERATED BY DEFAULT AS IDENTITY)")
        # Then the app role writes and reads its rows, and cannot truncate it
        with _connect_as(app_role) as as_role:
            as_role.execute("INSERT INTO credits_later DEFAULT VALUES")
            assert as_role.execute("SELECT count(*) FROM credits_later").fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                as_role.execute("TRUNCATE credits_later")
    finally:
        _execute("DROP TABLE IF EXISTS credits_later")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("setup", "refusal"),
    [
        (f"ALTER ROLE {APP_ROLE} SUPERUSER", "is a superuser or may create roles"),
        (f"ALTER ROLE {APP_ROLE} CREATEROLE", "is a superuser or may create roles"),
        (
            f"CREATE TABLE credits_owned (id int); ALTER TABLE credits_owned OWNER TO {APP_ROLE}",
            f"{APP_ROLE} owns credits_owned in schema public",
        ),
        (f"GRANT postgres TO {APP_ROLE}", r"is \(or is a member of\) postgres, the role"),
    ],
    ids=["superuser", "createrole", "owns a table", "member of the owner"],
)
def test_grant_app_role_refuses_a_role_that_could_switch_the_guard_off_issue_13(
    app_role, setup, refusal
):
    """Issue 13: a role that keeps such a power is refused before anything is granted."""
    # Given a role that could alter the tables whatever it is granted
    try:
        _execute(setup)
        # When the grant step runs, then it refuses and grants nothing
        with pytest.raises(CommandError, match=refusal):
            call_command("grant_app_role", app_role)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a"
                " WHERE a.grantee = %s::regrole",
                [app_role],
            )
            assert cursor.fetchone() == (0,)
    finally:
        _execute("DROP TABLE IF EXISTS credits_owned")


@pytest.mark.postgres
def test_grant_app_role_refuses_a_role_that_does_not_exist_issue_13(transactional_db):
    with pytest.raises(CommandError, match="There is no role portal_app_missing: create it"):
        call_command("grant_app_role", "portal_app_missing")
