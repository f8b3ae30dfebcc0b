"""Plans and subscriptions (M2, M3): renewal, upgrade, downgrade, cancel, failed renewals."""

from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta

from billing import services
from billing.models import Invoice, Subscription
from credits import services as credit_services
from credits.audit import ledger_drift
from credits.models import Lot
from tests.billing.conftest import DECLINED_CARD, GOOD_CARD
from tests.credits.conftest import pool_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(make_organisation, card, default_prices):
    organisation = make_organisation("crm", name="CRM Co", preset="crm")
    card(organisation)
    return organisation


def invoices(organisation) -> list[tuple[str, Decimal, str]]:
    return list(
        Invoice.objects.filter(organisation=organisation)
        .order_by("pk")
        .values_list("lines__description", "total", "status")
    )


def test_subscribing_charges_the_month_and_grants_the_allowance_until_the_cycle_ends_m2(
    crm, plans, now
):
    subscription = services.subscribe(organisation=crm, plan=plans["growth"], now=now)
    assert (subscription.status, subscription.renews_on) == (
        "active",
        now + relativedelta(months=1),
    )
    allowance = Lot.objects.get(pk=subscription.allowance_lot_id)
    assert (allowance.source, allowance.quantity, allowance.expires_at) == (
        "plan_allowance",
        500,
        now + relativedelta(months=1),
    )
    assert invoices(crm) == [("Growth plan, 2026-03-10 to 2026-04-10", Decimal("58.80"), "paid")]


def test_renewal_replaces_the_allowance_and_leaves_purchased_credits_untouched_m2(crm, plans, now):
    """M2: included credits reset each cycle and never roll over; purchased ones do."""
    services.subscribe(organisation=crm, plan=plans["growth"], now=now)
    services.purchase(organisation=crm, credits=300, method="card", now=now)
    own = crm.clients.get(kind="own")
    credit_services.consume(client=own, action="ai_summary", now=now)  # 10 from the allowance
    renewal = now + relativedelta(months=1)
    assert services.renew_due(now=renewal) == {"renewed": 1}
    assert services.renew_due(now=renewal) == {}  # re-running renews nothing (X4)
    subscription = Subscription.objects.get(organisation=crm)
    new_allowance = Lot.objects.get(pk=subscription.allowance_lot_id)
    assert (new_allowance.remaining, new_allowance.expires_at) == (
        500,
        now + relativedelta(months=2),
    )
    assert list(Lot.objects.order_by("pk").values_list("source", "remaining")) == [
        ("plan_allowance", 0),  # last cycle's 490 left expired
        ("purchase", 300),
        ("plan_allowance", 500),
    ]
    assert pool_of(crm) == (800, 0, 0)
    assert ledger_drift() == []


def test_an_upgrade_takes_effect_at_once_with_a_prorated_charge_and_the_extra_allowance(
    crm, plans, now
):
    services.subscribe(organisation=crm, plan=plans["growth"], now=now)
    # 10 March to 10 April in Paris is 743 hours (summer time starts on 29 March); upgrading
    # 10 days in leaves 503 of them
    subscription = services.change_plan(
        subscription=Subscription.objects.get(organisation=crm),
        plan=plans["pro"],
        now=now + relativedelta(days=10),
    )
    assert subscription.plan == plans["pro"]
    # (99 - 49) x 503/743 = 33.85 before tax, 40.62 with 20 %
    assert invoices(crm)[-1] == (
        "Upgrade to the Pro plan, 2026-03-10 to 2026-04-10",
        Decimal("40.62"),
        "paid",
    )
    extra = Lot.objects.order_by("pk").last()
    assert (extra.quantity, extra.expires_at) == (1000, now + relativedelta(months=1))
    assert pool_of(crm) == (1500, 0, 0)


def test_a_downgrade_waits_for_the_next_renewal(crm, plans, now):
    services.subscribe(organisation=crm, plan=plans["growth"], now=now)
    subscription = services.change_plan(
        subscription=Subscription.objects.get(organisation=crm), plan=plans["starter"], now=now
    )
    assert (subscription.plan, subscription.next_plan) == (plans["growth"], plans["starter"])
    assert len(invoices(crm)) == 1
    services.renew_due(now=now + relativedelta(months=1))
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.next_plan) == (plans["starter"], None)
    assert invoices(crm)[-1] == ("Starter plan, 2026-04-10 to 2026-05-10", Decimal("34.80"), "paid")
    assert Lot.objects.get(pk=subscription.allowance_lot_id).quantity == 200


def test_a_cancelled_plan_runs_to_the_end_of_its_period_then_stops(crm, plans, now):
    services.subscribe(organisation=crm, plan=plans["growth"], now=now)
    subscription = services.cancel_subscription(
        subscription=Subscription.objects.get(organisation=crm), now=now
    )
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)
    assert services.renew_due(now=now + relativedelta(months=1)) == {"cancelled": 1}
    subscription.refresh_from_db()
    assert subscription.status == "cancelled"
    assert len(invoices(crm)) == 1
    credit_services.expire_due(now=now + relativedelta(months=1))
    assert pool_of(crm) == (0, 0, 0)  # the last allowance expired with its cycle


def test_a_failed_renewal_is_retried_after_1_3_and_5_days_then_suspends(crm, plans, card, now):
    services.subscribe(organisation=crm, plan=plans["growth"], now=now)
    card(crm, DECLINED_CARD)
    renewal = now + relativedelta(months=1)
    assert services.renew_due(now=renewal) == {"past_due": 1}
    subscription = Subscription.objects.get(organisation=crm)
    assert (subscription.failed_attempts, subscription.next_retry_at) == (
        1,
        renewal + relativedelta(days=1),
    )
    assert services.renew_due(now=renewal + relativedelta(hours=23)) == {}
    assert services.renew_due(now=renewal + relativedelta(days=1)) == {"past_due": 1}
    assert services.renew_due(now=renewal + relativedelta(days=4)) == {"past_due": 1}
    assert services.renew_due(now=renewal + relativedelta(days=9)) == {"suspended": 1}
    subscription.refresh_from_db()
    assert (subscription.status, subscription.failed_attempts) == ("suspended", 4)
    assert len(invoices(crm)) == 1
    credit_services.expire_due(now=renewal)
    assert pool_of(crm) == (0, 0, 0)  # no allowance for a period that was not paid


def test_a_retry_that_succeeds_restores_the_plan_and_its_allowance(crm, plans, card, now):
    services.subscribe(organisation=crm, plan=plans["growth"], now=now)
    card(crm, DECLINED_CARD)
    renewal = now + relativedelta(months=1)
    services.renew_due(now=renewal)
    card(crm, GOOD_CARD)  # the owner updates the payment details
    assert services.renew_due(now=renewal + relativedelta(days=1)) == {"renewed": 1}
    subscription = Subscription.objects.get(organisation=crm)
    assert (subscription.status, subscription.failed_attempts, subscription.renews_on) == (
        "active",
        0,
        now + relativedelta(months=2),
    )
    assert pool_of(crm) == (500, 0, 0)
