"""Invoices and credit notes: gapless numbers, lines and totals, payments against them,
overdue and void (M5, S7). Their PDF and e-mail are `billing.services.delivery`'s."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from billing.exceptions import BillingError, InvoiceLocked, OutOfBounds
from billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    Purchase,
)
from billing.money import cents
from billing.pricing import MAX_UNIT_PRICE, exact_amount, taxed
from billing.services.common import User, local_date
from billing.services.profiles import profile_of
from clients.models import Organisation
from config.jobs import enqueue_on_commit
from credits import services as credit_services
from credits.bounds import ENTRY_REFERENCE_LENGTH, MAX_CREDITS
from webhooks import events as webhook_events

MAX_DUE_DAYS = 365  # payment terms (enterprise terms are 30 days)
DESCRIPTION_LENGTH = 300  # InvoiceLine.description
# A voided purchase's reason is the reference of the ledger entry that takes its credits back,
# after "<number> voided: ".
MAX_VOID_REASON = ENTRY_REFERENCE_LENGTH - 60


@dataclass(frozen=True)
class Line:
    description: str
    quantity: int
    unit_price: Decimal
    amount: Decimal


def _check_invoice(lines: list[Line], due_days: object) -> None:
    """Every number and text of the invoice within its column, before the gapless counter
    moves (a refusal after it would leave a gap, or a 500)."""
    if not isinstance(due_days, int) or isinstance(due_days, bool):
        raise OutOfBounds(_("Payment terms are a whole number of days."))
    if not 0 <= due_days <= MAX_DUE_DAYS:
        raise OutOfBounds(_("Payment terms are 0 to %(max)d days.") % {"max": MAX_DUE_DAYS})
    for line in lines:
        quantity = line.quantity
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise OutOfBounds(_("A line's quantity is a whole number."))
        if abs(quantity) > MAX_CREDITS:
            raise OutOfBounds(
                _("A line's quantity is at most %(max)s.")
                % {"max": number_format(MAX_CREDITS, force_grouping=True)}
            )
        exact_amount(line.unit_price, most=MAX_UNIT_PRICE)
        exact_amount(line.amount)
        if not isinstance(line.description, str) or len(line.description) > DESCRIPTION_LENGTH:
            raise OutOfBounds(
                _("A line's description holds at most %(max)d characters.")
                % {"max": DESCRIPTION_LENGTH}
            )


def _next_number(series: str, year: int) -> int:
    """Lock the series' counter row and take the next number: gapless and unique, because the
    number is taken in the same transaction that writes the invoice."""
    InvoiceCounter.objects.get_or_create(series=series, year=year)
    counter = InvoiceCounter.objects.select_for_update().get(series=series, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def _buyer(organisation: Organisation) -> dict[str, str]:
    profile = profile_of(organisation)
    return {
        "name": profile.legal_name or organisation.name,
        "address": profile.address,
        "vat_number": profile.vat_number,
        "email": profile.email,
    }


def _delivery_task():
    from billing import tasks

    return tasks.deliver_invoice


def issue_invoice(
    *,
    organisation: Organisation,
    lines: list[Line],
    now: datetime,
    due_days: int = 0,
    status: str = InvoiceStatus.OPEN,
    kind: str = InvoiceKind.INVOICE,
    credit_note_for: Invoice | None = None,
    tax_rate: Decimal | None = None,
) -> Invoice:
    """Write an invoice (or credit note) with its number, lines and totals, in the buyer's
    language; its PDF is rendered and e-mailed by a job enqueued once the transaction
    commits (and found by the sweep if that enqueue is lost). Lines and terms past what the
    invoice's columns hold are refused (OutOfBounds) before a number is taken."""
    _check_invoice(lines, due_days)
    series = (
        settings.CREDIT_NOTE_SERIES if kind == InvoiceKind.CREDIT_NOTE else settings.INVOICE_SERIES
    )
    issued_on = local_date(now, organisation)
    sequence = _next_number(series, issued_on.year)
    subtotal = sum((line.amount for line in lines), Decimal("0.00"))
    if tax_rate is None:  # a purchase passes the rate it charged, whatever the profile says now
        rate, tax, total = taxed(organisation, subtotal)
    else:
        rate, tax = tax_rate, cents(subtotal * tax_rate / 100)
        total = subtotal + tax
    invoice = Invoice.objects.create(
        organisation=organisation,
        kind=kind,
        series=series,
        year=issued_on.year,
        sequence=sequence,
        number=f"{series}-{issued_on.year}-{sequence:06d}",
        status=status,
        currency=organisation.currency,
        subtotal=subtotal,
        tax_rate=rate,
        tax=tax,
        total=total,
        issued_on=issued_on,
        due_on=issued_on + timedelta(days=due_days),
        issued_at=now,
        seller=dict(settings.BILLING_SELLER),
        buyer=_buyer(organisation),
        credit_note_for=credit_note_for,
        language=organisation.language,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        for line in lines
    )
    enqueue_on_commit(_delivery_task, invoice.pk)
    webhook_events.invoice_issued(invoice, now=now)
    return invoice


@transaction.atomic
def record_payment(
    *, invoice: Invoice, now: datetime, method: str, reference: str = "", amount=None
) -> Payment | None:
    """Money received: the invoice is paid once payments cover its total (admin: mark paid).
    An invoice of zero (a free plan's month) is paid with no payment row."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status == InvoiceStatus.VOID or invoice.kind == InvoiceKind.CREDIT_NOTE:
        raise InvoiceLocked(_("A void invoice or a credit note takes no payment."))
    if invoice.status == InvoiceStatus.PAID:
        raise InvoiceLocked(_("This invoice is already paid."))
    if invoice.total == 0 and amount is None:
        _set_status(invoice, InvoiceStatus.PAID)
        webhook_events.invoice_paid(invoice, now=now)
        return None
    paid = sum(invoice.payments.values_list("amount", flat=True), Decimal("0.00"))
    amount = cents(invoice.total - paid if amount is None else exact_amount(amount))
    if amount <= 0 or paid + amount > invoice.total:
        raise BillingError(_("A payment must be positive and not exceed what is due."))
    recorded = Payment.objects.create(
        invoice=invoice, amount=amount, method=method, reference=reference, paid_at=now
    )
    if paid + amount == invoice.total:
        _set_status(invoice, InvoiceStatus.PAID)
        webhook_events.invoice_paid(invoice, now=now)
    return recorded


def _set_status(invoice: Invoice, status: str) -> None:
    """A new status is a new PDF (it prints the status): redrawn by the delivery job."""
    invoice.status = status
    invoice.save(update_fields=["status"])
    enqueue_on_commit(_delivery_task, invoice.pk)


def mark_overdue(*, now: datetime) -> int:
    """Open invoices past their due date become overdue (D1); re-running changes nothing.
    "Past" is in each buyer's time zone, so one UPDATE per time zone in use, whatever the
    number of invoices."""
    open_invoices = Invoice.objects.filter(status=InvoiceStatus.OPEN)
    zones = open_invoices.values_list("organisation__time_zone", flat=True).distinct()
    overdue = 0
    for zone in list(zones):
        today = now.astimezone(ZoneInfo(zone)).date()
        overdue += open_invoices.filter(organisation__time_zone=zone, due_on__lt=today).update(
            status=InvoiceStatus.OVERDUE
        )
    return overdue


@transaction.atomic
def void_invoice(*, invoice: Invoice, reason: str, now: datetime, actor: User = None) -> Invoice:
    """Cancel an invoice with a credit note (nothing is ever deleted). An invoice for credits
    is voided only if none of them were used: credits are not refundable (S7)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.kind == InvoiceKind.CREDIT_NOTE or invoice.status == InvoiceStatus.VOID:
        raise InvoiceLocked(_("This invoice is already void."))
    if not reason.strip():
        raise BillingError(_("Say why the invoice is voided."))
    if len(reason) > MAX_VOID_REASON:
        raise BillingError(_("Say why in at most %(max)d characters.") % {"max": MAX_VOID_REASON})
    purchase = Purchase.objects.filter(invoice=invoice).select_related("lot").first()
    if purchase is not None and purchase.lot is not None:
        credit_services.revoke_lot(
            lot=purchase.lot, reason=f"{invoice.number} voided: {reason}", now=now, actor=actor
        )
    lines = [
        Line(f"{line.description} ({invoice.number})", line.quantity, line.unit_price, -line.amount)
        for line in invoice.lines.all()
    ]
    note = issue_invoice(
        organisation=invoice.organisation,
        lines=lines,
        now=now,
        status=InvoiceStatus.PAID,
        kind=InvoiceKind.CREDIT_NOTE,
        credit_note_for=invoice,
        tax_rate=invoice.tax_rate,
    )
    _set_status(invoice, InvoiceStatus.VOID)
    return note
