"""Thin Celery tasks (K2): load by id or take the time, call one service."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.utils import timezone

from billing import services
from billing.models import EmailStatus, Invoice

logger = logging.getLogger("portal.jobs")


# The delivery tasks ignore their result: nobody reads it, and a task that keeps one makes
# every enqueue subscribe to the result store first; with Redis stopped, in a process that
# had not reached it yet, that retries for about 19 s (Celery's Redis result backend policy)
# before the enqueue fails, and a web request buying credits would wait that long
# (measured for tests/billing/test_invoice_delivery_redis.py).


@shared_task(name="billing.deliver_invoice", ignore_result=True)
def deliver_invoice(invoice_id: int) -> bool:
    """Draw the PDF for the invoice's status and e-mail it if due; each step is skipped once
    done, so a re-run or a redelivery is harmless. A refused e-mail is tried again at its
    backoff time by a delayed copy of this job (the sweep is the safety net if that is lost)."""
    invoice = Invoice.objects.get(pk=invoice_id)
    sent = services.deliver_invoice(invoice=invoice, now=timezone.now())
    status, retry_at = (
        Invoice.objects.filter(pk=invoice_id)
        .values_list("email_status", "email_next_attempt_at")
        .get()
    )
    if status == EmailStatus.FAILED and retry_at is not None:
        _deliver_later(invoice_id, retry_at)
    return sent


def _deliver_later(invoice_id: int, when: datetime) -> None:
    """Schedule the retry; never raises (the sweep retries a failed e-mail that is due).
    Inline runs (no broker) cannot wait, so they leave it to the sweep."""
    if deliver_invoice.app.conf.task_always_eager:
        return
    try:
        deliver_invoice.apply_async((invoice_id,), eta=when + timedelta(seconds=1))
    except Exception:
        logger.exception("could not schedule the e-mail retry of invoice %s", invoice_id)


@shared_task(name="billing.sweep_invoices", ignore_result=True)
def sweep_invoices() -> int:
    """Catch invoices whose delivery job was lost or is due again: no PDF, a PDF showing an
    old status, an e-mail pending, failed and due, or stuck in "sending"."""
    return services.sweep_invoices(now=timezone.now())


@shared_task(name="billing.settle_purchases")
def settle_purchases() -> dict[str, int]:
    """Finish purchases a crash or a lost answer left half-way (charge, complete, refund)."""
    return services.settle_purchases(now=timezone.now())


@shared_task(name="billing.renew_subscriptions")
def renew_subscriptions() -> dict[str, int]:
    return services.renew_due(now=timezone.now())


@shared_task(name="billing.mark_overdue")
def mark_overdue() -> int:
    return services.mark_overdue(now=timezone.now())


@shared_task(name="billing.run_auto_top_ups")
def run_auto_top_ups() -> dict[str, int]:
    """Automatic top-ups of organisations under their threshold (B2), once per crossing; also
    takes up a claim whose worker died. Safe to run twice or at once."""
    run = services.run_auto_top_ups(now=timezone.now())
    return {"rearmed": run.rearmed, "checked": run.checked, "bought": run.bought}
