"""The expiry jobs (D3, S4, S8, M2): every organisation with a lot, a hold or an inactivity
deadline past its time, each in a transaction of its own under its pool lock. The rule itself
is `credits.services.core.lazy_expiry`, which every operation also runs."""

import heapq
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain, islice

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from credits.models import ClientAccount, CreditPool, ExpiryKind, Hold, HoldStatus, LedgerEntry, Lot
from credits.services.core import (
    SPENDING_ORDER,
    Work,
    inactivity_deadline,
    insert_rows,
    next_expiries,
    settle_expiry,
    update_rows,
    write_settled,
)
from webhooks import events as webhook_events

BATCH = 200  # organisations in a transaction at most; how many is decided by the clock
FIRST_BATCH = 10  # the first batch, before the clock has measured the pace
LOCKED_SHARE = 100  # a batch holds at most 1 / LOCKED_SHARE of the organisations due
SMALLEST_BATCH = 5  # below this, a batch's fixed cost (its round trip, its commit) dominates
BATCH_SECONDS = 0.03  # how long a batch may keep its pools locked, debits waiting behind it
# After each batch the job rests as long as the batch took: it works half the time, so on a
# small machine it never takes a whole core from the debits beside it. On 2 cores, the
# debits' p99 was 2.4-2.8× idle while the job worked two thirds of the time, 1.0-1.4× at half
# (bench/RESULTS.md, "The batches in the database").
REST_RATIO = 1.0
PROGRESS_SECONDS = 10  # a long run says how far it got (a crash then shows where it stopped)

logger = logging.getLogger("portal.credits")


@dataclass(frozen=True)
class ExpiryRun:
    organisations: int
    holds_expired: int
    credits_expired: int
    batches: int = 0


def expire_due(*, now: datetime, batch: int = BATCH) -> ExpiryRun:
    """The expiry job: holds and lots past their time, and pools past their inactivity
    period, every organisation. Re-running it, or running two at once, expires each thing
    once (the pool lock and a re-read after it)."""
    return _run(now, batch, lots=True)


def expire_holds(*, now: datetime, batch: int = BATCH) -> ExpiryRun:
    """The frequent job: release holds past their expiry, so scheduled work that never ran
    gives its credits back within minutes (S2). The organisations it visits are brought up to
    date whole, lots included, as any operation would."""
    return _run(now, batch, lots=False)


def _run(now: datetime, batch: int, *, lots: bool) -> ExpiryRun:
    """Batches of organisations in order, each in one transaction (a crash leaves every
    organisation done or untouched; the next run finds the rest still due). Only due work is
    read: when nothing is due, a run is two cheap queries on partial indexes."""
    due = _due_organisations(now, lots=lots)
    # A debit waits when its organisation is in the batch being written: with few
    # organisations due, a batch takes at most 1 % of them (up to `batch` from 20,000 due).
    ahead = list(islice(due, LOCKED_SHARE * batch))
    most = min(batch, max(SMALLEST_BATCH, len(ahead) // LOCKED_SHARE))
    due = chain(ahead, due)
    total = ExpiryRun(0, 0, 0)
    size, reported = min(FIRST_BATCH, most), time.perf_counter()
    while organisation_ids := list(islice(due, size)):
        started = time.perf_counter()
        holds, credits = _expire_batch(organisation_ids, now)
        took = time.perf_counter() - started
        if len(organisation_ids) == size:  # not the last batch
            time.sleep(REST_RATIO * took)
        size = _next_size(len(organisation_ids), took, most)
        total = ExpiryRun(
            total.organisations + len(organisation_ids),
            total.holds_expired + holds,
            total.credits_expired + credits,
            total.batches + 1,
        )
        if time.perf_counter() - reported > PROGRESS_SECONDS:
            reported = time.perf_counter()
            logger.info(
                "expiry: %d organisations done so far, the rest after organisation #%d",
                total.organisations,
                organisation_ids[-1],
            )
    logger.info(
        "expiry (%s): %d organisations in %d batches, %d holds and %d credits expired; "
        "none left due",
        "lots and holds" if lots else "holds",
        total.organisations,
        total.batches,
        total.holds_expired,
        total.credits_expired,
    )
    return total


def _next_size(done: int, seconds: float, most: int) -> int:
    """As many organisations as fit in `BATCH_SECONDS` at the pace of the last batch, from
    `SMALLEST_BATCH` up to `most` (the run's largest): a debit of an organisation in the
    batch waits for the batch's commit, and a short batch keeps that wait short."""
    by_clock = int(BATCH_SECONDS * done / seconds) if seconds > 0 else most
    return max(min(SMALLEST_BATCH, most), min(most, by_clock))


def _due_organisations(now: datetime, *, lots: bool) -> Iterator[int]:
    """Every organisation with something due, by id, each once.

    The expiry job reads the pools whose next expiry has come (`next_expiry_at`, the lower
    bound every grant and hold keeps and `credits_debit` trusts too) and the pools past their
    inactivity deadline; the holds job, the holds past their expiry. Each source is one query
    for the whole run, by a partial index, read a chunk at a time (on PostgreSQL a cursor
    that outlives the batches' transactions): nothing due costs one short read each. Credits
    past their expiry that active holds reserve stay on their lots until the holds resolve;
    the pool's next expiry is then the holds', so the pool is not visited run after run."""
    if lots:
        sources = [
            _stream(
                CreditPool.objects.filter(next_expiry_at__lte=now)
                .order_by("pk")
                .values_list("pk", flat=True)
            ),
            iter(_past_inactivity(now)),
        ]
    else:
        sources = [
            _stream(
                Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=now)
                .values_list("organisation_id", flat=True)
                .distinct()
                .order_by("organisation_id")
            )
        ]
    last = None
    for organisation_id in heapq.merge(*sources):
        if organisation_id != last:
            yield organisation_id
            last = organisation_id


def _stream(rows: QuerySet) -> Iterator[int]:
    """PostgreSQL keeps the result on the server and hands it over in chunks; SQLite (the
    demo) reads it whole, since its cursors see the writes the batches make meanwhile."""
    if connection.vendor == "postgresql":
        return rows.iterator(chunk_size=2000)
    return iter(list(rows))


def _past_inactivity(now: datetime) -> list[int]:
    """Pools whose credits expire for want of use (D3), sorted. The database narrows them
    down by a bound a few days wide (its month arithmetic is not Python's at the ends of
    months); the policy's own rule (`inactivity_deadline`) decides."""
    pools = CreditPool.objects.filter(expiry_kind=ExpiryKind.INACTIVITY, balance__gt=0)
    found: list[int] = []
    policies = CreditPool.objects.filter(expiry_kind=ExpiryKind.INACTIVITY)
    for months in policies.order_by().values_list("expiry_months", flat=True).distinct():
        bound = now - relativedelta(months=months) + timedelta(days=4)
        candidates = pools.filter(expiry_months=months, last_activity_at__lte=bound)
        for pool in candidates.only(
            "organisation_id", "expiry_kind", "expiry_months", "last_activity_at"
        ).iterator(chunk_size=2000):
            if _inactive(pool, now):
                found.append(pool.pk)
    return sorted(found)


def _expire_batch(organisation_ids: list[int], now: datetime) -> tuple[int, int]:
    """One transaction for a batch of organisations, in the fixed lock order (their pools,
    by id; then their accounts, by id). Returns (holds expired, credits expired)."""
    if connection.vendor == "postgresql":
        return _expire_batch_in_database(organisation_ids, now)
    return _expire_batch_in_python(organisation_ids, now)


def _expire_batch_in_database(organisation_ids: list[int], now: datetime) -> tuple[int, int]:
    """The batch in one statement (`credits_expire`, credits/sql/credits_expire.sql, the SQL
    twin of `settle_expiry`), then one webhook event per organisation listening whose
    credits expired (B3), in the same transaction."""
    with transaction.atomic():
        # Asked first, so that only the lots of the organisations listening come back.
        listeners = list(webhook_events.listening_to_expiry(organisation_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT r_organisation, r_holds, r_credits, r_balance, listening,"
                " CASE WHEN listening THEN r_lots END,"
                " CASE WHEN listening THEN r_lot_credits END,"
                " CASE WHEN listening THEN r_lot_expiries END"
                " FROM credits_expire(%s::bigint[], %s) e,"
                " LATERAL (SELECT e.r_organisation = ANY (%s::bigint[]) AS listening) l",
                [organisation_ids, now, listeners],
            )
            changed = cursor.fetchall()
        for organisation_id, _holds, credits, balance, listening, *lots in changed:
            if listening and credits:  # lots: ids, credits expired, expiries
                webhook_events.credits_expired(
                    organisation_id=organisation_id,
                    lots=zip(*lots, strict=True),
                    balance=balance,
                    now=now,
                )
    return sum(row[1] for row in changed), sum(row[2] for row in changed)


def _expire_batch_in_python(organisation_ids: list[int], now: datetime) -> tuple[int, int]:
    """The batch on SQLite (the demo): the rule of `settle_expiry` applied to each pool in
    memory, everything written in a few statements."""
    with transaction.atomic():
        pools = list(
            CreditPool.objects.select_for_update().filter(pk__in=organisation_ids).order_by("pk")
        )
        holds = _by_organisation(
            Hold.objects.filter(
                organisation_id__in=organisation_ids,
                status=HoldStatus.ACTIVE,
                expires_at__lte=now,
            ).order_by("pk")
        )
        held_clients = [hold.client_id for due in holds.values() for hold in due]
        accounts = _by_organisation(
            ClientAccount.objects.select_for_update()
            .filter(
                Q(organisation_id__in=organisation_ids, assigned_remaining__gt=0)
                | Q(pk__in=held_clients)
            )
            .order_by("pk")
        )
        inactive = {pool.pk for pool in pools if _inactive(pool, now)}
        lots = _by_organisation(
            Lot.objects.filter(organisation_id__in=organisation_ids, live=True)
            .filter(Q(expires_at__lte=now) | Q(organisation_id__in=inactive))
            .order_by("organisation_id", *SPENDING_ORDER)
        )
        settled = []
        for pool in pools:
            work = Work(pool=pool, now=now)
            work.accounts = {account.pk: account for account in accounts.get(pool.pk, [])}
            before = {pk: (a.assigned_remaining, a.used) for pk, a in work.accounts.items()}
            one = settle_expiry(work, holds.get(pool.pk, []), lots.get(pool.pk, []), _noop)
            one.changed_accounts = [
                account
                for pk, account in work.accounts.items()
                if (account.assigned_remaining, account.used) != before[pk]
            ]
            settled.append(one)
        write_settled(settled, now)
        _write_figures(settled, now)
    return sum(len(one.holds) for one in settled), sum(one.credits for one in settled)


def _noop() -> None:
    """The batch locked every account with assigned credits before the rule ran."""


def _inactive(pool: CreditPool, now: datetime) -> bool:
    deadline = inactivity_deadline(pool)
    return deadline is not None and deadline <= now


def _by_organisation(rows: QuerySet) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.organisation_id, []).append(row)
    return grouped


def _write_figures(settled: list, now: datetime) -> None:
    """The pools' figures and next expiry, the accounts that changed, and the entries, in
    the order each organisation's operation would have written them."""
    organisation_ids = [one.work.pool.pk for one in settled]
    upcoming = next_expiries(organisation_ids, now)
    update_rows(
        CreditPool,
        ["balance", "held", "assigned", "next_expiry_at"],
        [
            (pool.pk, pool.balance, pool.held, pool.assigned, upcoming.get(pool.pk))
            for pool in (one.work.pool for one in settled)
        ],
    )
    update_rows(
        ClientAccount,
        ["assigned_remaining", "used"],
        [
            (account.pk, account.assigned_remaining, account.used)
            for one in settled
            for account in one.changed_accounts
        ],
    )
    insert_rows(LedgerEntry, [entry for one in settled for entry in one.work.entries])
