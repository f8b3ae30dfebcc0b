"""What every ledger operation shares: the unit of work that accumulates figures and
entries under the pool lock, idempotency keys, limit windows, and taking credits from lots."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, Q
from django.utils.translation import gettext as _

from clients.models import Client
from credits import bounds
from credits.exceptions import (
    IdempotencyConflict,
    InactiveClient,
    InsufficientCredits,
)
from credits.models import (
    ClientAccount,
    CreditPool,
    EntryKind,
    IdempotencyKey,
    LedgerEntry,
    Lot,
)
from credits.periods import held_from_pool, monthly_window_restart

User = AbstractBaseUser | None


@dataclass
class _Work:
    """What one locked operation changes; written at the end in a few statements."""

    pool: CreditPool
    now: datetime
    actor: User = None
    key: str = ""
    entries: list[LedgerEntry] = field(default_factory=list)
    accounts: dict[int, ClientAccount] = field(default_factory=dict)

    def entry(self, kind: str, **values: object) -> LedgerEntry:
        self.pool.balance += values.get("credits", 0)
        entry = LedgerEntry(
            organisation_id=self.pool.pk,
            kind=kind,
            balance_after=self.pool.balance,
            actor=self.actor,
            idempotency_key=self.key,
            created_at=self.now,
            **values,
        )
        self.entries.append(entry)
        return entry

    def expiry_at(self, moment: datetime | None) -> None:
        """Something (a lot, a hold) expires at `moment`: keep the pool's next expiry the
        earliest, so operations know when they must look for due lots and holds."""
        if moment is not None and (
            self.pool.next_expiry_at is None or moment < self.pool.next_expiry_at
        ):
            self.pool.next_expiry_at = moment

    def account(self, client_id: int) -> ClientAccount:
        if client_id not in self.accounts:
            self.accounts[client_id] = ClientAccount.objects.select_for_update().get(pk=client_id)
        return self.accounts[client_id]

    def lock_accounts(self, client_ids: list[int]) -> None:
        """Lock several accounts at once, in primary-key order (the fixed lock order)."""
        wanted = sorted(set(client_ids) - set(self.accounts))
        for account in (
            ClientAccount.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
        ):
            self.accounts[account.pk] = account

    def save(self) -> None:
        self.pool.save(
            update_fields=["balance", "held", "assigned", "last_activity_at", "next_expiry_at"]
        )
        for account in self.accounts.values():
            account.save(update_fields=["assigned_remaining", "used", "window_start"])
        LedgerEntry.objects.bulk_create(self.entries)


def _lock_pool(organisation_id: int) -> CreditPool:
    return CreditPool.objects.select_for_update().get(pk=organisation_id)


def _check_credits(credits: object, *, allow_zero: bool = False) -> int:
    """Whole, positive (or zero) and at most `bounds.MAX_CREDITS`: checked before any lock or
    write, so a number past a bigint is a refusal on both databases (X6)."""
    return bounds.check_credits(credits, least=0 if allow_zero else 1)


def _check_key(key: str) -> str:
    return bounds.check_text(key, bounds.IDEMPOTENCY_KEY_LENGTH, _("An idempotency key"))


def _refuse_inactive(client: Client) -> None:
    if not client.is_active:
        raise InactiveClient(_("This client is inactive."))


def _fingerprint(operation: str, **values: object) -> str:
    text = json.dumps([operation, values], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(pool: CreditPool, key: str, fingerprint: str) -> int | None:
    """The id of the first result for this key, None for a new key; a reused key with other
    input is refused (X3). The caller holds the pool lock, so keys cannot race."""
    if not key:
        return None
    stored = IdempotencyKey.objects.filter(organisation_id=pool.pk, key=key).first()
    if stored is None:
        return None
    if stored.fingerprint != fingerprint:
        raise _conflict(key)
    return stored.result_id


def _conflict(key: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        _("The idempotency key “%(key)s” was already used for a different request.") % {"key": key}
    )


def _remember(work: _Work, operation: str, fingerprint: str, result_id: int | None) -> None:
    if work.key:
        IdempotencyKey.objects.create(
            organisation_id=work.pool.pk,
            key=work.key,
            operation=operation,
            fingerprint=fingerprint,
            result_id=result_id,
            created_at=work.now,
        )


def _restart_window(
    work: _Work, account: ClientAccount, window_start: datetime, *, counting: bool = True
) -> None:
    """A new window starts from what the client's active holds reserve (they will be spent in
    it), or from 0 for a client that no longer counts (no limit). What they reserve is
    `credits.periods.held_from_pool` (its SQL twin is named there)."""
    carried = held_from_pool(account.pk) if counting else 0
    if account.used != carried:
        work.entry(EntryKind.LIMIT_RESET, client_id=account.pk, used_delta=carried - account.used)
        account.used = carried
    account.window_start = window_start


def _roll_monthly_window(work: _Work, account: ClientAccount, time_zone: str) -> None:
    """The debit's side of the monthly window rule (`credits.periods.monthly_window_restart`,
    shared with the quote preview): a window from a previous month restarts, with its reset
    entry, before funding is decided.

    SQL twin: `credits/sql/credits_debit.sql`, the block "A monthly limit restarts at the first
    of the month" (`v_used`, `v_window_start`), and `credits_debit_from_lots` (migration 0012),
    which writes the `limit_reset` entry first."""
    start = monthly_window_restart(
        limit_kind=account.limit_kind,
        window_start=account.window_start,
        now=work.now,
        time_zone=time_zone,
    )
    if start is not None:
        _restart_window(work, account, start)


LOT_BATCH = 8


def _spendable_lots(
    pool: CreditPool, now: datetime, *, include_expired: bool
) -> Iterator[tuple[int, int]]:
    """(lot id, remaining) in spending order: soonest expiry first, never-expiring last,
    oldest first on ties (so plan allowances go before purchased credits, M2). Read a few at
    a time: a debit is nearly always paid by the first lot.

    SQL twin: `credits/sql/credits_debit.sql`, the `lot` subquery (`ORDER BY l.expires_at ASC
    NULLS LAST, l.created_at ASC, l.id ASC`, live and not expired), and the lot loop of
    `credits_debit_from_lots` (migration 0012)."""
    lots = Lot.objects.filter(organisation_id=pool.pk, live=True)
    if not include_expired:
        lots = lots.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    ordered = lots.order_by(F("expires_at").asc(nulls_last=True), "created_at", "pk")
    ordered = ordered.values_list("pk", "remaining")
    start = 0
    while True:
        batch = list(ordered[start : start + LOT_BATCH])
        yield from batch
        if len(batch) < LOT_BATCH:
            return
        start += LOT_BATCH


def _take_from_lots(
    work: _Work, credits: int, kind: str, *, include_expired: bool = False, **links: object
) -> None:
    """Take credits from lots in spending order, one entry per lot that paid; the first entry
    also carries the links (client, consumption, deltas) of the operation.

    SQL twin: `credits_debit_from_lots` (migration 0012), called by
    `credits/sql/credits_debit.sql` when the first lot cannot pay alone; its 'insufficient'
    answer is the `InsufficientCredits` below."""
    left = credits
    taken_from: list[tuple[int, int]] = []
    for lot_id, remaining in _spendable_lots(work.pool, work.now, include_expired=include_expired):
        taken = min(left, remaining)
        taken_from.append((lot_id, taken))
        work.entry(kind, credits=-taken, lot_id=lot_id, **links)
        links = {k: v for k, v in links.items() if not k.endswith("_delta")}
        left -= taken
        if left == 0:
            break
    if left:
        # The pool's figures said the credits were there; the lots disagree. Refuse rather
        # than write a ledger that does not add up (ledger_check would name the drift).
        raise InsufficientCredits(needed=credits, available=credits - left)
    for lot_id, taken in taken_from:
        Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") - taken)
