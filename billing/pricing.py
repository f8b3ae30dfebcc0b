"""What credits cost an organisation (G2, S3): reads only, shared by the buy page, its live
price fragment, the API and the purchase service (which prices again under its lock: the
server's price is the truth, whatever a page showed).

Upper bounds of one purchase, so that an absurd quantity is a clear refusal rather than an
overflow after the card was charged: at most `MAX_PURCHASE_CREDITS` credits and a total of
at most `MAX_PURCHASE_TOTAL` in the organisation's currency. Larger orders are enterprise
deals, set up by staff.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from billing.exceptions import BillingError, OutOfBounds
from billing.models import BillingProfile, Package, PriceList, PriceTier
from billing.money import cents
from clients.models import Organisation

MAX_PURCHASE_CREDITS = 1_000_000_000
MAX_PURCHASE_TOTAL = Decimal("10000000.00")
# What a money column holds (14 digits, 2 decimals) and a unit price (12 digits, 4 decimals):
# an amount past these is refused before it is rounded (1e100000 cannot even be rounded).
MAX_AMOUNT = Decimal("999999999999.99")
MAX_UNIT_PRICE = Decimal("99999999.9999")
DEFAULT_TAX_RATE: Decimal = Decimal(BillingProfile._meta.get_field("tax_rate").default)


@dataclass(frozen=True)
class PriceQuote:
    credits: int
    unit_price: Decimal
    tier: PriceTier | None
    amount: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    currency: str


def _profile(organisation: Organisation) -> BillingProfile | None:
    return (
        BillingProfile.objects.select_related("price_list")
        .filter(organisation=organisation)
        .first()
    )


def price_list_for(organisation: Organisation) -> PriceList:
    """A partner's own list beats the default list of the organisation's currency (G2)."""
    profile = _profile(organisation)
    if profile is not None and profile.price_list_id:
        return profile.price_list
    found = PriceList.objects.filter(currency=organisation.currency, is_default=True).first()
    if found is None:
        raise BillingError(_("No price list for %s.") % organisation.currency)
    return found


def tax_rate_for(organisation: Organisation) -> Decimal:
    profile = _profile(organisation)
    return profile.tax_rate if profile is not None else DEFAULT_TAX_RATE


def taxed(organisation: Organisation, amount: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(rate, tax, total) for an amount before tax, the tax rounded once to the cent."""
    rate = tax_rate_for(organisation)
    tax = cents(amount * rate / 100)
    return rate, tax, amount + tax


def _within_bounds(quote: PriceQuote) -> PriceQuote:
    if quote.total > MAX_PURCHASE_TOTAL:
        raise OutOfBounds(
            _("One purchase is limited to %(total)s %(currency)s; contact us for larger orders.")
            % {
                "total": number_format(MAX_PURCHASE_TOTAL, 2, force_grouping=True),
                "currency": quote.currency,
            }
        )
    return quote


def check_quantity(credits: object) -> int:
    """A whole number of credits one purchase may hold: checked before anything else looks
    at it (a 5,000-digit number cannot even be written into an idempotency fingerprint)."""
    if not isinstance(credits, int) or isinstance(credits, bool) or credits < 1:
        raise BillingError(_("Choose a whole number of credits."))
    if credits > MAX_PURCHASE_CREDITS:
        raise OutOfBounds(
            _("One purchase is limited to %(max)s credits; contact us for larger orders.")
            % {"max": number_format(MAX_PURCHASE_CREDITS, force_grouping=True)}
        )
    return credits


def exact_amount(value: object, *, most: Decimal = MAX_AMOUNT) -> Decimal:
    """An amount of money as given (a Decimal, an int or its text), finite and at most `most`
    either way, else OutOfBounds: never a float, never NaN or infinite (X1, X6)."""
    refusal = OutOfBounds(
        _("An amount is an exact number up to %(max)s.")
        % {"max": number_format(most, 2, force_grouping=True)}
    )
    if isinstance(value, (float, bool)):
        raise refusal
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError) as error:
        raise refusal from error
    if not amount.is_finite() or abs(amount) > most:
        raise refusal
    return amount


def price_credits(organisation: Organisation, credits: int) -> PriceQuote:
    """The price of a custom quantity: every credit at the rate of the tier the quantity
    falls in (the highest tier starting at or below it), rounded once to the cent."""
    check_quantity(credits)
    price_list = price_list_for(organisation)
    tier = price_list.tiers.filter(min_credits__lte=credits).order_by("-min_credits").first()
    if tier is None:
        first = price_list.tiers.order_by("min_credits").first()
        raise BillingError(
            _("Buy at least %(minimum)d credits.") % {"minimum": first.min_credits if first else 1}
        )
    amount = cents(tier.unit_price * credits)
    rate, tax, total = taxed(organisation, amount)
    return _within_bounds(
        PriceQuote(credits, tier.unit_price, tier, amount, rate, tax, total, price_list.currency)
    )


def price_package(organisation: Organisation, package: Package) -> PriceQuote:
    if package.price_list_id != price_list_for(organisation).pk or not package.is_active:
        raise BillingError(_("This package is not on sale for this organisation."))
    amount = cents(package.price)
    unit_price = (package.price / package.credits).quantize(Decimal("0.0001"))
    rate, tax, total = taxed(organisation, amount)
    return _within_bounds(
        PriceQuote(
            package.credits, unit_price, None, amount, rate, tax, total, package.price_list.currency
        )
    )


def packages_for(organisation: Organisation) -> list[Package]:
    """The packages on sale to this organisation (its partner list's, or the default's)."""
    return list(price_list_for(organisation).packages.filter(is_active=True).order_by("credits"))


def tiers_for(organisation: Organisation) -> list[PriceTier]:
    return list(price_list_for(organisation).tiers.order_by("min_credits"))
