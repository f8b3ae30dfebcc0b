"""Usage by action, client and month over a period, from the daily roll-up and a live tail
(S6, M4, C1).

Days before an organisation's roll-up mark are read from `UsageDay` (a few rows per day);
consumptions from the mark on are grouped live from `Consumption` through its (organisation,
created_at) index. The mark is a local midnight, so the two never overlap and never leave a
gap: a report is exact whether the roll-up job ran a minute ago, yesterday or never. The mark
is read first: if the job moves it meanwhile, the days it adds lie after the mark already read
and are counted once, live.

Months and days are those of the organisation's time zone. Every function here returns a
handful of grouped rows (clients × actions × months at most), never one row per consumption.
"""

import calendar
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth

from clients.models import Client, Organisation
from credits.models import (
    BillableAction,
    Consumption,
    RuleKind,
    UsageDay,
    UsagePersonDay,
    UsageRollup,
)


def local_midnight(day: date, time_zone: str) -> datetime:
    """The instant the day starts in the time zone (what `TruncDate(tzinfo=…)` counts from)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(time_zone))


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Period:
    """Whole local days, `first` to `last` inclusive (what the date fields of the page say)."""

    first: date
    last: date

    def months(self) -> Iterator[date]:
        month = self.first.replace(day=1)
        while month <= self.last:
            yield month
            month = next_month(month)

    @property
    def query(self) -> str:
        """The period as a page's query string, for links that keep it."""
        return urlencode({"date_from": self.first.isoformat(), "date_to": self.last.isoformat()})


@dataclass(frozen=True)
class ActionLine:
    code: str
    name: str  # the rate card's name; the code when the action left the rate card
    free: bool
    uses: int
    credits: int


@dataclass(frozen=True)
class ClientLine:
    client_id: int
    name: str
    is_active: bool
    uses: int
    credits: int


@dataclass(frozen=True)
class MonthLine:
    month: date  # the first of the month
    first: date  # the month's days inside the period (a period may start or end mid-month)
    last: date
    uses: int
    credits: int


@dataclass(frozen=True)
class UsageReport:
    period: Period
    client: Client | None  # the one client it is about, or None: the whole organisation
    by_action: list[ActionLine]
    by_client: list[ClientLine]
    by_month: list[MonthLine]  # every month of the period, those without use at 0
    uses: int
    credits: int


# (client id, action code, first of the month) -> [uses, credits]
Cells = dict[tuple[int, str, date], list[int]]


def rolled_until(organisation: Organisation) -> datetime | None:
    """The organisation's roll-up mark, or None when its days are not usable: never rolled
    up, or rolled up in another time zone's days (the zone changed since; the next run
    rebuilds them)."""
    return _mark(organisation.pk, organisation.time_zone)


def _mark(organisation_id: int, time_zone: str) -> datetime | None:
    row = (
        UsageRollup.objects.filter(organisation_id=organisation_id)
        .values_list("rolled_until", "time_zone")
        .first()
    )
    if row is None or row[1] != time_zone:
        return None
    return row[0]


def _add(cells: Cells, rows) -> None:
    for client_id, action_code, month, uses, credits in rows:
        if isinstance(month, datetime):
            month = month.date()  # a local midnight, truncated in the organisation's zone
        cell = cells[(client_id, action_code, month)]
        cell[0] += uses
        cell[1] += credits


def _cells(organisation: Organisation, period: Period, client: Client | None) -> Cells:
    """Uses and credits by client, action and month: rolled-up days, then the live tail."""
    zone = organisation.time_zone
    start = local_midnight(period.first, zone)
    stop = local_midnight(period.last + timedelta(days=1), zone)
    scope = Q(organisation=organisation)
    if client is not None:
        scope &= Q(client=client)
    cells: Cells = defaultdict(lambda: [0, 0])
    live_from = start
    mark = rolled_until(organisation)
    if mark is not None and mark > start:
        rolled_days = min(mark.astimezone(ZoneInfo(zone)).date(), period.last + timedelta(days=1))
        days = (
            UsageDay.objects.filter(scope, day__gte=period.first, day__lt=rolled_days)
            .annotate(month=TruncMonth("day"))
            .order_by()
            .values_list("client_id", "action_code", "month")
            .annotate(all_uses=Sum("uses"), all_credits=Sum("credits"))
        )
        _add(cells, days)
        live_from = max(start, mark)
    if live_from < stop:
        live = (
            Consumption.objects.filter(scope, created_at__gte=live_from, created_at__lt=stop)
            .annotate(month=TruncMonth("created_at", tzinfo=ZoneInfo(zone)))
            .order_by()
            .values_list("client_id", "action_code", "month")
            .annotate(all_uses=Count("pk"), all_credits=Sum("credits"))
        )
        _add(cells, live)
    return cells


def _totals(cells: Cells, key_of) -> dict[object, list[int]]:
    totals: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    for key, (uses, credits) in cells.items():
        total = totals[key_of(key)]
        total[0] += uses
        total[1] += credits
    return totals


def usage_report(
    organisation: Organisation, period: Period, *, client: Client | None = None
) -> UsageReport:
    """The organisation's usage over the period, or one client's (a member tied to a client
    is only ever given its own). Actions and clients with use come by credits spent, then by
    uses (free actions count with 0 credits, C1); months come in order, all of them."""
    cells = _cells(organisation, period, client)
    by_action = _totals(cells, lambda key: key[1])
    by_client = _totals(cells, lambda key: key[0])
    by_month = _totals(cells, lambda key: key[2])

    actions = {
        code: (name, rule == RuleKind.FREE)
        for code, name, rule in BillableAction.objects.filter(
            organisation=organisation, code__in=list(by_action)
        ).values_list("code", "name", "rule")
    }
    action_lines = [
        ActionLine(code, *actions.get(code, (code, False)), uses, credits)
        for code, (uses, credits) in by_action.items()
    ]
    action_lines.sort(key=lambda line: (-line.credits, -line.uses, line.name.casefold()))

    names = {
        pk: (name, is_active)
        for pk, name, is_active in Client.objects.filter(
            organisation=organisation, pk__in=list(by_client)
        ).values_list("pk", "name", "is_active")
    }
    client_lines = [
        ClientLine(pk, *names.get(pk, (str(pk), False)), uses, credits)
        for pk, (uses, credits) in by_client.items()
    ]
    client_lines.sort(key=lambda line: (-line.credits, -line.uses, line.name.casefold()))

    month_lines = []
    for month in period.months():
        uses, credits = by_month.get(month, (0, 0))
        first = max(month, period.first)
        last = min(month_end(month), period.last)
        month_lines.append(MonthLine(month, first, last, uses, credits))

    return UsageReport(
        period=period,
        client=client,
        by_action=action_lines,
        by_client=client_lines,
        by_month=month_lines,
        uses=sum(line.uses for line in month_lines),
        credits=sum(line.credits for line in month_lines),
    )


@dataclass(frozen=True)
class Consumed:
    uses: int  # consumptions, free ones included (C1)
    credits: int


def consumed_between(
    organisation_id: int,
    time_zone: str,
    start: datetime | None,
    end: datetime | None,
    *,
    client_id: int | None = None,
    action_code: str = "",
    actor_id: int | None = None,
) -> Consumed:
    """Consumptions from `start` (included) to `end` (excluded), either open, of one client
    or action if given: whole local days before the roll-up mark from `UsageDay`, the ragged
    ends and everything after the mark live. Three small queries at most, whatever the
    history (the activity's totals and the home page's pace read it). Of one person when
    `actor_id` is given (from `UsagePersonDay`; with a client or an action too, live)."""
    if start is not None and end is not None and end <= start:
        return Consumed(0, 0)
    zone = ZoneInfo(time_zone)
    live = Consumption.objects.filter(organisation_id=organisation_id)
    rolled = UsageDay.objects.filter(organisation_id=organisation_id)
    if client_id is not None:
        live, rolled = live.filter(client_id=client_id), rolled.filter(client_id=client_id)
    if action_code:
        live, rolled = live.filter(action_code=action_code), rolled.filter(action_code=action_code)
    if actor_id is not None:
        live = live.filter(actor_id=actor_id)
        # One person's days hold no client or action: with those filters too, count live.
        rolled = UsagePersonDay.objects.filter(organisation_id=organisation_id, actor_id=actor_id)
        if client_id is not None or action_code:
            rolled = None
    mark = _mark(organisation_id, time_zone) if rolled is not None else None
    first_day = end_day = None
    if mark is not None:
        end_day = mark.astimezone(zone).date()  # whole days end at this day's midnight
        if end is not None:
            end_day = min(end_day, end.astimezone(zone).date())
        if start is not None:
            local_start = start.astimezone(zone)
            first_day = local_start.date()
            if local_start != local_midnight(first_day, time_zone):
                first_day += timedelta(days=1)  # the first whole day starts at the next midnight
    if mark is None or (first_day is not None and first_day >= end_day):
        within = Q()
        if start is not None:
            within &= Q(created_at__gte=start)
        if end is not None:
            within &= Q(created_at__lt=end)
        return _consumed(live.filter(within))
    days = rolled.filter(day__lt=end_day)
    if first_day is not None:
        days = days.filter(day__gte=first_day)
    from_days = days.aggregate(uses=Coalesce(Sum("uses"), 0), credits=Coalesce(Sum("credits"), 0))
    tail = Q(created_at__gte=local_midnight(end_day, time_zone))
    if end is not None:
        tail &= Q(created_at__lt=end)
    ends = tail
    if start is not None:
        ends |= Q(created_at__gte=start, created_at__lt=local_midnight(first_day, time_zone))
    from_live = _consumed(live.filter(ends))
    return Consumed(from_days["uses"] + from_live.uses, from_days["credits"] + from_live.credits)


def _consumed(consumptions) -> Consumed:
    totals = consumptions.aggregate(uses=Count("pk"), credits=Coalesce(Sum("credits"), 0))
    return Consumed(totals["uses"], totals["credits"])


def spent_between(organisation: Organisation, start: datetime, end: datetime) -> int:
    """Credits spent from `start` (included) to `end` (excluded), e.g. the last 30 days' pace
    for the home page's forecast."""
    return consumed_between(organisation.pk, organisation.time_zone, start, end).credits
