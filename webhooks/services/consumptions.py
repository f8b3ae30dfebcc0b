"""`consumption.created` events, written by a job rather than by the consume path.

A consumption is one statement on PostgreSQL (credits_debit), measured against pgbench: one
more query per debit to look for endpoints would cost every organisation for the few that
listen. So the job `webhooks.emit_consumptions` (every 10 s) writes them, set-based:

1. one query finds the organisations with an active endpoint subscribed;
2. the fence (`ConsumptionFence`) gives the largest consumption id that is settled: seen at
   least SETTLE ago, so every transaction that drew a smaller id has committed (or rolled
   back) since. Ids are drawn before commit; reading up to the newest id would step over a
   consumption still being committed, and never come back for it;
3. in batches of BATCH consumptions, one transaction each: lock the organisations' cursors,
   read the consumptions after them up to the settled id (one query for every
   organisation), write their events and deliveries, move the cursors. A job killed
   half-way loses nothing; two at once wait for each other's locks and emit each
   consumption once.

A consumption is thus announced by the second run after it (the first sees its id, the next,
SETTLE later at least, emits it): 10 to 20 seconds with the job every 10 s.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Max, Q

from credits.models import Consumption
from webhooks.models import (
    ConsumptionCursor,
    ConsumptionFence,
    Delivery,
    Endpoint,
    Event,
    EventType,
)
from webhooks.services.emission import enqueue_deliveries, new_deliveries, payload

SETTLE = timedelta(seconds=5)
BATCH = 500
FIELDS = (
    "pk",
    "organisation_id",
    "client_id",
    "client__name",
    "client__external_id",
    "action_code",
    "description",
    "credits",
    "from_assigned",
    "from_pool",
    "hold_id",
    "created_at",
)


@dataclass(frozen=True)
class EmissionRun:
    organisations: int
    events: int
    batches: int


def _listeners() -> dict[int, list[int]]:
    """Organisation id → its active endpoints subscribed to consumptions (one query)."""
    listeners: dict[int, list[int]] = {}
    rows = Endpoint.objects.filter(is_active=True).values_list(
        "pk", "organisation_id", "all_events", "events"
    )
    for pk, organisation_id, every, events in rows.order_by("pk"):
        if every or EventType.CONSUMPTION_CREATED in events:
            listeners.setdefault(organisation_id, []).append(pk)
    return listeners


def settled_id(*, now: datetime) -> int:
    """The largest consumption id every transaction has had SETTLE to commit around (see
    the module's docstring); moves the fence on when its last mark is old enough."""
    with transaction.atomic():
        fence, created = ConsumptionFence.objects.select_for_update().get_or_create(pk=1)
        if created or fence.next_at is None or fence.next_at <= now - SETTLE:
            if not created and fence.next_at is not None:
                fence.safe_id = max(fence.safe_id, fence.next_id)
            fence.next_id = Consumption.objects.aggregate(newest=Max("pk"))["newest"] or 0
            fence.next_at = now
            fence.save()
        return fence.safe_id


def consumption_data(row: dict) -> dict:
    return {
        "consumption": {
            "id": row["pk"],
            "client": {
                "id": row["client_id"],
                "name": row["client__name"],
                "external_id": row["client__external_id"] or None,
            },
            "action": row["action_code"],
            "description": row["description"],
            "credits": row["credits"],
            "from_assigned": row["from_assigned"],
            "from_pool": row["from_pool"],
            "hold": row["hold_id"],
            "created_at": row["created_at"],
        }
    }


def _emit_batch(listeners: dict[int, list[int]], upto: int, now: datetime, batch: int) -> int:
    """One transaction: the next consumptions after each organisation's cursor (up to
    `upto`), their events and deliveries, and the cursors moved past them."""
    with transaction.atomic():
        cursors = dict(
            ConsumptionCursor.objects.select_for_update()
            .filter(organisation_id__in=listeners, last_id__lt=upto)
            .order_by("pk")
            .values_list("pk", "last_id")
        )
        if not cursors:
            return 0
        after = reduce(or_, (Q(organisation_id=org, pk__gt=last) for org, last in cursors.items()))
        rows = list(
            Consumption.objects.filter(after, pk__lte=upto).order_by("pk").values(*FIELDS)[:batch]
        )
        # A full batch may have left consumptions after its last one; otherwise everything up
        # to `upto` was read, for every organisation locked here.
        reached = rows[-1]["pk"] if len(rows) == batch else upto
        events = Event.objects.bulk_create(
            Event(
                organisation_id=row["organisation_id"],
                type=EventType.CONSUMPTION_CREATED,
                payload=payload(
                    EventType.CONSUMPTION_CREATED, consumption_data(row), row["created_at"]
                ),
                created_at=now,
            )
            for row in rows
        )
        deliveries = Delivery.objects.bulk_create(
            delivery
            for event in events
            for delivery in new_deliveries(event, listeners[event.organisation_id], now)
        )
        ConsumptionCursor.objects.filter(pk__in=cursors, last_id__lt=reached).update(
            last_id=reached, updated_at=now
        )
        enqueue_deliveries(deliveries)
    return len(rows)


def emit_consumptions(*, now: datetime, batch: int = BATCH) -> EmissionRun:
    """Events for the consumptions of every organisation that listens, since its cursor.
    Its number of queries depends on the number of batches, not of consumptions."""
    listeners = _listeners()
    if not listeners:
        return EmissionRun(0, 0, 0)
    upto = settled_id(now=now)
    # An organisation listening without a cursor (it cannot happen through the services,
    # which set one when it starts listening) starts from the settled id.
    ConsumptionCursor.objects.bulk_create(
        [ConsumptionCursor(organisation_id=org, last_id=upto, updated_at=now) for org in listeners],
        ignore_conflicts=True,
    )
    events = batches = 0
    while True:
        emitted = _emit_batch(listeners, upto, now, batch)
        events += emitted
        batches += 1
        if emitted < batch:
            return EmissionRun(len(listeners), events, batches)
