"""The unit of work of a locked operation, its idempotency keys, and the checks every
operation makes before it locks anything."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _

from clients.models import Client
from credits import bounds
from credits.exceptions import IdempotencyConflict, InactiveClient
from credits.models import ClientAccount, CreditPool, IdempotencyKey, LedgerEntry

User = AbstractBaseUser | None


@dataclass
class Work:
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


def lock_pool(organisation_id: int) -> CreditPool:
    return CreditPool.objects.select_for_update().get(pk=organisation_id)


def check_credits(credits: object, *, allow_zero: bool = False) -> int:
    """Whole, positive (or zero) and at most `bounds.MAX_CREDITS`: checked before any lock or
    write, so a number past a bigint is a refusal on both databases (X6)."""
    return bounds.check_credits(credits, least=0 if allow_zero else 1)


def check_key(key: str) -> str:
    return bounds.check_text(key, bounds.IDEMPOTENCY_KEY_LENGTH, _("An idempotency key"))


def refuse_inactive(client: Client) -> None:
    if not client.is_active:
        raise InactiveClient(_("This client is inactive."))


def fingerprint(operation: str, **values: object) -> str:
    text = json.dumps([operation, values], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def replay(pool: CreditPool, key: str, fingerprint: str) -> int | None:
    """The id of the first result for this key, None for a new key; a reused key with other
    input is refused (X3). The caller holds the pool lock, so keys cannot race."""
    if not key:
        return None
    stored = IdempotencyKey.objects.filter(organisation_id=pool.pk, key=key).first()
    if stored is None:
        return None
    if stored.fingerprint != fingerprint:
        raise conflict(key)
    return stored.result_id


def conflict(key: str) -> IdempotencyConflict:
    return IdempotencyConflict(
        _("The idempotency key “%(key)s” was already used for a different request.") % {"key": key}
    )


def remember(work: Work, operation: str, fingerprint: str, result_id: int | None) -> None:
    if work.key:
        IdempotencyKey.objects.create(
            organisation_id=work.pool.pk,
            key=work.key,
            operation=operation,
            fingerprint=fingerprint,
            result_id=result_id,
            created_at=work.now,
        )
