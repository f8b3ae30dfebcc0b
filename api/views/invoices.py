"""API: invoices and credit notes, and their PDFs (M5, K3).

Invoices belong to the whole organisation: a key tied to one client (B7) is refused with
403 `client_not_allowed`, as an admin of the portal reads them but a tied member does not.
The PDF goes through `billing.services.invoice_pdf`, which draws it again first when the
invoice's status changed since it was drawn: the file says what the invoice says now.
"""

import django_filters
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import get_object_or_404
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from api.schema import problems
from api.serializers.invoices import InvoiceSerializer
from api.views.base import ApiView
from billing import services
from billing.models import Invoice, InvoiceStatus
from billing.selectors import invoices_of
from billing.views.invoices import pdf_response


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    issued_after = django_filters.DateFilter(
        field_name="issued_on", lookup_expr="gte", label="Issued on or after (YYYY-MM-DD)."
    )
    issued_before = django_filters.DateFilter(
        field_name="issued_on", lookup_expr="lte", label="Issued on or before (YYYY-MM-DD)."
    )

    class Meta:
        model = Invoice
        fields = ["status", "issued_after", "issued_before"]


class OrganisationWide(ApiView):
    """What only a key of the whole organisation may read or do (invoices, purchases)."""

    def check_permissions(self, request) -> None:
        super().check_permissions(request)
        self.refuse_tied_key()

    def invoices(self):
        return invoices_of(self.organisation)


class InvoiceList(OrganisationWide):
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return self.invoices()

    @extend_schema(
        operation_id="invoices_list",
        summary="The organisation's invoices and credit notes",
        description=(
            "Newest first, with their lines; filter by status and by issue date (in the "
            "organisation's time zone, both ends included). Amounts are exact decimal strings "
            "in the invoice's currency. A key tied to one client may not read them."
        ),
        responses={200: InvoiceSerializer(many=True), **problems("client_not_allowed")},
        tags=["invoices"],
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(InvoiceSerializer(page, many=True).data)


class InvoiceDetail(OrganisationWide):
    serializer_class = InvoiceSerializer
    pagination_class = None

    @extend_schema(
        operation_id="invoices_read",
        summary="One invoice or credit note",
        description="Its number, dates, status, totals and lines.",
        responses={200: InvoiceSerializer, **problems("client_not_allowed", "not_found")},
        tags=["invoices"],
    )
    def get(self, request, pk: int):
        return Response(InvoiceSerializer(get_object_or_404(self.invoices(), pk=pk)).data)


class PdfRenderer(BaseRenderer):
    """Lets a client ask for `application/pdf`; refusals are still problem documents."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, bytes):
            return data
        return JSONRenderer().render(data)


class InvoicePdf(OrganisationWide):
    pagination_class = None
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        operation_id="invoices_pdf",
        summary="An invoice's PDF",
        description=(
            "The PDF as the invoice stands now (a paid or voided invoice says so), in the "
            "organisation's language, as an attachment named after its number."
        ),
        parameters=[OpenApiParameter("format", exclude=True)],  # Accept says it; no ?format=
        responses={
            (200, "application/pdf"): OpenApiResponse(
                response=OpenApiTypes.BINARY, description="The PDF document."
            ),
            **problems("client_not_allowed", "not_found"),
        },
        examples=[
            OpenApiExample(
                "A PDF",
                value="%PDF-1.7 …",
                media_type="application/pdf",
                response_only=True,
                status_codes=["200"],
            )
        ],
        tags=["invoices"],
    )
    def get(self, request, pk: int) -> HttpResponse:
        invoice = get_object_or_404(Invoice.objects.filter(organisation=self.organisation), pk=pk)
        return pdf_response(services.invoice_pdf(invoice=invoice), invoice.number)


urlpatterns = [
    path("invoices/", InvoiceList.as_view(), name="invoices"),
    path("invoices/<id:pk>/", InvoiceDetail.as_view(), name="invoice"),
    path("invoices/<id:pk>/pdf/", InvoicePdf.as_view(), name="invoice_pdf"),
]
