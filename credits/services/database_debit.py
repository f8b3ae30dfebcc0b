"""The debit as one statement on PostgreSQL: `credits_debit` (migration 0008).

Why: through the ORM a debit is ten round trips with the pool lock held across all of them,
which capped one busy organisation at ~160 debits a second (bench/RESULTS.md). In one
statement the lock is held only while the server runs the function, and, outside a
transaction, the statement commits itself: one round trip in all.

The Python path in `spending.py` stays the reference: SQLite runs it, and PostgreSQL runs it
whenever the function hands the debit back (expiry due: the Python path owns expiry).
A differential test runs both on the same histories and compares every row they write.
"""

import weakref
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from clients.models import Client
from credits.exceptions import (
    AssignmentExhausted,
    InsufficientCredits,
    LimitExceeded,
)
from credits.models import Consumption
from credits.periods import month_start
from credits.services.core import User, _conflict

DEBIT_SQL = (
    "SELECT outcome, result_id, from_assigned, from_pool, needed, available, limit_credits"
    " FROM credits_debit(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
CONSUMPTION_COLUMNS = [field.attname for field in Consumption._meta.concrete_fields]

# One server-binding cursor per open psycopg connection, kept while the connection lives.
_cursors: "weakref.WeakKeyDictionary[object, object]" = weakref.WeakKeyDictionary()


def database() -> BaseDatabaseWrapper | None:
    """The connection to debit through, when it has the function (PostgreSQL) and the setting
    allows it; None otherwise."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql" and settings.CREDITS_DEBIT_IN_DATABASE:
        return db
    return None


def _execute(db: BaseDatabaseWrapper, params: tuple) -> tuple:
    """Run the debit statement and return its row.

    It runs on a server-binding cursor so that it is prepared once per connection (the
    `prepare_threshold` in settings) rather than parsed and planned on every call; the ORM's
    client-binding cursors are never prepared. While anyone observes queries (DEBUG,
    `connection.execute_wrapper`, `CaptureQueriesContext`) it goes through a Django cursor so
    they see it; otherwise one cursor is kept per connection, which spares a third of the
    Python time of a debit. Both ways check what `BaseDatabaseWrapper.cursor()` and
    `CursorWrapper.execute()` check, and turn driver errors into Django's."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    if db.queries_logged or db.execute_wrappers:
        with db.wrap_database_errors:
            cursor = db._prepare_cursor(ServerBindingCursor(db.connection))
        with cursor:
            cursor.execute(DEBIT_SQL, params)
            return cursor.fetchone()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        cursor = _cursors.get(db.connection)
        if cursor is None or cursor.closed:
            cursor = _cursors[db.connection] = ServerBindingCursor(db.connection)
        cursor.execute(DEBIT_SQL, params)
        return cursor.fetchone()


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
) -> Consumption | None:
    """The consumption, or None when the Python path must do the debit (expiry is due).
    Refusals raise the same errors as the Python path, and nothing is written."""
    from psycopg.types.json import Jsonb

    organisation = client.organisation
    actor_id = actor.pk if actor is not None else None
    outcome, result_id, from_assigned, from_pool, needed, short_of, limit = _execute(
        db,
        (
            organisation.pk,
            client.pk,
            credits,
            action_code,
            description,
            Jsonb(params),
            actor_id,
            idempotency_key,
            fingerprint,
            now,
            month_start(now, organisation.time_zone),
        ),
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
    if outcome == "conflict":
        raise _conflict(idempotency_key)
    if outcome == "assignment_exhausted":
        raise AssignmentExhausted(needed=needed, assigned=short_of)
    if outcome in ("insufficient", "lots_short"):
        raise InsufficientCredits(needed=needed, available=short_of)
    if outcome == "limit_exceeded":
        raise LimitExceeded(needed=needed, left=short_of, limit=limit)
    raise RuntimeError(f"credits_debit answered an unknown outcome: {outcome!r}")
