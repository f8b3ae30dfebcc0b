"""Forms of the client pages: create and edit a client, (de)activate it, assign credits and
take them back, set its spending limit (G3, G5, G7, D4, S5). They check the input a person
types (bounds, lengths, whole numbers, X6); the services decide everything else."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from clients.models import AccessMode, Client, Organisation
from credits.forms.fields import CreditsField
from credits.models import LimitKind

REFERENCE_LENGTH = 200
COMMENT_LENGTH = 2000


class ClientForm(forms.Form):
    """A new client takes the organisation's own kind (its words name the page, so a second
    kind would only confuse); Campus / SCORM is asked only where clients choose it (G7)."""

    name = forms.CharField(label=_("Name"), max_length=200)
    access_mode = forms.ChoiceField(
        label=_("Access to games"),
        choices=AccessMode.choices,
        initial=AccessMode.CAMPUS,
        help_text=_("How its learners reach the games: through the Campus or through SCORM."),
    )

    def __init__(self, *args: object, organisation: Organisation, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not organisation.clients_choose_access:
            del self.fields["access_mode"]


class ClientEditForm(ClientForm):
    """Rename, or switch Campus / SCORM where it applies."""

    def __init__(self, *args: object, client: Client, **kwargs: object) -> None:
        kwargs.setdefault("initial", {"name": client.name, "access_mode": client.access_mode})
        super().__init__(*args, organisation=client.organisation, **kwargs)


class ClientStatusForm(forms.Form):
    """The state wanted, not a toggle: a form sent twice leaves the client as asked."""

    active = forms.TypedChoiceField(
        choices=[("yes", _("Active")), ("no", _("Inactive"))],
        coerce=lambda value: value == "yes",
        widget=forms.HiddenInput,
    )


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


class AssignmentForm(forms.Form):
    """Assign credits, or take them back. The idempotency key is made when the form is drawn
    and travels with it, so a double click or a resubmitted page moves the credits once (X3)."""

    credits = CreditsField(label=_("Credits"))
    reference = forms.CharField(
        label=_("Reference"),
        max_length=REFERENCE_LENGTH,
        required=False,
        help_text=_("An order number, a contract, a project… (optional)"),
    )
    comment = forms.CharField(
        label=_("Comment"),
        max_length=COMMENT_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("initial", {"idempotency_key": new_idempotency_key()})
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].error_messages = {
            "required": _("This form has lost its key: reload the page and try again."),
            "invalid": _("This form has lost its key: reload the page and try again."),
        }


class LimitForm(forms.Form):
    """None, monthly or fixed, with the limit, and whether the client may draw from the pool
    (the own client always may, so it is not asked)."""

    kind = forms.ChoiceField(
        label=_("Spending limit"), choices=LimitKind.choices, widget=forms.RadioSelect
    )
    limit = CreditsField(
        label=_("Limit (credits)"),
        min_value=0,
        required=False,
        help_text=_("What it may draw from the pool in the window; 0 stops it drawing."),
    )
    draws_from_pool = forms.BooleanField(
        label=_("May draw from the pool when its assigned credits run out"), required=False
    )

    def __init__(self, *args: object, may_choose_pool: bool = True, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        if not may_choose_pool:
            del self.fields["draws_from_pool"]

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == LimitKind.NONE:
            cleaned["limit"] = None
        elif kind and cleaned.get("limit") is None and "limit" not in self.errors:
            self.add_error("limit", _("Enter the limit in credits."))
        return cleaned

    @property
    def pool_choice(self) -> bool | None:
        """None leaves the setting alone (the own client's)."""
        if "draws_from_pool" not in self.fields:
            return None
        return self.cleaned_data["draws_from_pool"]
