"""The debit as one statement on PostgreSQL: `credits_debit` (credits/sql/credits_debit.sql;
the versions before it are in credits/sql/history/).

Why: through the ORM a debit is ten round trips with the pool lock held across all of them,
which capped one busy organisation at ~160 debits a second (bench/RESULTS.md). In one
statement the lock is held only while the server runs the function, and, outside a
transaction, the statement commits itself: one round trip in all.

The Python path in `spending.py` stays the reference: SQLite runs it, and PostgreSQL runs it
whenever the function hands the debit back (expiry due: the Python path owns expiry).
A differential test runs both on the same histories and compares every row they write.

`consume` takes this path too: it prices from the per-process rate-card cache and passes the
quote it claims and the card's version, which the function checks under the pool lock.
"""

import json
import weakref
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.translation import gettext as _
from psycopg import OperationalError
from psycopg.errors import InvalidSqlStatementName, error_from_result
from psycopg.pq import ConnStatus, ExecStatus

from clients.models import Client
from credits.exceptions import (
    AssignmentExhausted,
    InsufficientCredits,
    LimitExceeded,
    QuoteUsed,
)
from credits.models import Consumption
from credits.periods import month_start
from credits.ratecards import Repriced
from credits.services.core import User, conflict

ARGUMENT_TYPES = (
    "bigint",  # organisation
    "bigint",  # client
    "bigint",  # credits
    "varchar",  # action code
    "varchar",  # description
    "jsonb",  # parameters
    "integer",  # actor
    "varchar",  # idempotency key
    "varchar",  # fingerprint
    "timestamptz",  # now
    "timestamptz",  # start of the month in the organisation's zone
    "bigint",  # the quote claimed, or NULL
    "bigint",  # the rate-card version priced at, or NULL (not checked)
)
ANSWER = "outcome, result_id, from_assigned, from_pool, needed, available, limit_credits"
# Through a Django cursor (inside a transaction, or while queries are observed).
DEBIT_SQL = f"SELECT {ANSWER} FROM credits_debit({', '.join(f'%s::{t}' for t in ARGUMENT_TYPES)})"
# Prepared once per connection and run through libpq. Called as a value rather than as a
# table (FROM), the function answers one record and the server skips a function scan: building
# the result's row type from the catalogue and a tuplestore, a twentieth of its work per debit.
PREPARED_NAME = b"credits_debit"
PREPARED_SQL = (
    "SELECT credits_debit(" + ", ".join(f"${n}::{t}" for n, t in enumerate(ARGUMENT_TYPES, 1)) + ")"
).encode()
CONSUMPTION_COLUMNS = [field.attname for field in Consumption._meta.concrete_fields]

# The psycopg connections on which the statement is prepared (gone with the connection).
_prepared: "weakref.WeakSet[object]" = weakref.WeakSet()


def database() -> BaseDatabaseWrapper | None:
    """The connection to debit through, when it has the function (PostgreSQL) and the setting
    allows it; None otherwise."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql" and settings.CREDITS_DEBIT_IN_DATABASE:
        return db
    return None


def _execute(db: BaseDatabaseWrapper, arguments: list[str | None]) -> tuple:
    """Run the debit statement and return its row as (outcome, then integers or None).

    Outside a transaction, with nobody observing queries, the statement is prepared once per
    connection and run through psycopg's libpq layer: one call into C that sends it and waits
    for the answer. A psycopg cursor around the same round trip spent about a quarter of a
    debit's CPU on the client (bench/RESULTS.md), CPU the database does not get when both
    share a machine. Inside a transaction (`atomic`) the statement goes through a Django
    cursor, which lets psycopg open the transaction it owes the block; so it does while anyone
    observes queries (DEBUG, `execute_wrapper`, `CaptureQueriesContext`), so that they see it.
    Both ways check what `BaseDatabaseWrapper.cursor()` checks, and turn driver errors into
    Django's."""
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    if db.queries_logged or db.execute_wrappers or not db.get_autocommit():
        db.validate_no_broken_transaction()
        with db.cursor() as cursor:
            cursor.execute(DEBIT_SQL, arguments)
            return cursor.fetchone()
    with db.wrap_database_errors:
        return _run_prepared(db.connection, [None if a is None else a.encode() for a in arguments])


def _run_prepared(connection: psycopg.Connection, arguments: list[bytes | None]) -> tuple:
    pgconn = connection.pgconn
    if connection not in _prepared:
        result = pgconn.prepare(PREPARED_NAME, PREPARED_SQL)
        if result.status != ExecStatus.COMMAND_OK:
            raise error_from_result(result, encoding=connection.info.encoding)
        _prepared.add(connection)
    result = pgconn.exec_prepared(PREPARED_NAME, arguments)
    if result.status != ExecStatus.TUPLES_OK:
        if pgconn.status == ConnStatus.BAD:
            raise OperationalError(pgconn.get_error_message(connection.info.encoding))
        error = error_from_result(result, encoding=connection.info.encoding)
        if isinstance(error, InvalidSqlStatementName):
            _prepared.discard(connection)  # the server forgot it (DISCARD ALL): prepare again
            return _run_prepared(connection, arguments)
        raise error
    return _answer(result.get_value(0, 0))


def _answer(record: bytes) -> tuple:
    """The function's answer from its text form, e.g. b"(debited,42,0,7,,,)": an outcome (one
    of a few plain words, which the record never quotes) and six integers or NULLs (empty)."""
    outcome, *numbers = record[1:-1].decode().split(",")
    return (outcome, *(int(number) if number else None for number in numbers))


def debit_in_database(
    db: BaseDatabaseWrapper,
    *,
    client: Client,
    credits: int,
    action_code: str,
    now: datetime,
    description: str,
    params: dict,
    actor: User,
    idempotency_key: str,
    fingerprint: str,
    quote_id: int | None = None,
    rate_card_version: int | None = None,
) -> Consumption | None:
    """The consumption, or None when the Python path must do the debit (expiry is due).
    Refusals raise the same errors as the Python path, and nothing is written.

    Every argument is turned into text once, here; `client.organisation` must come loaded
    with the client (a view's `select_related`), or reading it costs a query."""
    organisation = client.organisation
    actor_id = actor.pk if actor is not None else None
    outcome, result_id, from_assigned, from_pool, needed, short_of, limit = _execute(
        db,
        [
            str(organisation.pk),
            str(client.pk),
            str(credits),
            action_code,
            description,
            json.dumps(params) if params else "{}",
            None if actor_id is None else str(actor_id),
            idempotency_key,
            fingerprint,
            now.isoformat(),
            month_start(now, organisation.time_zone).isoformat(),
            None if quote_id is None else str(quote_id),
            None if rate_card_version is None else str(rate_card_version),
        ],
    )
    if outcome == "debited":
        row = {
            "id": result_id,
            "organisation_id": organisation.pk,
            "client_id": client.pk,
            "action_code": action_code,
            "description": description,
            "params": params,
            "credits": credits,
            "from_assigned": from_assigned,
            "from_pool": from_pool,
            "hold_id": None,
            "actor_id": actor_id,
            "created_at": now,
        }
        # As the ORM would load it, the written row (a third of the cost of __init__).
        consumption = Consumption.from_db(
            db.alias, CONSUMPTION_COLUMNS, [row[name] for name in CONSUMPTION_COLUMNS]
        )
        Consumption.client.field.set_cached_value(consumption, client)
        return consumption
    if outcome == "replayed":
        return Consumption.objects.get(pk=result_id)
    if outcome == "expiry_due":
        return None
    if outcome == "repriced":
        raise Repriced()
    if outcome == "quote_used":
        raise QuoteUsed(_("This quote was already used."))
    if outcome == "conflict":
        raise conflict(idempotency_key)
    if outcome == "assignment_exhausted":
        raise AssignmentExhausted(needed=needed, assigned=short_of)
    if outcome in ("insufficient", "lots_short"):
        raise InsufficientCredits(needed=needed, available=short_of)
    if outcome == "limit_exceeded":
        raise LimitExceeded(needed=needed, left=short_of, limit=limit)
    raise RuntimeError(f"credits_debit answered an unknown outcome: {outcome!r}")
