"""Where a client's spend comes from, and whether it may happen at all (D4, S5, G3).

A pure decision on figures, shared by the services (under the pool lock, authoritative) and
by quotes (without a lock, as a preview), so the two can never disagree on a rule.

SQL twin: `credits/sql/credits_debit.sql`, the block "Assigned credits first, then the
unassigned pool, within the limit; or refuse whole" (outcomes 'assignment_exhausted',
'insufficient', 'limit_exceeded', in the same order as the exceptions below).
"""

from dataclasses import dataclass

from credits.exceptions import AssignmentExhausted, InsufficientCredits, LimitExceeded
from credits.models import ClientAccount, CreditPool, LimitKind


@dataclass(frozen=True)
class Split:
    from_assigned: int
    from_pool: int


def decide_funding(
    *, pool: CreditPool, account: ClientAccount, credits: int, used: int | None = None
) -> Split:
    """Assigned credits first, then the unassigned pool if the client may draw from it,
    within its limit; refused whole (an exception naming the shortfall) otherwise. `used`
    overrides the account's counter when a monthly window has restarted but is not saved.

    SQL twin: `credits/sql/credits_debit.sql`, `from_assigned := least(...)` through the
    `limit_exceeded` answer."""
    used = account.used if used is None else used
    from_assigned = min(credits, account.assigned_remaining)
    from_pool = credits - from_assigned
    if not from_pool:
        return Split(from_assigned, 0)
    if not account.draws_from_pool:
        raise AssignmentExhausted(needed=credits, assigned=account.assigned_remaining)
    available = pool.balance - pool.held - pool.assigned
    if from_pool > available:
        raise InsufficientCredits(needed=credits, available=account.assigned_remaining + available)
    if account.limit_kind != LimitKind.NONE and used + from_pool > account.limit:
        raise LimitExceeded(
            needed=from_pool, left=max(account.limit - used, 0), limit=account.limit
        )
    return Split(from_assigned, from_pool)
