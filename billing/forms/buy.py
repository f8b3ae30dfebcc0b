"""Forms of the Buy credits page: what to buy (a package on sale or a number of credits) and
how to pay for it. They check only what a person typed; pricing and the purchase service
decide the rest (bounds, enterprise terms open or not, a card on file) and the view shows
their refusal on the form (X6).

A card number and its security code are never written back into a page: a form shown again
after an error asks for them again.
"""

import re
import uuid

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from billing.models import Package, PaymentMethod
from billing.selectors.buy import packages_on_sale
from billing.services import CardDetails
from clients.models import Organisation
from credits.forms.fields import CreditsField

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")
FIRST_CARD_YEAR = 2000
LAST_CARD_YEAR = 2099


class PayWith:
    """One choice for the way to pay: the card on file, a new card, or enterprise terms."""

    SAVED_CARD = "saved"
    NEW_CARD = "new"
    ENTERPRISE_TERMS = "enterprise_terms"
    CHOICES = [
        (SAVED_CARD, _("The card on file")),
        (NEW_CARD, _("A new card")),
        (ENTERPRISE_TERMS, _("On enterprise terms")),
    ]


class SecretInput(forms.TextInput):
    """A text field whose value is never rendered back (a card number, a security code)."""

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        return super().get_context(name, None, attrs)


def new_idempotency_key() -> str:
    """Drawn when the checkout form is drawn: a double click or a resent form buys once (X3)."""
    return str(uuid.uuid4())


class BuyChoiceForm(forms.Form):
    """A package on sale to the organisation, or a custom number of credits (one of them)."""

    package = forms.ModelChoiceField(
        queryset=Package.objects.none(),
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": _("This package is not on sale for this organisation.")},
    )
    # Bounds belong to pricing (billing.pricing.MAX_PURCHASE_CREDITS), which says them with a
    # figure; the field refuses only what is not a positive whole number.
    credits = CreditsField(
        label=_("Credits"), required=False, max_value=None, widget=forms.HiddenInput
    )

    def __init__(self, *args: object, organisation: Organisation, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        on_sale = [package.pk for package in packages_on_sale(organisation)]
        self.fields["package"].queryset = Package.objects.filter(pk__in=on_sale)

    @property
    def asked(self) -> bool:
        """Whether the person asked for anything (an empty checkout is not an error)."""
        return bool(self.data.get("package") or self.data.get("credits"))

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if (cleaned.get("package") is None) == (cleaned.get("credits") is None):
            raise forms.ValidationError(
                _("Choose a package or a number of credits."), code="choose_one"
            )
        return cleaned

    def choice(self) -> dict:
        """The keyword arguments naming what is bought, for selectors and the service."""
        package = self.cleaned_data.get("package")
        return {"package": package} if package else {"credits": self.cleaned_data["credits"]}


class PriceForm(forms.Form):
    """The custom quantity of the live price fragment."""

    credits = CreditsField(
        label=_("Credits"),
        max_value=None,
        error_messages={"required": _("Choose a whole number of credits.")},
    )


class CheckoutForm(BuyChoiceForm):
    pay_with = forms.ChoiceField(
        label=_("Pay with"), choices=PayWith.CHOICES, widget=forms.RadioSelect
    )
    card_number = forms.CharField(
        label=_("Card number"),
        required=False,
        max_length=30,
        widget=SecretInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    exp_month = forms.IntegerField(
        label=_("Expiry month"),
        required=False,
        min_value=1,
        max_value=12,
        error_messages={
            "min_value": _("Enter the month as printed on the card, 1 to 12."),
            "max_value": _("Enter the month as printed on the card, 1 to 12."),
        },
        widget=forms.NumberInput(
            attrs={"autocomplete": "cc-exp-month", "inputmode": "numeric", "placeholder": "MM"}
        ),
    )
    exp_year = forms.IntegerField(
        label=_("Expiry year"),
        required=False,
        min_value=0,
        max_value=LAST_CARD_YEAR,
        widget=forms.NumberInput(
            attrs={"autocomplete": "cc-exp-year", "inputmode": "numeric", "placeholder": "YYYY"}
        ),
    )
    cvc = forms.CharField(
        label=_("Security code"),
        required=False,
        max_length=4,
        widget=SecretInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )
    idempotency_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        validators=[
            RegexValidator(IDEMPOTENCY_KEY, _("This form is not valid any more; open it again."))
        ],
    )

    CARD_FIELDS = ("card_number", "exp_month", "exp_year", "cvc")

    def clean_exp_year(self) -> int | None:
        """ "29" is 2029, as printed on cards."""
        year = self.cleaned_data.get("exp_year")
        if year is None:
            return None
        if year < 100:
            year += FIRST_CARD_YEAR
        if year < FIRST_CARD_YEAR:
            raise forms.ValidationError(_("Enter the year as printed on the card."))
        return year

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("pay_with") == PayWith.NEW_CARD:
            for name in self.CARD_FIELDS:
                if cleaned.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
        return cleaned

    @property
    def method(self) -> str:
        if self.cleaned_data["pay_with"] == PayWith.ENTERPRISE_TERMS:
            return PaymentMethod.ENTERPRISE_TERMS
        return PaymentMethod.CARD

    @property
    def new_card(self) -> CardDetails | None:
        data = self.cleaned_data
        if data["pay_with"] != PayWith.NEW_CARD:
            return None
        return CardDetails(
            number=data["card_number"].strip(),
            exp_month=data["exp_month"],
            exp_year=data["exp_year"],
            cvc=data["cvc"].strip(),
        )
