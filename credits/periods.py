"""Calendar periods in an organisation's time zone (limits reset at its midnight, D4)."""

from datetime import datetime
from zoneinfo import ZoneInfo


def month_start(now: datetime, time_zone: str) -> datetime:
    """Midnight on the first of the month, in the organisation's time zone."""
    local = now.astimezone(ZoneInfo(time_zone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
