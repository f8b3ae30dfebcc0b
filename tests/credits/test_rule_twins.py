"""The Python rules the SQL debit relies on, checked on SQLite (issue 14, D4).

`credits/sql/credits_debit.sql` receives the month's start from Python (`p_month_start`,
`credits.periods.month_start`) and restates the monthly window rule that
`credits.periods.monthly_window_restart` holds once for the debit and the quote preview. The
PostgreSQL differential (tests/credits/test_debit_in_database.py) runs the SQL debit on these
same cases; here the Python side is held to the same expected values without PostgreSQL, so
`make test-fast` fails when a Python twin changes.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from credits import selectors, services
from credits.exceptions import LimitExceeded
from credits.models import ClientAccount
from credits.periods import monthly_window_restart

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class WindowCase:
    """A monthly window stored at `window_start`, looked at `now` (organisation in Paris):
    `restart` is the new window's start, or None when the window is current."""

    window_start: datetime | None
    now: datetime
    restart: datetime | None


# Shared with the PostgreSQL differential: same inputs, same expected answers.
WINDOW_CASES = {
    # Still February in UTC (23:30), already March in Paris: the window rolls at Paris's
    # midnight, 2026-02-28 23:00 UTC.
    "last month rolls at the zone's month start": WindowCase(
        window_start=datetime(2026, 2, 1, tzinfo=PARIS),
        now=datetime(2026, 2, 28, 23, 30, tzinfo=UTC),
        restart=datetime(2026, 2, 28, 23, 0, tzinfo=UTC),
    ),
    "this month does not roll": WindowCase(
        window_start=datetime(2026, 3, 1, tzinfo=PARIS),
        now=datetime(2026, 3, 20, 12, 0, tzinfo=UTC),
        restart=None,
    ),
    "a window started this month at its very first instant does not roll": WindowCase(
        window_start=datetime(2026, 2, 28, 23, 0, tzinfo=UTC),
        now=datetime(2026, 2, 28, 23, 30, tzinfo=UTC),
        restart=None,
    ),
    # Summer time began on 29 March: April starts at 22:00 UTC, not 23:00.
    "across the spring DST change": WindowCase(
        window_start=datetime(2026, 3, 1, tzinfo=PARIS),
        now=datetime(2026, 3, 31, 22, 15, tzinfo=UTC),
        restart=datetime(2026, 3, 31, 22, 0, tzinfo=UTC),
    ),
    # Summer time ended on 25 October: November starts at 23:00 UTC again.
    "across the autumn DST change": WindowCase(
        window_start=datetime(2026, 10, 1, tzinfo=PARIS),
        now=datetime(2026, 10, 31, 23, 10, tzinfo=UTC),
        restart=datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
    ),
    "a window never started rolls": WindowCase(
        window_start=None,
        now=datetime(2026, 3, 31, 22, 15, tzinfo=UTC),
        restart=datetime(2026, 3, 31, 22, 0, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize("case", WINDOW_CASES.values(), ids=WINDOW_CASES.keys())
def test_the_monthly_window_rule_restarts_at_the_zones_month_start_d4(case):
    """D4, issue 14: the one Python monthly window rule (twin of the SQL debit's window
    block) gives the exact expected new window start, or None for a current window."""
    # Given a monthly window stored at case.window_start, When it is looked at case.now
    restart = monthly_window_restart(
        limit_kind="monthly", window_start=case.window_start, now=case.now, time_zone="Europe/Paris"
    )
    # Then it restarts exactly at the organisation's month start, or not at all
    assert restart == case.restart


@pytest.mark.parametrize("limit_kind", ["none", "fixed"])
def test_only_a_monthly_limit_has_a_window_to_roll_d4(limit_kind):
    """D4, issue 14: a fixed limit or no limit never restarts, however old its window."""
    case = WINDOW_CASES["last month rolls at the zone's month start"]
    assert (
        monthly_window_restart(
            limit_kind=limit_kind,
            window_start=case.window_start,
            now=case.now,
            time_zone="Europe/Paris",
        )
        is None
    )


@pytest.mark.django_db
@pytest.mark.parametrize("case", WINDOW_CASES.values(), ids=WINDOW_CASES.keys())
def test_the_python_debit_and_the_quote_preview_roll_the_window_alike_d4(
    organisation, make_client, case
):
    """D4, issue 14: on SQLite, the Python debit stores the window the rule gives, and the
    quote preview (spending_check) counts the limit from the same window; the SQL debit is
    held to these values in tests/credits/test_debit_in_database.py."""
    # Given a client with a monthly limit of 50 that used 45 in the window stored
    services.grant(organisation=organisation, credits=500, source="purchase", now=case.now)
    client = make_client("Monthly")
    services.set_spending_limit(client=client, kind="monthly", limit=50, now=case.now)
    ClientAccount.objects.filter(pk=client.pk).update(used=45, window_start=case.window_start)
    # When the preview asks for 20, and the Python debit spends 20
    preview = selectors.spending_check(client=client, credits=20, now=case.now)
    debit = _debit_or_refusal(client, case.now)
    account = ClientAccount.objects.get(pk=client.pk)
    # Then a rolled window starts at the expected instant and counts only the 20; a current
    # one keeps its start, and both the preview and the debit refuse 20 over its 5 left
    if case.restart is not None:
        assert (preview.allowed, debit) == (True, "debited")
        assert (account.window_start, account.used) == (case.restart, 20)
    else:
        assert (preview.allowed, preview.reason, debit) == (False, "limit_reached", "refused")
        assert (account.window_start, account.used) == (case.window_start, 45)


def _debit_or_refusal(client, now: datetime) -> str:
    try:
        services.debit(client=client, credits=20, action_code="send", now=now)
    except LimitExceeded:
        return "refused"
    return "debited"
