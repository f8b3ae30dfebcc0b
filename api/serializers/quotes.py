from rest_framework import serializers

from api.serializers.consumptions import ActionRequest, row_id
from credits.models import Quote


class QuoteRequestSerializer(ActionRequest):
    client = row_id(
        "The client that would spend; default the key's client, else the organisation's own."
    )


class QuoteSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="client_id")
    action = serializers.CharField(source="action.code", help_text="The action's code.")
    params = serializers.JSONField(help_text="The parameters it was priced with.")
    details = serializers.JSONField(
        help_text="How it was priced (units and unit credits, SMS parts and rates by country)."
    )
    credits = serializers.IntegerField(help_text="What it costs.")
    balance_before = serializers.IntegerField(help_text="The organisation's balance when quoted.")
    balance_after = serializers.IntegerField(
        help_text="The balance after it, if allowed (else the balance unchanged)."
    )
    allowed = serializers.BooleanField(
        help_text="Whether it could be consumed when quoted (a preview, not a reservation)."
    )
    reason = serializers.CharField(
        help_text="Why not, when not allowed: `insufficient_credits`, `assignment_exhausted`, "
        "`limit_reached` or `inactive`; empty when allowed."
    )
    message = serializers.CharField(help_text="Why not, in words, with the figures.")
    expires_at = serializers.DateTimeField(
        help_text="Consuming with this quote charges its price until then (15 minutes)."
    )
    consumption = serializers.IntegerField(
        source="consumption_id",
        allow_null=True,
        help_text="The consumption that used it; a quote is used at most once.",
    )

    class Meta:
        model = Quote
        fields = [
            "id",
            "client",
            "action",
            "params",
            "details",
            "credits",
            "balance_before",
            "balance_after",
            "allowed",
            "reason",
            "message",
            "created_at",
            "expires_at",
            "consumption",
        ]
