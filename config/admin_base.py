"""What every app's back office shares: staff act only with the permission a thing changes,
and a service's refusal is a form error."""

from collections.abc import Callable
from functools import wraps

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse

from config.errors import DomainError

# Where the first pass of a refused change view leaves the refusal for the second.
_REFUSAL = "_portal_admin_refusal"


class PortalAdmin(admin.ModelAdmin):
    """The base of every ModelAdmin of the portal.

    Django hides an action a user may not run (`allowed_permissions`), but a POST naming it
    anyway only gets "No action selected": answer it with 403, so that a forged or stale form
    is refused as plainly as a page the user may not open.
    """

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # Checked here, not in response_action: Django never calls that when the user may
        # run no action at all, and the forged POST would just show the list again.
        if request.method == "POST" and "_save" not in request.POST:
            name = request.POST.get("action", "")
            known = {action_name for _func, action_name, _label in self._get_base_actions()}
            if name in known and name not in self.get_actions(request):
                raise PermissionDenied
        return super().changelist_view(request, extra_context)


def refusal_messages(error: Exception) -> list[str]:
    """What staff read of a refusal: a domain error's message, a validation error's list."""
    if isinstance(error, ValidationError):
        return error.messages
    return [str(error)]


class RefusalsAsFormErrors(PortalAdmin):
    """The base of a ModelAdmin whose `save_model` / `save_formset` call a service: let the
    service's DomainError (or the model's ValidationError) propagate; staff see it on the
    form.

    Why this way: Django's change view calls `save_model` only after the form validated, then
    logs the change and says "changed successfully" whatever `save_model` did. A service
    refuses under its lock (a race, a rule the form cannot see), so its refusal arrives at
    save time. It is raised through the change view (whose transaction rolls back: no row,
    no LogEntry), and the view runs again on the same POST with a form that carries the
    refusal as its error: staff see the change form with their input and the reason."""

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


class ReadOnlyAdmin(PortalAdmin):
    """Rows written by services only (the ledger, invoices, purchases: X1, K1): staff read
    them here, and change them only through actions that call a service."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ListedInline(admin.TabularInline):
    """Rows shown under the object they belong to, never added or removed from there: they
    are written elsewhere (a service, their own admin page), and listed here for context."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def requires(*permissions: str) -> Callable:
    """Guard a custom admin view (a `get_urls` page) with the model permissions it changes:
    `admin_view` only checks that the user is staff."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(model_admin, request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perms(permissions):
                raise PermissionDenied
            return view(model_admin, request, *args, **kwargs)

        guarded.required_permissions = permissions
        return guarded

    return decorate
