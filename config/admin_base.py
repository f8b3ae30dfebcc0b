"""What every app's back office shares: staff act only with the permission a thing changes."""

from collections.abc import Callable
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


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


class ReadOnlyAdmin(PortalAdmin):
    """Rows written by services only (the ledger, invoices, purchases: X1, K1): staff read
    them here, and change them only through actions that call a service."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
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
