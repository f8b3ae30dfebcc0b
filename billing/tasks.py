"""Thin Celery tasks (K2): load by id or take the time, call one service."""

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from billing import services
from billing.models import Invoice


@shared_task(name="billing.deliver_invoice")
def deliver_invoice(invoice_id: int) -> bool:
    """Render the PDF and e-mail it; both steps are skipped once done (safe to re-run)."""
    invoice = Invoice.objects.get(pk=invoice_id)
    services.render_invoice_pdf(invoice=invoice)
    return services.email_invoice(invoice=invoice, now=timezone.now())


@shared_task(name="billing.sweep_invoices")
def sweep_invoices() -> int:
    """Catch invoices whose delivery job was lost: no PDF yet, or not e-mailed."""
    pending = Invoice.objects.filter(Q(pdf="") | Q(emailed_at__isnull=True)).values_list(
        "pk", flat=True
    )
    for invoice_id in pending:
        deliver_invoice.delay(invoice_id)
    return len(pending)


@shared_task(name="billing.renew_subscriptions")
def renew_subscriptions() -> dict[str, int]:
    return services.renew_due(now=timezone.now())


@shared_task(name="billing.mark_overdue")
def mark_overdue() -> int:
    return services.mark_overdue(now=timezone.now())
