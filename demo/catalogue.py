"""The demo's offers: price lists with tiers, packages and plans, as staff would enter them
in admin, and each demo organisation's billing profile and card on file."""

from datetime import datetime
from decimal import Decimal

from billing import services as billing
from billing.models import BillingProfile, Package, Plan, PriceList, PriceTier
from clients.models import Organisation

SANDBOX_CARD = "4242 4242 4242 4242"


def _price_list(name: str, currency: str, tiers: list[tuple[int, str]], default=False):
    price_list, _created = PriceList.objects.get_or_create(
        name=name, currency=currency, defaults={"is_default": default}
    )
    for start, price in tiers:
        PriceTier.objects.get_or_create(
            price_list=price_list, min_credits=start, defaults={"unit_price": Decimal(price)}
        )
    return price_list


def install_catalogue() -> dict[str, PriceList]:
    lists = {
        # G2: 2 EUR a credit, less per credit in volume; distributors have their own list.
        "standard": _price_list(
            "Standard",
            "EUR",
            [(1, "2.0000"), (100, "1.8000"), (500, "1.6000"), (1000, "1.5000"), (5000, "1.3500")],
            default=True,
        ),
        "distributors": _price_list("Distributors", "EUR", [(1, "1.2000"), (1000, "1.0000")]),
        "data": _price_list(
            "Data credits", "EUR", [(1, "0.1200"), (3000, "0.1000"), (10000, "0.0800")]
        ),
        "translation": _price_list(
            "Translation credits", "EUR", [(1, "0.1000"), (10000, "0.0800")]
        ),
        "sms": _price_list("SMS credits", "EUR", [(1, "0.0500")]),
        "gbp": _price_list("Standard", "GBP", [(1, "0.0600"), (1000, "0.0500")], default=True),
    }
    for name, credits, price in (("SMS 5 000", 5000, "250.00"), ("SMS 20 000", 20000, "900.00")):
        Package.objects.get_or_create(
            price_list=lists["sms"],
            name=name,
            defaults={"credits": credits, "price": Decimal(price), "validity_months": 24},
        )
    for code, name, price, included in (
        ("starter", "Starter", "29.00", 200),
        ("growth", "Growth", "49.00", 500),
        ("pro", "Pro", "99.00", 1500),
    ):
        Plan.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "currency": "GBP",
                "monthly_price": Decimal(price),
                "included_credits": included,
            },
        )
    return lists


# Each demo buyer's details as its invoices print them, in its own country's form.
BUYER_DETAILS = {
    "fr": ("SAS", "12 rue de la Démo\n75002 Paris\nFrance", "FR{digits}"),
    "en": ("Ltd", "12 Demo Street\nLondon EC1A 1AA\nUnited Kingdom", "GB{digits}"),
}


def set_up_billing(
    organisation: Organisation, price_list: PriceList | None, *, enterprise: bool, now: datetime
) -> None:
    suffix, address, vat = BUYER_DETAILS.get(organisation.language, BUYER_DETAILS["en"])
    BillingProfile.objects.filter(pk=billing.profile_of(organisation).pk).update(
        legal_name=f"{organisation.name} {suffix}",
        address=address,
        vat_number=vat.format(digits=f"{organisation.pk * 7919:011d}"[-11:]),
        email=f"accounts@{organisation.slug}.example",
        price_list=price_list,
        enterprise_terms=enterprise,
    )
    billing.save_card(
        organisation=organisation,
        number=SANDBOX_CARD,
        exp_month=12,
        exp_year=now.year + 3,
        cvc="123",
        now=now,
    )
