"""Purchases in the back office: a read-only history that says where an unfinished one
stands (charging, charged, being refunded), why, and when the settle job tries again."""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.admin import reports
from billing.models import Purchase
from config.admin_base import ReadOnlyAdmin, requires


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    change_list_template = "admin/billing/purchase_change_list.html"  # + deferred revenue
    list_display = [
        "created_at",
        "organisation",
        "kind",
        "origin",
        "credits",
        "total",
        "currency",
        "method",
        "status",
        "decline_reason",
        "invoice",
    ]
    list_filter = ["status", "kind", "origin", "method", "organisation"]
    search_fields = ["organisation__name", "gateway_reference", "invoice__number"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation", "invoice"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organisation",
                    "kind",
                    "origin",
                    "status",
                    "created_at",
                    "completed_at",
                    "actor",
                ]
            },
        ),
        (
            _("What was bought"),
            {"fields": ["package", "plan", "period_start", "period_end", "credits", "lot"]},
        ),
        (
            _("Money"),
            {
                "fields": [
                    "unit_price",
                    "amount",
                    "tax_rate",
                    "tax",
                    "total",
                    "currency",
                    "method",
                    "invoice",
                ]
            },
        ),
        (
            _("Gateway"),
            {
                "fields": [
                    "gateway_reference",
                    "decline_reason",
                    "charge_attempts",
                    "completion_attempts",
                    "next_attempt_at",
                    "last_error",
                    "refund_reference",
                    "idempotency_key",
                ]
            },
        ),
    ]
    actions = ["finish_now"]

    def get_urls(self):
        report = path(
            "deferred-revenue/",
            self.admin_site.admin_view(self.deferred_revenue),
            name="billing_deferred_revenue",
        )
        return [report, *super().get_urls()]

    @requires(reports.REPORT_PERMISSION)
    def deferred_revenue(self, request: HttpRequest) -> HttpResponse:
        """Revenue is what invoices say: the report needs `billing.view_invoice`."""
        return reports.deferred_revenue_page(self, request)

    def has_finish_permission(self, request) -> bool:
        """Finishing charges or refunds the purchase: it changes it (the "Billing" group)."""
        return request.user.has_perm("billing.change_purchase")

    @admin.action(
        description=_("Finish now (charge again with the same key, complete or refund)"),
        permissions=["finish"],
    )
    def finish_now(self, request, queryset):
        """What the settle job would do at the next attempt, now; a purchase whose lease
        another caller holds is left to it."""
        for purchase in queryset:
            outcome = services.finish_now(purchase=purchase, now=timezone.now())
            self.message_user(
                request,
                _("%(purchase)s: %(status)s")
                % {"purchase": purchase, "status": outcome.get_status_display()},
                messages.INFO,
            )
