"""Offers in the back office (K1): price lists, packages, plans, profiles, subscriptions."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import (
    BillingProfile,
    Package,
    Plan,
    PriceList,
    PriceTier,
    Subscription,
)
from config.admin_base import PortalAdmin


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    extra = 1


class PackageInline(admin.TabularInline):
    model = Package
    extra = 0


@admin.register(PriceList)
class PriceListAdmin(PortalAdmin):
    list_display = ["name", "currency", "is_default"]
    list_filter = ["currency", "is_default"]
    search_fields = ["name"]
    inlines = [PriceTierInline, PackageInline]


@admin.register(Package)
class PackageAdmin(PortalAdmin):
    list_display = ["name", "price_list", "credits", "price", "validity_months", "is_active"]
    list_filter = ["price_list", "is_active"]
    search_fields = ["name"]


@admin.register(Plan)
class PlanAdmin(PortalAdmin):
    list_display = ["name", "code", "currency", "monthly_price", "included_credits", "is_active"]
    list_filter = ["currency", "is_active"]
    search_fields = ["name", "code"]


@admin.register(BillingProfile)
class BillingProfileAdmin(PortalAdmin):
    list_display = [
        "organisation",
        "legal_name",
        "email",
        "tax_rate",
        "price_list",
        "enterprise_terms",
        "card_brand",
        "card_last4",
    ]
    list_filter = ["enterprise_terms", "price_list"]
    search_fields = ["organisation__name", "legal_name", "vat_number", "email"]
    readonly_fields = ["card_brand", "card_last4", "card_exp_month", "card_exp_year"]


@admin.register(Subscription)
class SubscriptionAdmin(PortalAdmin):
    list_display = [
        "organisation",
        "plan",
        "status",
        "period_start",
        "renews_on",
        "cancel_at_period_end",
        "next_plan",
        "failed_attempts",
        "next_retry_at",
    ]
    list_filter = ["status", "plan", "cancel_at_period_end"]
    search_fields = ["organisation__name"]
    readonly_fields = [f.name for f in Subscription._meta.fields]
    actions = ["cancel_at_period_end"]

    def has_add_permission(self, request) -> bool:
        return False  # a plan is chosen by its owner (or the billing page), paid by card

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_subscription_change_permission(self, request) -> bool:
        """Cancelling changes the subscription; every field here is read-only, so ask for
        the model permission itself."""
        return request.user.has_perm("billing.change_subscription")

    @admin.action(
        description=_("Cancel at the end of the period"), permissions=["subscription_change"]
    )
    def cancel_at_period_end(self, request, queryset):
        for subscription in queryset:
            try:
                services.cancel_subscription(subscription=subscription, now=timezone.now())
            except services.BillingError as error:
                self.message_user(request, f"{subscription}: {error}", messages.ERROR)
