from django import forms
from django.utils.translation import gettext_lazy as _

from clients.models import CREATABLE_KINDS, AccessMode


class ClientForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=CREATABLE_KINDS)
    access_mode = forms.ChoiceField(
        label=_("Access to games"), choices=AccessMode.choices, initial=AccessMode.CAMPUS
    )
