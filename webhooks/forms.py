"""The endpoint form: URL, events, description. Bounds and the URL's address are the
service's to check (webhooks.services.endpoints); the form reads the input and keeps it."""

from django import forms
from django.utils.translation import gettext_lazy as _

from webhooks.models import URL_MAX_LENGTH, Endpoint
from webhooks.selectors import event_choices
from webhooks.services.endpoints import DESCRIPTION_MAX


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=URL_MAX_LENGTH,
        widget=forms.URLInput(
            attrs={
                "placeholder": "https://example.com/webhooks",
                "inputmode": "url",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        help_text=_("Where the portal POSTs each event: https:// (or http://), a public address."),
    )
    all_events = forms.BooleanField(label=_("Every event, also those added later"), required=False)
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=event_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=DESCRIPTION_MAX,
        required=False,
        help_text=_("For you: which system receives these events."),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("all_events") and not cleaned.get("events") and "events" in cleaned:
            self.add_error("events", _("Choose at least one event, or every event."))
        return cleaned

    @classmethod
    def for_endpoint(cls, endpoint: Endpoint) -> "EndpointForm":
        return cls(
            initial={
                "url": endpoint.url,
                "all_events": endpoint.all_events,
                "events": endpoint.events,
                "description": endpoint.description,
            }
        )
