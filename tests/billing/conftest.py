import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing import services
from billing.models import BillingProfile, Package, Plan, PriceList, PriceTier

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
ERROR_CARD = "4000 0000 0000 0119"


@pytest.fixture
def now():
    return T0


@pytest.fixture
def default_prices(db):
    """G2: 2 EUR a credit, less per credit as the quantity grows."""
    price_list = PriceList.objects.create(name="Standard", currency="EUR", is_default=True)
    for start, price in ((1, "2.0000"), (100, "1.8000"), (500, "1.6000"), (1000, "1.5000")):
        PriceTier.objects.create(price_list=price_list, min_credits=start, unit_price=price)
    return price_list


@pytest.fixture
def sms_package(default_prices):
    return Package.objects.create(
        price_list=default_prices,
        name="SMS 10 000",
        credits=10_000,
        price=Decimal("450.00"),
        validity_months=24,
    )


@pytest.fixture
def card(now):
    def add(organisation, number=GOOD_CARD):
        return services.save_card(
            organisation=organisation,
            number=number,
            exp_month=12,
            exp_year=2030,
            cvc="123",
            now=now,
        )

    return add


@pytest.fixture
def enterprise(make_organisation, default_prices):
    organisation = make_organisation("deepetch", name="Deepetch", preset="translation")
    profile = services.profile_of(organisation)
    BillingProfile.objects.filter(pk=profile.pk).update(
        enterprise_terms=True,
        legal_name="Deepetch SAS",
        address="1 avenue des Champs\n75008 Paris",
        vat_number="FR11222333444",
        email="accounts@deepetch.example",
    )
    return organisation


@pytest.fixture
def plans(db):
    return {
        "starter": Plan.objects.create(
            code="starter", name="Starter", monthly_price=Decimal("29.00"), included_credits=200
        ),
        "growth": Plan.objects.create(
            code="growth", name="Growth", monthly_price=Decimal("49.00"), included_credits=500
        ),
        "pro": Plan.objects.create(
            code="pro", name="Pro", monthly_price=Decimal("99.00"), included_credits=1500
        ),
    }


def stable_name(stored: str) -> str:
    """A PDF's stored name without the drawing's own suffix (each drawing writes a file of
    its own name, billing.services.delivery.pdf_name): `…/INV-2026-000001.pdf`."""
    return re.sub(r"-[0-9a-f]{8}(\.pdf)$", r"\1", stored)


def switch_on_top_up(
    organisation, *, threshold: int = 500, credits: int = 100, cap: str = "500.00", now=T0
):
    """Automatic top-up on (B2): buy `credits` under `threshold`, at most `cap` a month."""
    return services.configure_auto_top_up(
        organisation=organisation,
        enabled=True,
        threshold=threshold,
        credits=credits,
        monthly_cap=Decimal(cap),
        now=now,
    )
