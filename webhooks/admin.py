"""Webhooks in the back office (K1, B3): endpoints, deliveries with their attempts, events.

Rows are written by `webhooks.services` only; staff read them here and act through actions
that call the same services as the portal (replay, turn an endpoint off or on). Endpoints'
signing secrets are the owners' and are not shown.
"""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin_base import ReadOnlyAdmin
from webhooks import services
from webhooks.exceptions import WebhookError
from webhooks.models import Attempt, Delivery, Endpoint, Event


class _ActionsOnly(ReadOnlyAdmin):
    """Read-only rows whose actions need the change permission: the permission is the
    model's own, every field is read-only and the change page has no save button."""

    def has_change_permission(self, request, obj=None) -> bool:
        return admin.ModelAdmin.has_change_permission(self, request, obj)

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        return list(self.fields)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        hidden = {"show_save": False, "show_save_and_continue": False}
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), **hidden}
        )


@admin.register(Endpoint)
class EndpointAdmin(_ActionsOnly):
    list_display = ["url", "organisation", "all_events", "is_active", "created_at"]
    list_filter = ["is_active", "organisation"]
    search_fields = ["url", "description", "organisation__name"]
    list_select_related = ["organisation"]
    fields = [
        "organisation",
        "url",
        "description",
        "all_events",
        "events",
        "is_active",
        "created_at",
        "created_by",
    ]
    actions = ["turn_off", "turn_on"]

    def _switch(self, request, queryset, active: bool) -> None:
        for endpoint in queryset:
            services.set_endpoint_active(endpoint=endpoint, active=active, now=timezone.now())
        count = len(queryset)
        self.message_user(
            request,
            ngettext("%(count)d endpoint changed.", "%(count)d endpoints changed.", count)
            % {"count": count},
        )

    def has_endpoint_change_permission(self, request) -> bool:
        """Turning an endpoint off or on changes it (`webhooks.change_endpoint`)."""
        return request.user.has_perm("webhooks.change_endpoint")

    @admin.action(
        description=_("Turn off (nothing is recorded or sent)"),
        permissions=["endpoint_change"],
    )
    def turn_off(self, request, queryset) -> None:
        self._switch(request, queryset, active=False)

    @admin.action(description=_("Turn on"), permissions=["endpoint_change"])
    def turn_on(self, request, queryset) -> None:
        self._switch(request, queryset, active=True)


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["number", "at", "status_code", "duration_ms", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["at", "pk"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        """Whoever may read a delivery reads its attempts (they are part of it)."""
        return request.user.has_perm("webhooks.view_delivery")


@admin.register(Delivery)
class DeliveryAdmin(_ActionsOnly):
    list_display = [
        "created_at",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event__type", "endpoint__organisation"]
    search_fields = ["endpoint__url", "endpoint__organisation__name"]
    list_select_related = ["event", "endpoint"]
    date_hierarchy = "created_at"
    fields = [
        "event",
        "endpoint",
        "replay_of",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
    ]
    inlines = [AttemptInline]
    actions = ["replay"]

    @admin.display(description=_("event"), ordering="event__type")
    def event_type(self, delivery: Delivery) -> str:
        return f"{delivery.event.type} ({delivery.event.webhook_id})"

    def has_delivery_change_permission(self, request) -> bool:
        """Replaying writes a new delivery of the event (`webhooks.change_delivery`)."""
        return request.user.has_perm("webhooks.change_delivery")

    @admin.action(
        description=_("Replay (send the event again, same webhook-id)"),
        permissions=["delivery_change"],
    )
    def replay(self, request, queryset) -> None:
        replayed = 0
        for delivery in queryset:
            try:
                services.replay_delivery(delivery=delivery, now=timezone.now())
            except WebhookError as error:
                self.message_user(request, f"{delivery}: {error}", messages.WARNING)
            else:
                replayed += 1
        self.message_user(
            request,
            ngettext("%(count)d delivery replayed.", "%(count)d deliveries replayed.", replayed)
            % {"count": replayed},
        )


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "webhook_id", "type", "organisation"]
    list_filter = ["type", "organisation"]
    list_select_related = ["organisation"]
    date_hierarchy = "created_at"
    fields = ["organisation", "type", "created_at", "payload"]
    readonly_fields = fields
