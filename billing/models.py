"""How credits are paid for: price lists and tiers, packages, plans and subscriptions,
purchases, invoices with gapless numbers, and the payments recorded against them.

Money is exact: `Decimal` amounts in the organisation's currency, quantized to the cent once,
with ROUND_HALF_UP, where they are computed (billing.money). Never a float.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clients.models import CURRENCIES, Organisation
from credits.bounds import MAX_CREDITS, MAX_MONTHS


def money_field(label: str, **options) -> models.DecimalField:
    return models.DecimalField(label, max_digits=14, decimal_places=2, **options)


class PriceList(models.Model):
    """Prices per credit that fall with the quantity (G2). One default list per currency;
    partners (distributors) may have their own."""

    name = models.CharField(_("name"), max_length=200)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default="EUR")
    is_default = models.BooleanField(_("default list for its currency"), default=False)

    class Meta:
        ordering = ["currency", "name"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [
            models.UniqueConstraint(
                fields=["currency"],
                condition=Q(is_default=True),
                name="price_list_one_default_per_currency",
                violation_error_message=_("This currency already has a default price list."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"


class PriceTier(models.Model):
    """From `min_credits` credits bought at once, each credit costs `unit_price`."""

    price_list = models.ForeignKey(
        PriceList, on_delete=models.CASCADE, related_name="tiers", verbose_name=_("price list")
    )
    min_credits = models.PositiveBigIntegerField(
        _("from (credits)"), validators=[MaxValueValidator(MAX_CREDITS)]
    )
    unit_price = models.DecimalField(_("price per credit"), max_digits=12, decimal_places=4)

    class Meta:
        ordering = ["price_list", "min_credits"]
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "min_credits"],
                name="tier_unique_start",
                violation_error_message=_("This price list already has a tier from this quantity."),
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gt=0),
                name="tier_price_positive",
                violation_error_message=_("The price per credit must be above zero."),
            ),
            models.CheckConstraint(
                condition=Q(min_credits__gte=1),
                name="tier_starts_at_one",
                violation_error_message=_("A tier starts at 1 credit or more."),
            ),
        ]

    def __str__(self) -> str:
        return f"≥ {self.min_credits}: {self.unit_price}"


class Package(models.Model):
    """A fixed pack of credits at a fixed price, with its validity (S3, S4)."""

    price_list = models.ForeignKey(
        PriceList, on_delete=models.CASCADE, related_name="packages", verbose_name=_("price list")
    )
    name = models.CharField(_("name"), max_length=200)
    credits = models.PositiveBigIntegerField(
        _("credits"), validators=[MaxValueValidator(MAX_CREDITS)]
    )
    price = money_field(_("price"))
    validity_months = models.PositiveSmallIntegerField(
        _("validity (months)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_MONTHS)],
        help_text=_("Empty: the policy decides."),
    )
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["price_list", "credits"]
        verbose_name = _("package")
        verbose_name_plural = _("packages")
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gte=1),
                name="package_has_credits",
                violation_error_message=_("A package holds 1 credit or more."),
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0),
                name="package_price_positive",
                violation_error_message=_("A package's price must be above zero."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.credits} credits"


class BillingProfile(models.Model):
    """The buyer's side of an invoice, and how the organisation may pay."""

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="billing",
        verbose_name=_("organisation"),
    )
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    address = models.TextField(_("address"), blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=40, blank=True)
    email = models.EmailField(_("invoice e-mail"), blank=True)
    tax_rate = models.DecimalField(_("tax rate (%)"), max_digits=5, decimal_places=2, default=20)
    price_list = models.ForeignKey(
        PriceList,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("price list"),
        help_text=_("A partner's own list; empty: the default list of the currency."),
    )
    enterprise_terms = models.BooleanField(
        _("may buy on enterprise terms (invoice due in 30 days)"), default=False
    )
    card_token = models.CharField(max_length=100, blank=True, editable=False)
    card_brand = models.CharField(_("card brand"), max_length=20, blank=True)
    card_last4 = models.CharField(_("card last four digits"), max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(_("card expiry month"), null=True)
    card_exp_year = models.PositiveSmallIntegerField(_("card expiry year"), null=True)

    class Meta:
        verbose_name = _("billing profile")
        verbose_name_plural = _("billing profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100),
                name="tax_rate_percentage",
                violation_error_message=_("The tax rate is a percentage, from 0 to 100."),
            )
        ]

    def __str__(self) -> str:
        return self.legal_name or str(self.organisation)

    @property
    def has_card(self) -> bool:
        return bool(self.card_token)


class Plan(models.Model):
    """A monthly plan with included credits (M2, M3)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCIES, default="EUR")
    monthly_price = money_field(_("monthly price"))
    included_credits = models.PositiveBigIntegerField(
        _("credits included each month"), validators=[MaxValueValidator(MAX_CREDITS)]
    )
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["currency", "monthly_price"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_price__gte=0),
                name="plan_price_not_negative",
                violation_error_message=_("The monthly price cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.monthly_price} {self.currency})"


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    SUSPENDED = "suspended", _("Suspended")
    CANCELLED = "cancelled", _("Cancelled")


class Subscription(models.Model):
    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="subscription",
        verbose_name=_("organisation"),
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan")
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
    )
    period_start = models.DateTimeField(_("current period start"))
    renews_on = models.DateTimeField(_("renews on"))
    cancel_at_period_end = models.BooleanField(_("cancels at the period's end"), default=False)
    next_plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("next plan"),
        help_text=_("A downgrade waiting for the next renewal."),
    )
    failed_attempts = models.PositiveSmallIntegerField(_("failed renewal charges"), default=0)
    next_retry_at = models.DateTimeField(_("next retry"), null=True, blank=True)
    allowance_lot_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"{self.organisation}: {self.plan} ({self.get_status_display()})"


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


class AutoTopUp(models.Model):
    """An owner's standing order (B2): when available credits fall under `threshold`, buy
    `credits` with the card on file, at most `monthly_cap` (total charged) per calendar
    month in the organisation's time zone. `armed` makes it once per crossing: the purchase
    disarms it, the balance rising back to the threshold re-arms it."""

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="auto_top_up",
        verbose_name=_("organisation"),
    )
    enabled = models.BooleanField(_("enabled"), default=False)
    threshold = models.PositiveBigIntegerField(_("when available credits fall under"))
    credits = models.PositiveBigIntegerField(_("buy (credits)"))
    monthly_cap = money_field(_("at most per month (total charged)"))
    armed = models.BooleanField(default=True, editable=False)
    consecutive_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("automatic top-up")
        verbose_name_plural = _("automatic top-ups")
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gte=1),
                name="top_up_buys_credits",
                violation_error_message=_("A top-up buys 1 credit or more."),
            ),
            models.CheckConstraint(
                condition=Q(monthly_cap__gt=0),
                name="top_up_cap_positive",
                violation_error_message=_("The monthly cap must be above zero."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation}: {self.credits} under {self.threshold}"
