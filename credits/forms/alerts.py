"""The owner's alert settings: expiry reminders' lead times and the low-balance threshold
(D3, B1), and the automatic top-up (B2). The forms check what was typed; the services
check the rest (a card on file, the price list's bounds, the cap against one top-up's
price) and the view shows their refusal on the form (X6)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import AutoTopUp
from billing.pricing import MAX_PURCHASE_CREDITS
from billing.services.top_up import MAX_MONTHLY_CAP
from credits.forms.fields import CreditsField
from credits.models import CreditPool
from credits.services.alerts import MAX_LEAD_DAYS


class DaysField(forms.IntegerField):
    default_error_messages = {
        "invalid": _("Enter a whole number of days."),
        "min_value": _("Enter at least %(limit_value)s."),
        "max_value": _("Enter at most %(limit_value)s days."),
    }

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", forms.NumberInput(attrs={"inputmode": "numeric"}))
        super().__init__(min_value=0, max_value=MAX_LEAD_DAYS, step_size=None, **kwargs)


class AlertPolicyForm(forms.Form):
    reminder_days = DaysField(
        label=_("First expiry reminder (days before)"),
        help_text=_("0: no reminders."),
    )
    second_reminder_days = DaysField(
        label=_("Second expiry reminder (days before)"),
        help_text=_("Closer to the expiry than the first; 0: none."),
    )
    low_balance_threshold = CreditsField(
        min_value=0,
        label=_("Low-balance alert under (credits available)"),
        help_text=_("0: no alert."),
    )

    @classmethod
    def for_pool(cls, pool: CreditPool) -> "AlertPolicyForm":
        return cls(
            initial={
                "reminder_days": pool.reminder_days,
                "second_reminder_days": pool.second_reminder_days,
                "low_balance_threshold": pool.low_balance_threshold,
            }
        )

    def clean(self) -> dict:
        data = super().clean()
        first, second = data.get("reminder_days"), data.get("second_reminder_days")
        if first is not None and second and second >= first:
            self.add_error(
                "second_reminder_days",
                _("Give the second reminder fewer days before the expiry than the first."),
            )
        return data


class AutoTopUpForm(forms.Form):
    enabled = forms.BooleanField(label=_("Top up automatically"), required=False)
    threshold = CreditsField(min_value=0, label=_("When available credits fall under"))
    credits = CreditsField(
        max_value=MAX_PURCHASE_CREDITS,
        label=_("Buy (credits)"),
        help_text=_("At the price list's price, with the card on file."),
    )
    monthly_cap = forms.DecimalField(
        label=_("At most per month (total charged)"),
        min_value=Decimal("0.01"),
        max_value=MAX_MONTHLY_CAP,
        max_digits=14,
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={
            "invalid": _("Enter an amount, such as 500 or 500.00."),
            "max_decimal_places": _("Enter an amount with at most two decimals."),
        },
    )

    @classmethod
    def for_settings(cls, settings: AutoTopUp | None) -> "AutoTopUpForm":
        if settings is None:
            return cls(initial={"enabled": False, "threshold": 0, "credits": 100})
        return cls(
            initial={
                "enabled": settings.enabled,
                "threshold": settings.threshold,
                "credits": settings.credits,
                "monthly_cap": settings.monthly_cap,
            }
        )


class TopUpPriceForm(forms.Form):
    """The live price of a quantity typed in the top-up form (htmx)."""

    credits = CreditsField(max_value=MAX_PURCHASE_CREDITS)
