"""A purchase from "pay" to credits usable: recorded and committed before the card is
charged, with a key derived from the row (X3, X4)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from billing.models.invoices import Invoice, PaymentMethod
from billing.models.offers import Package, Plan, money_field
from clients.models import Organisation


class PurchaseStatus(models.TextChoices):
    """Where a purchase is on its way from "pay" to credits usable.

    charging: recorded and committed, the gateway is (or was) being asked; whoever finds it
    later asks again with the same idempotency key, so the card is charged once.
    charged: the gateway took the money; invoice, payment and credits are still to be written
    (one transaction); the settle job finishes it, or refunds it when it cannot be finished.
    """

    CHARGING = "charging", _("Payment in progress")
    CHARGED = "charged", _("Paid, being completed")
    REFUNDING = "refunding", _("Being refunded")
    PAID = "paid", pgettext_lazy("purchase status", "Paid")
    INVOICED = "invoiced", _("Invoiced (enterprise terms)")
    DECLINED = "declined", _("Declined")
    FAILED = "failed", _("Payment error")
    REFUNDED = "refunded", _("Refunded")


class PurchaseKind(models.TextChoices):
    CREDITS = "credits", _("Credits")
    PLAN_START = "plan_start", _("Plan: first month")
    PLAN_UPGRADE = "plan_upgrade", _("Plan: upgrade")
    PLAN_RENEWAL = "plan_renewal", _("Plan: renewal")


class PurchaseOrigin(models.TextChoices):
    PERSON = "person", _("Bought by a person")
    API = "api", _("Bought through the API")
    AUTO_TOP_UP = "auto_top_up", _("Automatic top-up")
    RENEWAL = "renewal", _("Plan renewal")


class Purchase(models.Model):
    """One payment for credits or a plan period: what, at what price, how it was paid, where
    it stands, and what it granted. Every charge of a card starts as one of these rows, so
    that no money is taken that the portal does not know about (X3)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="purchases",
        verbose_name=_("organisation"),
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=PurchaseKind.choices, default=PurchaseKind.CREDITS
    )
    origin = models.CharField(
        _("origin"), max_length=20, choices=PurchaseOrigin.choices, default=PurchaseOrigin.PERSON
    )
    package = models.ForeignKey(
        Package, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("package")
    )
    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchases",
        verbose_name=_("plan"),
    )
    period_start = models.DateTimeField(_("period start"), null=True, blank=True)
    period_end = models.DateTimeField(_("period end"), null=True, blank=True)
    credits = models.PositiveBigIntegerField(_("credits"))
    unit_price = models.DecimalField(_("price per credit"), max_digits=12, decimal_places=4)
    amount = money_field(_("amount before tax"))
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=0)
    tax = money_field(_("tax"), default=0)
    total = money_field(_("total charged"), default=0)
    currency = models.CharField(_("currency"), max_length=3)
    method = models.CharField(_("payment"), max_length=20, choices=PaymentMethod.choices)
    status = models.CharField(_("status"), max_length=10, choices=PurchaseStatus.choices)
    decline_reason = models.CharField(_("decline reason"), max_length=200, blank=True)
    gateway_reference = models.CharField(_("gateway reference"), max_length=100, blank=True)
    # A card typed at checkout: charged for this purchase, and put on file only once the
    # charge succeeded, so a declined card never replaces a working one.
    card_token = models.CharField(max_length=100, blank=True, editable=False)
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card last four digits"), max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(_("card expiry month"), null=True)
    card_exp_year = models.PositiveSmallIntegerField(_("card expiry year"), null=True)
    charge_attempts = models.PositiveSmallIntegerField(_("charge attempts"), default=0)
    completion_attempts = models.PositiveSmallIntegerField(_("completion attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    refund_reference = models.CharField(_("refund reference"), max_length=100, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    lot = models.OneToOneField(
        "credits.Lot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchase",
        verbose_name=_("lot"),
    )
    invoice = models.OneToOneField(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchase",
        verbose_name=_("invoice"),
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("bought by"),
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="purchase_idempotency_key_unique",
                violation_error_message=_(
                    "This idempotency key was already used for another purchase."
                ),
            ),
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(amount__gte=0) & Q(tax__gte=0),
                name="purchase_money_not_negative",
                violation_error_message=_("Amounts, tax and total cannot be negative."),
            ),
            # One plan period is paid for once: two renewal jobs, or a job and a retry, that
            # race for the same period meet here.
            models.UniqueConstraint(
                fields=["organisation", "period_start"],
                condition=Q(status__in=["charging", "charged", "paid"]) & Q(kind="plan_renewal"),
                name="purchase_plan_period_paid_once",
                violation_error_message=_("This plan period is already paid for."),
            ),
        ]
        indexes = [
            # The settle job reads only unfinished purchases, whatever the history's size.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["charging", "charged", "refunding"]),
                name="purchase_unfinished",
            )
        ]

    def __str__(self) -> str:
        return f"{self.credits} credits, {self.amount} {self.currency}"

    @property
    def is_finished(self) -> bool:
        return self.status not in (
            PurchaseStatus.CHARGING,
            PurchaseStatus.CHARGED,
            PurchaseStatus.REFUNDING,
        )

    @property
    def charge_key(self) -> str:
        """The gateway's idempotency key: derived from this row, so every attempt to charge
        for it, by whoever and however late, is one charge at the gateway."""
        return f"purchase-{self.pk}-{int(self.created_at.timestamp())}"
