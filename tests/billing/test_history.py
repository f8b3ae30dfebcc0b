"""M5: the billing history lists every payment and invoice of one organisation only."""

from datetime import timedelta
from decimal import Decimal

import pytest

from billing import selectors, services

pytestmark = pytest.mark.django_db


def test_billing_history_lists_payments_with_their_invoices_newest_first_m5(
    enterprise, make_organisation, card, now
):
    first = services.purchase(
        organisation=enterprise, credits=100, method="enterprise_terms", now=now
    )
    card(enterprise)
    second = services.purchase(
        organisation=enterprise, credits=500, method="card", now=now + timedelta(days=1)
    )
    services.record_payment(invoice=first.invoice, now=now + timedelta(days=2), method="transfer")
    other = make_organisation("other")
    card(other)
    services.purchase(organisation=other, credits=10, method="card", now=now)
    assert [(p.invoice.number, p.amount, p.method) for p in selectors.payments_of(enterprise)] == [
        ("INV-2026-000001", Decimal("216.00"), "transfer"),
        ("INV-2026-000002", Decimal("960.00"), "card"),
    ]
    assert [i.number for i in selectors.invoices_of(enterprise)] == [
        second.invoice.number,
        first.invoice.number,
    ]
