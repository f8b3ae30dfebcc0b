"""Reads of the billing page and the billing history (M3, M5): the plan and what was used of
it this cycle, the plans on sale with what choosing each would cost today, the card on file,
the billing profile, and every invoice, credit note and unfinished or refunded purchase.

Reads only: nothing here creates a billing profile (`billing.services.profile_of` would) or
takes a lock, so the pages stay GETs that change nothing. Every read is scoped to one
organisation (X5).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.paginator import Page, Paginator
from django.db.models import F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from billing.models import (
    BillingProfile,
    Invoice,
    Plan,
    Purchase,
    PurchaseKind,
    PurchaseStatus,
    Subscription,
    SubscriptionStatus,
)
from billing.money import cents
from billing.pricing import taxed
from billing.templatetags.invoice_format import format_money
from clients.models import Organisation
from credits.models import EntryKind, LedgerEntry, Lot, LotSource
from credits.selectors.ratecard import credits_words

HISTORY_PAGE_SIZE = 50
# Purchases the history shows beside the invoices: those with no invoice yet (being paid,
# being completed, being refunded) and those refunded (which never got one).
PURCHASES_WITHOUT_INVOICE = (
    PurchaseStatus.CHARGING,
    PurchaseStatus.CHARGED,
    PurchaseStatus.REFUNDING,
    PurchaseStatus.REFUNDED,
)
UNFINISHED = (PurchaseStatus.CHARGING, PurchaseStatus.CHARGED, PurchaseStatus.REFUNDING)
PLAN_KINDS = (PurchaseKind.PLAN_START, PurchaseKind.PLAN_UPGRADE, PurchaseKind.PLAN_RENEWAL)


@dataclass(frozen=True)
class Money:
    """An amount and its currency, written in the language of the page that shows it (so a
    selector can hand it over before the template knows the language): `€1,800.00`,
    `1 800,00 €`, the way the invoices write it (`billing.templatetags.invoice_format`)."""

    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return format_money(self.amount, self.currency)


@dataclass(frozen=True)
class CurrentPlan:
    subscription: Subscription
    price: Money
    cycle_credits: int  # the plan's allowance of this cycle, with an upgrade's extra credits
    used: int

    @property
    def plan(self) -> Plan:
        return self.subscription.plan

    @property
    def next_plan(self) -> Plan | None:
        return self.subscription.next_plan

    @property
    def next_price(self) -> Money | None:
        following = self.subscription.next_plan
        return Money(following.monthly_price, following.currency) if following else None

    @property
    def used_percent(self) -> int:
        if self.cycle_credits <= 0:
            return 0
        return min(100, self.used * 100 // self.cycle_credits)

    @property
    def is_active(self) -> bool:
        return self.subscription.status == SubscriptionStatus.ACTIVE

    @property
    def is_past_due(self) -> bool:
        return self.subscription.status == SubscriptionStatus.PAST_DUE

    @property
    def is_suspended(self) -> bool:
        return self.subscription.status == SubscriptionStatus.SUSPENDED

    @property
    def is_cancelled(self) -> bool:
        return self.subscription.status == SubscriptionStatus.CANCELLED

    @property
    def cancels(self) -> bool:
        """Runs to the end of the paid period, then stops (and can still be undone)."""
        return self.is_active and self.subscription.cancel_at_period_end


class Choice:
    """What choosing a plan does, as `billing.services.subscriptions` will do it."""

    CURRENT = "current"
    SUBSCRIBE = "subscribe"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    PENDING = "pending"  # the downgrade already waiting for the renewal
    KEEP = "keep"  # the current plan while a downgrade waits: choosing it calls it off
    CLOSED = "closed"  # past due: the plan cannot change until the renewal is paid


@dataclass(frozen=True)
class PlanOffer:
    plan: Plan
    price: Money
    choice: str
    due_today: Money | None = None  # charged at once, tax included
    due_before_tax: Money | None = None
    switch_on: datetime | None = None  # when a downgrade takes effect

    @property
    def can_choose(self) -> bool:
        return self.choice in (Choice.SUBSCRIBE, Choice.UPGRADE, Choice.DOWNGRADE, Choice.KEEP)


@dataclass(frozen=True)
class CardOnFile:
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    expired: bool = False


@dataclass(frozen=True)
class BillingAccount:
    current: CurrentPlan | None
    offers: list[PlanOffer]
    card: CardOnFile | None
    profile: BillingProfile | None
    plan_payment_pending: bool

    @property
    def has_plan(self) -> bool:
        return self.current is not None and not self.current.is_cancelled


def profile_for(organisation: Organisation) -> BillingProfile | None:
    """The profile as stored, or None: a page that only reads must not create one."""
    return BillingProfile.objects.filter(organisation=organisation).first()


def subscription_of(organisation: Organisation) -> Subscription | None:
    return (
        Subscription.objects.select_related("plan", "next_plan")
        .filter(organisation=organisation)
        .first()
    )


def plans_on_sale(organisation: Organisation) -> QuerySet[Plan]:
    """The plans an organisation may choose: on sale, in its own currency."""
    return Plan.objects.filter(is_active=True, currency=organisation.currency).order_by(
        "monthly_price", "pk"
    )


def used_this_cycle(subscription: Subscription) -> tuple[int, int]:
    """(credits of this cycle's allowance, credits consumed from it).

    The cycle's allowance is every plan-allowance lot that expires when the cycle ends (the
    month's lot, `Subscription.allowance_lot_id`, plus the extra credits of an upgrade, which
    expire with it; included credits never roll over, M2). What was used of it is counted
    from the ledger, not as the lots' quantity less what remains: a lot also shrinks when
    staff adjust the balance or a purchase is voided, and that is not use. Consumptions and
    captured holds write one entry per lot that paid for them, so summing those entries on
    these lots is exactly the credits spent from the allowance."""
    lots = list(
        Lot.objects.filter(
            Q(pk=subscription.allowance_lot_id) | Q(expires_at=subscription.renews_on),
            organisation_id=subscription.organisation_id,
            source=LotSource.PLAN_ALLOWANCE,
        ).values_list("pk", "quantity")
    )
    if not lots:
        return 0, 0
    spent = LedgerEntry.objects.filter(
        lot_id__in=[pk for pk, _quantity in lots],
        kind__in=[EntryKind.DEBIT, EntryKind.CAPTURE],
    ).aggregate(spent=Coalesce(Sum("credits"), 0))["spent"]
    return sum(quantity for _pk, quantity in lots), -spent


def upgrade_amount(subscription: Subscription, plan: Plan, *, now: datetime) -> Decimal:
    """The price difference for what is left of the period, before tax: computed exactly as
    `billing.services.subscriptions.change_plan` charges it (seconds left over seconds in the
    period, rounded to the cent once), so the page announces what the card will be charged."""
    period = (subscription.renews_on - subscription.period_start).total_seconds()
    left = max((subscription.renews_on - now).total_seconds(), 0)
    return cents(
        (plan.monthly_price - subscription.plan.monthly_price) * Decimal(left) / Decimal(period)
    )


def _offer(
    organisation: Organisation, plan: Plan, subscription: Subscription | None, now: datetime
) -> PlanOffer:
    price = Money(plan.monthly_price, plan.currency)

    def due(amount: Decimal) -> dict:
        _rate, _tax, total = taxed(organisation, amount)
        return {
            "due_today": Money(total, plan.currency),
            "due_before_tax": Money(amount, plan.currency),
        }

    if subscription is None or subscription.status in (
        SubscriptionStatus.CANCELLED,
        SubscriptionStatus.SUSPENDED,
    ):
        return PlanOffer(plan, price, Choice.SUBSCRIBE, **due(cents(plan.monthly_price)))
    if subscription.status != SubscriptionStatus.ACTIVE:
        current = Choice.CURRENT if plan.pk == subscription.plan_id else Choice.CLOSED
        return PlanOffer(plan, price, current)
    if plan.pk == subscription.plan_id:
        return PlanOffer(plan, price, Choice.KEEP if subscription.next_plan_id else Choice.CURRENT)
    if plan.monthly_price > subscription.plan.monthly_price:
        return PlanOffer(
            plan, price, Choice.UPGRADE, **due(upgrade_amount(subscription, plan, now=now))
        )
    pending = plan.pk == subscription.next_plan_id
    return PlanOffer(
        plan,
        price,
        Choice.PENDING if pending else Choice.DOWNGRADE,
        switch_on=subscription.renews_on,
    )


def plan_offer(organisation: Organisation, plan: Plan, *, now: datetime) -> PlanOffer:
    """What choosing `plan` would do now, for the confirmation step."""
    return _offer(organisation, plan, subscription_of(organisation), now)


def card_on_file(
    organisation: Organisation, *, now: datetime, profile: BillingProfile | None = None
) -> CardOnFile | None:
    """The card the gateway keeps for the organisation, as its holder recognises it (brand,
    last four digits, expiry, and whether that expiry has passed in the organisation's
    calendar), or None."""
    profile = profile or profile_for(organisation)
    if profile is None or not profile.has_card:
        return None
    today = now.astimezone(ZoneInfo(organisation.time_zone)).date()
    month, year = profile.card_exp_month, profile.card_exp_year
    return CardOnFile(
        profile.card_brand,
        profile.card_last4,
        month,
        year,
        expired=bool(month and year and (year, month) < (today.year, today.month)),
    )


def billing_account(organisation: Organisation, *, now: datetime) -> BillingAccount:
    """Everything the billing page shows, in a handful of queries."""
    subscription = subscription_of(organisation)
    current = None
    if subscription is not None:
        cycle_credits, used = used_this_cycle(subscription)
        current = CurrentPlan(
            subscription=subscription,
            price=Money(subscription.plan.monthly_price, subscription.plan.currency),
            cycle_credits=cycle_credits,
            used=used,
        )
    offers = [_offer(organisation, plan, subscription, now) for plan in plans_on_sale(organisation)]
    profile = profile_for(organisation)
    card = card_on_file(organisation, now=now, profile=profile)
    pending = Purchase.objects.filter(
        organisation=organisation, kind__in=PLAN_KINDS, status__in=UNFINISHED
    ).exists()
    return BillingAccount(current, offers, card, profile, pending)


@dataclass(frozen=True)
class HistoryRow:
    """One line of the billing history: an invoice or credit note (with its PDF), or a
    purchase that has none (being paid or completed, or refunded)."""

    at: datetime
    kind: str
    kind_label: str
    what: str
    status: str
    status_label: str
    total: Money
    number: str = ""
    is_invoice: bool = False

    @property
    def tone(self) -> str:
        """The badge's colour: settled, waiting, or gone."""
        if self.status in ("paid", "invoiced", "refunded"):
            return "ok"
        if self.status in ("overdue", "void", "declined", "failed"):
            return "bad"
        return "warn"


def _history_keys(organisation: Organisation):
    """(at, source, id) of every row, newest first: one UNION query that the paginator
    counts and slices, so a page reads 50 rows whatever the history's length."""
    invoices = (
        Invoice.objects.filter(organisation=organisation)
        .order_by()
        .annotate(row_at=F("issued_at"), row_source=Value("invoice"), row_id=F("pk"))
        .values_list("row_at", "row_source", "row_id")
    )
    purchases = (
        Purchase.objects.filter(
            organisation=organisation,
            invoice__isnull=True,
            status__in=PURCHASES_WITHOUT_INVOICE,
        )
        .order_by()
        .annotate(row_at=F("created_at"), row_source=Value("purchase"), row_id=F("pk"))
        .values_list("row_at", "row_source", "row_id")
    )
    return invoices.union(purchases, all=True).order_by("-row_at", "-row_source", "-row_id")


def _purchase_words(purchase: Purchase) -> str:
    if purchase.kind == PurchaseKind.CREDITS:
        if purchase.package_id:
            return purchase.package.name
        return credits_words(purchase.credits)
    plan = purchase.plan.name if purchase.plan_id else ""
    if purchase.kind == PurchaseKind.PLAN_UPGRADE:
        return _("Upgrade to the %(plan)s plan") % {"plan": plan}
    return _("%(plan)s plan") % {"plan": plan}


def history_page(organisation: Organisation, page_number: object) -> Page:
    """One page of the billing history (M5), 50 rows, newest first; `page_number` as typed
    in the address (anything that is not a page gives the nearest page)."""
    page = Paginator(_history_keys(organisation), HISTORY_PAGE_SIZE).get_page(page_number)
    keys = list(page.object_list)
    invoice_ids = [row_id for _at, source, row_id in keys if source == "invoice"]
    purchase_ids = [row_id for _at, source, row_id in keys if source == "purchase"]
    invoices = {
        invoice.pk: invoice
        for invoice in Invoice.objects.filter(organisation=organisation, pk__in=invoice_ids)
        .select_related("credit_note_for")
        .prefetch_related("lines")
    }
    purchases = {
        purchase.pk: purchase
        for purchase in Purchase.objects.filter(
            organisation=organisation, pk__in=purchase_ids
        ).select_related("package", "plan")
    }
    rows: list[HistoryRow] = []
    for at, source, row_id in keys:
        if source == "invoice":
            invoice = invoices[row_id]
            lines = list(invoice.lines.all())
            rows.append(
                HistoryRow(
                    at=at,
                    kind=invoice.kind,
                    kind_label=invoice.get_kind_display(),
                    what=lines[0].description if lines else "",
                    status=invoice.status,
                    status_label=invoice.get_status_display(),
                    total=Money(invoice.total, invoice.currency),
                    number=invoice.number,
                    is_invoice=True,
                )
            )
        else:
            purchase = purchases[row_id]
            rows.append(
                HistoryRow(
                    at=at,
                    kind=purchase.kind,
                    kind_label=purchase.get_kind_display(),
                    what=_purchase_words(purchase),
                    status=purchase.status,
                    status_label=purchase.get_status_display(),
                    total=Money(purchase.total, purchase.currency),
                )
            )
    page.object_list = rows
    return page


def invoice_of(organisation: Organisation, number: str) -> Invoice | None:
    """An invoice or credit note of this organisation by its number; another organisation's
    number is None, as one that does not exist (X5)."""
    return Invoice.objects.filter(organisation=organisation, number=number).first()
