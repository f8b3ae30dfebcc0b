"""Expiry brought up to date under the pool lock (D3, S4, S8, M2).

Every locked operation runs this before it reads a figure, and the jobs run it for the
organisations with something due (`credits.services.expiry`), so a figure read after the pool
lock is always current whether or not the job has run yet."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import F, Min, QuerySet

from credits.models import ClientAccount, CreditPool, EntryKind, ExpiryKind, Hold, HoldStatus, Lot
from credits.services.core.bulk import update_rows
from credits.services.core.work import Work
from webhooks import events as webhook_events


def proportional_shares(total: int, weights: dict[int, int]) -> dict[int, int]:
    """Split `total` over the weights in proportion, to the exact unit (S8).

    Largest-remainder: everyone gets the floor of their exact share; the units left by rounding
    down go one each to the largest remainders. Ties between equal remainders go to the larger
    weight, then to the smaller key (the older client), so the result is deterministic.
    """
    weight_sum = sum(weights.values())
    if total > weight_sum or total < 0:
        raise ValueError("cannot take more than the weights hold")
    if total == 0:
        return dict.fromkeys(weights, 0)
    shares = {key: total * weight // weight_sum for key, weight in weights.items()}
    remainders = {key: total * weight % weight_sum for key, weight in weights.items()}
    left = total - sum(shares.values())
    for key in sorted(weights, key=lambda k: (-remainders[k], -weights[k], k))[:left]:
        shares[key] += 1
    return shares


def inactivity_deadline(pool: CreditPool) -> datetime | None:
    """The moment the pool's credits expire for want of use (D3), None without that policy.

    SQL twins: `credits/sql/credits_debit.sql` (`v_last_activity + make_interval(...)`) and
    `credits/sql/credits_expire.sql` (`v_inactive`), which add the months in UTC as
    relativedelta does to the UTC time Django reads."""
    if pool.expiry_kind != ExpiryKind.INACTIVITY or pool.last_activity_at is None:
        return None
    return pool.last_activity_at + relativedelta(months=pool.expiry_months)


@dataclass
class Settled:
    """What bringing one pool's expiry up to date changed in memory, for the caller to write
    (one organisation's operation, or a batch of organisations in the jobs)."""

    work: Work
    holds: list[Hold] = field(default_factory=list)  # released as expired
    lots: list[tuple[Lot, int]] = field(default_factory=list)  # lots that lost credits, how many
    changed_accounts: list[ClientAccount] = field(default_factory=list)  # for a batch's writes

    @property
    def credits(self) -> int:
        return sum(amount for _lot, amount in self.lots)


def settle_expiry(
    work: Work, due_holds: list[Hold], due_lots: list[Lot], lock_assigned: Callable[[], None]
) -> Settled:
    """The expiry rule on figures in memory: release the holds past their expiry, then expire
    the due lots in spending order (D3, S4, M2), each lot's credits from the unassigned ones
    first, then from the clients' assignments in proportion (S8).

    Credits reserved by active holds stay on the due lots (only there: valid lots never stand
    in for them) until the holds resolve; what a hold later gives back expires then (captures
    and releases run this again). `lock_assigned` brings every account of the organisation
    with assigned credits into `work.accounts`, locked, before the first split.

    SQL twin: `credits/sql/credits_expire.sql`, which the expiry job runs on PostgreSQL for a
    batch of organisations (the same steps, numbered there; `proportional_shares` is its
    window-function query)."""
    settled = Settled(work)
    for hold in due_holds:
        _release(work, hold, HoldStatus.EXPIRED)
        settled.holds.append(hold)
    expiring = max(sum(lot.remaining for lot in due_lots) - work.pool.held, 0)
    expired = 0
    for lot in due_lots:
        amount = _expire_lot(work, lot, min(lot.remaining, expiring - expired), lock_assigned)
        expired += amount
        if amount:
            settled.lots.append((lot, amount))
    return settled


def _expire_lot(work: Work, lot: Lot, amount: int, lock_assigned: Callable[[], None]) -> int:
    """Expire `amount` credits of a lot: unassigned credits first, then the clients' assigned
    credits in proportion (S8)."""
    pool = work.pool
    if amount <= 0:
        return 0
    from_unassigned = min(amount, pool.balance - pool.held - pool.assigned)
    from_assigned = amount - from_unassigned
    lot.remaining -= amount
    work.entry(EntryKind.EXPIRY, credits=-amount, lot_id=lot.pk)
    if from_assigned:
        # Accounts already in this operation may hold credits a hold just gave back, which
        # the database does not show yet: the in-memory figures are the current ones.
        lock_assigned()
        weights = {
            pk: account.assigned_remaining
            for pk, account in sorted(work.accounts.items())
            if account.assigned_remaining > 0
        }
        for client_id, share in proportional_shares(from_assigned, weights).items():
            if share:
                work.accounts[client_id].assigned_remaining -= share
                work.entry(
                    EntryKind.EXPIRY, client_id=client_id, assigned_delta=-share, lot_id=lot.pk
                )
        pool.assigned -= from_assigned
    return amount


def _release(work: Work, hold: Hold, status: str) -> None:
    account = work.account(hold.client_id)
    account.assigned_remaining += hold.from_assigned
    account.used -= account.use(hold.from_pool)
    work.pool.held -= hold.credits
    work.pool.assigned += hold.from_assigned
    kind = EntryKind.RELEASE if status == HoldStatus.RELEASED else EntryKind.HOLD_EXPIRY
    work.entry(
        kind,
        client_id=hold.client_id,
        hold_id=hold.pk,
        held_delta=-hold.credits,
        assigned_delta=hold.from_assigned,
        used_delta=-account.use(hold.from_pool),
    )
    hold.status = status
    hold.resolved_at = work.now


def release_hold(work: Work, hold: Hold, status: str) -> None:
    """Give a hold's credits back where they came from (released or expired)."""
    _release(work, hold, status)
    hold.save(update_fields=["status", "resolved_at"])


def write_settled(settled: list[Settled], now: datetime) -> None:
    """Write what `settle_expiry` changed, for one organisation or many, in a few statements
    (the accounts, entries and pools are written by their `Work`)."""
    expired_holds = [hold.pk for one in settled for hold in one.holds]
    if expired_holds:
        Hold.objects.filter(pk__in=expired_holds).update(status=HoldStatus.EXPIRED, resolved_at=now)
    update_rows(
        Lot, ["remaining"], [(lot.pk, lot.remaining) for one in settled for lot, _ in one.lots]
    )
    expired = [one for one in settled if one.lots]
    listeners = webhook_events.listening_to_expiry([one.work.pool.pk for one in expired])
    for one in expired:
        if one.work.pool.pk in listeners:  # one webhook event for this run's lots (B3)
            webhook_events.credits_expired(
                organisation_id=one.work.pool.pk,
                lots=[(lot.pk, credits, lot.expires_at) for lot, credits in one.lots],
                balance=one.work.pool.balance,
                now=now,
            )


def due_lots(pool: CreditPool, now: datetime) -> QuerySet[Lot]:
    """The lots whose credits are due to expire: past their expiry, or every live lot once
    the inactivity period has run out (D3), in spending order."""
    deadline = inactivity_deadline(pool)
    lots = Lot.objects.filter(organisation_id=pool.pk, live=True)
    if deadline is None or deadline > now:
        lots = lots.filter(expires_at__lte=now)
    return lots.order_by(*SPENDING_ORDER)


SPENDING_ORDER = (F("expires_at").asc(nulls_last=True), "created_at", "pk")


def expiry_is_due(pool: CreditPool, now: datetime) -> bool:
    """A scheduled expiry has come, or the inactivity period has run out on a pool with
    credits: the operation must expire before it looks at any figure.

    SQL twin: `credits/sql/credits_debit.sql`, `IF v_next_expiry <= p_now OR (v_expiry_kind =
    'inactivity' AND v_balance > 0 AND v_last_activity + make_interval(...) <= p_now)`, which
    answers 'expiry_due' and hands the debit back to this path."""
    deadline = inactivity_deadline(pool)
    scheduled = pool.next_expiry_at is not None and pool.next_expiry_at <= now
    return scheduled or (deadline is not None and deadline <= now and pool.balance > 0)


def next_expiry(pool: CreditPool, now: datetime) -> datetime | None:
    """The earliest expiry still ahead: of a lot with credits left, or of an active hold."""
    return next_expiries([pool.pk], now).get(pool.pk)


def next_expiries(organisation_ids: list[int], now: datetime) -> dict[int, datetime]:
    """`next_expiry` of many pools in two grouped queries (a pool with nothing ahead is
    absent)."""
    lots = Lot.objects.filter(organisation_id__in=organisation_ids, live=True, expires_at__gt=now)
    holds = Hold.objects.filter(organisation_id__in=organisation_ids, status=HoldStatus.ACTIVE)
    upcoming: dict[int, datetime] = {}
    for rows in (lots, holds):
        grouped = rows.order_by().values_list("organisation_id").annotate(first=Min("expires_at"))
        for organisation_id, first in grouped:
            if organisation_id not in upcoming or first < upcoming[organisation_id]:
                upcoming[organisation_id] = first
    return upcoming


def expire_due_locked(work: Work, *, force: bool = False) -> tuple[int, int]:
    """Bring one locked pool's expiry up to date (`settle_expiry`) and write it. Returns
    (holds expired, credits expired).

    Skipped, without a query, until the pool's next expiry comes (a lower bound kept by
    every grant and hold), unless forced: captures and releases, which may free credits that
    a lot kept past its expiry only for the hold."""
    pool, now = work.pool, work.now
    if not force and not expiry_is_due(pool, now):
        return 0, 0
    due_holds = list(
        Hold.objects.select_for_update()
        .filter(organisation_id=pool.pk, status=HoldStatus.ACTIVE, expires_at__lte=now)
        .order_by("pk")
    )
    work.lock_accounts([hold.client_id for hold in due_holds])
    locked_assigned = False

    def lock_assigned() -> None:
        nonlocal locked_assigned
        if not locked_assigned:
            stored = ClientAccount.objects.filter(organisation_id=pool.pk, assigned_remaining__gt=0)
            work.lock_accounts(list(stored.values_list("pk", flat=True)))
            locked_assigned = True

    settled = settle_expiry(work, due_holds, list(due_lots(pool, now)), lock_assigned)
    write_settled([settled], now)
    pool.next_expiry_at = next_expiry(pool, now)
    return len(settled.holds), settled.credits
