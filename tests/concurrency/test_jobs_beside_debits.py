"""Debits keep going while the expiry job works through 10,000 organisations (issue 15, X2).

The job locks a batch of pools at a time, so a debit on an organisation of the batch being
expired waits for that batch only, never for the run. Proven on PostgreSQL with real threads,
each on its own connection.
"""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.db.models import Sum

from clients.models import Client
from credits import services
from credits.audit import ledger_drift
from credits.models import CreditPool, LedgerEntry
from credits.services import expiry

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ORGANISATIONS = 10_000
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

# Each organisation: its own client; 100 credits in two lots of 50, one past its expiry at
# NOW, one that never expires; the pool says an expiry is due. As the services would write it.
BUILD = [
    """INSERT INTO clients_organisation (id, name, slug, currency, time_zone, language,
        created_at, client_kind, clients_choose_access)
    SELECT %(o0)s + i, 'Busy ' || i, 'busy-' || i, 'EUR', 'Europe/Paris', 'en',
        %(then)s, 'customer', false FROM generate_series(1, %(n)s) i""",
    """INSERT INTO clients_client (id, name, kind, access_mode, is_active, created_at,
        organisation_id, external_id)
    SELECT %(c0)s + i, 'Busy ' || i, 'own', 'campus', true, %(then)s, %(o0)s + i, ''
    FROM generate_series(1, %(n)s) i""",
    """INSERT INTO credits_creditpool (organisation_id, balance, held, assigned,
        last_activity_at, preset, expiry_kind, expiry_months, purchase_extends_expiry,
        assignments_reversible, clients_draw_from_pool, reminder_days, low_balance_threshold,
        next_expiry_at, second_reminder_days, rate_card_version)
    SELECT %(o0)s + i, 100, 0, 0, %(then)s, 'custom', 'never', 12, false, true, true, 30, 0,
        %(due)s, 7, 0 FROM generate_series(1, %(n)s) i""",
    """INSERT INTO credits_clientaccount (client_id, assigned_remaining, draws_from_pool,
        limit_kind, "limit", used, window_start, organisation_id)
    SELECT %(c0)s + i, 0, true, 'none', NULL, 0, NULL, %(o0)s + i
    FROM generate_series(1, %(n)s) i""",
    """INSERT INTO credits_lot (id, source, quantity, remaining, expires_at, unit_cost,
        reference, created_at, organisation_id)
    SELECT %(l0)s + 2 * i + j, 'purchase', 50, 50, CASE WHEN j = 0 THEN %(due)s END, NULL, '',
        %(then)s + j * interval '1 minute', %(o0)s + i
    FROM generate_series(1, %(n)s) i, generate_series(0, 1) j""",
    """INSERT INTO credits_ledgerentry (kind, credits, held_delta, assigned_delta, used_delta,
        balance_after, reference, idempotency_key, created_at, organisation_id, lot_id)
    SELECT 'grant', 50, 0, 0, 0, 50 * (j + 1), '', '', %(then)s + j * interval '1 minute',
        %(o0)s + i, %(l0)s + 2 * i + j
    FROM generate_series(1, %(n)s) i, generate_series(0, 1) j ORDER BY i, j""",
]


def build_busy_organisations() -> list[int]:
    """Written with set-based SQL: 10,000 organisations through the services take minutes."""
    with connection.cursor() as cursor:
        starts = {}
        for key, table in (
            ("o0", "clients_organisation"),
            ("c0", "clients_client"),
            ("l0", "credits_lot"),
        ):
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            starts[key] = cursor.fetchone()[0]
        values = {
            **starts,
            "n": ORGANISATIONS,
            "then": NOW - timedelta(days=40),
            "due": NOW - timedelta(hours=1),
        }
        for statement in BUILD:
            cursor.execute(statement, values)
        for table in ("clients_organisation", "clients_client", "credits_lot"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}"
            )
    return list(
        Client.objects.filter(name__startswith="Busy ").order_by("pk").values_list("pk", flat=True)
    )


def test_debits_beside_the_expiry_job_wait_one_batch_at_most_and_none_fails():
    """Issue 15, X2: 4 threads debit organisations across the whole range while the job
    expires 10,000 organisations' lots: every debit goes through, none waits longer than the
    longest batch took, and the ledger adds up."""
    # Given 10,000 organisations with a lot due to expire
    clients = build_busy_organisations()
    batch_times: list[float] = []
    real_batch = expiry._expire_batch

    def timed_batch(organisation_ids, now):
        started = time.perf_counter()
        try:
            return real_batch(organisation_ids, now)
        finally:
            batch_times.append(time.perf_counter() - started)

    expiry._expire_batch = timed_batch
    stop = threading.Event()
    waits: list[float] = []
    failures: list[BaseException] = []

    def debit_many(offset: int) -> None:
        try:
            # every 97th organisation from a different start: the whole range, batch by batch
            for index in range(offset, len(clients), 97):
                if stop.is_set():
                    return
                client = Client.objects.select_related("organisation").get(pk=clients[index])
                started = time.perf_counter()
                services.debit(client=client, credits=1, action_code="beside", now=NOW)
                waits.append(time.perf_counter() - started)
        except BaseException as error:
            failures.append(error)
        finally:
            connections.close_all()

    # When the job runs while 4 threads debit
    threads = [threading.Thread(target=debit_many, args=(offset,)) for offset in range(4)]
    try:
        for thread in threads:
            thread.start()
        run = services.expire_due(now=NOW)
    finally:
        expiry._expire_batch = real_batch
        stop.set()
        for thread in threads:
            thread.join()
    # Then every organisation was expired once (by the job, or by a debit that came first and
    # found its expiry due), every debit went through, and none waited longer than the
    # longest batch (plus the time a debit takes on this machine)
    assert failures == []
    assert LedgerEntry.objects.filter(kind="expiry").count() == ORGANISATIONS
    assert run.organisations > ORGANISATIONS // 2  # the job, not the debits, did most
    balances = CreditPool.objects.filter(organisation__clients__pk__in=clients)
    assert balances.aggregate(total=Sum("balance"))["total"] == ORGANISATIONS * 50 - len(waits)
    assert len(waits) > 100
    assert max(waits) < max(batch_times) + 0.5, (max(waits), max(batch_times))
    assert ledger_drift() == []
