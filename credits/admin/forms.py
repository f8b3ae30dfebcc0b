"""Forms only the credits back office uses. Each bounds what staff type as the portal's forms
do (credits, units, lengths: X6), so a typo or a probe is a form error, never a 500."""

import uuid

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from clients.models import Client, Organisation
from credits.forms.fields import MAX_CREDITS, CreditsField
from credits.forms.spend import (
    MAX_EXTRA_CHARACTERS,
    MAX_SMS_CHARACTERS,
    UnitsField,
    field_name,
)
from credits.models import BillableAction, ClientAccount, LimitKind, Lot, RuleKind, SmsRate
from credits.selectors import SMS_CSV_COLUMNS
from credits.selectors.ratecard import parameter_label, unit_of

# An adjustment's reason becomes the reference of its lot (a positive one) and of its entries:
# the shorter column bounds it.
REASON_LENGTH = Lot._meta.get_field("reference").max_length


class AdjustForm(forms.Form):
    credits = CreditsField(
        label=_("Credits"),
        min_value=-MAX_CREDITS,
        help_text=_("Positive adds an adjustment lot; negative removes unassigned credits."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=REASON_LENGTH)
    # Made when the form is shown and sent back with it: the same form sent twice (a double
    # click, a reload) is the same adjustment, which the ledger replays instead of repeating.
    submission = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4, required=False)

    def idempotency_key(self, pool_pk: int) -> str:
        submission = self.cleaned_data.get("submission")
        return f"admin-adjust:{submission}:{pool_pk}" if submission else ""

    def clean_credits(self) -> int:
        credits = self.cleaned_data["credits"]
        if credits == 0:
            raise forms.ValidationError(
                _("An adjustment is a non-zero whole number of credits."), code="zero"
            )
        return credits


class ClientAccountForm(forms.ModelForm):
    """A client's spending limit: the number goes with the kind, said on the limit field
    (not as the database constraint's refusal)."""

    limit = CreditsField(
        label=capfirst(ClientAccount._meta.get_field("limit").verbose_name),
        help_text=ClientAccount._meta.get_field("limit").help_text,
        min_value=0,
        required=False,
    )

    class Meta:
        model = ClientAccount
        fields = ["draws_from_pool", "limit_kind", "limit"]

    def clean(self) -> dict:
        data = super().clean()
        kind, limit = data.get("limit_kind"), data.get("limit")
        if "limit" in self.errors or not kind:
            return data
        if kind == LimitKind.NONE and limit is not None:
            self.add_error(
                "limit", _("Leave the limit empty when the client has no spending limit.")
            )
        elif kind != LimitKind.NONE and limit is None:
            self.add_error(
                "limit", _("A monthly or fixed spending limit needs its number of credits.")
            )
        return data


class TryActionForm(forms.Form):
    """Quote an action as the portal would (C5), with the action's own parameters: nothing for
    a free or flat price, a bounded number of units, a choice per table parameter among the
    values of its price rows, a country among the SMS rates and a text for an SMS, and a text
    per free-text parameter. The field names and bounds are the portal's spend form's
    (credits.forms.spend), so a parameter is refused alike in both."""

    client = forms.ModelChoiceField(label=_("Client"), queryset=Client.objects.none())

    def __init__(self, *args, action: BillableAction, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        self.fields["client"].queryset = Client.objects.filter(
            organisation_id=action.organisation_id
        ).order_by("name")
        if action.rule == RuleKind.SMS:
            rates = SmsRate.objects.filter(organisation_id=action.organisation_id)
            self.fields[field_name("country")] = forms.ChoiceField(
                label=_("Country"),
                choices=[
                    (rate.country, f"{rate.name} ({rate.country})")
                    for rate in rates.order_by("country")
                ],
            )
            self.fields[field_name("text")] = forms.CharField(
                label=_("Text"),
                max_length=MAX_SMS_CHARACTERS,
                widget=forms.Textarea(attrs={"rows": 4}),
            )
        for name in self._table_params():
            values = sorted({str(row.match.get(name, "")) for row in action.prices.all()})
            self.fields[field_name(name)] = forms.ChoiceField(
                label=capfirst(parameter_label(name)), choices=[(v, v) for v in values]
            )
        if self._unit_param():
            self.fields[field_name(action.unit_param)] = UnitsField(
                label=unit_of(action.unit_param).label
            )
        for name in action.extra_params:
            self.fields[field_name(name)] = forms.CharField(
                label=capfirst(parameter_label(name)), max_length=MAX_EXTRA_CHARACTERS
            )

    def _table_params(self) -> list[str]:
        return list(self.action.table_params) if self.action.rule == RuleKind.TABLE else []

    def _unit_param(self) -> str:
        priced_by_units = self.action.rule in (RuleKind.PER_UNIT, RuleKind.TABLE)
        return self.action.unit_param if priced_by_units else ""

    def params(self) -> dict:
        """The parameters `credits.services.quote` prices, from the cleaned data: an SMS goes
        to one recipient in the chosen country."""
        data, action = self.cleaned_data, self.action
        params = {name: data[field_name(name)] for name in self._table_params()}
        if action.rule == RuleKind.SMS:
            # Browsers send new lines as CR LF; a message carries LF only (as the portal's).
            params["text"] = data[field_name("text")].replace("\r\n", "\n")
            params["recipients"] = [data[field_name("country")]]
        if self._unit_param():
            params[action.unit_param] = data[field_name(action.unit_param)]
        for name in action.extra_params:
            params[name] = data[field_name(name)]
        return params


class SmsImportForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.all()
    )
    file = forms.FileField(label=_("CSV file"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Formatted here, in the request's language (a lazy text formatted at import is not).
        self.fields["file"].help_text = _("Columns: %(columns)s.") % {
            "columns": ", ".join(SMS_CSV_COLUMNS)
        }
