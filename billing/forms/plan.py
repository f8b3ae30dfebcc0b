"""Forms of the billing page (M3): the plan chosen, a replacement card, the billing profile.

They check what a person typed (lengths, digits, an e-mail address); the services and the
gateway decide the rest (a card number the gateway refuses, a plan that is not on sale) and
the view shows their refusal on the form, with nothing changed (X6).
"""

import re
from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from billing.models import Plan
from billing.selectors.account import plans_on_sale
from clients.models import Organisation

CARD_CHARACTERS = re.compile(r"^[0-9 -]+$")
# Upper bounds of what a person types: generous for a real address, refused beyond.
MAX_ADDRESS = 500
MAX_LEGAL_NAME = 200
MAX_VAT_NUMBER = 40
VAT_NUMBER = re.compile(r"^[A-Za-z]{2}[A-Za-z0-9 .-]{2,38}$")
YEARS_AHEAD = 20


class PlanChoiceForm(forms.Form):
    """The plan an owner chose, by its code, among the plans on sale in the organisation's
    currency (another currency's or a retired plan's code is refused like a made-up one)."""

    plan = forms.ModelChoiceField(
        queryset=Plan.objects.none(),
        to_field_name="code",
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose a plan."),
            "invalid_choice": _("This plan is not on sale for this organisation."),
        },
    )

    def __init__(self, *args, organisation: Organisation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = plans_on_sale(organisation)


class CardForm(forms.Form):
    """A card as typed; passed to the gateway, which keeps it and answers a token (the portal
    stores no card number)."""

    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "cc-number", "spellcheck": "false"}
        ),
    )
    exp_month = forms.IntegerField(
        label=_("Expiry month"),
        min_value=1,
        max_value=12,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "cc-exp-month"}),
    )
    exp_year = forms.IntegerField(
        label=_("Expiry year"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "cc-exp-year"}),
    )
    cvc = forms.CharField(
        label=_("Security code"),
        min_length=3,
        max_length=4,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "cc-csc", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, today: date, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["exp_year"].widget.attrs.update(min=today.year, max=today.year + YEARS_AHEAD)
        self._today = today

    def clean_number(self) -> str:
        number = self.cleaned_data["number"]
        if not CARD_CHARACTERS.match(number):
            raise forms.ValidationError(
                _("A card number has digits only (spaces are fine)."), code="invalid"
            )
        return number.replace(" ", "").replace("-", "")

    def clean_exp_year(self) -> int:
        year = self.cleaned_data["exp_year"]
        if not self._today.year <= year <= self._today.year + YEARS_AHEAD:
            raise forms.ValidationError(
                _("Enter a year between %(first)s and %(last)s.")
                % {"first": self._today.year, "last": self._today.year + YEARS_AHEAD},
                code="year",
            )
        return year

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"]
        if not cvc.isdigit():
            raise forms.ValidationError(_("The security code has 3 or 4 digits."), code="invalid")
        return cvc


class ProfileForm(forms.Form):
    """The buyer printed on the next invoices (those already issued keep theirs)."""

    legal_name = forms.CharField(label=_("Legal name"), max_length=MAX_LEGAL_NAME)
    address = forms.CharField(
        label=_("Address"),
        max_length=MAX_ADDRESS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )
    vat_number = forms.CharField(
        label=_("VAT number"),
        max_length=MAX_VAT_NUMBER,
        required=False,
        help_text=_("With its country prefix, such as FR12345678901."),
    )
    email = forms.EmailField(
        label=_("Invoice e-mail"),
        required=False,
        help_text=_("Invoices are sent here; empty: to the owner."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_vat_number(self) -> str:
        vat = self.cleaned_data["vat_number"].strip()
        if vat and not VAT_NUMBER.match(vat):
            raise forms.ValidationError(
                _("A VAT number starts with its two-letter country code."), code="invalid"
            )
        return vat
