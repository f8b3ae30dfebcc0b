"""The monthly job finds every window due without reading the organisations' zones (D4,
issue 15).

`reset_monthly` reads, through the partial index on monthly windows, only the windows that
started before one moment: `_earliest_month_start`, the earliest month start of the first and
last zones (UTC+14, UTC-12). A window always starts at a month's start in its organisation's
zone; every window from a previous month must lie below that moment, in every zone, at any
time of the month (the 26 hours when the month has begun in some zones and not yet in others
included), or the job would leave it for the next debit.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import available_timezones

from hypothesis import given, settings
from hypothesis import strategies as st

from credits.periods import month_start
from credits.services.assignments import _earliest_month_start

ZONES = sorted(available_timezones())


@settings(max_examples=300, deadline=None)
@given(
    now=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2036, 12, 31), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(ZONES),
)
def test_a_window_from_last_month_in_any_zone_lies_below_the_earliest_month_start_d4(now, zone):
    # Given a window that started last month in the organisation's zone (so it is due)
    last_month = month_start(month_start(now, zone) - timedelta(seconds=1), zone)
    # Then the job's candidates include it
    assert last_month < _earliest_month_start(now)


def test_mid_month_the_current_windows_of_every_zone_lie_above_it_d4():
    """Outside the 26 hours of the turn of the month, the windows of this month are not read
    (they would be, every hour, in every zone east of the westernmost one in use)."""
    # Given the 10th of the month, 12:00 UTC
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    # Then every zone's current window starts at or after the earliest month start
    earliest = _earliest_month_start(now)
    assert earliest == datetime(2026, 2, 28, 10, tzinfo=UTC)  # midnight on 1 March at UTC+14
    assert min(month_start(now, zone) for zone in ZONES) == earliest
