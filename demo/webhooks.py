"""A webhook endpoint per demo organisation, with a history of deliveries to look at (B3).

Written as rows, with no HTTP during the load: the endpoint points at
`http://127.0.0.1:9/webhooks/<slug>` (the discard port, closed on any demo machine), so what
the demo sends later fails visibly and is retried, as for a receiver that is down; the
history shows deliveries that succeeded at once, one that succeeded at its second attempt,
and one still failing with its retries. Payloads are the organisation's own invoices and
purchases, as the portal would have sent them.
"""

import random
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max

from billing.models import Invoice, InvoiceKind, InvoiceStatus, Purchase, PurchaseStatus
from clients.models import Organisation, Role
from credits.models import Consumption
from webhooks import events, signing
from webhooks.models import (
    Attempt,
    ConsumptionCursor,
    Delivery,
    DeliveryStatus,
    Endpoint,
    Event,
    EventType,
)
from webhooks.services import RETRY_DELAYS, payload

DEMO_RECEIVER = "http://127.0.0.1:9/webhooks/{slug}"
REFUSED = "ConnectionRefusedError: [Errno 111] Connection refused"


class _History:
    def __init__(self, organisation: Organisation, endpoint: Endpoint) -> None:
        self.organisation = organisation
        self.endpoint = endpoint
        self.rng = random.Random(f"webhooks-{organisation.slug}")

    def event(self, type: str, data: dict, at: datetime) -> Event:
        return Event.objects.create(
            organisation=self.organisation,
            type=type,
            payload=payload(type, data, at),
            created_at=at,
        )

    def attempt(self, delivery: Delivery, number: int, at: datetime, **answer) -> None:
        Attempt.objects.create(
            delivery=delivery,
            number=number,
            at=at,
            duration_ms=answer.pop("duration_ms", self.rng.randint(40, 260)),
            **answer,
        )

    def delivered(self, event: Event, *, failures: int = 0) -> Delivery:
        """Answered 200 after `failures` answers of 500, at the retry times."""
        at = event.created_at
        delivery = Delivery.objects.create(
            event=event, endpoint=self.endpoint, created_at=at, attempts=failures + 1
        )
        for number in range(1, failures + 1):
            self.attempt(delivery, number, at, status_code=500, response_excerpt="Internal error")
            at += RETRY_DELAYS[number - 1]
        self.attempt(delivery, failures + 1, at, status_code=200, response_excerpt='{"ok":true}')
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SUCCEEDED, last_status_code=200, delivered_at=at
        )
        return delivery

    def failing(self, event: Event, *, attempts: int) -> Delivery:
        """Refused `attempts` times, the next try still ahead."""
        at = event.created_at
        delivery = Delivery.objects.create(
            event=event, endpoint=self.endpoint, created_at=at, attempts=attempts
        )
        for number in range(1, attempts + 1):
            self.attempt(delivery, number, at, error=REFUSED, duration_ms=1)
            at += RETRY_DELAYS[number - 1]
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.PENDING, next_attempt_at=at, last_error=REFUSED
        )
        return delivery


@transaction.atomic
def seed_webhooks(organisation: Organisation, now: datetime) -> Endpoint:
    """The organisation's demo endpoint (every event) and its history: invoices issued and
    paid, purchases completed, a test event, and a last event (its low-balance alert where it
    has a threshold, else a test event) whose delivery has been refused four times (the
    fifth try is 2 hours after the fourth)."""
    owner = organisation.memberships.filter(role=Role.OWNER).select_related("user").first()
    endpoint = Endpoint.objects.create(
        organisation=organisation,
        url=DEMO_RECEIVER.format(slug=organisation.slug),
        description="Demo receiver (nothing listens: new events fail and are retried)",
        all_events=True,
        secret=signing.new_secret(),
        created_at=now - timedelta(days=9),
        created_by=owner.user if owner else None,
    )
    # It listens to consumptions from now on, not to the months of history.
    newest = Consumption.objects.aggregate(newest=Max("pk"))["newest"] or 0
    ConsumptionCursor.objects.update_or_create(
        organisation=organisation, defaults={"last_id": newest, "updated_at": now}
    )
    history = _History(organisation, endpoint)
    history.delivered(
        history.event(
            EventType.PING,
            {"endpoint": endpoint.pk, "test": True},
            now - timedelta(days=9),
        )
    )
    invoices = Invoice.objects.filter(
        organisation=organisation, kind=InvoiceKind.INVOICE, status=InvoiceStatus.PAID
    ).order_by("-issued_at", "-pk")[:3]
    for day, invoice in enumerate(reversed(invoices), start=1):
        at = now - timedelta(days=8 - 2 * day, hours=3)
        history.delivered(history.event(EventType.INVOICE_ISSUED, events.invoice_data(invoice), at))
        history.delivered(
            history.event(EventType.INVOICE_PAID, events.invoice_data(invoice), at),
            failures=1 if day == 2 else 0,
        )
    purchases = Purchase.objects.filter(
        organisation=organisation, status__in=[PurchaseStatus.PAID, PurchaseStatus.INVOICED]
    ).select_related("invoice")[:2]
    for hours, purchase in enumerate(purchases, start=1):
        at = now - timedelta(days=1, hours=hours)
        history.delivered(
            history.event(EventType.PURCHASE_COMPLETED, events.purchase_data(purchase), at)
        )
    pool = organisation.pool
    if pool.low_balance_threshold:
        figures = {
            "balance": pool.balance,
            "held": pool.held,
            "available": pool.balance - pool.held,
        }
        data, type = {**figures, "threshold": pool.low_balance_threshold}, EventType.LOW_BALANCE
    else:
        data = {"endpoint": endpoint.pk, "test": True}
        type = EventType.PING
    low = history.event(type, data, now - timedelta(minutes=50))
    history.failing(low, attempts=4)
    return endpoint
