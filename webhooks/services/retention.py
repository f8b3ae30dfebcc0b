"""Events, deliveries and attempts are history for the owner's pages; kept
`WEBHOOKS_RETENTION_DAYS`, then deleted by a daily job, oldest first, in batches (set-based:
three DELETEs a batch, whatever the number of attempts)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from webhooks.models import Attempt, Delivery, Event

BATCH = 1_000


def forget_old_events(*, now: datetime, batch: int = BATCH) -> int:
    """Delete events older than the retention with their deliveries and attempts; returns
    how many events went. Every delivery is long finished by then (retries stop after a
    day), and each batch is its own short transaction, so a run can stop anywhere."""
    cutoff = now - timedelta(days=settings.WEBHOOKS_RETENTION_DAYS)
    deleted = 0
    while True:
        # Ids grow with time: the oldest events are the first ones the primary key meets.
        ids = list(
            Event.objects.filter(created_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            Delivery.objects.filter(replay_of__event_id__in=ids).update(replay_of=None)
            Attempt.objects.filter(delivery__event_id__in=ids)._raw_delete(Attempt.objects.db)
            Delivery.objects.filter(event_id__in=ids)._raw_delete(Delivery.objects.db)
            deleted += Event.objects.filter(pk__in=ids)._raw_delete(Event.objects.db)
