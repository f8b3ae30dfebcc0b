"""What the home page shows: the figures, what expires soon, the run-out forecast, and for a
member tied to one client that client's own figures (C3, S2, G4, M2, B4, D3).

Everything is read fresh from the database at every call (no cache), so the page and its
refreshing fragment show a debit made through the API a moment ago (C3). The organisation's
home is a handful of small queries: the pool row, one grouped read of the live lots through
their partial index, the plan, and the sum of the last 30 days of consumptions through the
(organisation, -created_at) index; nothing scans the whole history.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db.models import Min, Sum
from django.db.models.functions import Coalesce, TruncDate

from billing.models import Subscription, SubscriptionStatus
from clients.models import Client, Membership, Organisation
from credits.models import (
    ClientAccount,
    CreditPool,
    ExpiryKind,
    LimitKind,
    Lot,
    LotSource,
)
from credits.periods import held_from_pool, monthly_window_restart
from credits.selectors import PoolFigures
from credits.selectors.usage import spent_between

EXPIRY_DAYS_SHOWN = 5
PACE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class ExpiryDay:
    """Credits that lapse on one day of the organisation's calendar (B4)."""

    day: date
    credits: int
    soon: bool  # inside the organisation's reminder lead time


@dataclass(frozen=True)
class InactivityExpiry:
    """Under expiry after N months without use, the balance lapses at once unless used (D3)."""

    last_use: date
    day: date
    credits: int
    soon: bool


@dataclass(frozen=True)
class PlanCycle:
    """This cycle's included credits left beside the purchased ones (M2): included credits are
    spent first and never roll over, so the two are worth telling apart."""

    name: str
    included_left: int
    purchased: int
    ends_at: datetime


@dataclass(frozen=True)
class Forecast:
    """When the available credits run out at the recent pace (B4)."""

    spent: int
    window_days: int
    per_day: Fraction
    last_until: date

    @property
    def per_day_shown(self) -> Decimal:
        """The pace to one decimal, rounded once (the date is computed from the exact pace)."""
        exact = Decimal(self.per_day.numerator) / Decimal(self.per_day.denominator)
        return exact.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def pace_count(self) -> int:
        """A whole number that picks the plural form of "credits a day" for the pace shown
        (gettext's plural rules take integers): 1 for exactly one, 0 below, 2 above."""
        shown = self.per_day_shown
        if shown == 1:
            return 1
        return 0 if shown < 1 else 2


@dataclass(frozen=True)
class OrganisationHome:
    figures: PoolFigures
    read_at: datetime
    expiring: list[ExpiryDay] = field(default_factory=list)
    inactivity: InactivityExpiry | None = None
    plan: PlanCycle | None = None
    low_balance_threshold: int = 0
    forecast: Forecast | None = None

    for_client = False

    @property
    def low_balance(self) -> bool:
        return self.low_balance_threshold > 0 and self.figures.balance < self.low_balance_threshold

    @property
    def reminders(self) -> list[ExpiryDay]:
        return [day for day in self.expiring if day.soon]

    @property
    def nothing_expires(self) -> bool:
        return not self.expiring and self.inactivity is None


@dataclass(frozen=True)
class ClientHome:
    """A member tied to one client sees what that client has and may spend (D4, S5, G3)."""

    client: Client
    read_at: datetime
    assigned_remaining: int
    draws_from_pool: bool
    limit_kind: str
    limit: int | None
    used: int
    spendable: int

    for_client = True

    @property
    def has_limit(self) -> bool:
        return self.limit_kind != LimitKind.NONE

    @property
    def limit_left(self) -> int | None:
        if not self.has_limit:
            return None
        return max(self.limit - self.used, 0)

    @property
    def limit_kind_display(self) -> str:
        return LimitKind(self.limit_kind).label


def home_of(membership: Membership, *, now: datetime) -> OrganisationHome | ClientHome:
    """The home page of one person: their client's figures if they are tied to one (they see
    only that client, clients.roles), the organisation's otherwise."""
    if membership.client_id is not None:
        return client_home(membership.client, time_zone=membership.organisation.time_zone, now=now)
    return organisation_home(membership.organisation, now=now)


# --- the organisation's home --------------------------------------------------------------


def organisation_home(organisation: Organisation, *, now: datetime) -> OrganisationHome:
    pool = (
        CreditPool.objects.filter(organisation=organisation)
        .only(
            "balance",
            "held",
            "assigned",
            "last_activity_at",
            "expiry_kind",
            "expiry_months",
            "reminder_days",
            "low_balance_threshold",
        )
        .first()
    )
    if pool is None:
        return OrganisationHome(figures=PoolFigures(0, 0, 0), read_at=now)
    figures = PoolFigures(balance=pool.balance, held=pool.held, assigned=pool.assigned)
    remind_until = now + timedelta(days=pool.reminder_days)
    # Every expiry day, in one query: the page lists the first few, the forecast needs all.
    expiry_days = expiring_soon(organisation, now=now, remind_until=remind_until, limit=None)
    return OrganisationHome(
        figures=figures,
        read_at=now,
        expiring=expiry_days[:EXPIRY_DAYS_SHOWN],
        inactivity=inactivity_expiry(
            pool, zone=ZoneInfo(organisation.time_zone), now=now, remind_until=remind_until
        ),
        plan=plan_cycle(organisation, balance=pool.balance, now=now),
        low_balance_threshold=pool.low_balance_threshold,
        forecast=run_out_forecast(
            organisation, balance=pool.balance, held=pool.held, lapses=expiry_days, now=now
        ),
    )


def expiring_soon(
    organisation: Organisation,
    *,
    now: datetime,
    remind_until: datetime,
    limit: int | None = EXPIRY_DAYS_SHOWN,
) -> list[ExpiryDay]:
    """The next expiry days in the organisation's calendar (a lot lapsing at 23:30 UTC on
    31 January lapses on 1 February in Paris), with the credits lapsing on each: one grouped
    query over the live lots' partial index (`lot_live_spending_order`).

    A day is a reminder when its first lot lapses within the lead time; lots already past
    their expiry are left to the expiry job, which runs before any spend uses them."""
    zone = ZoneInfo(organisation.time_zone)
    rows = (
        Lot.objects.filter(organisation=organisation, live=True, expires_at__gt=now)
        .annotate(day=TruncDate("expires_at", tzinfo=zone))
        .values("day")
        .annotate(credits=Sum("remaining"), first_at=Min("expires_at"))
        .order_by("day")
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        ExpiryDay(day=row["day"], credits=row["credits"], soon=row["first_at"] <= remind_until)
        for row in rows
    ]


def inactivity_expiry(
    pool: CreditPool, *, zone: ZoneInfo, now: datetime, remind_until: datetime
) -> InactivityExpiry | None:
    """When the whole balance lapses for want of use (D3), by the rule the expiry job applies
    (credits.services.expiry): the last use plus the policy's months. A deadline already past
    is the job's to apply, so it is not announced."""
    if pool.expiry_kind != ExpiryKind.INACTIVITY or pool.last_activity_at is None:
        return None
    if pool.balance <= 0:
        return None
    deadline = pool.last_activity_at + relativedelta(months=pool.expiry_months)
    if deadline <= now:
        return None
    return InactivityExpiry(
        last_use=pool.last_activity_at.astimezone(zone).date(),
        day=deadline.astimezone(zone).date(),
        credits=pool.balance,
        soon=deadline <= remind_until,
    )


def plan_cycle(organisation: Organisation, *, balance: int, now: datetime) -> PlanCycle | None:
    """This cycle's included credits left (the live, unexpired plan-allowance lots) and the
    purchased rest of the balance, where the organisation has a plan (M2). Read only."""
    subscription = (
        Subscription.objects.filter(
            organisation=organisation,
            status__in=[SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE],
        )
        .select_related("plan")
        .only("renews_on", "plan__name")
        .first()
    )
    if subscription is None:
        return None
    allowance = Lot.objects.filter(
        organisation=organisation,
        live=True,
        expires_at__gt=now,
        source=LotSource.PLAN_ALLOWANCE,
    ).aggregate(left=Coalesce(Sum("remaining"), 0), ends_at=Min("expires_at"))
    return PlanCycle(
        name=subscription.plan.name,
        included_left=allowance["left"],
        purchased=max(balance - allowance["left"], 0),
        ends_at=allowance["ends_at"] or subscription.renews_on,
    )


def run_out_forecast(
    organisation: Organisation,
    *,
    balance: int,
    held: int,
    lapses: list[ExpiryDay],
    now: datetime,
    window_days: int = PACE_WINDOW_DAYS,
) -> Forecast | None:
    """At the last `window_days` days' pace, the day the credits run out: the pace is an
    exact fraction, and the credits last whole days from today (in the organisation's
    calendar). No forecast when nothing was spent, or nothing is left to spend."""
    spent = spent_between(organisation, now - timedelta(days=window_days), now)
    if spent <= 0 or balance - held <= 0:
        return None
    per_day = Fraction(spent, window_days)
    today = now.astimezone(ZoneInfo(organisation.time_zone)).date()
    return Forecast(
        spent=spent,
        window_days=window_days,
        per_day=per_day,
        last_until=run_out_day(
            balance=balance,
            held=held,
            per_day=per_day,
            today=today,
            lapses=[(day.day, day.credits) for day in lapses],
        ),
    )


def run_out_day(
    *,
    balance: int,
    held: int,
    per_day: Fraction,
    today: date,
    lapses: list[tuple[date, int]],
) -> date:
    """The last whole day the credits last at `per_day`, counting what lapses unspent.

    Spending takes the soonest-expiring credits first (DESIGN, the ledger), and the credits
    held for scheduled work are as good as spent today. So by an expiry day `e` the lots
    lapsing on or before it have given up to `held + per_day × (e − today)` credits, less what
    lapsed before; the rest of them lapses then. The credits run out when what was spent
    reaches the balance less what lapsed."""
    lapsed = Fraction(0)
    lapsing_so_far = 0
    for day, credits in sorted(lapses):
        spent_by_then = held + per_day * (day - today).days
        if spent_by_then >= balance - lapsed:
            break
        lapsing_so_far += credits
        lapsed += max(lapsing_so_far - lapsed - spent_by_then, 0)
    left = balance - held - lapsed
    return today + timedelta(days=math.floor(left / per_day))


# --- a tied member's home -----------------------------------------------------------------


def client_home(client: Client, *, time_zone: str, now: datetime) -> ClientHome:
    """A client's credits: assigned and left, its spending limit and what it used in the
    window, whether it draws from the pool, and what it could spend now by the debit's own
    rule (credits.funding.decide_funding), read without a lock: a preview, not a promise."""
    pool = CreditPool.objects.filter(organisation_id=client.organisation_id).values(
        "balance", "held", "assigned"
    ).first() or {"balance": 0, "held": 0, "assigned": 0}
    account = ClientAccount.objects.filter(pk=client.pk).first()
    if account is None:
        return ClientHome(client, now, 0, False, LimitKind.NONE, None, 0, 0)
    used = _used_in_window(client, account, now=now, time_zone=time_zone)
    return ClientHome(
        client=client,
        read_at=now,
        assigned_remaining=account.assigned_remaining,
        draws_from_pool=account.draws_from_pool,
        limit_kind=account.limit_kind,
        limit=account.limit,
        used=used,
        spendable=spendable_now(client, account, used=used, **pool),
    )


def _used_in_window(
    client: Client, account: ClientAccount, *, now: datetime, time_zone: str
) -> int:
    """A monthly window that has ended but was not reset yet counts only what active holds
    still reserve, by the rule the debit and credits.selectors.spending_check share
    (`credits.periods.monthly_window_restart`, `held_from_pool`; SQL twin named there)."""
    restart = monthly_window_restart(
        limit_kind=account.limit_kind,
        window_start=account.window_start,
        now=now,
        time_zone=time_zone,
    )
    if restart is None:
        return account.used
    return held_from_pool(client.pk)


def spendable_now(
    client: Client, account: ClientAccount, *, used: int, balance: int, held: int, assigned: int
) -> int:
    """The most one spend could take now, by the rule of credits.funding.decide_funding:
    assigned credits first, then the unassigned pool if the client may draw from it, within
    what its limit leaves.

    Twins: `credits.funding.decide_funding` (the refusal side of this figure) and its SQL twin,
    the funding block of `credits/sql/credits_debit.sql`."""
    if not client.is_active:
        return 0
    from_pool = 0
    if account.draws_from_pool:
        from_pool = max(balance - held - assigned, 0)
        if account.limit_kind != LimitKind.NONE:
            from_pool = min(from_pool, max(account.limit - used, 0))
    return account.assigned_remaining + from_pool
