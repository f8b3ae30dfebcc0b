"""The form of a paid action's parameters, shared by the calculator and spending (C2, C5, D2,
G6, S1), the confirmation of a quote, and the rate card's search.

The form only checks what a person typed (whole numbers in range, a country code or an
international number, lengths); pricing decides the rest (an unknown country, a table row
that does not exist) and the view shows its refusal on the form.
"""

import re

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clients.models import Client, Membership
from clients.selectors import visible_clients
from clients.vocabulary import words_for
from credits.models import BillableAction, Quote, RuleKind
from credits.selectors.ratecard import number, parameter_label, unit_of

# Far above a real order, far below what a price times it can overflow.
MAX_UNITS = 10**9
MAX_RECIPIENTS = 10_000
# Ten parts of GSM-7 text; longer messages are refused by most operators anyway.
MAX_SMS_CHARACTERS = 1_600
MAX_EXTRA_CHARACTERS = 200
RECIPIENT = re.compile(r"^(?:(?:\+|00)[1-9][0-9]{5,14}|[A-Za-z]{2})$")
SEPARATORS = re.compile(r"[\s,;]+")
PREFIX = "p_"  # form fields of the action's parameters, so no name collides with "client"


def field_name(parameter: str) -> str:
    return PREFIX + parameter


class RecipientsField(forms.CharField):
    """Numbers (+33612345678, 0033612345678) or country codes (FR), separated by commas,
    spaces or new lines; at most MAX_RECIPIENTS."""

    widget = forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"})

    def clean(self, value: object) -> list[str]:
        text = super().clean(value)  # required and max_length apply to the text as typed
        tokens = [token for token in SEPARATORS.split(text) if token]
        if not tokens:
            raise forms.ValidationError(
                _("Give at least one number or country code."), code="required"
            )
        if len(tokens) > MAX_RECIPIENTS:
            raise forms.ValidationError(
                _("At most %(limit)s recipients at once (%(count)s given).")
                % {"limit": number(MAX_RECIPIENTS), "count": number(len(tokens))},
                code="max_recipients",
            )
        wrong = [token for token in tokens if not RECIPIENT.match(token)]
        if wrong:
            shown = ", ".join(token[:20] for token in wrong[:5])
            raise forms.ValidationError(
                ngettext(
                    "Neither an international number nor a country code: %(wrong)s.",
                    "Neither international numbers nor country codes: %(wrong)s.",
                    len(wrong),
                )
                % {"wrong": shown},
                code="invalid_recipient",
            )
        return [token.upper() if token.isalpha() else token for token in tokens]


class UnitsField(forms.IntegerField):
    default_error_messages = {
        "invalid": _("Enter a whole number."),
        "min_value": _("Enter at least %(limit_value)s."),
        "max_value": _("Enter at most %(limit_value)s."),
    }

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", forms.NumberInput(attrs={"inputmode": "numeric"}))
        super().__init__(min_value=1, max_value=MAX_UNITS, step_size=None, **kwargs)


class SpendForm(forms.Form):
    """The client, then the action's own parameters: an SMS's text and recipients, the units
    of a per-unit rule, a select per table parameter (values found in its price rows), and a
    text input per free-text parameter (`BillableAction.extra_params`)."""

    client = forms.ModelChoiceField(queryset=Client.objects.none(), empty_label=None)

    def __init__(self, *args, membership: Membership, action: BillableAction, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.action = action
        clients = visible_clients(membership).filter(is_active=True)
        self.fields["client"].queryset = clients
        if not self.is_bound and "client" not in self.initial:
            self.initial["client"] = clients.values_list("pk", flat=True).first()  # own first
        self.fields["client"].label = words_for(membership.organisation.client_kind).one
        if action.rule == RuleKind.SMS:
            self.fields[field_name("text")] = forms.CharField(
                label=_("Text"),
                max_length=MAX_SMS_CHARACTERS,
                widget=forms.Textarea(attrs={"rows": 4, "data-sms-text": ""}),
            )
            self.fields[field_name("recipients")] = RecipientsField(
                label=_("Recipients"),
                max_length=MAX_RECIPIENTS * 17,
                help_text=_(
                    "Numbers such as +33612345678 or 0033612345678, or two-letter country "
                    "codes (FR), separated by commas, spaces or new lines."
                ),
            )
        for name in action.table_params if action.rule == RuleKind.TABLE else ():
            values = sorted({str(row.match.get(name, "")) for row in action.prices.all()})
            self.fields[field_name(name)] = forms.ChoiceField(
                label=capfirst(parameter_label(name)), choices=[(v, v) for v in values]
            )
        if action.unit_param and action.rule in (RuleKind.PER_UNIT, RuleKind.TABLE):
            self.fields[field_name(action.unit_param)] = UnitsField(
                label=unit_of(action.unit_param).label
            )
        for name in action.extra_params:
            self.fields[field_name(name)] = forms.CharField(
                label=capfirst(parameter_label(name)), max_length=MAX_EXTRA_CHARACTERS
            )

    def clean(self) -> dict:
        data = super().clean()
        text = data.get(field_name("text"))
        if self.action.rule == RuleKind.SMS and text:
            # Browsers send new lines as CR LF; a message carries LF only, and the live
            # counter (static/js/spend.js) counts it so.
            data[field_name("text")] = text.replace("\r\n", "\n")
        return data

    def params(self) -> dict:
        """The parameters `credits.services.quote` prices, from the cleaned data."""
        data, action = self.cleaned_data, self.action
        names = list(action.extra_params)
        if action.rule == RuleKind.SMS:
            names = ["text", "recipients", *names]
        if action.rule == RuleKind.TABLE:
            names = [*action.table_params, *names]
        if action.unit_param and action.rule in (RuleKind.PER_UNIT, RuleKind.TABLE):
            names.append(action.unit_param)
        return {name: data[field_name(name)] for name in names}


def initial_from(quote: Quote) -> dict:
    """The form's values from an earlier quote of the same action (cancel, then change)."""
    initial: dict = {"client": quote.client_id}
    for name, value in quote.params.items():
        if name == "recipients" and isinstance(value, list):
            value = "\n".join(str(token) for token in value)
        initial[field_name(name)] = value
    return initial


def confirmation_key(quote: Quote) -> str:
    """Derived from the quote, so a double click or a resent form consumes it once (X3)."""
    return f"portal-quote-{quote.pk}"


class ConfirmForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, quote: Quote, **kwargs) -> None:
        super().__init__(*args, initial={"idempotency_key": confirmation_key(quote)}, **kwargs)
        self.quote = quote

    def clean_idempotency_key(self) -> str:
        key = self.cleaned_data["idempotency_key"]
        if key != confirmation_key(self.quote):
            raise forms.ValidationError(_("This form belongs to another quote; open it again."))
        return key


class RateSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search the rate card"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
