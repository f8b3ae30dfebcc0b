"""Invoices as the API shows them (M5, K3): money as exact decimal strings, dates ISO 8601."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.models import Invoice, InvoiceLine


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["description", "quantity", "unit_price", "amount"]


class InvoiceSerializer(serializers.ModelSerializer):
    credit_note_for = serializers.IntegerField(
        source="credit_note_for_id",
        allow_null=True,
        help_text="For a credit note: the invoice it cancels.",
    )
    lines = InvoiceLineSerializer(many=True)
    pdf = serializers.SerializerMethodField(help_text="Where to download the PDF (this API).")

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "kind",
            "status",
            "issued_on",
            "due_on",
            "issued_at",
            "currency",
            "subtotal",
            "tax_rate",
            "tax",
            "total",
            "credit_note_for",
            "lines",
            "pdf",
        ]

    @extend_schema_field(serializers.CharField())
    def get_pdf(self, invoice: Invoice) -> str:
        return reverse("api:invoice_pdf", kwargs={"pk": invoice.pk})
