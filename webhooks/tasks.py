"""Thin Celery tasks of the webhooks (K2, B3): load by id or take the time, call one service.

Every task is safe to run twice or at once, and to be killed half-way: a delivery is claimed
with a lease before it is sent, and consumptions are emitted in batches that move their
cursors in the same transaction.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from webhooks import services
from webhooks.models import DeliveryStatus

logger = logging.getLogger("portal.jobs")

# Retries sooner than this are scheduled by the delivery job itself; later ones are left to
# the every-minute sweep (a broker holding a message for hours redelivers it, and a sweep
# already reads what is due).
SCHEDULE_WITHIN = timedelta(minutes=5)


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str | None:
    """One attempt of a delivery that is due; a retry due soon is scheduled, later ones are
    the sweep's. Returns the delivery's status, or None when it was not due or held."""
    now = timezone.now()
    delivery = services.deliver(delivery_id=delivery_id, now=now)
    if delivery is None:
        return None
    retry_at = delivery.next_attempt_at
    if (
        delivery.status == DeliveryStatus.PENDING
        and retry_at is not None
        and retry_at - now <= SCHEDULE_WITHIN
        and not deliver.app.conf.task_always_eager  # inline runs cannot wait: the sweep's
    ):
        try:
            deliver.apply_async((delivery_id,), eta=retry_at + timedelta(milliseconds=100))
        except Exception:  # the broker is away: the sweep sends it when due
            logger.exception("could not schedule the retry of webhook delivery %s", delivery_id)
    return delivery.status


@shared_task(name="webhooks.send_due", ignore_result=True)
def send_due() -> int:
    """Every minute: a job for each delivery due (retries, lost enqueues, dead workers)."""
    return services.send_due(now=timezone.now())


@shared_task(name="webhooks.emit_consumptions", ignore_result=True)
def emit_consumptions() -> dict[str, int]:
    """Every 10 s: `consumption.created` events since each listening organisation's cursor."""
    run = services.emit_consumptions(now=timezone.now())
    return {"organisations": run.organisations, "events": run.events, "batches": run.batches}


@shared_task(name="webhooks.forget_old_events", ignore_result=True)
def forget_old_events() -> int:
    """Daily: events, deliveries and attempts past WEBHOOKS_RETENTION_DAYS are deleted."""
    return services.forget_old_events(now=timezone.now())
