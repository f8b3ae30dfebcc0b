"""The activity's filters, read from the query string (other pages link to it with them).

Every value is checked against what the person may see: a member or a client of another
organisation, an unknown kind or action, a date that is not one, or a cursor edited by hand
is a form error shown above the list (X6), never a 500 and never someone else's rows (X5).
"""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clients.models import Membership
from clients.selectors import members_of, visible_clients
from credits.selectors.activity import (
    ActivityFilter,
    ActivityKind,
    Position,
    action_choices,
    activity_filter,
)

# Far enough for any real history; beyond it a date is a typo (and 9999-12-31 has no next day).
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def _person(membership: Membership) -> str:
    user = membership.user
    return user.get_full_name() or user.get_username()


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class ActivityFilterForm(forms.Form):
    member = forms.TypedChoiceField(label=_("Member"), required=False, coerce=int, empty_value=None)
    client = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(label=_("Action"), required=False)
    kind = forms.ChoiceField(
        label=pgettext_lazy("kind of operation", "Kind"),
        required=False,
        choices=[("", pgettext_lazy("activity filter", "All kinds")), *ActivityKind.choices],
    )
    date_from = forms.DateField(
        label=_("From"), required=False, input_formats=["%Y-%m-%d"], widget=_DateInput()
    )
    date_to = forms.DateField(
        label=_("To"), required=False, input_formats=["%Y-%m-%d"], widget=_DateInput()
    )
    cursor = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)

    def __init__(self, data: object, *, membership: Membership, words: object = None) -> None:
        """`words`: how the organisation names its clients (`request.words`)."""
        super().__init__(data)
        self.membership = membership
        organisation = membership.organisation
        self.fields["member"].choices = [
            ("", pgettext_lazy("activity filter", "Everyone")),
            *((m.user_id, _person(m)) for m in members_of(organisation)),
        ]
        clients = visible_clients(membership)
        self.fields["client"].choices = [
            ("", words.all if words else pgettext_lazy("activity filter", "All")),
            *clients.values_list("pk", "name"),
        ]
        if words is not None:
            self.fields["client"].label = words.one
        self.fields["action"].choices = [
            ("", pgettext_lazy("activity filter", "All actions")),
            *action_choices(organisation.pk),
        ]

    def _clean_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(
                _("Enter a date between %(first)s and %(last)s."),
                params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
                code="out_of_range",
            )
        return day

    def clean_date_from(self) -> date | None:
        return self._clean_day("date_from")

    def clean_date_to(self) -> date | None:
        return self._clean_day("date_to")

    def clean_cursor(self) -> Position | None:
        text = self.cleaned_data.get("cursor") or ""
        if not text:
            return None
        position = Position.parse(text)
        if position is None:
            raise ValidationError(
                _("This page link is not valid; start again from the newest operations."),
                code="invalid_cursor",
            )
        return position

    def clean(self) -> dict:
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the list (the empty state says so)."""
        names = ("member", "client", "action", "kind", "date_from", "date_to")
        return any(self.cleaned_data.get(name) not in (None, "") for name in names)

    def activity_filter(self) -> ActivityFilter:
        data = self.cleaned_data
        return activity_filter(
            self.membership,
            client=data.get("client"),
            member=data.get("member"),
            action=data.get("action") or "",
            kind=data.get("kind") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
