"""Back office for billing (K1): offers are edited here; invoices change only through
actions that call the services (mark paid, void with a credit note, regenerate the PDF)."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from billing import services
from billing.models import (
    BillingProfile,
    Invoice,
    InvoiceLine,
    Package,
    Payment,
    PaymentMethod,
    Plan,
    PriceList,
    PriceTier,
    Purchase,
    Subscription,
)
from credits.exceptions import CreditsError


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    extra = 1


class PackageInline(admin.TabularInline):
    model = Package
    extra = 0


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "is_default"]
    list_filter = ["currency", "is_default"]
    search_fields = ["name"]
    inlines = [PriceTierInline, PackageInline]


@admin.register(Package)
class PackageAdmin(admin.ModelAdmin):
    list_display = ["name", "price_list", "credits", "price", "validity_months", "is_active"]
    list_filter = ["price_list", "is_active"]
    search_fields = ["name"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "currency", "monthly_price", "included_credits", "is_active"]
    list_filter = ["currency", "is_active"]
    search_fields = ["name", "code"]


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
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
class SubscriptionAdmin(admin.ModelAdmin):
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

    @admin.action(description="Cancel at the end of the period")
    def cancel_at_period_end(self, request, queryset):
        for subscription in queryset:
            try:
                services.cancel_subscription(subscription=subscription, now=timezone.now())
            except services.BillingError as error:
                self.message_user(request, f"{subscription}: {error}", messages.ERROR)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Purchase)
class PurchaseAdmin(ReadOnly):
    list_display = [
        "created_at",
        "organisation",
        "credits",
        "amount",
        "currency",
        "method",
        "status",
        "decline_reason",
        "invoice",
    ]
    list_filter = ["status", "method", "organisation"]
    search_fields = ["organisation__name", "gateway_reference", "invoice__number"]
    date_hierarchy = "created_at"


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = ["description", "quantity", "unit_price", "amount"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    readonly_fields = ["amount", "method", "reference", "paid_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=200)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnly):
    list_display = [
        "number",
        "kind",
        "organisation",
        "issued_on",
        "due_on",
        "total",
        "currency",
        "status",
        "pdf",
    ]
    list_filter = ["status", "kind", "series", "year", "organisation"]
    search_fields = ["number", "organisation__name"]
    date_hierarchy = "issued_on"
    inlines = [InvoiceLineInline, PaymentInline]
    actions = ["mark_paid", "void_with_credit_note", "regenerate_pdf"]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_staff

    @admin.action(description="Mark paid (bank transfer received)")
    def mark_paid(self, request, queryset):
        for invoice in queryset:
            try:
                services.record_payment(
                    invoice=invoice, now=timezone.now(), method=PaymentMethod.TRANSFER
                )
            except services.BillingError as error:
                self.message_user(request, f"{invoice}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{invoice} marked paid.")

    @admin.action(description="Void with a credit note")
    def void_with_credit_note(self, request, queryset):
        form = VoidForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/billing/void.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Void invoices",
                    "invoices": queryset,
                    "form": form,
                    "opts": self.model._meta,
                },
            )
        for invoice in queryset:
            try:
                note = services.void_invoice(
                    invoice=invoice,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    now=timezone.now(),
                )
            except (services.BillingError, CreditsError) as error:
                self.message_user(request, f"{invoice}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{invoice} voided by {note}.")
        return None

    @admin.action(description="Regenerate the PDF")
    def regenerate_pdf(self, request, queryset):
        for invoice in queryset:
            services.render_invoice_pdf(invoice=invoice, force=True)
        self.message_user(request, f"{queryset.count()} PDF(s) regenerated.")
