"""Assignments to clients (G3, G4, S5) and spending limits (D4)."""

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from clients.models import Client, ClientKind, Organisation
from credits import bounds
from credits.exceptions import (
    ForeignClient,
    InsufficientCredits,
    InvalidAmount,
    NotReassignable,
)
from credits.models import (
    Assignment,
    AssignmentKind,
    ClientAccount,
    CreditPool,
    EntryKind,
    Hold,
    HoldStatus,
    LedgerEntry,
    LimitKind,
)
from credits.periods import month_start, monthly_window_restart
from credits.services.core import (
    User,
    Work,
    check_credits,
    check_key,
    insert_rows,
    locked_operation,
    refuse_inactive,
    restart_window,
    update_rows,
)


def _check_texts(reference: str, idempotency_key: str) -> None:
    """The reference is kept by the assignment (200 characters) and its entry."""
    bounds.check_text(reference, bounds.REFERENCE_LENGTH, _("A reference"))
    check_key(idempotency_key)


def assign(
    *,
    organisation: Organisation,
    client: Client,
    credits: int,
    now: datetime,
    reference: str = "",
    comment: str = "",
    actor: User = None,
    idempotency_key: str = "",
) -> Assignment:
    """Move unassigned credits to one client of the same organisation (S7)."""
    if client.organisation_id != organisation.pk:
        raise ForeignClient(_("Credits cannot move to another organisation's client."))
    return _move_assignment(
        AssignmentKind.ASSIGN,
        _refuse_assign,
        client=client,
        credits=credits,
        now=now,
        reference=reference,
        comment=comment,
        actor=actor,
        idempotency_key=idempotency_key,
    )


def unassign(
    *,
    organisation: Organisation,
    client: Client,
    credits: int,
    now: datetime,
    reference: str = "",
    comment: str = "",
    actor: User = None,
    idempotency_key: str = "",
) -> Assignment:
    """Take assigned credits back to the pool, where the organisation's policy allows it (the
    serious-game preset never does, G3)."""
    if client.organisation_id != organisation.pk:
        raise ForeignClient(_("This client belongs to another organisation."))
    return _move_assignment(
        AssignmentKind.UNASSIGN,
        _refuse_unassign,
        client=client,
        credits=credits,
        now=now,
        reference=reference,
        comment=comment,
        actor=actor,
        idempotency_key=idempotency_key,
    )


def _refuse_assign(work: Work, client: Client, credits: int) -> None:
    refuse_inactive(client)
    unassigned = work.pool.balance - work.pool.held - work.pool.assigned
    if credits > unassigned:
        raise InsufficientCredits(needed=credits, available=unassigned)


def _refuse_unassign(work: Work, client: Client, credits: int) -> None:
    if not work.pool.assignments_reversible:
        raise NotReassignable(_("Assigned credits cannot be taken back in this organisation."))
    account = work.account(client.pk)
    if credits > account.assigned_remaining:
        raise InsufficientCredits(needed=credits, available=account.assigned_remaining)


def _move_assignment(
    kind: str,
    refuse: Callable[[Work, Client, int], None],
    *,
    client: Client,
    credits: int,
    now: datetime,
    reference: str,
    comment: str,
    actor: User,
    idempotency_key: str,
) -> Assignment:
    """Both directions are one operation: the same key, checks and entries; only what each
    refuses differs (`refuse`, which reads the figures under the lock)."""
    check_credits(credits)
    _check_texts(reference, idempotency_key)
    with locked_operation(
        client.organisation_id,
        now=now,
        actor=actor,
        key=idempotency_key,
        operation=kind,
        inputs={"client": client.pk, "credits": credits, "reference": reference},
    ) as operation:
        if operation.replayed is not None:
            return Assignment.objects.get(pk=operation.replayed)
        work = operation.work
        refuse(work, client, credits)
        delta = credits if kind == AssignmentKind.ASSIGN else -credits
        account = work.account(client.pk)
        account.assigned_remaining += delta
        work.pool.assigned += delta
        assignment = operation.result = Assignment.objects.create(
            organisation_id=work.pool.pk,
            client=client,
            kind=kind,
            credits=credits,
            reference=reference,
            comment=comment,
            actor=work.actor,
            created_at=work.now,
        )
        entry_kind = EntryKind.ASSIGN if kind == AssignmentKind.ASSIGN else EntryKind.UNASSIGN
        work.entry(
            entry_kind,
            client_id=client.pk,
            assignment_id=assignment.pk,
            assigned_delta=delta,
            reference=reference,
        )
    return assignment


def set_spending_limit(
    *,
    client: Client,
    kind: str,
    now: datetime,
    limit: int | None = None,
    draws_from_pool: bool | None = None,
    actor: User = None,
) -> ClientAccount:
    """Set what a client may draw from the pool (D4, S5). Switching between monthly and fixed
    (or from none) starts a new window with the used counter at 0 — plus whatever the client's
    active holds still reserve, which will be spent in the new window. Without a limit nothing
    is counted: the counter goes to 0."""
    if kind not in LimitKind.values:
        raise InvalidAmount(_("Unknown kind of spending limit: %s") % kind)
    if kind == LimitKind.NONE:
        limit = None
    else:
        check_credits(limit, allow_zero=True)
    with locked_operation(client.organisation_id, now=now, actor=actor) as operation:
        work = operation.work
        account = work.account(client.pk)
        if kind != account.limit_kind:
            start = month_start(now, client.organisation.time_zone) if kind == "monthly" else now
            restart_window(work, account, start, counting=kind != LimitKind.NONE)
        account.limit_kind = kind
        account.limit = limit
        if draws_from_pool is not None:
            account.draws_from_pool = draws_from_pool or client.kind == ClientKind.OWN
        account.save(update_fields=["limit_kind", "limit", "draws_from_pool"])
    return account


RESET_BATCH = 1000  # accounts per transaction: their pools stay locked this long at most

logger = logging.getLogger("portal.credits")


def reset_monthly(*, now: datetime, batch: int = RESET_BATCH) -> int:
    """The monthly job: monthly limits whose window started before this month (in each
    organisation's time zone) start a new one. Returns how many.

    In batches of accounts, each in one transaction: pools by id, then accounts by id (the
    fixed order), the rule of `restart_window` applied in memory, then one UPDATE of the
    accounts and one INSERT of their entries. A window is its account's own, so the unit of
    work is the account: each is reset whole or not at all, and an organisation of 100,000
    lists keeps spending between batches. Re-running it, or a crash and a new run, resets
    each window once (the window moves past the month's start). Only due work is read: the
    accounts are found by the partial index on monthly windows."""
    starts: dict[str, datetime] = {}  # this month's start in each zone met
    done = batches = 0
    for rows in _monthly_candidates(before=_earliest_month_start(now), batch=batch):
        due = []
        for pk, start, zone in rows:
            if zone not in starts:
                starts[zone] = month_start(now, zone)
            if start is None or start < starts[zone]:
                due.append((pk, starts[zone]))
        done += _reset_batch(due, now) if due else 0
        batches += 1
        if batches % 100 == 0:  # a long run says how far it got
            logger.info("monthly reset: %d windows restarted so far", done)
    logger.info("monthly reset: %d windows restarted in %d batches, none left due", done, batches)
    return done


# The zones whose month starts first (UTC+14) and last (UTC-12): the month starts of every
# zone in use lie between theirs.
FIRST_AND_LAST_ZONES = ("Pacific/Kiritimati", "Etc/GMT+12")


def _earliest_month_start(now: datetime) -> datetime:
    """A moment no zone's current month starts before, read without the organisations' zones
    (100,000 organisations would cost a scan every run).

    A window always starts at a month's start in its organisation's zone (set there by the
    limit, a debit or this job), so a window from before this month started before the
    earliest of this month's starts: before UTC+14's midnight on the 1st. While the month
    has started in some zones and not yet in others (the 26 hours from UTC+14's midnight to
    UTC-12's), the earliest start is still last month's, in the zones west of the line; the
    windows due then are those of the zones east of it, which started last month earlier
    still. Candidates below this moment are checked zone by zone (`monthly_window_restart`)."""
    return min(month_start(now, zone) for zone in FIRST_AND_LAST_ZONES)


def _monthly_candidates(*, before: datetime, batch: int) -> Iterator[list[tuple]]:
    """Pages of (account, window start, time zone): first the windows never set, then those
    that started `before` (`_earliest_month_start`), both in index order after the last
    page's key (so a window seen once is not read again, even one its zone's month has not
    reached yet)."""
    monthly = ClientAccount.objects.filter(limit_kind=LimitKind.MONTHLY)
    columns = ("pk", "window_start", "organisation__time_zone")
    last_pk = 0
    while (
        rows := list(
            monthly.filter(window_start__isnull=True, pk__gt=last_pk)
            .order_by("window_start", "pk")  # the index's order (all NULL here), not the table's
            .values_list(*columns)[:batch]
        )
    ):
        yield rows
        last_pk = rows[-1][0]
    after = Q()
    while rows := list(
        monthly.filter(after, window_start__lt=before)
        .order_by("window_start", "pk")
        .values_list(*columns)[:batch]
    ):
        yield rows
        last_pk, last_start = rows[-1][0], rows[-1][1]
        after = Q(window_start__gt=last_start) | Q(window_start=last_start, pk__gt=last_pk)


def _reset_batch(due: list[tuple[int, datetime]], now: datetime) -> int:
    """One transaction for a batch of (account, this month's start in its organisation's
    zone), in the fixed lock order (their pools by id, then the accounts by id). Returns how
    many windows restarted."""
    if connection.vendor == "postgresql":
        return _reset_batch_in_database(due, now)
    return _reset_batch_in_python(due, now)


def _reset_batch_in_database(due: list[tuple[int, datetime]], now: datetime) -> int:
    """The batch in one statement (`credits_reset_monthly`,
    credits/sql/credits_reset_monthly.sql, the SQL twin of `restart_window`)."""
    account_ids, month_starts = zip(*due, strict=True)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT credits_reset_monthly(%s::bigint[], %s::timestamptz[], %s)",
            [list(account_ids), list(month_starts), now],
        )
        (restarted,) = cursor.fetchone()
    return restarted


def _reset_batch_in_python(due: list[tuple[int, datetime]], now: datetime) -> int:
    """The batch on SQLite (the demo): `restart_window` on each account in memory, then one
    UPDATE of the accounts and one INSERT of their entries. The month's start is worked out
    again under the locks, from the account's organisation."""
    account_ids = [account_id for account_id, _start in due]
    with transaction.atomic():
        organisation_ids = ClientAccount.objects.filter(pk__in=account_ids).values(
            "organisation_id"
        )
        pools = {
            pool.pk: pool
            for pool in CreditPool.objects.select_for_update()
            .filter(pk__in=organisation_ids)
            .order_by("pk")
        }
        accounts = list(
            ClientAccount.objects.select_for_update()
            .filter(pk__in=account_ids, limit_kind=LimitKind.MONTHLY)
            .select_related("organisation")
            .order_by("pk")
        )
        held = dict(
            Hold.objects.filter(client_id__in=account_ids, status=HoldStatus.ACTIVE)
            .order_by()
            .values_list("client_id")
            .annotate(total=Sum("from_pool"))
        )
        works: dict[int, Work] = {}
        restarted = []
        for account in accounts:
            # Read again under the locks: a debit may have restarted it since.
            start = monthly_window_restart(
                limit_kind=account.limit_kind,
                window_start=account.window_start,
                now=now,
                time_zone=account.organisation.time_zone,
            )
            if start is None:
                continue
            work = works.setdefault(
                account.organisation_id, Work(pool=pools[account.organisation_id], now=now)
            )
            restart_window(work, account, start, carried=held.get(account.pk, 0))
            restarted.append(account)
        update_rows(
            ClientAccount,
            ["used", "window_start"],
            [(account.pk, account.used, account.window_start) for account in restarted],
        )
        insert_rows(LedgerEntry, [entry for work in works.values() for entry in work.entries])
    return len(restarted)
