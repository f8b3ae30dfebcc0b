"""Reads of the checkout and of a purchase's outcome (D1, X3): what is about to be bought,
its price and its effect on expiry, how it may be paid (the card on file in words, enterprise
terms when they are open, the sandbox's test cards where they work); then, after paying,
where the purchase stands and the balance now. Reads only; the offers are in
`billing.selectors.buy`.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing import pricing
from billing.exceptions import BillingError
from billing.gateway import SandboxGateway
from billing.models import BillingProfile, Package, Purchase, PurchaseKind
from billing.selectors.buy import ExpiryEffect, Price, expiry_effect, money, price_words
from clients.models import Organisation
from credits.selectors import pool_figures
from credits.selectors.ratecard import credits_words

MAX_ID = 2**63 - 1  # beyond it an id is a probe (and SQLite cannot even compare it)


def package_words(package: Package, credits: int) -> str:
    """ "SMS 5 000 (5,000 credits)"."""
    return _("%(package)s (%(credits)s)") % {
        "package": package.name,
        "credits": credits_words(credits),
    }


@dataclass(frozen=True)
class Checkout:
    what: str
    package: Package | None
    price: Price
    expiry: ExpiryEffect
    card: str  # the card on file in words, "" when there is none
    enterprise_terms: bool
    sandbox: bool


def card_words(profile: BillingProfile | None) -> str:
    if profile is None or not profile.has_card:
        return ""
    return _("%(brand)s •••• %(last4)s, expires %(month)s/%(year)s") % {
        "brand": profile.card_brand,
        "last4": profile.card_last4,
        "month": f"{profile.card_exp_month or 0:02d}",
        "year": profile.card_exp_year or "",
    }


def gateway_is_sandbox() -> bool:
    """Whether the sandbox's test cards work here (the sandbox, or a test stand-in built on
    it): only then does the page list them."""
    try:
        gateway = import_string(settings.PAYMENT_GATEWAY)
    except ImportError:
        return False
    return isinstance(gateway, type) and issubclass(gateway, SandboxGateway)


def checkout(
    organisation: Organisation,
    *,
    now: datetime,
    package: Package | None = None,
    credits: int | None = None,
) -> Checkout:
    """What is about to be bought and how it may be paid. Raises `BillingError` (not on sale,
    out of bounds) with the message to show."""
    if package is not None:
        quote = pricing.price_package(organisation, package)
        what = package_words(package, package.credits)
    elif credits is not None:
        quote = pricing.price_credits(organisation, credits)
        what = credits_words(credits)
    else:
        raise BillingError(_("Choose a package or a number of credits."))
    profile = BillingProfile.objects.filter(organisation=organisation).first()
    return Checkout(
        what=what,
        package=package,
        price=price_words(quote),
        expiry=expiry_effect(organisation, now=now, package=package),
        card=card_words(profile),
        enterprise_terms=bool(profile and profile.enterprise_terms),
        sandbox=gateway_is_sandbox(),
    )


@dataclass(frozen=True)
class Outcome:
    purchase: Purchase
    what: str
    balance: int
    total: str

    @property
    def added(self) -> str:
        """ "120 credits added; balance now 1,120 credits." """
        return ngettext(
            "%(credits)s added; balance now %(balance)s.",
            "%(credits)s added; balance now %(balance)s.",
            self.purchase.credits,
        ) % {
            "credits": credits_words(self.purchase.credits),
            "balance": credits_words(self.balance),
        }


def purchase_outcome(organisation: Organisation, purchase_id: int) -> Outcome | None:
    """A credit purchase of this organisation (None for anyone else's: the page answers 404),
    with the balance as it is now."""
    if purchase_id > MAX_ID:
        return None
    found = (
        Purchase.objects.filter(
            organisation=organisation, kind=PurchaseKind.CREDITS, pk=purchase_id
        )
        .select_related("invoice", "lot", "package")
        .first()
    )
    if found is None:
        return None
    what = (
        package_words(found.package, found.credits)
        if found.package_id
        else credits_words(found.credits)
    )
    return Outcome(
        purchase=found,
        what=what,
        balance=pool_figures(organisation).balance,
        total=money(found.total, found.currency),
    )
