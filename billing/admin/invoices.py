"""Invoices change only through actions that call the services (mark paid, void with a
credit note, regenerate the PDF), each open to staff who may change invoices
(`billing.change_invoice`, the "Billing" group): reading an invoice is not enough to void it.
Their PDF is downloaded through the admin's own view (`billing.view_invoice`), which answers
the same bytes as the portal's, through the same service: the stored file is never linked
(nothing is served under /media/)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from billing import services
from billing.models import Invoice, InvoiceLine, Payment, PaymentMethod
from billing.views.invoices import pdf_response
from config.admin_base import ListedInline, ReadOnlyAdmin, requires
from credits.exceptions import CreditsError

CHANGE_INVOICE = "billing.change_invoice"
VIEW_INVOICE = "billing.view_invoice"


class InvoiceLineInline(ListedInline):
    model = InvoiceLine
    readonly_fields = ["description", "quantity", "unit_price", "amount"]


class PaymentInline(ListedInline):
    model = Payment
    readonly_fields = ["amount", "method", "reference", "paid_at"]


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


def party_block(party: dict | None) -> SafeString:
    """A seller or buyer as an invoice prints it (name, address lines, VAT number, e-mail),
    rather than the JSON it is kept as: staff compare it with the PDF and the customer's
    letter, not with a data structure."""
    party = party or {}
    lines = [format_html("<strong>{}</strong>", party.get("name") or "—")]
    lines += [
        format_html("{}", line) for line in str(party.get("address") or "").splitlines() if line
    ]
    if party.get("vat_number"):
        lines.append(
            format_html("{} {}", pgettext("invoice", "VAT number:"), party["vat_number"]),
        )
    if party.get("email"):
        lines.append(format_html("{} {}", gettext("E-mail:"), party["email"]))
    return format_html(
        '<div class="invoice-party">{}</div>',
        format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)),
    )


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
    exclude = ["pdf", "seller", "buyer"]
    readonly_fields = ["seller_block", "buyer_block", "pdf_link"]
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

    def has_invoice_change_permission(self, request: HttpRequest) -> bool:
        """What the actions change is the invoice itself (its status, its PDF); ReadOnlyAdmin
        turns `has_change_permission` off, so ask for the model permission directly."""
        return request.user.has_perm(CHANGE_INVOICE)

    @requires(VIEW_INVOICE)
    def pdf_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The invoice's PDF as it stands now (redrawn when its status changed), for staff
        who may see invoices (`billing.view_invoice`), whatever else they may do."""
        invoice = self.get_object(request, unquote(object_id))
        if invoice is None:
            raise Http404(gettext("No such invoice."))
        return pdf_response(services.invoice_pdf(invoice=invoice), invoice.number)

    @admin.display(description=_("PDF"))
    def pdf_link(self, invoice: Invoice) -> str:
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_pdf", args=[invoice.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Download the PDF"))

    @admin.display(description=_("seller"))
    def seller_block(self, invoice: Invoice) -> SafeString:
        return party_block(invoice.seller)

    @admin.display(description=_("buyer"))
    def buyer_block(self, invoice: Invoice) -> SafeString:
        return party_block(invoice.buyer)

    @admin.action(
        description=_("Mark paid (bank transfer received)"), permissions=["invoice_change"]
    )
    def mark_paid(self, request, queryset):
        for invoice in queryset:
            try:
                services.record_payment(
                    invoice=invoice, now=timezone.now(), method=PaymentMethod.TRANSFER
                )
            except services.BillingError as error:
                self.message_user(request, f"{invoice}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request, gettext("%(invoice)s marked paid.") % {"invoice": invoice}
                )

    @admin.action(description=_("Void with a credit note"), permissions=["invoice_change"])
    def void_with_credit_note(self, request, queryset):
        form = VoidForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/billing/void.html",
                {
                    **self.admin_site.each_context(request),
                    "title": gettext("Void invoices"),
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
                self.message_user(
                    request,
                    gettext("%(invoice)s voided by %(note)s.") % {"invoice": invoice, "note": note},
                )
        return None

    @admin.action(description=_("Regenerate the PDF"), permissions=["invoice_change"])
    def regenerate_pdf(self, request, queryset):
        count = 0
        for invoice in queryset:
            services.render_invoice_pdf(invoice=invoice, force=True)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d PDF regenerated.", "%(count)d PDFs regenerated.", count)
            % {"count": count},
        )
