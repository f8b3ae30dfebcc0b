"""A delivery never blocks or fails the operation that caused it (B3, X3, X4).

The operation records its events in its own transaction and commits; only then is a delivery
sent, by a job. With a broker, the operation does not even wait for the receiver; without one
(tasks inline), it waits at most the transport's timeout and succeeds whatever the receiver
does: down, slow, or answering errors.
"""

import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from billing import services as billing
from billing.models import PaymentMethod, Purchase
from config.celery import app
from credits import services as credits
from credits.models import CreditPool, LotSource, LowBalanceAlert
from demo.catalogue import set_up_billing
from webhooks import transport
from webhooks.models import Attempt, Delivery


def seen_from_another_connection(query):
    """The answer of `query` run in another thread, on a connection of its own: what is
    committed, and nothing else."""
    answers = []

    def run() -> None:
        try:
            answers.append(query())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    return answers[0]


@pytest.fixture
def studio(make_organisation, catalogue, make_endpoint):
    """A studio with the sandbox Visa on file, and a factory for its one endpoint."""
    organisation = make_organisation("studio", preset="serious_game")
    set_up_billing(organisation, None, enterprise=False, now=timezone.now())
    return organisation


@pytest.mark.django_db
def test_a_purchase_succeeds_while_the_receiver_is_down_b3_x3(
    studio, make_endpoint, closed_url, django_capture_on_commit_callbacks
):
    # Given an endpoint for every event, where nothing listens
    make_endpoint(studio, closed_url, all_events=True)
    # When the studio buys 120 credits, and the deliveries run after commit
    with django_capture_on_commit_callbacks(execute=True):
        purchase = billing.purchase(
            organisation=studio, now=timezone.now(), method=PaymentMethod.CARD, credits=120
        )
    # Then the purchase is paid and its credits are there
    assert Purchase.objects.get(pk=purchase.pk).status == "paid"
    assert CreditPool.objects.get(pk=studio.pk).balance == 120
    # And each of its 3 deliveries tried once, was refused, and waits for its retry
    assert (
        list(Delivery.objects.order_by("pk").values_list("status", "attempts"))
        == [("pending", 1)] * 3
    )
    assert all(
        "Connection refused" in error for error in Attempt.objects.values_list("error", flat=True)
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_slow_receiver_delays_a_committed_purchase_by_its_timeout_only_b3_x3(
    studio, make_endpoint, receiver, monkeypatch
):
    # Given a receiver that takes 5 s to answer, a total timeout of 0.3 s, tasks inline
    receiver.delay = 5
    monkeypatch.setattr(transport, "TOTAL_TIMEOUT", 0.3)
    make_endpoint(studio, receiver.url, all_events=True)
    # When the studio buys 120 credits
    started = time.monotonic()
    purchase = billing.purchase(
        organisation=studio, now=timezone.now(), method=PaymentMethod.CARD, credits=120
    )
    elapsed = time.monotonic() - started
    # Then it returned paid, after its 3 deliveries were cut at the timeout, not after 15 s
    assert purchase.status == "paid"
    assert elapsed < 3
    # And it is committed: another connection sees it paid and the credits granted
    assert seen_from_another_connection(
        lambda: (
            Purchase.objects.get(pk=purchase.pk).status,
            CreditPool.objects.get(pk=studio.pk).balance,
        )
    ) == ("paid", 120)
    errors = list(Attempt.objects.values_list("error", flat=True))
    assert len(errors) == 3
    assert all(error.startswith("Timed out") for error in errors)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_low_balance_alert_is_e_mailed_and_committed_while_the_receiver_is_down_b3_b1(
    make_organisation, make_endpoint, closed_url, mailoutbox
):
    # Given 1,000 credits, an alert under 500, and an endpoint where nothing listens
    acme = make_organisation("acme", name="Acme")
    now = timezone.now()
    credits.grant(organisation=acme, credits=1000, source=LotSource.PURCHASE, now=now)
    credits.set_alert_policy(
        organisation=acme, reminder_days=30, second_reminder_days=7, low_balance_threshold=500
    )
    make_endpoint(acme, closed_url, events=["credits.low_balance"])
    own = acme.clients.get(kind="own")
    credits.debit(client=own, credits=600, action_code="x", now=now)
    # When the balance is checked
    notice = credits.check_balance_alerts(organisation=acme, now=now)
    # Then the owners got their e-mail, the alert is disarmed for good, and the webhook's
    # refused attempt waits for its retry
    assert notice.status == "sent"
    assert len(mailoutbox) == 1
    assert (
        seen_from_another_connection(lambda: LowBalanceAlert.objects.get(pk=acme.pk).armed) is False
    )
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_purchase_does_not_wait_for_the_receiver_at_all_b3_x3(
    studio, make_endpoint, receiver
):
    # Given a receiver that takes 5 s, and Celery publishing to Redis (no worker in this test)
    receiver.delay = 5
    make_endpoint(studio, receiver.url, all_events=True)
    app.conf.task_always_eager = False
    try:
        # When the studio buys 120 credits
        started = time.monotonic()
        purchase = billing.purchase(
            organisation=studio, now=timezone.now(), method=PaymentMethod.CARD, credits=120
        )
        elapsed = time.monotonic() - started
    finally:
        app.conf.task_always_eager = True
        app.control.purge()  # the delivery jobs nobody will run
    # Then it returned paid at once; its 3 deliveries wait for a worker, untried
    assert purchase.status == "paid"
    assert elapsed < 2
    assert list(Delivery.objects.values_list("status", "attempts")) == [("pending", 0)] * 3
    assert receiver.requests == []
