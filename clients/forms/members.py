"""Forms of the members pages: invite, change a member, accept an invitation (D4)."""

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from clients import selectors
from clients.models import Client, Organisation, Role
from clients.vocabulary import Words


class _RoleAndTieForm(forms.Form):
    """A role and, for a member, the one client they are limited to. The select is named in
    the organisation's words and offers only its active clients (and the current tie), so
    another organisation's client id is a form error."""

    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False)

    def __init__(
        self,
        *args: object,
        organisation: Organisation,
        words: Words,
        current_client: Client | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["client"]
        field.queryset = selectors.tie_choices(organisation, current_client)
        field.label = words.one
        field.empty_label = words.all
        field.help_text = _("Only for a member: they will then see and spend only for it.")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("client") is not None and cleaned.get("role") != Role.MEMBER:
            self.add_error(
                "client",
                _("Owners and admins are never limited: leave this empty, or choose Member."),
            )
        return cleaned


class InviteForm(_RoleAndTieForm):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    field_order = ["email", "role", "client"]


class MemberForm(_RoleAndTieForm):
    pass


class InvitedAccountForm(UserCreationForm):
    """A new account for the invited e-mail: a username and a password checked by Django's
    password validators (which also compare it with the e-mail)."""

    def __init__(self, *args: object, email: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.instance.email = email
