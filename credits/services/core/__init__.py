"""What the ledger's services share (internal to `credits.services`).

Every operation that changes a figure goes through `locked_operation` (lock, replay or bring
up to date, work, write, remember). The names below are the helpers the services share; the
rest of each module is its own business. Nothing outside `credits.services` imports them,
except `credits.selectors`, which asks `inactivity_deadline` the same question as the
services do.
"""

from credits.services.core.bulk import insert_rows, update_rows
from credits.services.core.lazy_expiry import (
    SPENDING_ORDER,
    Settled,
    expire_due_locked,
    inactivity_deadline,
    next_expiries,
    proportional_shares,
    release_hold,
    settle_expiry,
    write_settled,
)
from credits.services.core.lots import take_from_lots
from credits.services.core.operation import Operation, locked_operation
from credits.services.core.windows import restart_window, roll_monthly_window
from credits.services.core.work import (
    User,
    Work,
    check_credits,
    check_key,
    conflict,
    fingerprint,
    lock_pool,
    refuse_inactive,
    remember,
    replay,
)

__all__ = [
    "SPENDING_ORDER",
    "Operation",
    "Settled",
    "User",
    "Work",
    "check_credits",
    "check_key",
    "conflict",
    "expire_due_locked",
    "fingerprint",
    "inactivity_deadline",
    "insert_rows",
    "lock_pool",
    "locked_operation",
    "next_expiries",
    "proportional_shares",
    "refuse_inactive",
    "release_hold",
    "remember",
    "replay",
    "restart_window",
    "roll_monthly_window",
    "settle_expiry",
    "take_from_lots",
    "update_rows",
    "write_settled",
]
