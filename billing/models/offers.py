"""What credits cost: price lists with volume tiers, packages and plans (B1, G2, M1)."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clients.models import CURRENCIES
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
