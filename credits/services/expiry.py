"""The expiry jobs (D3, S4, S8, M2): every organisation with a lot, a hold or an inactivity
deadline past its time, each in a transaction of its own under its pool lock. The rule itself
is `credits.services.core.lazy_expiry`, which every operation also runs."""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from credits.models import CreditPool, ExpiryKind, Hold, HoldStatus, Lot
from credits.services.core import Work, expire_due_locked, inactivity_deadline, lock_pool


@dataclass(frozen=True)
class ExpiryRun:
    organisations: int
    holds_expired: int
    credits_expired: int


def expire_due(*, now: datetime) -> ExpiryRun:
    """The expiry job: holds and lots past their time, every organisation. Re-running it, or
    running two at once, expires each thing once (the pool lock and a re-read after it)."""
    candidates = set(
        Lot.objects.filter(live=True, expires_at__lte=now).values_list("organisation_id", flat=True)
    )
    candidates |= set(
        Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=now).values_list(
            "organisation_id", flat=True
        )
    )
    for pool in CreditPool.objects.filter(expiry_kind=ExpiryKind.INACTIVITY, balance__gt=0):
        deadline = inactivity_deadline(pool)
        if deadline is not None and deadline <= now:
            candidates.add(pool.pk)
    return _run_expiry(candidates, now)


def expire_holds(*, now: datetime) -> ExpiryRun:
    """The frequent job: release holds past their expiry, so scheduled work that never ran
    gives its credits back within minutes (S2)."""
    candidates = set(
        Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=now).values_list(
            "organisation_id", flat=True
        )
    )
    return _run_expiry(candidates, now)


def _run_expiry(candidates: set[int], now: datetime) -> ExpiryRun:
    holds = credits = 0
    for organisation_id in sorted(candidates):
        with transaction.atomic():
            work = Work(pool=lock_pool(organisation_id), now=now)
            expired_holds, expired_credits = expire_due_locked(work, force=True)
            work.save()
        holds += expired_holds
        credits += expired_credits
    return ExpiryRun(len(candidates), holds, credits)
