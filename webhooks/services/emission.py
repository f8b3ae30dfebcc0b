"""Recording events in the transaction of the operation that causes them (the outbox).

`emit` is called inside that transaction: when the operation rolls back, its event goes with
it; when it commits, the deliveries are there for the sweep even if the enqueue after commit
is lost. It never sends anything itself, and never raises into the operation: a failure to
record is logged and the operation goes on (a purchase must not fail for a webhook).
"""

import json
import logging
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from config.jobs import enqueue_on_commit
from webhooks.models import Delivery, DeliveryStatus, Endpoint, Event

logger = logging.getLogger("portal.webhooks")


def _delivery_task():
    from webhooks import tasks

    return tasks.deliver


def payload(type: str, data: dict, timestamp: datetime) -> dict:
    """`{"type", "timestamp", "data"}` as receivers read it: decimals as exact strings, times
    in ISO 8601 with their offset (`Z` for the timestamp, in UTC), through Django's JSON
    encoder."""
    document = {"type": type, "timestamp": timestamp.astimezone(UTC), "data": data}
    return json.loads(json.dumps(document, cls=DjangoJSONEncoder))


def new_deliveries(event: Event, endpoint_ids: list[int], now: datetime) -> list[Delivery]:
    return [
        Delivery(
            event=event,
            endpoint_id=endpoint_id,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id in endpoint_ids
    ]


def enqueue_deliveries(deliveries: list[Delivery]) -> None:
    """One job per delivery once the transaction commits (a lost enqueue is the sweep's)."""
    for delivery in deliveries:
        enqueue_on_commit(_delivery_task, delivery.pk)


def listening(organisation_ids: list[int], type: str) -> set[int]:
    """Which of the organisations have an active endpoint that receives `type`: one query for
    a whole batch of a job, so that organisations nobody listens to cost nothing more."""
    endpoints = Endpoint.objects.filter(organisation_id__in=organisation_ids, is_active=True)
    rows = endpoints.values_list("organisation_id", "all_events", "events")
    return {organisation_id for organisation_id, every, events in rows if every or type in events}


def subscribed_endpoints(organisation_id: int, type: str) -> list[int]:
    """The active endpoints of the organisation that receive `type`: one query, by the
    organisation's foreign-key index."""
    endpoints = Endpoint.objects.filter(organisation_id=organisation_id, is_active=True)
    rows = endpoints.values_list("pk", "all_events", "events")
    return [pk for pk, every, events in rows if every or type in events]


def emit(*, organisation_id: int, type: str, data: dict, now: datetime) -> Event | None:
    """Record an event of `type` and its deliveries, if an endpoint of the organisation is
    subscribed to it (one query when none is); each delivery is enqueued after commit."""
    endpoint_ids = subscribed_endpoints(organisation_id, type)
    if not endpoint_ids:
        return None
    try:
        with transaction.atomic():  # a savepoint: a failure here leaves the operation whole
            event = Event.objects.create(
                organisation_id=organisation_id,
                type=type,
                payload=payload(type, data, now),
                created_at=now,
            )
            deliveries = Delivery.objects.bulk_create(new_deliveries(event, endpoint_ids, now))
    except Exception:  # the operation that caused the event must not fail because of it
        logger.exception("webhook event %s of organisation %s not recorded", type, organisation_id)
        return None
    enqueue_deliveries(deliveries)
    return event
