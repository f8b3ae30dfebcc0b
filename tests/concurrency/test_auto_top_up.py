"""Automatic top-up once per crossing, whatever the concurrency (B2, X2, X3), on PostgreSQL
with real threads and connections.

Each thread spends, then runs the organisation's top-up at once, as a request would after a
debit; the recording gateway (tests/gateways.py) counts the money actually taken.
"""

from decimal import Decimal

import pytest

from billing import services
from billing.models import AutoTopUp, Invoice, Purchase
from clients.models import Client, ClientKind
from credits import services as credit_services
from credits.models import CreditPool, LotSource, LowBalanceAlert, Notice
from tests.billing.conftest import T0, card, default_prices, now, switch_on_top_up  # noqa: F401 (fixtures)
from tests.concurrency.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture
def acme(make_organisation, default_prices, card, recording_gateway):  # noqa: F811
    """1,000 credits and a card; top up 1,000 credits under 500 (cap 5,000.00)."""
    organisation = make_organisation("acme", name="Acme", preset="data_provider")
    card(organisation)
    credit_services.grant(
        organisation=organisation, credits=1000, source=LotSource.PURCHASE, now=T0
    )
    switch_on_top_up(organisation, credits=1000, cap="5000.00")
    return organisation


def test_eight_concurrent_debits_crossing_the_threshold_buy_exactly_once_b2_x2(
    acme, recording_gateway
):
    # Given 1,000 credits, a top-up of 1,000 under 500, and the own client
    own = Client.objects.get(organisation=acme, kind=ClientKind.OWN)

    def spend_then_top_up() -> object:
        credit_services.debit(client=own, credits=100, action_code="x", now=T0)
        return services.run_auto_top_up(organisation=acme, now=T0)

    # When 8 threads each spend 100 at once and run the top-up right after
    outcomes = run_together(*[spend_then_top_up] * THREADS)
    # Then no thread failed, and exactly one purchase was made and charged
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert len(recording_gateway.taken) == 1
    assert recording_gateway.taken == [Decimal("1800.00")]
    purchase = Purchase.objects.get()
    assert (purchase.origin, purchase.status, purchase.credits) == ("auto_top_up", "paid", 1000)
    assert Invoice.objects.count() == 1
    # And the balance is 1,000 − 800 + 1,000
    assert CreditPool.objects.get(pk=acme.pk).balance == 1200


def test_eight_concurrent_jobs_buy_once_for_one_crossing_b2_x4(acme, recording_gateway):
    # Given the balance under the threshold
    own = Client.objects.get(organisation=acme, kind=ClientKind.OWN)
    credit_services.debit(client=own, credits=600, action_code="x", now=T0)
    # When 8 top-up jobs run at once
    outcomes = run_together(*[lambda: services.run_auto_top_ups(now=T0)] * THREADS)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    # Then one purchase, one charge
    assert Purchase.objects.count() == 1
    assert len(recording_gateway.taken) == 1
    assert AutoTopUp.objects.get(pk=acme.pk).consecutive_failures == 0


def test_eight_concurrent_balance_checks_send_one_low_balance_email_b1(acme, mailoutbox):
    # Given an alert under 700 and a balance of 600 (the top-up left aside)
    AutoTopUp.objects.filter(pk=acme.pk).update(enabled=False)
    credit_services.set_alert_policy(
        organisation=acme, reminder_days=30, second_reminder_days=7, low_balance_threshold=700
    )
    own = Client.objects.get(organisation=acme, kind=ClientKind.OWN)
    credit_services.debit(client=own, credits=400, action_code="x", now=T0)
    # When 8 checks run at once
    outcomes = run_together(
        *[lambda: credit_services.check_balance_alerts(organisation=acme, now=T0)] * THREADS
    )
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    # Then one notice was recorded, and the alert is disarmed
    assert Notice.objects.filter(kind="low_balance").count() == 1
    assert LowBalanceAlert.objects.get(pk=acme.pk).armed is False
