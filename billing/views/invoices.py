"""The billing history and invoice downloads (M5, K3, S7).

Invoice PDFs are never public: they are stored with Django's file storage, under no URL
the site serves (nothing answers under /media/), and reach a person only through
`invoice_pdf` here (owners and admins of the invoice's organisation) or the admin's view
(staff allowed to see invoices), both through `billing.services.invoice_pdf`, which draws
the PDF again first when the invoice's status changed since it was drawn.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from billing import services
from billing.selectors import account as selectors
from clients.access import organisation_page
from clients.roles import Permission


def pdf_response(document: bytes, number: str) -> HttpResponse:
    """A PDF to save, not to show inline, and not kept by any cache on the way: an invoice
    names its buyer and what they paid."""
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@organisation_page(Permission.BUY)
def invoices(request: HttpRequest) -> HttpResponse:
    page = selectors.history_page(request.organisation, request.GET.get("page"))
    return render(request, "billing/invoices/index.html", {"page": page})


@organisation_page(Permission.BUY)
@require_safe
def invoice_pdf(request: HttpRequest, number: str) -> HttpResponse:
    invoice = selectors.invoice_of(request.organisation, number)
    if invoice is None:
        raise Http404("No such invoice.")
    return pdf_response(services.invoice_pdf(invoice=invoice), invoice.number)


urlpatterns = [
    path("invoices/", invoices, name="invoices"),
    path("invoices/<str:number>.pdf", invoice_pdf, name="invoice_pdf"),
]
