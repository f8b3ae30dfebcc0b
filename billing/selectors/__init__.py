"""Reads of billing shared by pages, admin and the API (always for one organisation)."""

from django.db.models import QuerySet

from billing.models import Invoice, Payment
from clients.models import Organisation


def invoices_of(organisation: Organisation) -> QuerySet[Invoice]:
    return Invoice.objects.filter(organisation=organisation).prefetch_related("lines")


def payments_of(organisation: Organisation) -> QuerySet[Payment]:
    """Every payment with its invoice to download (M5)."""
    return (
        Payment.objects.filter(invoice__organisation=organisation)
        .select_related("invoice")
        .order_by("-paid_at", "-pk")
    )
