"""The daily usage roll-up (S6, M4): closed days of consumptions, summed into `UsageDay`.

A 12-month report must not group a million consumptions on every load; it reads one row per
client, action and day instead (credits.selectors.usage), plus the few consumptions
since the organisation's mark. This job moves the marks forward.

How it stays exact when run twice, at once, or killed half-way (X4):
- one transaction per batch of organisations writes their days *and* moves their marks, so
  each organisation is either rolled up to its new mark or untouched;
- it sums only consumptions from the old mark (included) to the new one (excluded), and the
  marks are locked and read again inside the transaction: a run that lost a race to another
  skips what the other did;
- consumptions are immutable and carry the time they were made, and a day is rolled up only
  once it has been over for `SETTLE`, so no consumption can still arrive for a rolled-up day.

To rebuild an organisation's days, delete its `UsageRollup` row: the next run starts it over.

Set-based: one grouped INSERT … SELECT per batch of organisations that share a time zone and a
mark (after the first run, all the organisations of a time zone), never a query per
organisation or per consumption.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate

from clients.models import Organisation
from credits.models import Consumption, UsageDay, UsagePersonDay, UsageRollup
from credits.selectors.usage import local_midnight

logger = logging.getLogger(__name__)

# Consumptions carry the time their service call was given: one whose transaction began just
# before midnight may commit just after. A day is rolled up once it has been over this long.
SETTLE = timedelta(hours=1)
BATCH_SIZE = 500

# (mark, time zone) an organisation's UsageRollup row holds, or None when it has none
State = tuple[datetime, str] | None


@dataclass(frozen=True)
class UsageRollupRun:
    organisations: int  # organisations whose mark moved
    rows: int  # UsageDay rows written


def closed_until(now: datetime, time_zone: str) -> datetime:
    """The new mark: midnight starting the local day that holds `now - SETTLE`; every day
    before it ended at least SETTLE ago."""
    settled = (now - SETTLE).astimezone(ZoneInfo(time_zone))
    return local_midnight(settled.date(), time_zone)


def roll_up_usage(*, now: datetime, batch_size: int = BATCH_SIZE) -> UsageRollupRun:
    """Roll up every organisation's closed days; returns how many organisations moved and
    how many day rows were written (logged too). Nothing to do costs one query."""
    groups: dict[tuple[str, datetime | None], list[tuple[int, State]]] = defaultdict(list)
    for pk, zone, mark, rolled_zone in Organisation.objects.values_list(
        "pk", "time_zone", "usage_rollup__rolled_until", "usage_rollup__time_zone"
    ).order_by("pk"):
        state = (mark, rolled_zone) if mark is not None else None
        # Days counted in another zone's midnights are thrown away and counted again.
        since = mark if rolled_zone == zone else None
        try:
            until = closed_until(now, zone)
        except (ValueError, ZoneInfoNotFoundError):  # not a zone: one organisation, not all
            logger.error("usage roll-up: organisation %s has no time zone %r", pk, zone)
            continue
        if since is not None and since >= until:
            continue
        groups[(zone, since)].append((pk, state))

    organisations = rows = 0
    for (zone, since), members in groups.items():
        until = closed_until(now, zone)
        for start in range(0, len(members), batch_size):
            batch = dict(members[start : start + batch_size])
            try:
                moved, written = _roll_up_batch(batch, zone=zone, since=since, until=until)
            except IntegrityError:
                # Another run wrote these days first, between our read and our lock.
                logger.warning("usage roll-up: %d organisations done by another run", len(batch))
                continue
            organisations += moved
            rows += written
    logger.info("usage roll-up: %d organisations moved, %d day rows written", organisations, rows)
    return UsageRollupRun(organisations=organisations, rows=rows)


def _roll_up_batch(
    batch: dict[int, State], *, zone: str, since: datetime | None, until: datetime
) -> tuple[int, int]:
    with transaction.atomic():
        locked = {
            pk: (mark, rolled_zone)
            for pk, mark, rolled_zone in UsageRollup.objects.select_for_update()
            .filter(pk__in=list(batch))
            .values_list("pk", "rolled_until", "time_zone")
        }
        # An organisation whose mark another run moved since we read it is that run's.
        ids = [pk for pk, state in batch.items() if locked.get(pk) == state]
        if not ids:
            return 0, 0
        # Starting over (no mark, or days of another zone): drop whatever days are left.
        if since is None:
            UsageDay.objects.filter(organisation_id__in=ids).delete()
            UsagePersonDay.objects.filter(organisation_id__in=ids).delete()
        written = _insert_days(ids, zone=zone, since=since, until=until)
        _move_marks(ids, existing=set(locked), zone=zone, until=until)
    return len(ids), written


def _insert_days(ids: list[int], *, zone: str, since: datetime | None, until: datetime) -> int:
    """Two INSERT … SELECT grouping the organisations' consumptions by local day: by client
    and action (`UsageDay`), and by person (`UsagePersonDay`). Returns the UsageDay rows."""
    consumptions = Consumption.objects.filter(organisation_id__in=ids, created_at__lt=until)
    if since is not None:
        consumptions = consumptions.filter(created_at__gte=since)
    by_day = consumptions.annotate(
        local_day=TruncDate("created_at", tzinfo=ZoneInfo(zone))
    ).order_by()
    written = _insert(
        UsageDay,
        ("organisation", "client", "action_code", "day", "uses", "credits"),
        by_day.values_list("organisation_id", "client_id", "action_code", "local_day"),
    )
    _insert(
        UsagePersonDay,
        ("organisation", "actor_id", "day", "uses", "credits"),
        by_day.filter(actor_id__isnull=False).values_list(
            "organisation_id", "actor_id", "local_day"
        ),
    )
    return written


def _insert(model: type[models.Model], fields: tuple[str, ...], keys: QuerySet) -> int:
    grouped = keys.annotate(day_uses=Count("pk"), day_credits=Sum("credits"))
    select, params = grouped.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {select}", params)
        return max(cursor.rowcount, 0)


def _move_marks(ids: list[int], *, existing: set[int], zone: str, until: datetime) -> None:
    UsageRollup.objects.filter(pk__in=[pk for pk in ids if pk in existing]).update(
        rolled_until=until, time_zone=zone
    )
    UsageRollup.objects.bulk_create(
        [
            UsageRollup(organisation_id=pk, rolled_until=until, time_zone=zone)
            for pk in ids
            if pk not in existing
        ]
    )
