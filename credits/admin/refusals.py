"""A service's refusal on an admin change form is a form error, never "changed successfully".

Why this way: Django's change view calls `save_model` only after the form validated, then
logs the change and says "changed successfully" whatever `save_model` did. A service refuses
under its lock (a race, a rule the form cannot see), so its refusal arrives at save time. The
refusal is raised through the change view (its transaction rolls back: no row, no LogEntry),
and the view runs again on the same POST with a form that carries the refusal as its error:
the page staff see is the change form with their input and the reason, as for any form error.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from config.errors import DomainError

# Where the first pass leaves the refusal for the second (on the request: one per POST).
_REFUSAL = "_credits_admin_refusal"


def refusal_messages(error: Exception) -> list[str]:
    """What staff read of a refusal: a domain error's message, a validation error's list."""
    if isinstance(error, ValidationError):
        return error.messages
    return [str(error)]


class RefusalsAsFormErrors(admin.ModelAdmin):
    """Mix into a ModelAdmin whose `save_model` / `save_formset` call a service: let the
    service's DomainError (or the model's ValidationError) propagate; staff see it on the
    form."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        if request.method != "POST":
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (DomainError, ValidationError) as refusal:
            setattr(request, _REFUSAL, refusal_messages(refusal))
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refusal = getattr(request, _REFUSAL, None)
        if refusal is None:
            return form

        def clean(self) -> dict:
            form.clean(self)
            raise forms.ValidationError(refusal)

        return type(form.__name__, (form,), {"clean": clean})
