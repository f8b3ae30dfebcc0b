"""Thin Celery tasks (K2): load by id or take the time, call one service."""

from celery import shared_task
from django.utils import timezone

from billing import services
from billing.models import Invoice


@shared_task(name="billing.deliver_invoice")
def deliver_invoice(invoice_id: int) -> bool:
    """Render the PDF and e-mail it; both steps are skipped once done (safe to re-run)."""
    invoice = Invoice.objects.get(pk=invoice_id)
    return services.deliver_invoice(invoice=invoice, now=timezone.now())


@shared_task(name="billing.sweep_invoices")
def sweep_invoices() -> int:
    """Catch invoices whose delivery job was lost: no PDF yet, or not e-mailed."""
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
