"""Every number and text that enters a billing service is bounded (X6, issue 13).

Quantities, amounts, days, card expiries and reasons, past what a column or Decimal context
holds, are refused with a `BillingError` (a `DomainError`) before anything is recorded or
charged, on SQLite and on PostgreSQL. Before issue 13 several raised `ValueError` (a
5,000-digit quantity hashed into the idempotency fingerprint), `InvalidOperation` (an amount
of 1e100000 rounded to the cent, a NaN compared), `OverflowError` or `DataError`.
"""

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import services
from billing.models import (
    AutoTopUp,
    BillingProfile,
    Invoice,
    InvoiceLine,
    Payment,
    Purchase,
)
from config.errors import DomainError
from credits.models import CreditPool, LedgerEntry, Lot
from tests.billing.conftest import GOOD_CARD

pytestmark = pytest.mark.django_db

HUGE = 10**5000
OVER = 2**63


@pytest.fixture
def bought(enterprise, card, now, recording_gateway):
    """An organisation on enterprise terms with a card on file and an open invoice for 100
    credits bought on terms."""
    card(enterprise)
    services.purchase(organisation=enterprise, credits=100, method="enterprise_terms", now=now)
    return enterprise


def everything(organisation) -> dict[str, object]:
    return {
        "pool": CreditPool.objects.filter(pk=organisation.pk).values().get(),
        "lots": list(Lot.objects.order_by("pk").values_list("pk", "remaining")),
        "entries": LedgerEntry.objects.count(),
        "invoices": list(Invoice.objects.order_by("pk").values_list("pk", "status", "total")),
        "rows": [m.objects.count() for m in (InvoiceLine, Payment, Purchase, AutoTopUp)],
        "profile": BillingProfile.objects.filter(organisation=organisation).values().get(),
    }


def _buy(credits: object) -> Callable:
    return lambda o, now: services.purchase(
        organisation=o, credits=credits, method="enterprise_terms", now=now
    )


def _top_up(**values: object) -> Callable:
    def call(o, now):
        arguments = {"threshold": 100, "credits": 100, "monthly_cap": Decimal("500.00"), **values}
        return services.configure_auto_top_up(organisation=o, enabled=True, now=now, **arguments)

    return call


def _pay(amount: object) -> Callable:
    return lambda o, now: services.record_payment(
        invoice=Invoice.objects.get(organisation=o), amount=amount, method="transfer", now=now
    )


def _issue(due_days: int = 0, **line: object) -> Callable:
    def call(o, now):
        values = {
            "description": "Credits",
            "quantity": 1,
            "unit_price": Decimal("1.0000"),
            "amount": Decimal("1.00"),
            **line,
        }
        return services.issue_invoice(
            organisation=o, lines=[services.Line(**values)], now=now, due_days=due_days
        )

    return call


def _card(**values: object) -> Callable:
    def call(o, now):
        arguments = {"number": GOOD_CARD, "exp_month": 12, "exp_year": 2030, "cvc": "123", **values}
        return services.save_card(organisation=o, now=now, **arguments)

    return call


CASES: dict[str, Callable] = {
    "buy 2**63 credits": _buy(OVER),
    "buy 5,000 digits of credits": _buy(HUGE),
    "top-up threshold 2**63": _top_up(threshold=OVER),
    "top-up of 5,000 digits of credits": _top_up(credits=HUGE),
    "top-up cap 1e100000": _top_up(monthly_cap=Decimal("1e100000")),
    "top-up cap NaN": _top_up(monthly_cap=Decimal("NaN")),
    "top-up cap float inf": _top_up(monthly_cap=float("inf")),
    "payment of 1e100000": _pay(Decimal("1e100000")),
    "payment of NaN": _pay(Decimal("NaN")),
    "payment of Infinity": _pay(Decimal("Infinity")),
    "payment of float inf": _pay(float("inf")),
    "payment of 5,000 digits": _pay(HUGE),
    "invoice due in 10**6 days": _issue(due_days=10**6),
    "invoice due in 2**63 days": _issue(due_days=OVER),
    "invoice line of 2**63 credits": _issue(quantity=OVER),
    "invoice line of 1e100000": _issue(amount=Decimal("1e100000")),
    "invoice line unit price NaN": _issue(unit_price=Decimal("NaN")),
    "invoice line description of 301 characters": _issue(description="d" * 301),
    "void with a reason of 301 characters": lambda o, now: services.void_invoice(
        invoice=Invoice.objects.get(organisation=o), reason="r" * 301, now=now
    ),
    "card expiring in month 2**63": _card(exp_month=OVER),
    "card expiring in year 5,000 digits": _card(exp_year=HUGE),
    "card expiring in year 40000": _card(exp_year=40_000),
    "billing profile legal name of 201 characters": lambda o, now: services.update_billing_profile(
        organisation=o, legal_name="n" * 201, address="", vat_number="", email=""
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_out_of_range_billing_input_is_a_domain_error_and_records_nothing_x6(
    database, bought, now, case
):
    """X6 (issue 13): refused with a BillingError that says why; nothing recorded, charged
    or granted."""
    # given an organisation with a card on file and an open invoice
    before = everything(bought)
    # when a billing service is given an out-of-range number or an over-long text
    try:
        outcome = CASES[case](bought, now + timedelta(minutes=1))
    except Exception as error:
        outcome = error
    # then a domain error with a message, and nothing moved
    assert isinstance(outcome, DomainError), f"{case}: {type(outcome).__name__}: {outcome!r:.200}"
    assert str(outcome).strip()
    assert everything(bought) == before


@pytest.mark.parametrize(
    ("model", "field", "value"),
    [
        ("package", "credits", 10**12 + 1),
        ("package", "validity_months", 1201),
        ("plan", "included_credits", 10**12 + 1),
        ("tier", "min_credits", 10**12 + 1),
    ],
)
def test_an_offer_past_the_bounds_is_refused_on_its_field_x6(model, field, value):
    """X6, issue 13: staff type packages, plans and tiers in admin (whose forms run this
    validation); one past what a single operation may move (10**12 credits, 1200 months) is
    refused on its field, before it is saved and every later purchase of it fails."""
    # Given an offer of each kind, valid
    from billing.models import Package, Plan, PriceList, PriceTier

    price_list = PriceList.objects.create(name="Bounds", currency="EUR")
    offers = {
        "package": Package(price_list=price_list, name="Big", credits=100, price=Decimal("10")),
        "plan": Plan(
            code="bounds", name="Bounds", monthly_price=Decimal("10"), included_credits=100
        ),
        "tier": PriceTier(price_list=price_list, min_credits=1, unit_price=Decimal("1")),
    }
    offer = offers[model]
    offer.full_clean()
    # When the field is set past its bound
    setattr(offer, field, value)
    # Then validation names that field, and nothing was saved
    with pytest.raises(ValidationError) as refused:
        offer.full_clean()
    assert list(refused.value.message_dict) == [field]
    bound = 1200 if field == "validity_months" else 10**12
    assert refused.value.message_dict[field] == [
        f"Ensure this value is less than or equal to {bound}."
    ]
