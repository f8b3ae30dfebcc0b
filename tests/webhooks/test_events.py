"""Each event comes from its cause, with the figures a receiver needs (B3, B1, D3, M5, X1).

Events are recorded in the transaction of the operation that causes them, with a delivery for
each endpoint subscribed (an outbox); when no endpoint listens, one query and nothing written.
`consumption.created` has its own file (test_consumptions.py): a job writes it.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from billing import services as billing
from billing.models import Invoice, PaymentMethod, Purchase
from clients.models import Client, ClientKind
from credits import services as credits
from credits.models import CreditPool, LotSource
from demo.catalogue import set_up_billing
from webhooks import services
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=PARIS)  # 08:00 UTC
RECEIVER = "http://127.0.0.1:9/hooks"  # nothing is sent in these tests: no commit


def events() -> list[tuple[str, dict]]:
    return list(Event.objects.order_by("pk").values_list("type", "payload"))


def own_client(organisation) -> Client:
    return Client.objects.get(organisation=organisation, kind=ClientKind.OWN)


@pytest.fixture
def acme(make_organisation):
    return make_organisation("acme", name="Acme")


def test_crossing_the_low_balance_threshold_emits_credits_low_balance_once_b3_b1(
    acme, make_endpoint
):
    # Given 1,000 credits, an alert under 500, and an endpoint listening to low balances
    credits.grant(organisation=acme, credits=1000, source=LotSource.PURCHASE, now=T0)
    credits.set_alert_policy(
        organisation=acme, reminder_days=30, second_reminder_days=7, low_balance_threshold=500
    )
    endpoint = make_endpoint(acme, RECEIVER, events=["credits.low_balance"])
    # When 600 are spent, and the balance is checked twice
    credits.debit(client=own_client(acme), credits=600, action_code="x", now=T0)
    credits.check_balance_alerts(organisation=acme, now=T0)
    credits.run_balance_alerts(now=T0 + timedelta(minutes=1))
    # Then one event says 400 are available, under 500, with one delivery to the endpoint
    assert events() == [
        (
            "credits.low_balance",
            {
                "type": "credits.low_balance",
                "timestamp": "2026-03-10T08:00:00Z",
                "data": {"balance": 400, "held": 0, "available": 400, "threshold": 500},
            },
        )
    ]
    delivery = Delivery.objects.get()
    assert (delivery.endpoint_id, delivery.status, delivery.next_attempt_at) == (
        endpoint.pk,
        "pending",
        T0,
    )


def test_an_expiry_reminder_emits_credits_expiring_with_its_lots_b3_d3(acme, make_endpoint):
    # Given 300 credits expiring in 20 days, reminders 30 and 7 days before
    credits.set_alert_policy(
        organisation=acme, reminder_days=30, second_reminder_days=7, low_balance_threshold=0
    )
    lot = credits.grant(
        organisation=acme,
        credits=300,
        source=LotSource.PURCHASE,
        expires_at=T0 + timedelta(days=20),
        now=T0,
    )
    make_endpoint(acme, RECEIVER, events=["credits.expiring"])
    # When the reminders job runs
    credits.send_expiry_reminders(now=T0)
    # Then the event lists the lot, its credits, its expiry and the lead time reached
    assert events() == [
        (
            "credits.expiring",
            {
                "type": "credits.expiring",
                "timestamp": "2026-03-10T08:00:00Z",
                "data": {
                    "credits": 300,
                    "lots": [
                        {
                            "lot": lot.pk,
                            "credits": 300,
                            "expires_at": "2026-03-30T07:00:00Z",
                            "lead_days": 30,
                        }
                    ],
                },
            },
        )
    ]


def test_lots_expiring_emit_one_credits_expired_event_with_each_lot_b3_d3(acme, make_endpoint):
    # Given 100 credits that never expire and two lots of 200 and 50 expiring on 1 April
    credits.grant(
        organisation=acme, credits=100, source=LotSource.PURCHASE, now=T0, expires_at=None
    )
    april = datetime(2026, 4, 1, tzinfo=PARIS)
    first, second = (
        credits.grant(
            organisation=acme, credits=n, source=LotSource.PROMOTION, now=T0, expires_at=april
        )
        for n in (200, 50)
    )
    make_endpoint(acme, RECEIVER, events=["credits.expired"])
    # When the expiry job runs after it
    credits.expire_due(now=april + timedelta(hours=1))
    # Then one event names both lots, 250 credits in all, and the 100 left
    expiry = "2026-03-31T22:00:00Z"
    assert events() == [
        (
            "credits.expired",
            {
                "type": "credits.expired",
                "timestamp": "2026-03-31T23:00:00Z",
                "data": {
                    "credits": 250,
                    "balance": 100,
                    "lots": [
                        {"lot": first.pk, "credits": 200, "expires_at": expiry},
                        {"lot": second.pk, "credits": 50, "expires_at": expiry},
                    ],
                },
            },
        )
    ]


def test_a_card_purchase_emits_invoice_issued_invoice_paid_and_purchase_completed_b3_m5(
    make_organisation, catalogue, make_endpoint
):
    # Given a studio on the default list with the sandbox Visa, and an endpoint for every event
    studio = make_organisation("studio", preset="serious_game")
    set_up_billing(studio, None, enterprise=False, now=T0)
    make_endpoint(studio, RECEIVER, all_events=True)
    # When it buys 120 credits by card (1.80 each, VAT 20 %)
    purchase = billing.purchase(organisation=studio, now=T0, method=PaymentMethod.CARD, credits=120)
    # Then the invoice was issued (open), then paid, then the purchase completed
    invoice = Invoice.objects.get()
    figures = {
        "id": invoice.pk,
        "number": "INV-2026-000001",
        "kind": "invoice",
        "currency": "EUR",
        "subtotal": "216.00",
        "tax_rate": "20.00",
        "tax": "43.20",
        "total": "259.20",
        "issued_on": "2026-03-10",
        "due_on": "2026-03-10",
        "credit_note_for": None,
    }
    stamp = "2026-03-10T08:00:00Z"
    assert events() == [
        (
            "invoice.issued",
            {
                "type": "invoice.issued",
                "timestamp": stamp,
                "data": {"invoice": {**figures, "status": "open"}},
            },
        ),
        (
            "invoice.paid",
            {
                "type": "invoice.paid",
                "timestamp": stamp,
                "data": {"invoice": {**figures, "status": "paid"}},
            },
        ),
        (
            "purchase.completed",
            {
                "type": "purchase.completed",
                "timestamp": stamp,
                "data": {
                    "purchase": {
                        "id": purchase.pk,
                        "kind": "credits",
                        "origin": "person",
                        "status": "paid",
                        "method": "card",
                        "credits": 120,
                        "amount": "216.00",
                        "tax": "43.20",
                        "total": "259.20",
                        "currency": "EUR",
                        "invoice": "INV-2026-000001",
                        "lot": purchase.lot_id,
                    }
                },
            },
        ),
    ]
    assert Delivery.objects.filter(status="pending").count() == 3


def test_enterprise_terms_emit_the_invoice_open_and_paid_later_by_transfer_b3_m5(
    make_organisation, catalogue, make_endpoint
):
    # Given an organisation on enterprise terms, listening to invoices
    firm = make_organisation("firm", preset="translation")
    set_up_billing(firm, None, enterprise=True, now=T0)
    make_endpoint(firm, RECEIVER, events=["invoice.issued", "invoice.paid"])
    # When it buys on terms, then pays the invoice by transfer 20 days later
    purchase = billing.purchase(
        organisation=firm, now=T0, method=PaymentMethod.ENTERPRISE_TERMS, credits=100
    )
    assert [type for type, _payload in events()] == ["invoice.issued"]
    billing.record_payment(
        invoice=purchase.invoice, now=T0 + timedelta(days=20), method="bank_transfer"
    )
    # Then the second event is the paid invoice, due 30 days after its issue
    (issued, paid) = events()
    assert issued[1]["data"]["invoice"]["status"] == "open"
    assert paid[0] == "invoice.paid"
    assert paid[1]["timestamp"] == "2026-03-30T07:00:00Z"
    assert paid[1]["data"]["invoice"]["status"] == "paid"
    assert paid[1]["data"]["invoice"]["due_on"] == "2026-04-09"


def test_without_a_listening_endpoint_an_event_costs_one_query_and_writes_nothing_b3(acme):
    # Given an organisation without endpoints
    # When an event happens
    with CaptureQueriesContext(connection) as queries:
        recorded = services.emit(
            organisation_id=acme.pk, type="invoice.paid", data={"invoice": {}}, now=T0
        )
    # Then one query looked for endpoints, and nothing was written
    assert recorded is None
    assert len(queries) == 1
    assert Event.objects.count() == 0


def test_endpoints_off_or_subscribed_to_other_events_get_nothing_b3(acme, make_endpoint):
    # Given an endpoint for invoices only, and one for everything that is turned off
    make_endpoint(acme, RECEIVER, events=["invoice.issued"])
    off = make_endpoint(acme, RECEIVER, all_events=True)
    services.set_endpoint_active(endpoint=off, active=False, now=T0)
    # When a low-balance event happens
    services.emit(organisation_id=acme.pk, type="credits.low_balance", data={}, now=T0)
    # Then nothing is recorded
    assert Event.objects.count() == Delivery.objects.count() == 0


def test_an_event_goes_once_to_each_endpoint_listening_b3(acme, make_endpoint):
    # Given two endpoints listening to paid invoices and one to issued invoices only
    listening = [make_endpoint(acme, RECEIVER, events=["invoice.paid"]) for _ in range(2)]
    make_endpoint(acme, RECEIVER, events=["invoice.issued"])
    # When an invoice is paid
    event = services.emit(organisation_id=acme.pk, type="invoice.paid", data={}, now=T0)
    # Then one event, one delivery to each of the two
    assert sorted(Delivery.objects.filter(event=event).values_list("endpoint_id", flat=True)) == [
        endpoint.pk for endpoint in listening
    ]


def test_an_operation_that_rolls_back_takes_its_event_with_it_b3_x1(acme, make_endpoint):
    # Given an endpoint for every event
    make_endpoint(acme, RECEIVER, all_events=True)

    # When an operation emits, then fails
    @transaction.atomic
    def failing_operation() -> None:
        services.emit(organisation_id=acme.pk, type="invoice.paid", data={}, now=T0)
        raise RuntimeError("the operation failed after the event")

    with pytest.raises(RuntimeError):
        failing_operation()
    # Then no event and no delivery remain
    assert Event.objects.count() == Delivery.objects.count() == 0


def test_an_event_that_cannot_be_recorded_never_fails_the_purchase_b3_x3(
    make_organisation, catalogue, make_endpoint, monkeypatch
):
    # Given an endpoint, and the events table refusing every write
    studio = make_organisation("studio", preset="serious_game")
    set_up_billing(studio, None, enterprise=False, now=T0)
    make_endpoint(studio, RECEIVER, all_events=True)

    def refuse(*args, **kwargs):
        raise RuntimeError("events table unavailable")

    monkeypatch.setattr(Event.objects, "create", refuse)
    # When the studio buys 120 credits
    purchase = billing.purchase(organisation=studio, now=T0, method=PaymentMethod.CARD, credits=120)
    # Then the purchase is paid and its credits granted all the same
    assert Purchase.objects.get(pk=purchase.pk).status == "paid"
    assert CreditPool.objects.get(pk=studio.pk).balance == 120
    assert Event.objects.count() == 0
