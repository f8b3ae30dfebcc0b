"""Form fields every credits page shares, so bad input is refused the same way everywhere (X6)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from credits.bounds import MAX_CREDITS  # the services' own bound (credits.bounds)

__all__ = ["MAX_CREDITS", "CreditsField"]


class CreditsField(forms.IntegerField):
    """A whole number of credits between `min_value` (1 by default) and MAX_CREDITS."""

    default_error_messages = {
        "invalid": _("Enter a whole number of credits."),
        "min_value": _("Enter at least %(limit_value)s."),
        "max_value": _("Enter at most %(limit_value)s credits."),
    }

    def __init__(self, *, min_value: int = 1, max_value: int = MAX_CREDITS, **kwargs) -> None:
        kwargs.setdefault("widget", forms.NumberInput(attrs={"inputmode": "numeric"}))
        super().__init__(min_value=min_value, max_value=max_value, step_size=None, **kwargs)
