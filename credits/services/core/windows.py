"""A client's spending-limit window (D4, S5): when it restarts and what it starts from."""

from datetime import datetime

from credits.models import ClientAccount, EntryKind
from credits.periods import held_from_pool, monthly_window_restart
from credits.services.core.work import Work


def restart_window(
    work: Work,
    account: ClientAccount,
    window_start: datetime,
    *,
    counting: bool = True,
    carried: int | None = None,
) -> None:
    """A new window starts from what the client's active holds reserve (they will be spent in
    it), or from 0 for a client that no longer counts (no limit). What they reserve is
    `credits.periods.held_from_pool` (its SQL twin is named there), unless the caller read it
    already for many accounts at once (`carried`, the monthly job).

    SQL twins: `credits/sql/credits_debit.sql` (a debit's own window) and
    `credits/sql/credits_reset_monthly.sql` (the monthly job's batches on PostgreSQL)."""
    if carried is None:
        carried = held_from_pool(account.pk) if counting else 0
    if account.used != carried:
        work.entry(EntryKind.LIMIT_RESET, client_id=account.pk, used_delta=carried - account.used)
        account.used = carried
    account.window_start = window_start


def roll_monthly_window(work: Work, account: ClientAccount, time_zone: str) -> None:
    """The debit's side of the monthly window rule (`credits.periods.monthly_window_restart`,
    shared with the quote preview): a window from a previous month restarts, with its reset
    entry, before funding is decided.

    SQL twin: `credits/sql/credits_debit.sql`, the block "A monthly limit restarts at the first
    of the month" (`v_used`, `v_window_start`), and `credits_debit_from_lots`
    (`credits/sql/credits_debit_from_lots.sql`), which writes the `limit_reset` entry first."""
    start = monthly_window_restart(
        limit_kind=account.limit_kind,
        window_start=account.window_start,
        now=work.now,
        time_zone=time_zone,
    )
    if start is not None:
        restart_window(work, account, start)
