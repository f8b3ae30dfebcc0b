"""On PostgreSQL, concurrent purchases take consecutive invoice numbers: no gap, no twin."""

import threading

import pytest
from django.db import connection

from billing import services
from billing.models import BillingProfile, Invoice, PriceList, PriceTier
from clients import services as client_services
from tests.billing.conftest import T0

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_concurrent_purchases_make_eight_consecutive_invoice_numbers(make_user):
    price_list = PriceList.objects.create(name="Standard", currency="EUR", is_default=True)
    PriceTier.objects.create(price_list=price_list, min_credits=1, unit_price="2.0000")
    organisations = []
    for index in range(8):
        organisation = client_services.create_organisation(
            name=f"Buyer {index}", slug=f"buyer-{index}", owner=make_user(f"owner-{index}")
        )
        BillingProfile.objects.filter(pk=services.profile_of(organisation).pk).update(
            enterprise_terms=True
        )
        organisations.append(organisation)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def buy(organisation) -> None:
        try:
            barrier.wait(timeout=10)
            services.purchase(
                organisation=organisation, credits=100, method="enterprise_terms", now=T0
            )
        except BaseException as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(o,)) for o in organisations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    numbers = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6, 7, 8]
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [
        f"INV-2026-{n:06d}" for n in range(1, 9)
    ]
