"""Invoices with gapless numbers, their lines, and the payments recorded against them (D1,
K3, M5). Money is exact: `Decimal` amounts quantized to the cent once (billing.money)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.offers import money_field
from clients.models import Organisation


class InvoiceStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAID = "paid", _("Paid")
    OVERDUE = "overdue", _("Overdue")
    VOID = "void", _("Void")


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    CREDIT_NOTE = "credit_note", _("Credit note")


class EmailStatus(models.TextChoices):
    """pending: to send; sending: handed to the mail server by a job that has not come back
    (found later, it is sent again: at least once beats never); sent: the server accepted it;
    failed: refused, retried with backoff at `email_next_attempt_at`; none: nobody to send to."""

    PENDING = "pending", _("To send")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    NONE = "none", _("No recipient")


class InvoiceCounter(models.Model):
    """The last number given in a series and year: locked while the next is taken, so numbers
    have no gaps and no duplicates, also under concurrent purchases."""

    series = models.CharField(max_length=10)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year"],
                name="invoice_counter_unique",
                violation_error_message=_("This series already has a counter for this year."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last_number}"


class Invoice(models.Model):
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="invoices",
        verbose_name=_("organisation"),
    )
    kind = models.CharField(
        _("kind"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE
    )
    series = models.CharField(_("series"), max_length=10)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    number = models.CharField(_("number"), max_length=30, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = money_field(_("subtotal"))
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2)
    tax = money_field(_("tax"))
    total = money_field(_("total"))
    issued_on = models.DateField(_("issued on"))
    due_on = models.DateField(_("due on"))
    issued_at = models.DateTimeField(_("issued at"))
    seller = models.JSONField(_("seller"))
    buyer = models.JSONField(_("buyer"))
    credit_note_for = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_note",
        verbose_name=_("credit note for"),
    )
    language = models.CharField(_("language"), max_length=10, default="en")
    pdf = models.FileField(_("PDF"), upload_to="invoices/%Y/", blank=True)
    pdf_status = models.CharField(_("PDF drawn for status"), max_length=10, blank=True)
    email_status = models.CharField(
        _("e-mail"), max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    email_attempts = models.PositiveSmallIntegerField(_("e-mail attempts"), default=0)
    email_next_attempt_at = models.DateTimeField(_("next e-mail attempt"), null=True, blank=True)
    email_error = models.TextField(_("last e-mail error"), blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "sequence"],
                name="invoice_number_gapless_unique",
                violation_error_message=_("This invoice number is already given."),
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="lines", verbose_name=_("invoice")
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.BigIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=4)
    amount = money_field(_("amount"))

    class Meta:
        ordering = ["pk"]
        verbose_name = _("invoice line")
        verbose_name_plural = _("invoice lines")

    def __str__(self) -> str:
        return self.description


class PaymentMethod(models.TextChoices):
    CARD = "card", _("Card")
    ENTERPRISE_TERMS = "enterprise_terms", _("Enterprise terms (invoice, 30 days)")
    TRANSFER = "transfer", _("Bank transfer")


class Payment(models.Model):
    """Money received against an invoice (M5)."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="payments", verbose_name=_("invoice")
    )
    amount = money_field(_("amount"))
    method = models.CharField(_("method"), max_length=20, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    paid_at = models.DateTimeField(_("paid at"))

    class Meta:
        ordering = ["-paid_at", "-pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="payment_positive",
                violation_error_message=_("A payment's amount must be above zero."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} on {self.invoice}"
