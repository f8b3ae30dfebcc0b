"""Money is never lost, on PostgreSQL with real connections and threads (X3, X4).

A recording gateway (tests/gateways.py) remembers every charge by idempotency key, as a real
gateway does, so `taken` is the money that actually left the buyer's card. The database is
made to fail for real: the test terminates the backend of the connection doing the purchase
at the worst moment.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection

from billing import services
from billing.models import Invoice, Plan, Purchase
from credits import services as credit_services
from credits.models import CreditPool
from tests import gateways
from tests.billing.conftest import T0, card, default_prices, now  # noqa: F401 (fixtures)
from tests.concurrency.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LATER = timedelta(minutes=3)  # past the lease of a purchase made at T0


@pytest.fixture
def buyer(make_organisation, default_prices, card, recording_gateway):  # noqa: F811
    organisation = make_organisation("buyer", name="Buyer", preset="data_provider")
    card(organisation)
    return organisation


def balance(organisation) -> int:
    return CreditPool.objects.get(pk=organisation.pk).balance


def kill_this_connection() -> None:
    """Terminate the server process behind this thread's connection, from another one, as a
    crash of PostgreSQL or a cut network would."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    def terminate() -> None:
        from django.db import connection as own

        with own.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        own.close()

    killer = threading.Thread(target=terminate)
    killer.start()
    killer.join()


def test_the_database_failing_right_after_the_charge_leaves_a_purchase_the_job_completes_x4(
    buyer, recording_gateway, monkeypatch
):
    # Given a database that dies the moment the gateway has taken the money
    real_charge = gateways.RecordingGateway.charge

    def charge_then_crash(self, **kwargs):
        outcome = real_charge(self, **kwargs)
        kill_this_connection()
        return outcome

    monkeypatch.setattr(gateways.RecordingGateway, "charge", charge_then_crash)
    # When the owner buys, the call returns (no error for a paid purchase)
    bought = services.purchase(organisation=buyer, credits=100, method="card", now=T0)
    assert bought.status == "charging"
    connection.close()
    monkeypatch.setattr(gateways.RecordingGateway, "charge", real_charge)
    # Then the purchase is found as it was committed before the charge
    assert Purchase.objects.get().status == "charging"
    assert (balance(buyer), Invoice.objects.count()) == (0, 0)
    # When the settle job runs, it asks again with the same key and completes it
    assert services.settle_purchases(now=T0 + LATER) == {"paid": 1}
    # Then exactly one charge, one invoice, the credits once
    assert recording_gateway.taken == [Decimal("216.00")]
    assert (balance(buyer), Invoice.objects.count()) == (100, 1)


def test_the_database_failing_during_completion_leaves_it_charged_and_the_job_completes_it_x4(
    buyer, recording_gateway, monkeypatch
):
    real_grant = credit_services.grant

    def crash_then_grant(**kwargs):
        kill_this_connection()
        return real_grant(**kwargs)

    monkeypatch.setattr(credit_services, "grant", crash_then_grant)
    bought = services.purchase(organisation=buyer, credits=100, method="card", now=T0)
    assert bought.status == "charged"
    connection.close()
    monkeypatch.setattr(credit_services, "grant", real_grant)
    stored = Purchase.objects.get()
    assert (stored.status, stored.invoice_id, balance(buyer)) == ("charged", None, 0)
    assert services.settle_purchases(now=T0 + LATER) == {"paid": 1}
    assert recording_gateway.taken == [Decimal("216.00")]
    assert (balance(buyer), Invoice.objects.count()) == (100, 1)


def test_one_purchase_retried_eight_times_at_once_charges_once_x3(buyer, recording_gateway):
    def retry() -> object:
        return services.purchase(
            organisation=buyer, credits=100, method="card", now=T0, idempotency_key="order-42"
        ).pk

    outcomes = run_together(*[retry] * 8)
    assert len(set(outcomes)) == 1, outcomes
    assert recording_gateway.taken == [Decimal("216.00")]
    assert (Purchase.objects.count(), balance(buyer), Invoice.objects.count()) == (1, 100, 1)


def test_eight_settle_jobs_at_once_ask_the_gateway_once_for_an_unfinished_purchase_x4(
    buyer, recording_gateway
):
    recording_gateway.script = ["timeout_before"]
    services.purchase(organisation=buyer, credits=100, method="card", now=T0)
    calls_before = recording_gateway.calls

    outcomes = run_together(*[lambda: services.settle_purchases(now=T0 + LATER)] * 8)
    assert sorted(outcomes, key=len) == [{}] * 7 + [{"paid": 1}]
    assert recording_gateway.calls - calls_before == 1
    assert (recording_gateway.taken, balance(buyer)) == ([Decimal("216.00")], 100)


def test_four_renewal_jobs_at_once_pay_for_the_period_once_m3(buyer, recording_gateway):
    plan = Plan.objects.create(
        code="team",
        name="Team",
        currency="EUR",
        monthly_price=Decimal("49.00"),
        included_credits=500,
    )
    services.subscribe(organisation=buyer, plan=plan, now=T0)
    renewal = T0 + relativedelta(months=1)

    outcomes = run_together(*[lambda: services.renew_due(now=renewal)] * 4)
    # One job pays; the others find the period paid, or its payment under way
    assert [o.get("renewed", 0) for o in outcomes].count(1) == 1, outcomes
    assert all(set(o) <= {"renewed", "pending"} for o in outcomes), outcomes
    assert recording_gateway.taken == [Decimal("58.80"), Decimal("58.80")]
    assert Purchase.objects.filter(kind="plan_renewal").count() == 1
