"""Purchases that cannot lose money (X3, X4): recorded before the card is charged, charged
with a key derived from the purchase, completed in one transaction, and finished (or
refunded) by the settle job whatever was interrupted. A recording gateway counts the money
actually taken."""

from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.db import OperationalError

from billing import services
from billing.exceptions import OutOfBounds
from billing.models import Invoice, Plan, Purchase, PurchaseStatus, Subscription
from billing.services import purchases as purchase_steps
from credits import services as credit_services
from credits.exceptions import InvalidAmount
from credits.models import Lot
from tests.credits.conftest import pool_of

pytestmark = pytest.mark.django_db

LATER = timedelta(minutes=3)  # past the charge lease of a purchase made at `now`


@pytest.fixture
def buyer(make_organisation, default_prices, card, recording_gateway):
    organisation = make_organisation("buyer", name="Buyer", preset="data_provider")
    card(organisation)
    return organisation


def balance(organisation) -> int:
    return pool_of(organisation)[0]


def fail_once(monkeypatch, target, attribute, error: BaseException):
    """`target.attribute` raises `error` on its first call, then works again."""
    real = getattr(target, attribute)
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(target, attribute, flaky)
    return calls


def test_a_lost_gateway_answer_leaves_the_purchase_charging_and_the_job_charges_once_x3(
    buyer, recording_gateway, now
):
    # Given a gateway that takes the money and then loses its answer
    recording_gateway.script = ["timeout_after"]
    # When the owner buys 100 credits
    bought = services.purchase(organisation=buyer, credits=100, method="card", now=now)
    # Then the purchase waits, charging, with nothing granted or invoiced yet
    assert (bought.status, balance(buyer), Invoice.objects.count()) == ("charging", 0, 0)
    # And the job leaves it alone while the buyer's own request holds the lease
    assert services.settle_purchases(now=now + timedelta(seconds=30)) == {}
    # When the lease has run out, the job asks the gateway again with the same key
    assert services.settle_purchases(now=now + LATER) == {"paid": 1}
    # Then the card was charged once, and the credits and invoice exist once
    bought.refresh_from_db()
    assert recording_gateway.taken == [Decimal("216.00")]
    assert recording_gateway.calls == 2
    assert (bought.status, bought.charge_attempts, balance(buyer)) == ("paid", 2, 100)
    assert bought.invoice.total == Decimal("216.00")


def test_a_charge_lost_before_reaching_the_gateway_is_made_once_by_the_job_x3(
    buyer, recording_gateway, now
):
    recording_gateway.script = ["timeout_before"]
    bought = services.purchase(organisation=buyer, credits=100, method="card", now=now)
    assert (bought.status, recording_gateway.taken) == ("charging", [])
    assert services.settle_purchases(now=now + LATER) == {"paid": 1}
    assert (recording_gateway.taken, balance(buyer)) == ([Decimal("216.00")], 100)


def test_a_completion_that_fails_after_the_charge_stays_charged_and_the_job_completes_it_x4(
    buyer, recording_gateway, now, monkeypatch
):
    # Given the database fails while the credits are granted, right after the charge
    fail_once(monkeypatch, credit_services, "grant", OperationalError("connection lost"))
    # When the owner buys
    bought = services.purchase(organisation=buyer, credits=100, method="card", now=now)
    # Then the charge is recorded, the half-done completion rolled back entirely
    stored = Purchase.objects.get(pk=bought.pk)
    assert (stored.status, stored.completion_attempts, stored.lot, stored.invoice) == (
        "charged",
        1,
        None,
        None,
    )
    assert (balance(buyer), Invoice.objects.count()) == (0, 0)
    assert stored.next_attempt_at == now + purchase_steps.COMPLETION_RETRIES[0]
    # When the job runs at the retry time
    assert services.settle_purchases(now=stored.next_attempt_at) == {"paid": 1}
    # Then the purchase is complete, with one charge, one invoice, the credits once
    stored.refresh_from_db()
    assert (stored.status, balance(buyer), Invoice.objects.count()) == ("paid", 100, 1)
    assert recording_gateway.taken == [Decimal("216.00")]
    assert stored.invoice.status == "paid"


def test_a_purchase_that_can_never_be_completed_is_refunded_once_x4(
    buyer, recording_gateway, now, monkeypatch
):
    # Given the ledger refuses the grant (a refusal that will not change with time)
    def refuse(**kwargs):
        raise InvalidAmount("Credits cannot be granted already expired.")

    monkeypatch.setattr(credit_services, "grant", refuse)
    # When the owner buys
    bought = services.purchase(organisation=buyer, credits=100, method="card", now=now)
    # Then the money is given back through the gateway, once, and nothing was granted
    assert bought.status == "refunded"
    assert (len(recording_gateway.refunds), balance(buyer), Invoice.objects.count()) == (1, 0, 0)
    assert bought.last_error == "Credits cannot be granted already expired."
    assert services.settle_purchases(now=now + timedelta(days=1)) == {}
    assert len(recording_gateway.refunds) == 1


def test_a_completion_failing_at_every_retry_is_refunded_after_the_last_x4(
    buyer, recording_gateway, now, monkeypatch
):
    def broken(**kwargs):
        raise OperationalError("the disk is full")

    monkeypatch.setattr(credit_services, "grant", broken)
    bought = services.purchase(organisation=buyer, credits=100, method="card", now=now)
    moment = now
    for wait in purchase_steps.COMPLETION_RETRIES:
        moment += wait
        services.settle_purchases(now=moment)
    bought.refresh_from_db()
    assert (bought.status, bought.completion_attempts) == ("refunded", 5)
    assert (len(recording_gateway.taken), len(recording_gateway.refunds)) == (1, 1)
    assert balance(buyer) == 0


def test_retrying_a_purchase_still_charging_returns_it_without_charging_again_x3(
    buyer, recording_gateway, now
):
    recording_gateway.script = ["timeout_after"]
    first = services.purchase(
        organisation=buyer, credits=100, method="card", now=now, idempotency_key="order-7"
    )
    again = services.purchase(
        organisation=buyer, credits=100, method="card", now=now, idempotency_key="order-7"
    )
    assert (first.pk, again.pk, again.status) == (first.pk, first.pk, "charging")
    assert recording_gateway.calls == 1
    # After the lease, the retry itself finishes the purchase (the same key: one charge)
    done = services.purchase(
        organisation=buyer, credits=100, method="card", now=now + LATER, idempotency_key="order-7"
    )
    assert (done.pk, done.status, recording_gateway.taken) == (
        first.pk,
        "paid",
        [Decimal("216.00")],
    )


def test_a_declined_charge_takes_no_money_and_grants_nothing_x3(buyer, recording_gateway, now):
    recording_gateway.script = ["declined"]
    attempt = services.purchase(organisation=buyer, credits=100, method="card", now=now)
    assert (attempt.status, attempt.decline_reason) == ("declined", "Your card was declined.")
    assert (recording_gateway.taken, balance(buyer), Invoice.objects.count()) == ([], 0, 0)
    assert services.settle_purchases(now=now + timedelta(days=1)) == {}


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        (10**20, r"One purchase is limited to 1,000,000,000 credits"),
        (10**9, r"One purchase is limited to 10,000,000.00 EUR"),
    ],
)
def test_a_quantity_beyond_the_bounds_is_refused_before_anything_is_recorded_x6(
    buyer, recording_gateway, now, credits, message
):
    with pytest.raises(OutOfBounds, match=message):
        services.purchase(organisation=buyer, credits=credits, method="card", now=now)
    assert (Purchase.objects.count(), recording_gateway.calls, balance(buyer)) == (0, 0, 0)


def test_an_enqueue_that_fails_after_commit_never_fails_a_paid_purchase_x4(
    buyer, recording_gateway, now, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    # Given a broker that refuses every job
    from billing import tasks

    def broker_down(*args):
        raise ConnectionError("Redis is not answering")

    monkeypatch.setattr(tasks.deliver_invoice, "delay", broker_down)
    # When the owner buys (and the transaction's after-commit work runs)
    with django_capture_on_commit_callbacks(execute=True) as after_commit:
        bought = services.purchase(organisation=buyer, credits=100, method="card", now=now)
    # Then the purchase is paid and the credits usable; the lost job is logged, not raised
    assert len(after_commit) == 2  # the invoice's delivery, and again once it was paid
    assert (bought.status, balance(buyer)) == ("paid", 100)
    assert "could not enqueue billing.deliver_invoice" in caplog.text
    assert Invoice.objects.get().pdf == ""


def test_a_renewal_whose_answer_is_lost_is_finished_by_the_job_and_paid_once_m3(
    buyer, recording_gateway, now
):
    plan = Plan.objects.create(
        code="team",
        name="Team",
        currency="EUR",
        monthly_price=Decimal("49.00"),
        included_credits=500,
    )
    services.subscribe(organisation=buyer, plan=plan, now=now)
    renewal = now + relativedelta(months=1)
    recording_gateway.script = ["timeout_after"]
    assert services.renew_due(now=renewal) == {"pending": 1}
    # A second run of the renewal job while the payment is unfinished records nothing new
    assert services.renew_due(now=renewal + timedelta(minutes=1)) == {"pending": 1}
    assert services.settle_purchases(now=renewal + LATER) == {"paid": 1}
    subscription = Subscription.objects.get(organisation=buyer)
    assert (subscription.renews_on, subscription.status) == (
        renewal + relativedelta(months=1),
        "active",
    )
    assert recording_gateway.taken == [Decimal("58.80"), Decimal("58.80")]
    assert services.renew_due(now=renewal + LATER) == {}


def test_a_free_plan_starts_without_a_card_and_its_zero_invoice_is_paid_m2(
    make_organisation, default_prices, recording_gateway, now
):
    organisation = make_organisation("free", preset="crm")
    plan = Plan.objects.create(
        code="free", name="Free", currency="EUR", monthly_price=Decimal("0"), included_credits=50
    )
    subscription = services.subscribe(organisation=organisation, plan=plan, now=now)
    invoice = Invoice.objects.get(organisation=organisation)
    assert (subscription.status, invoice.total, invoice.status) == ("active", Decimal("0"), "paid")
    assert (recording_gateway.calls, balance(organisation)) == (0, 50)
    assert Lot.objects.get(organisation=organisation).expires_at == now + relativedelta(months=1)
    assert Purchase.objects.get().status == PurchaseStatus.PAID


def test_a_card_typed_at_checkout_is_kept_only_once_it_was_charged_m3(
    buyer, recording_gateway, now
):
    # Given a working Visa on file
    profile = services.profile_of(buyer)
    assert profile.card_last4 == "4242"
    # When the owner types a card that the bank declines
    declined = services.purchase(
        organisation=buyer,
        credits=100,
        method="card",
        now=now,
        new_card=services.CardDetails("4000 0000 0000 0002", 12, 2030, "123"),
    )
    # Then nothing is bought and the working card stays on file
    profile.refresh_from_db()
    assert (declined.status, profile.card_last4, balance(buyer)) == ("declined", "4242", 0)
    # When the owner types a Mastercard that works
    paid = services.purchase(
        organisation=buyer,
        credits=100,
        method="card",
        now=now,
        new_card=services.CardDetails("5555 5555 5555 4444", 11, 2031, "321"),
    )
    # Then it paid, and it is the card on file from now on
    profile.refresh_from_db()
    assert (paid.status, profile.card_brand, profile.card_last4, profile.card_exp_year) == (
        "paid",
        "Mastercard",
        "4444",
        2031,
    )
    assert recording_gateway.taken == [Decimal("216.00")]
