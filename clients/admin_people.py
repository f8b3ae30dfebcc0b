"""People in the back office (Django's own admin of users and groups, under the portal's
rules): deleting a person the ledger names deactivates them instead, since ledger rows keep
their actors and are immutable."""

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from clients.admin_refusals import RemovedThroughService
from clients.exceptions import ClientsError
from clients.services import staff
from config.admin_base import PortalAdmin

User = get_user_model()


admin.site.unregister(Group)
admin.site.unregister(User)


@admin.register(Group)
class GroupAdmin(PortalAdmin, DjangoGroupAdmin):
    """Django's own, under the portal's rule for actions (the staff groups: perms.md)."""


@admin.register(User)
class UserAdmin(RemovedThroughService, PortalAdmin, DjangoUserAdmin):
    """Django's own admin of people, except deleting: a person the ledger names is
    deactivated instead (`clients.services.staff.remove_users`), so that the ledger's rows
    keep their actor and the admin never answers a 500."""

    actions = ["delete_selected"]

    def check_removal(self, obj) -> None:
        staff.check_user_removal(users=[obj])

    def removal_context(self, obj) -> dict:
        return {"deactivates_instead": bool(staff.in_ledger([obj]))}

    def remove(self, request, obj) -> bool:
        return bool(self._remove(request, [obj]).deleted)

    def _remove(self, request, people: list) -> staff.Removal:
        """One service call; the history says deleted or deactivated, as it was done."""
        removal = staff.remove_users(users=people)
        deleted = [p for p in people if p.get_username() in removal.deleted]
        deactivated = [p for p in people if p.get_username() in removal.deactivated]
        if deleted:
            self.log_deletions(request, deleted)
        for person in deactivated:
            self.log_change(
                request,
                person,
                gettext("Deactivated instead of deleted: the ledger names this person."),
            )
        if deactivated:
            self.message_user(
                request,
                ngettext(
                    "Deactivated, not deleted: %(people)s. The ledger names this person "
                    "(consumptions, entries, purchases…), whose rows must keep their author. "
                    "The account can no longer log in and has left its organisations.",
                    "Deactivated, not deleted: %(people)s. The ledger names these people "
                    "(consumptions, entries, purchases…), whose rows must keep their author. "
                    "The accounts can no longer log in and have left their organisations.",
                    len(deactivated),
                )
                % {"people": ", ".join(removal.deactivated)},
                messages.WARNING,
            )
        return removal

    @admin.action(permissions=["delete"], description=_("Delete selected %(verbose_name_plural)s"))
    def delete_selected(self, request, queryset):
        """Django's confirmation page; then people are deleted or, when the ledger names
        them, deactivated, all through one service call."""
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)
        if not self.has_delete_permission(request):
            raise PermissionDenied
        people = list(queryset)
        try:
            with transaction.atomic():
                removal = self._remove(request, people)
        except ClientsError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None
        if removal.deleted:
            self.message_user(
                request,
                gettext("Successfully deleted %(count)d %(items)s.")
                % {
                    "count": len(removal.deleted),
                    "items": model_ngettext(self.opts, len(removal.deleted)),
                },
                messages.SUCCESS,
            )
        return None
