"""Reads behind the alerts: who gets the e-mails, what the jobs must send, and the alerts
page (lead times, threshold, automatic top-up, the notices sent) (D3, B1, B2).

The jobs' reads are set-based: one query finds the lots due a reminder across every
organisation, one the inactivity deadlines, one the pools under their threshold; nothing is
read per lot or per organisation before something is known to be due.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Greatest
from django.utils.formats import number_format
from django.utils.translation import get_language

from billing.exceptions import BillingError
from billing.models import AutoTopUp, BillingProfile
from billing.pricing import PriceQuote, price_credits
from clients.models import Membership, Organisation, Role
from credits.models import (
    CreditPool,
    ExpiryKind,
    ExpiryReminder,
    Lot,
    LotSource,
    LowBalanceAlert,
    Notice,
)
from credits.services.core import inactivity_deadline

NOTICES_SHOWN = 50
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}
NBSP = "\u00a0"


@dataclass(frozen=True)
class Money:
    """An amount written in the language active when it is shown (`€1,800.00` in English,
    `1 800,00 €` in French), so a notice rendered in the organisation's language and a page
    in the reader's each get their own. Exact: a Decimal, two places."""

    amount: Decimal
    currency: str
    places: int = 2

    def __str__(self) -> str:
        figure = number_format(self.amount, decimal_pos=self.places, force_grouping=True)
        symbol = SYMBOLS.get(self.currency)
        if (get_language() or "en").startswith("fr"):
            return f"{figure}{NBSP}{symbol or self.currency}"
        return f"{symbol}{figure}" if symbol else f"{self.currency}{NBSP}{figure}"


def owner_emails(organisation: Organisation | int) -> list[str]:
    """The organisation's owners' addresses (alerts are the owners' business: plan, card,
    money), each once, in a stable order."""
    organisation_id = getattr(organisation, "pk", organisation)
    emails = (
        Membership.objects.filter(organisation_id=organisation_id, role=Role.OWNER)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))


def due_lead(leads: tuple[int, ...], expires_at: datetime, now: datetime) -> int | None:
    """The lead time whose reminder is due now: the closest one already reached (a lot first
    seen 5 days before its expiry gets the 7-day reminder, not the 30-day one as well)."""
    left = expires_at - now
    reached = [lead for lead in leads if left <= timedelta(days=lead)]
    return min(reached) if reached else None


@dataclass(frozen=True)
class DueReminder:
    """One line of a reminder e-mail: a lot (or the inactivity deadline, lot_id None) whose
    credits expire at `expires_at`, reminded at `lead_days`."""

    organisation_id: int
    lot_id: int | None
    lead_days: int
    expires_at: datetime
    credits: int


def due_lot_reminders(*, now: datetime) -> list[DueReminder]:
    """Live lots expiring within their organisation's longest lead time that have not had the
    reminder of the lead time reached, across every organisation: one aggregate (the longest
    lead time anywhere, to bound the scan) and one query with the pool's lead times and the
    closest reminder already recorded for the lot's current expiry joined in.

    Plan allowances are left out: they lapse at the end of every cycle by design and are
    replaced at once (M2); a monthly reminder of it would be noise."""
    longest = CreditPool.objects.aggregate(
        days=Max(Greatest("reminder_days", "second_reminder_days"))
    )["days"]
    if not longest:
        return []
    closest_sent = (
        ExpiryReminder.objects.filter(lot=OuterRef("pk"), expires_at=OuterRef("expires_at"))
        .order_by("lead_days")
        .values("lead_days")[:1]
    )
    rows = (
        Lot.objects.filter(
            live=True, expires_at__gt=now, expires_at__lte=now + timedelta(days=longest)
        )
        .exclude(source=LotSource.PLAN_ALLOWANCE)
        .annotate(
            first_days=F("organisation__pool__reminder_days"),
            second_days=F("organisation__pool__second_reminder_days"),
            sent_days=Subquery(closest_sent),
        )
        .values(
            "pk",
            "organisation_id",
            "expires_at",
            "remaining",
            "first_days",
            "second_days",
            "sent_days",
        )
        .order_by("organisation_id", "expires_at", "pk")
    )
    due = []
    for row in rows:
        leads = tuple({row["first_days"], row["second_days"]} - {0})
        lead = due_lead(leads, row["expires_at"], now)
        # A reminder at this lead time or a closer one already went for this expiry.
        if lead is None or (row["sent_days"] is not None and row["sent_days"] <= lead):
            continue
        due.append(
            DueReminder(
                row["organisation_id"], row["pk"], lead, row["expires_at"], row["remaining"]
            )
        )
    return due


def due_inactivity_reminders(*, now: datetime) -> list[DueReminder]:
    """Pools that expire after months without use (D3) whose deadline (the expiry job's own
    rule, `inactivity_deadline`) is within a lead time and not yet reminded at it: one query
    over those pools, one over their reminders for deadlines still ahead."""
    pools = list(
        CreditPool.objects.filter(
            expiry_kind=ExpiryKind.INACTIVITY, balance__gt=0, last_activity_at__isnull=False
        ).only(
            "balance",
            "expiry_kind",
            "expiry_months",
            "last_activity_at",
            "reminder_days",
            "second_reminder_days",
        )
    )
    candidates = []
    for pool in pools:
        deadline = inactivity_deadline(pool)
        if deadline is None or deadline <= now:
            continue  # past: the expiry job's to apply
        lead = due_lead(pool.reminder_lead_days, deadline, now)
        if lead is not None:
            candidates.append(DueReminder(pool.pk, None, lead, deadline, pool.balance))
    if not candidates:
        return []
    sent: dict[tuple[int, datetime], int] = {}
    for organisation_id, expires_at, lead_days in ExpiryReminder.objects.filter(
        lot__isnull=True,
        organisation_id__in=[reminder.organisation_id for reminder in candidates],
        expires_at__gt=now,
    ).values_list("organisation_id", "expires_at", "lead_days"):
        key = (organisation_id, expires_at)
        sent[key] = min(sent.get(key, lead_days), lead_days)
    return [
        reminder
        for reminder in candidates
        if sent.get((reminder.organisation_id, reminder.expires_at), 10**6) > reminder.lead_days
    ]


@dataclass(frozen=True)
class UnderThreshold:
    organisation_id: int
    available: int
    threshold: int


def pools_under_threshold() -> list[UnderThreshold]:
    """Organisations whose available credits (balance − held) are under their low-balance
    threshold and whose alert is armed (or never went): one query over the pools, the alert
    state joined in."""
    rows = (
        CreditPool.objects.filter(
            low_balance_threshold__gt=0,
            balance__lt=F("held") + F("low_balance_threshold"),
        )
        .exclude(organisation__low_balance_alert__armed=False)
        .order_by("pk")
        .values_list("pk", "balance", "held", "low_balance_threshold")
    )
    return [UnderThreshold(pk, balance - held, threshold) for pk, balance, held, threshold in rows]


def back_above_threshold() -> Q:
    """Alert states whose pool is back at or above its threshold (or has none any more)."""
    return Q(organisation__pool__low_balance_threshold=0) | Q(
        organisation__pool__balance__gte=F("organisation__pool__held")
        + F("organisation__pool__low_balance_threshold")
    )


@dataclass(frozen=True)
class TopUpPrice:
    """What one top-up costs at today's price list (the purchase prices it again)."""

    credits: int
    unit_price: Money
    amount: Money
    tax: Money
    total: Money

    @classmethod
    def of(cls, quote: PriceQuote) -> "TopUpPrice":
        exponent = quote.unit_price.normalize().as_tuple().exponent
        places = min(max(2, -exponent), 4) if isinstance(exponent, int) else 2
        return cls(
            credits=quote.credits,
            unit_price=Money(quote.unit_price, quote.currency, places),
            amount=Money(quote.amount, quote.currency),
            tax=Money(quote.tax, quote.currency),
            total=Money(quote.total, quote.currency),
        )


@dataclass(frozen=True)
class TopUpView:
    """The automatic top-up as the page shows it (B2)."""

    settings: AutoTopUp | None
    price: TopUpPrice | None
    price_error: str
    card: str
    spent: Money
    cap: Money | None

    @property
    def enabled(self) -> bool:
        return self.settings is not None and self.settings.enabled

    @property
    def has_card(self) -> bool:
        return bool(self.card)


@dataclass(frozen=True)
class AlertsPage:
    pool: CreditPool
    available: int
    alert: LowBalanceAlert | None
    top_up: TopUpView
    notices: list[Notice] = field(default_factory=list)


def top_up_price(organisation: Organisation, credits: int | None) -> tuple[TopUpPrice | None, str]:
    """The current price of one top-up of `credits` (the server's price list is the truth),
    or why it cannot be bought."""
    if not credits:
        return None, ""
    try:
        return TopUpPrice.of(price_credits(organisation, credits)), ""
    except BillingError as error:
        return None, str(error)


def alerts_page(organisation: Organisation, *, now: datetime) -> AlertsPage:
    """Everything the alerts page shows, for one organisation (a handful of small reads)."""
    from billing.services.top_up import spent_this_month  # a read; billing imports credits

    pool = CreditPool.objects.get(organisation=organisation)
    settings = AutoTopUp.objects.filter(organisation=organisation).first()
    profile = BillingProfile.objects.filter(organisation=organisation).first()
    price, price_error = top_up_price(organisation, settings.credits if settings else None)
    card = ""
    if profile is not None and profile.has_card:
        card = f"{profile.card_brand} •••• {profile.card_last4}"
    return AlertsPage(
        pool=pool,
        available=pool.balance - pool.held,
        alert=LowBalanceAlert.objects.filter(organisation=organisation).first(),
        top_up=TopUpView(
            settings=settings,
            price=price,
            price_error=price_error,
            card=card,
            spent=Money(spent_this_month(organisation, now=now), organisation.currency),
            cap=Money(settings.monthly_cap, organisation.currency) if settings else None,
        ),
        notices=list(Notice.objects.filter(organisation=organisation)[:NOTICES_SHOWN]),
    )
