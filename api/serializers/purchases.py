"""Purchases of credits through the API (S3, D1, X3): what to buy, and the purchase as it
stands (money as exact decimal strings, credits as integers)."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.serializers.consumptions import BIG
from billing.models import PaymentMethod, Purchase
from billing.pricing import MAX_PURCHASE_CREDITS

# Only the card on file or enterprise terms: no card number ever travels through the API.
API_METHODS = [PaymentMethod.CARD, PaymentMethod.ENTERPRISE_TERMS]


class PurchaseRequestSerializer(serializers.Serializer):
    credits = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PURCHASE_CREDITS,
        help_text="A custom quantity, priced by the volume tiers of the organisation's list.",
    )
    package = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=BIG,
        help_text="A package on sale to the organisation (instead of `credits`).",
    )
    method = serializers.ChoiceField(
        choices=[(m.value, m.label) for m in API_METHODS],
        default=PaymentMethod.CARD,
        help_text="`card`: the card on file. `enterprise_terms`: invoice due in 30 days.",
    )

    def validate(self, data: dict) -> dict:
        if ("credits" in data) == ("package" in data):
            raise serializers.ValidationError(_("Send credits or package: one of them, not both."))
        return data


class PurchaseSerializer(serializers.ModelSerializer):
    package = serializers.IntegerField(source="package_id", allow_null=True)
    invoice = serializers.IntegerField(source="invoice_id", allow_null=True)
    invoice_number = serializers.CharField(
        source="invoice.number", allow_null=True, default=None, read_only=True
    )

    class Meta:
        model = Purchase
        fields = [
            "id",
            "kind",
            "origin",
            "status",
            "package",
            "credits",
            "unit_price",
            "amount",
            "tax_rate",
            "tax",
            "total",
            "currency",
            "method",
            "decline_reason",
            "invoice",
            "invoice_number",
            "created_at",
            "completed_at",
        ]
