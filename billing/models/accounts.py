"""What an organisation keeps with us to be billed: its billing profile, its plan's
subscription, and its standing order for top-ups (B2, M3)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from billing.models.offers import Plan, PriceList, money_field
from clients.models import Organisation


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
