"""Back office for the ledger (K1): figures and entries are read-only; every change is an
admin action or form that calls one service."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from credits import services
from credits.exceptions import CreditsError
from credits.models import (
    Assignment,
    ClientAccount,
    Consumption,
    CreditPool,
    Hold,
    HoldStatus,
    LedgerEntry,
    Lot,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """The ledger's rows are written by services only (X1)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AdjustForm(forms.Form):
    credits = forms.IntegerField(help_text="Positive adds an adjustment lot; negative removes.")
    reason = forms.CharField(max_length=300)


@admin.register(CreditPool)
class CreditPoolAdmin(admin.ModelAdmin):
    list_display = [
        "organisation",
        "preset",
        "balance",
        "held",
        "assigned",
        "unassigned",
        "expiry_kind",
        "expiry_months",
        "last_activity_at",
    ]
    list_filter = ["preset", "expiry_kind", "purchase_extends_expiry", "assignments_reversible"]
    search_fields = ["organisation__name", "organisation__slug"]
    readonly_fields = ["organisation", "balance", "held", "assigned", "last_activity_at"]
    fieldsets = [
        (None, {"fields": ["organisation", "balance", "held", "assigned", "last_activity_at"]}),
        ("Policy", {"fields": ["preset", *services.POLICY_FIELDS]}),
    ]
    actions = ["adjust_credits", "expire_now"]

    def has_add_permission(self, request) -> bool:
        return False  # a pool is opened with its organisation

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            if "preset" in form.changed_data:
                services.apply_preset(organisation=obj.organisation, preset=obj.preset)
            policy = {f: form.cleaned_data[f] for f in services.POLICY_FIELDS}
            if "preset" not in form.changed_data:
                services.update_policy(organisation=obj.organisation, **policy)
        except CreditsError as error:
            messages.error(request, str(error))

    @admin.action(description="Adjust credits (correction with a reason)")
    def adjust_credits(self, request, queryset):
        form = AdjustForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for pool in queryset.select_related("organisation"):
                try:
                    services.adjust(
                        organisation=pool.organisation,
                        credits=form.cleaned_data["credits"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                        now=timezone.now(),
                    )
                except CreditsError as error:
                    self.message_user(request, f"{pool.organisation}: {error}", messages.ERROR)
                else:
                    self.message_user(request, f"{pool.organisation}: adjusted.", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/credits/adjust.html",
            {
                **self.admin_site.each_context(request),
                "title": "Adjust credits",
                "form": form,
                "pools": queryset,
                "action": "adjust_credits",
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Expire due credits and holds now")
    def expire_now(self, request, queryset):
        run = services.expire_due(now=timezone.now())
        self.message_user(
            request,
            f"{run.credits_expired} credits and {run.holds_expired} holds expired "
            f"in {run.organisations} organisation(s).",
        )


@admin.register(ClientAccount)
class ClientAccountAdmin(admin.ModelAdmin):
    list_display = [
        "client",
        "organisation",
        "assigned_remaining",
        "draws_from_pool",
        "limit_kind",
        "limit",
        "used",
        "window_start",
    ]
    list_filter = ["limit_kind", "draws_from_pool", "organisation"]
    search_fields = ["client__name", "organisation__name"]
    readonly_fields = ["client", "organisation", "assigned_remaining", "used", "window_start"]
    fields = [*readonly_fields, "draws_from_pool", "limit_kind", "limit"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        try:
            services.set_spending_limit(
                client=obj.client,
                kind=form.cleaned_data["limit_kind"],
                limit=form.cleaned_data["limit"],
                draws_from_pool=form.cleaned_data["draws_from_pool"],
                actor=request.user,
                now=timezone.now(),
            )
        except CreditsError as error:
            messages.error(request, str(error))


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

    @admin.action(description="Release the selected active holds")
    def release_holds(self, request, queryset):
        for reservation in queryset.filter(status=HoldStatus.ACTIVE):
            try:
                services.release(hold=reservation, actor=request.user, now=timezone.now())
            except CreditsError as error:
                self.message_user(request, f"Hold #{reservation.pk}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Hold #{reservation.pk} released.")


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
