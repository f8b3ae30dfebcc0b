"""The form that creates an API key (K4, B7). It checks what a person typed; the service
(`api.services.create_key`) draws the secret and stores only its hash."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from api.models import Scope
from api.portal.selectors import clients_for_keys
from clients.models import Organisation

# The bounds the database enforces on a key's rate (ApiKey's api_key_rate_in_range).
MIN_RATE = 1
MAX_RATE = 1_000_000


class KeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses the key, to recognise it later (“Billing export”, “CRM”)."),
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=Scope.choices,
        initial=Scope.READ,
        widget=forms.RadioSelect,
        help_text=_("Read only: balances, history, invoices. Read and write: spend and buy."),
    )
    client = forms.ModelChoiceField(
        label=_("Client"),
        queryset=None,
        required=False,
        empty_label=_("The whole organisation"),
        help_text=_("A key tied to one of them sees and spends for it only, within its limit."),
        error_messages={"invalid_choice": _("Choose one that is active in this organisation.")},
    )
    requests_per_minute = forms.IntegerField(
        label=_("Requests per minute"),
        min_value=MIN_RATE,
        max_value=MAX_RATE,
        initial=settings.API_DEFAULT_REQUESTS_PER_MINUTE,
        help_text=_("Beyond it, requests get 429 until the next minute."),
    )

    def __init__(self, *args, organisation: Organisation, words=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients_for_keys(organisation)
        if words is not None:  # the organisation's own word: list, sub-account, team…
            self.fields["client"].label = words.one
