"""Calendar periods in an organisation's time zone (limits reset at its midnight, D4), and the
monthly window rule, written once in Python for every reader of a monthly limit.

SQL twin: `credits/sql/credits_debit.sql`, the block after "A monthly limit restarts at the
first of the month" (`v_window_start IS NULL OR v_window_start < p_month_start`, with
`p_month_start` computed here by `month_start`). Python users: the debit
(`credits.services.core.windows.roll_monthly_window`) and the quote preview
(`credits.selectors.spending_check`, `credits.selectors.dashboard.client_home`).
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from credits.models import Hold, HoldStatus, LimitKind


def month_start(now: datetime, time_zone: str) -> datetime:
    """Midnight on the first of the month, in the organisation's time zone."""
    local = now.astimezone(ZoneInfo(time_zone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def monthly_window_restart(
    *, limit_kind: str, window_start: datetime | None, now: datetime, time_zone: str
) -> datetime | None:
    """The start of the new window when a monthly limit's window is from a previous month in
    the organisation's time zone (or never started), else None: the window is current, or the
    limit is not monthly. One rule, so the quote preview and the debit never disagree.

    SQL twins: `credits/sql/credits_debit.sql`, `IF v_limit_kind = 'monthly' AND
    (v_window_start IS NULL OR v_window_start < p_month_start)`, and
    `credits/sql/credits_reset_monthly.sql`, the same test on each account of a batch."""
    if limit_kind != LimitKind.MONTHLY:
        return None
    start = month_start(now, time_zone)
    if window_start is None or window_start < start:
        return start
    return None


def held_from_pool(client_id: int) -> int:
    """Pool credits reserved by the client's active holds: what a new monthly window starts
    from, since they stay counted against the limit and will be spent in the new window.

    SQL twins: `credits/sql/credits_debit.sql`, `SELECT coalesce(sum(h.from_pool), 0) INTO
    v_used FROM credits_hold h WHERE ... h.status = 'active'`, and
    `credits/sql/credits_reset_monthly.sql` (`carried`)."""
    holds = Hold.objects.filter(client_id=client_id, status=HoldStatus.ACTIVE)
    return sum(holds.values_list("from_pool", flat=True))
