"""Sending deliveries: claim, POST, record; retries with backoff; replays (B3).

A delivery is sent the way invoices are e-mailed (billing.services.delivery): claimed first by
a conditional UPDATE that moves its `next_attempt_at` a LEASE ahead under a token of its own
(two workers, or a worker and the sweep, never both send it), then POSTed outside any
transaction, then its attempt recorded in one short transaction. A worker that dies while
sending leaves the delivery due again when its lease ends, and the sweep takes it over (at
least once beats never: receivers drop duplicates by `webhook-id`).

A 2xx answer is success. Anything else (another status, a timeout, a refused connection, a
private address) is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight tries
over about 28 hours, then the delivery has failed (the owner may replay it).
"""

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from config.jobs import enqueue
from webhooks import signing, transport
from webhooks.exceptions import WebhookError
from webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from webhooks.services.emission import _delivery_task, enqueue_deliveries

LEASE = timedelta(seconds=60)  # well beyond transport.TOTAL_TIMEOUT
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
SWEEP_BATCH = 500


def _claim(delivery_id: int, now: datetime) -> str | None:
    """Take the delivery for one attempt if it is pending and due (or its lease ended)."""
    token = secrets.token_hex(16)
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(
        attempts=F("attempts") + 1,
        next_attempt_at=now + LEASE,
        lease_token=token,
    )
    return token if claimed else None


def _outcome(attempt: int, answer: transport.Answer, now: datetime) -> dict:
    """What the delivery becomes after this attempt's answer."""
    common = {
        "lease_token": "",
        "last_status_code": answer.status_code,
        "last_error": answer.error,
    }
    if answer.ok:
        return {
            **common,
            "status": DeliveryStatus.SUCCEEDED,
            "next_attempt_at": None,
            "delivered_at": now,
        }
    if attempt >= MAX_ATTEMPTS:
        return {**common, "status": DeliveryStatus.FAILED, "next_attempt_at": None}
    return {**common, "next_attempt_at": now + RETRY_DELAYS[attempt - 1]}


def deliver(*, delivery_id: int, now: datetime) -> Delivery | None:
    """One attempt of a delivery that is due: POST the event, signed, to its endpoint, and
    record the answer. None when it is not due or another worker holds it. Never call it
    inside a transaction (it waits for the receiver, up to transport.TOTAL_TIMEOUT)."""
    token = _claim(delivery_id, now)
    if token is None:
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    mine = Delivery.objects.filter(pk=delivery_id, lease_token=token)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.is_active:
        mine.update(
            status=DeliveryStatus.CANCELLED,
            next_attempt_at=None,
            lease_token="",
            last_error=_("Not sent: the endpoint is turned off."),
        )
        return Delivery.objects.get(pk=delivery_id)
    body = signing.body_of(event.payload)
    headers = signing.headers(
        endpoint.secret, webhook_id=event.webhook_id, timestamp=int(now.timestamp()), body=body
    )
    answer = transport.post(endpoint.url, body, headers)
    with transaction.atomic():
        Attempt.objects.create(
            delivery_id=delivery_id,
            number=delivery.attempts,
            at=now,
            status_code=answer.status_code,
            response_excerpt=answer.excerpt,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
        # Only while the lease is still ours: a worker paused past its lease, whose delivery
        # the sweep took over, records its attempt but leaves the delivery to the other one.
        mine.update(**_outcome(delivery.attempts, answer, now))
    return Delivery.objects.get(pk=delivery_id)


def due_deliveries(*, now: datetime, batch: int = SWEEP_BATCH) -> list[int]:
    """Pending deliveries whose time has come, or whose worker's lease ended (by the partial
    index of pending deliveries), oldest first."""
    due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
    return list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:batch])


def send_due(*, now: datetime, batch: int = SWEEP_BATCH) -> int:
    """The every-minute sweep: a job for every delivery due (retries, enqueues lost with
    the broker, leases of dead workers). Returns how many were handed to the broker."""
    task = _delivery_task()
    return sum(enqueue(task, pk) for pk in due_deliveries(now=now, batch=batch))


@transaction.atomic
def replay_delivery(*, delivery: Delivery, now: datetime) -> Delivery:
    """Send the delivery's event to its endpoint again, as a new delivery with attempts of
    its own and the same `webhook-id` (the receiver may recognise it)."""
    endpoint = Endpoint.objects.get(pk=delivery.endpoint_id)
    if not endpoint.is_active:
        raise WebhookError(_("Turn the endpoint on before replaying an event to it."))
    replay = Delivery.objects.create(
        event_id=delivery.event_id,
        endpoint=endpoint,
        replay_of=delivery,
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    enqueue_deliveries([replay])
    return replay
