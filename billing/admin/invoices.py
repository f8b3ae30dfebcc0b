"""Invoices change only through actions that call the services (mark paid, void with a
credit note, regenerate the PDF)."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from billing import services
from billing.admin.common import ReadOnly
from billing.models import Invoice, InvoiceLine, Payment, PaymentMethod
from credits.exceptions import CreditsError


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
