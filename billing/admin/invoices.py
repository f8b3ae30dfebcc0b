"""Invoices change only through actions that call the services (mark paid, void with a
credit note, regenerate the PDF). Their PDF is downloaded through the admin's own view, which
answers the same bytes as the portal's, through the same service: the stored file is never
linked (nothing is served under /media/)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import Invoice, InvoiceLine, Payment, PaymentMethod
from billing.views.invoices import pdf_response
from config.admin_base import ReadOnlyAdmin
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
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "kind",
        "organisation",
        "issued_on",
        "due_on",
        "total",
        "currency",
        "status",
        "email_status",
        "pdf_link",
    ]
    exclude = ["pdf"]
    readonly_fields = ["pdf_link"]
    list_filter = ["status", "email_status", "kind", "series", "year", "organisation"]
    search_fields = ["number", "organisation__name"]
    date_hierarchy = "issued_on"
    inlines = [InvoiceLineInline, PaymentInline]
    actions = ["mark_paid", "void_with_credit_note", "regenerate_pdf"]

    def get_urls(self):
        """The PDF's own address, before the default ones (whose `<object_id>/` would take
        it for an invoice's id)."""
        pdf = path(
            "<path:object_id>/pdf/",
            self.admin_site.admin_view(self.pdf_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_pdf",
        )
        return [pdf, *super().get_urls()]

    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The invoice's PDF as it stands now (redrawn when its status changed), for staff
        who may see invoices (`billing.view_invoice`), whatever else they may do."""
        if not request.user.has_perm("billing.view_invoice"):
            raise PermissionDenied
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None:
            raise Http404("No such invoice.")
        return pdf_response(services.invoice_pdf(invoice=invoice), invoice.number)

    @admin.display(description=_("PDF"))
    def pdf_link(self, invoice: Invoice) -> str:
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_pdf", args=[invoice.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download the PDF"))

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
