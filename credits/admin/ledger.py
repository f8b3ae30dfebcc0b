"""The ledger's rows, read-only (X1, K1): lots, entries, holds, assignments, consumptions.
The one change staff make here, releasing holds, goes through the service and requires
`credits.change_hold`."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.admin_base import ReadOnlyAdmin
from config.errors import DomainError
from credits import services
from credits.models import Assignment, Consumption, Hold, HoldStatus, LedgerEntry, Lot


@admin.register(Lot)
class LotAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "organisation",
        "source",
        "quantity",
        "remaining",
        "expires_at",
        "unit_cost",
        "reference",
        "created_at",
    ]
    list_filter = ["source", "organisation"]
    search_fields = ["reference", "organisation__name"]
    date_hierarchy = "created_at"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organisation",
        "kind",
        "credits",
        "balance_after",
        "held_delta",
        "assigned_delta",
        "used_delta",
        "client",
        "lot",
        "actor",
        "reference",
    ]
    list_filter = ["kind", "organisation"]
    search_fields = ["reference", "idempotency_key", "client__name", "organisation__name"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "client", "lot", "actor"]


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "organisation",
        "client",
        "credits",
        "from_assigned",
        "from_pool",
        "status",
        "action_code",
        "expires_at",
        "created_at",
        "resolved_at",
    ]
    list_filter = ["status", "organisation"]
    search_fields = ["client__name", "action_code", "description"]
    actions = ["release_holds"]

    def has_release_permission(self, request: HttpRequest) -> bool:
        """Its own check: ReadOnlyAdmin turns `has_change_permission` off for everyone."""
        return request.user.has_perm("credits.change_hold")

    @admin.action(description=_("Release the selected active holds"), permissions=["release"])
    def release_holds(self, request: HttpRequest, queryset: QuerySet) -> None:
        for reservation in queryset.filter(status=HoldStatus.ACTIVE):
            try:
                services.release(hold=reservation, actor=request.user, now=timezone.now())
            except DomainError as refusal:
                self.message_user(
                    request,
                    gettext("Hold #%(hold)s: %(refusal)s")
                    % {"hold": reservation.pk, "refusal": refusal},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request, gettext("Hold #%(hold)s released.") % {"hold": reservation.pk}
                )


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "organisation", "client", "kind", "credits", "reference", "actor"]
    list_filter = ["kind", "organisation"]
    search_fields = ["client__name", "reference", "comment"]


@admin.register(Consumption)
class ConsumptionAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "organisation",
        "client",
        "action_code",
        "credits",
        "from_assigned",
        "from_pool",
        "actor",
    ]
    list_filter = ["action_code", "organisation"]
    search_fields = ["client__name", "action_code", "description"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "client", "actor"]
