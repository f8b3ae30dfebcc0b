"""Taking credits from lots in spending order (M2: plan allowances before purchased credits)."""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import F, Q

from credits.exceptions import InsufficientCredits
from credits.models import CreditPool, Lot
from credits.services.core.work import Work

LOT_BATCH = 8


def spendable_lots(
    pool: CreditPool, now: datetime, *, include_expired: bool
) -> Iterator[tuple[int, int]]:
    """(lot id, remaining) in spending order: soonest expiry first, never-expiring last,
    oldest first on ties (so plan allowances go before purchased credits, M2). Read a few at
    a time: a debit is nearly always paid by the first lot.

    SQL twin: `credits/sql/credits_debit.sql`, the `lot` subquery (`ORDER BY l.expires_at ASC
    NULLS LAST, l.created_at ASC, l.id ASC`, live and not expired), and the lot loop of
    `credits_debit_from_lots` (`credits/sql/credits_debit_from_lots.sql`)."""
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


def take_from_lots(
    work: Work, credits: int, kind: str, *, include_expired: bool = False, **links: object
) -> None:
    """Take credits from lots in spending order, one entry per lot that paid; the first entry
    also carries the links (client, consumption, deltas) of the operation.

    SQL twin: `credits_debit_from_lots` (`credits/sql/credits_debit_from_lots.sql`), called by
    `credits/sql/credits_debit.sql` when the first lot cannot pay alone; its 'insufficient'
    answer is the `InsufficientCredits` below."""
    left = credits
    taken_from: list[tuple[int, int]] = []
    for lot_id, remaining in spendable_lots(work.pool, work.now, include_expired=include_expired):
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
