"""What a credit buys: each organisation's rate card of billable actions, SMS rates by
country, and the quotes shown before a paid action is confirmed (C5)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Organisation
from credits.bounds import MAX_CREDITS
from credits.models.spending import Consumption


class RuleKind(models.TextChoices):
    FREE = "free", _("Free")
    FLAT = "flat", _("Flat")
    PER_UNIT = "per_unit", _("Per unit")
    TABLE = "table", _("Table by parameters")
    SMS = "sms", _("SMS by country and length")


class BillableAction(models.Model):
    """One line of an organisation's rate card and the rule that prices it."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="billable_actions"
    )
    code = models.SlugField(_("code"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(_("category"), max_length=100, blank=True)
    rule = models.CharField(_("cost rule"), max_length=10, choices=RuleKind.choices)
    credits = models.BigIntegerField(
        _("credits"),
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(MAX_CREDITS)],
        help_text=_("Flat: the cost. Per unit: the cost of one unit."),
    )
    unit_param = models.SlugField(
        _("unit parameter"),
        max_length=64,
        blank=True,
        help_text=_("Per unit, or a table priced per unit: the parameter counting the units."),
    )
    table_params = models.JSONField(
        _("table parameters"),
        default=list,
        blank=True,
        help_text=_('Table: the parameters the price depends on, e.g. ["service", "complexity"].'),
    )
    extra_params = models.JSONField(
        _("other parameters"),
        default=list,
        blank=True,
        help_text=_(
            'Free-text parameters asked with each use and kept with it, not priced, e.g. ["game"].'
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organisation__name", "category", "name"]
        verbose_name = _("billable action")
        verbose_name_plural = _("billable actions")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "code"],
                name="action_code_unique_in_organisation",
                violation_error_message=_(
                    "This organisation already has an action with this code."
                ),
            ),
            models.CheckConstraint(
                condition=Q(credits__gte=0),
                name="action_credits_not_negative",
                violation_error_message=_("An action cannot cost a negative number of credits."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.rule == RuleKind.PER_UNIT and not self.unit_param:
            raise ValidationError(
                {"unit_param": _("A per-unit rule needs the parameter that counts the units.")}
            )
        if self.rule == RuleKind.TABLE and not self.table_params:
            raise ValidationError(
                {"table_params": _("A table rule needs the parameters its prices depend on.")}
            )
        for field in ("table_params", "extra_params"):
            names = getattr(self, field)
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise ValidationError({field: _("A list of parameter names.")})


class ActionPrice(models.Model):
    """One row of a table rule: the parameter values it matches and its price (D2)."""

    action = models.ForeignKey(BillableAction, on_delete=models.CASCADE, related_name="prices")
    match = models.JSONField(_("parameter values"), help_text=_('e.g. {"service": "legal"}'))
    match_key = models.CharField(max_length=300, editable=False)
    credits = models.BigIntegerField(
        _("credits"), validators=[MinValueValidator(0), MaxValueValidator(MAX_CREDITS)]
    )

    class Meta:
        ordering = ["action", "match_key"]
        verbose_name = _("price by parameters")
        verbose_name_plural = _("prices by parameters")
        constraints = [
            models.UniqueConstraint(
                fields=["action", "match_key"],
                name="action_price_unique",
                violation_error_message=_("This action already has a price for these values."),
            ),
            models.CheckConstraint(
                condition=Q(credits__gte=0),
                name="action_price_not_negative",
                violation_error_message=_("A price cannot be a negative number of credits."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.match_key}: {self.credits}"

    def clean(self) -> None:
        try:
            names = self.action.table_params  # also an unsaved action, in an admin inline
        except BillableAction.DoesNotExist:
            names = []
        if not isinstance(self.match, dict) or set(self.match) != set(names):
            raise ValidationError(
                {"match": _("Name exactly the table's parameters: %s.") % ", ".join(names)}
            )


class SmsRate(models.Model):
    """Credits per SMS part to one destination country (S1)."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="sms_rates"
    )
    country = models.CharField(
        _("country"),
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Two capital letters (ISO 3166)."))],
    )
    name = models.CharField(_("name"), max_length=100)
    calling_code = models.CharField(
        _("calling code"),
        max_length=4,
        validators=[RegexValidator(r"^[1-9][0-9]{0,3}$", _("Digits, without + or 00."))],
    )
    credits_per_segment = models.BigIntegerField(
        _("credits per part"), validators=[MinValueValidator(1), MaxValueValidator(MAX_CREDITS)]
    )

    class Meta:
        ordering = ["organisation__name", "country"]
        verbose_name = _("SMS rate")
        verbose_name_plural = _("SMS rates")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "country"],
                name="sms_rate_one_per_country",
                violation_error_message=_(
                    "This organisation already has an SMS rate for this country."
                ),
            ),
            models.CheckConstraint(
                condition=Q(credits_per_segment__gt=0),
                name="sms_rate_positive",
                violation_error_message=_("An SMS part costs at least 1 credit."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country}: {self.credits_per_segment}"


class Quote(models.Model):
    """The recap shown before a paid action (C5): its price holds until `expires_at`."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="quotes")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="quotes")
    action = models.ForeignKey(BillableAction, on_delete=models.PROTECT, related_name="quotes")
    params = models.JSONField(_("parameters"), default=dict)
    details = models.JSONField(_("pricing details"), default=dict)
    credits = models.BigIntegerField(_("cost"))
    balance_before = models.BigIntegerField(_("balance before"))
    balance_after = models.BigIntegerField(_("balance after"))
    allowed = models.BooleanField(_("allowed"))
    reason = models.CharField(_("reason"), max_length=30, blank=True)
    message = models.CharField(_("message"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("person"),
    )
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("valid until"))
    consumption = models.OneToOneField(
        Consumption,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quote",
        verbose_name=_("consumption"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gte=0),
                name="quote_credits_not_negative",
                violation_error_message=_("A quote cannot cost a negative number of credits."),
            ),
        ]

    def __str__(self) -> str:
        return f"Quote #{self.pk}: {self.credits}"
