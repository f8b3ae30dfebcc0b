"""Reads of the Buy credits page (G2, S3, S4): the offers in words, the live price of a custom
quantity by volume tier, how many SMS a quantity buys, and what a purchase does to the expiry
of the credits held (the checkout and the outcome are in `billing.selectors.checkout`).
Reads only: buying is
`billing.services.purchase`, which prices again under its lock (the server's price is the
truth, whatever a page showed).

Figures are put into words here rather than in templates, so that the page, its live
fragment and the tests read exactly the same text, formatted for the active language.
"""

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.db.models import Sum
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing import pricing
from billing.exceptions import BillingError
from billing.models import Package, PriceList, PriceTier
from billing.templatetags.invoice_format import format_money, format_percent
from clients.models import Organisation
from credits.models import CreditPool, ExpiryKind, Lot, LotSource, SmsRate
from credits.selectors import pool_figures
from credits.selectors.ratecard import credits_words, number

SMS_PRESET = "sms"
SLIDER_STEPS_PER_TIER = 100
SMS_COUNTRIES_SHOWN = 3  # the rest of the rate card folds into "all countries"

UNREAD = object()  # "read it yourself", for arguments a caller may already have read


def money(amount: Decimal, currency: str) -> str:
    """ "€1,800.00" in English, "1 800,00 €" in French (the invoices' own formatter)."""
    return format_money(amount, currency)


def unit_money(amount: Decimal, currency: str) -> str:
    """A price per credit: two decimals, more only where the price has them (0.045)."""
    return format_money(amount, currency, min_decimals=2, max_decimals=4)


@dataclass(frozen=True)
class Price:
    """A `PriceQuote` in words."""

    quote: pricing.PriceQuote
    unit_price: str
    amount: str
    tax_rate: str
    tax: str
    total: str

    @property
    def credits(self) -> int:
        return self.quote.credits

    @property
    def tier_start(self) -> int | None:
        return self.quote.tier.min_credits if self.quote.tier is not None else None


def price_words(quote: pricing.PriceQuote) -> Price:
    currency = quote.currency
    return Price(
        quote=quote,
        unit_price=unit_money(quote.unit_price, currency),
        amount=money(quote.amount, currency),
        tax_rate=format_percent(quote.tax_rate),
        tax=money(quote.tax, currency),
        total=money(quote.total, currency),
    )


@dataclass(frozen=True)
class TierRow:
    min_credits: int
    starts: str  # "100 credits"
    unit_price: str
    current: bool


@dataclass(frozen=True)
class Slider:
    """The range input's scale: each tier gets the same width, whatever its span, so the
    small tiers are not squeezed into a few pixels of a phone (static/js/buy.js maps a
    position to credits and back, linearly within a tier). `stops`: the tiers' starts, then
    the scale's end; the number field beside it takes any quantity."""

    stops: list[int]
    initial: int

    @property
    def maximum(self) -> int:
        return (len(self.stops) - 1) * SLIDER_STEPS_PER_TIER

    @property
    def position(self) -> int:
        return slider_position(self.stops, self.initial)

    @property
    def marks(self) -> list[int]:
        return [index * SLIDER_STEPS_PER_TIER for index in range(len(self.stops))]

    @property
    def stops_text(self) -> str:
        return ",".join(str(stop) for stop in self.stops)


def slider_position(stops: list[int], credits: int) -> int:
    """Where `credits` sit on the slider (the twin of positionOf in static/js/buy.js)."""
    if credits <= stops[0]:
        return 0
    for index, (start, end) in enumerate(itertools.pairwise(stops)):
        if credits < end:
            share = (credits - start) / (end - start)
            # Half up, as JavaScript's Math.round (Python's round() halves to even)
            return index * SLIDER_STEPS_PER_TIER + math.floor(share * SLIDER_STEPS_PER_TIER + 0.5)
    return (len(stops) - 1) * SLIDER_STEPS_PER_TIER


def tier_rows(tiers: list[PriceTier], currency: str, current: int | None) -> list[TierRow]:
    return [
        TierRow(
            min_credits=tier.min_credits,
            starts=credits_words(tier.min_credits),
            unit_price=unit_money(tier.unit_price, currency),
            current=tier.min_credits == current,
        )
        for tier in tiers
    ]


def slider_for(tiers: list[PriceTier], packages: list[Package]) -> Slider:
    starts = [tier.min_credits for tier in tiers] or [1]
    end = max(2 * starts[-1], 1000, *(package.credits for package in packages))
    initial = starts[1] if len(starts) > 1 else min(max(1000, starts[0]), end)
    return Slider(stops=[*starts, end], initial=initial)


@dataclass(frozen=True)
class SmsCount:
    country: str
    name: str
    credits_per_part: int
    messages: int
    messages_text: str


@dataclass(frozen=True)
class SmsTable:
    """How many one-part SMS to one recipient `credits` buy in each country of the rate card;
    the first few shown, the rest folded."""

    credits: int
    rows: list[SmsCount]

    @property
    def first(self) -> list[SmsCount]:
        if len(self.rows) <= SMS_COUNTRIES_SHOWN + 1:  # folding away a single row saves nothing
            return self.rows
        return self.rows[:SMS_COUNTRIES_SHOWN]

    @property
    def folded(self) -> bool:
        return len(self.first) < len(self.rows)


def is_sms_organisation(organisation: Organisation) -> bool:
    return CreditPool.objects.filter(organisation=organisation, preset=SMS_PRESET).exists()


def sms_rates_of(organisation: Organisation) -> list[SmsRate] | None:
    """The rate card's SMS rates for an SMS organisation, None for any other."""
    if not is_sms_organisation(organisation):
        return None
    return list(SmsRate.objects.filter(organisation=organisation).order_by("name", "country"))


def sms_table(rates: list[SmsRate] | None, credits: int) -> SmsTable | None:
    if not rates:
        return None
    rows = []
    for rate in rates:
        messages = credits // rate.credits_per_segment
        rows.append(
            SmsCount(
                country=rate.country,
                name=rate.name,
                credits_per_part=rate.credits_per_segment,
                messages=messages,
                messages_text=number(messages),
            )
        )
    return SmsTable(credits=credits, rows=rows)


@dataclass(frozen=True)
class ExpiryEffect:
    """The lot's expiry date (None: it does not expire on a date), the credits held whose
    expiry the purchase pushes to that date, and the whole story in sentences."""

    valid_until: datetime | None
    extended_credits: int
    sentences: list[str] = field(default_factory=list)


def _local_day(moment: datetime, organisation: Organisation) -> str:
    return date_format(moment.astimezone(ZoneInfo(organisation.time_zone)).date(), "DATE_FORMAT")


def lot_expiry(pool: CreditPool, package: Package | None, now: datetime) -> datetime | None:
    """When the lot of this purchase expires: the package's validity, else the policy's
    months after purchase, else never (the same rule as the purchase service's grant)."""
    if package is not None and package.validity_months:
        return now + relativedelta(months=package.validity_months)
    if pool.expiry_kind == ExpiryKind.AFTER_PURCHASE:
        return now + relativedelta(months=pool.expiry_months)
    return None


def _held_expiring_before(pool: CreditPool, until: datetime | None, now: datetime) -> int:
    """Credits held in lots that expire after now and before `until` (all expiring lots when
    `until` is None), plan allowances aside: they expire with their cycle (M2). These are the
    lots `credits.services.grant` extends."""
    lots = Lot.objects.filter(organisation_id=pool.pk, live=True, expires_at__gt=now).exclude(
        source=LotSource.PLAN_ALLOWANCE
    )
    if until is not None:
        lots = lots.filter(expires_at__lt=until)
    return lots.aggregate(total=Sum("remaining"))["total"] or 0


def expiry_effect(
    organisation: Organisation, *, now: datetime, package: Package | None = None
) -> ExpiryEffect:
    """What buying (this package, or a custom quantity) does to the expiry of credits (S4),
    from the pool's policy; a package's validity overrides the policy's months."""
    pool = CreditPool.objects.get(organisation=organisation)
    until = lot_expiry(pool, package, now)
    sentences: list[str] = []
    extended = 0
    if until is not None:
        months = (
            package.validity_months
            if package is not None and package.validity_months
            else pool.expiry_months
        )
        day = _local_day(until, organisation)
        sentences.append(
            ngettext(
                "These credits are valid %(months)s month, until %(date)s.",
                "These credits are valid %(months)s months, until %(date)s.",
                months,
            )
            % {"months": number(months), "date": day}
        )
        if pool.purchase_extends_expiry:
            extended = _held_expiring_before(pool, until, now)
            if extended:
                sentences.append(
                    ngettext(
                        "This purchase also extends the %(credits)s credit you hold to %(date)s.",
                        "This purchase also extends the %(credits)s credits you hold to %(date)s.",
                        extended,
                    )
                    % {"credits": number(extended), "date": day}
                )
        elif _held_expiring_before(pool, None, now):
            sentences.append(_("The credits you already hold keep their own expiry dates."))
    elif pool.expiry_kind == ExpiryKind.NEVER:
        sentences.append(_("Credits never expire."))
    if pool.expiry_kind == ExpiryKind.INACTIVITY:
        sentences.append(
            ngettext(
                "Credits expire after %(months)s month without use; any use restarts the clock.",
                "Credits expire after %(months)s months without use; any use restarts the clock.",
                pool.expiry_months,
            )
            % {"months": number(pool.expiry_months)}
        )
        sentences.append(
            _(
                "This purchase counts as use and restarts the clock: without any other use, "
                "your credits would expire on %(date)s."
            )
            % {"date": _local_day(now + relativedelta(months=pool.expiry_months), organisation)}
        )
    return ExpiryEffect(valid_until=until, extended_credits=extended, sentences=sentences)


@dataclass(frozen=True)
class CustomPrice:
    """The live figures of a custom quantity: its price (or why it has none), the tier table
    with the quantity's tier marked, and the SMS it buys."""

    credits: int | None
    price: Price | None
    error: str
    tiers: list[TierRow]
    sms: SmsTable | None


@dataclass(frozen=True)
class PackageOffer:
    package: Package
    price: Price
    per_credit: str
    expiry: ExpiryEffect
    sms: SmsTable | None


@dataclass(frozen=True)
class BuyPage:
    on_sale: bool
    unavailable: str  # why nothing is on sale
    price_list: PriceList | None
    packages: list[PackageOffer]
    slider: Slider | None
    custom: CustomPrice | None
    custom_expiry: ExpiryEffect | None
    balance: int

    @property
    def partner_list(self) -> str:
        """The list's name when it is not the default one of the currency (G2)."""
        if self.price_list is None or self.price_list.is_default:
            return ""
        return self.price_list.name


def packages_on_sale(organisation: Organisation) -> list[Package]:
    try:
        return pricing.packages_for(organisation)
    except BillingError:
        return []


def custom_price(
    organisation: Organisation,
    credits: int | None,
    *,
    error: str = "",
    tiers: list[PriceTier] | None = None,
    rates: list[SmsRate] | object | None = UNREAD,
) -> CustomPrice:
    """The price of `credits` by `billing.pricing.price_credits` (the same call the purchase
    makes); a refusal (below the first tier, above the bounds) is the error shown."""
    price = None
    if credits is not None and not error:
        try:
            price = price_words(pricing.price_credits(organisation, credits))
        except BillingError as refusal:
            error = str(refusal)
    try:
        tiers = pricing.tiers_for(organisation) if tiers is None else tiers
        currency = pricing.price_list_for(organisation).currency
    except BillingError as refusal:
        tiers, currency, error = [], organisation.currency, error or str(refusal)
    rates = sms_rates_of(organisation) if rates is UNREAD else rates
    return CustomPrice(
        credits=credits,
        price=price,
        error=error,
        tiers=tier_rows(tiers, currency, price.tier_start if price else None),
        sms=sms_table(rates, price.credits) if price else None,
    )


def buy_page(organisation: Organisation, *, now: datetime) -> BuyPage:
    balance = pool_figures(organisation).balance
    try:
        price_list = pricing.price_list_for(organisation)
    except BillingError as refusal:
        return BuyPage(False, str(refusal), None, [], None, None, None, balance)
    tiers = pricing.tiers_for(organisation)
    packages = pricing.packages_for(organisation)
    rates = sms_rates_of(organisation)
    offers = []
    for package in packages:
        try:
            quote = pricing.price_package(organisation, package)
        except BillingError:  # a package beyond the bounds is not offered
            continue
        offers.append(
            PackageOffer(
                package=package,
                price=price_words(quote),
                per_credit=unit_money(quote.unit_price, price_list.currency),
                expiry=expiry_effect(organisation, now=now, package=package),
                sms=sms_table(rates, package.credits),
            )
        )
    slider = slider_for(tiers, packages)
    on_sale = bool(offers or tiers)
    return BuyPage(
        on_sale=on_sale,
        unavailable="" if on_sale else _("Nothing is on sale to this organisation yet."),
        price_list=price_list,
        packages=offers,
        slider=slider if tiers else None,
        custom=custom_price(organisation, slider.initial, tiers=tiers, rates=rates)
        if tiers
        else None,
        custom_expiry=expiry_effect(organisation, now=now),
        balance=balance,
    )
