from rest_framework import serializers

from credits.models import Consumption

BIG = 2**62  # ids and counts beyond any real one: refused as validation errors, not 500s


class ConsumeSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=64, help_text="The action's code on the rate card.")
    params = serializers.DictField(
        required=False, default=dict, help_text="The action's parameters (units, text, ...)."
    )
    client = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=BIG,
        help_text="The client that spends; default the key's client, else the organisation's own.",
    )
    quote = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=BIG,
        help_text="Consume at an unexpired quote's price (its action and parameters).",
    )


class ConsumptionSerializer(serializers.ModelSerializer):
    action = serializers.CharField(source="action_code")
    client = serializers.IntegerField(source="client_id")
    hold = serializers.IntegerField(source="hold_id", allow_null=True)

    class Meta:
        model = Consumption
        fields = [
            "id",
            "client",
            "action",
            "description",
            "params",
            "credits",
            "from_assigned",
            "from_pool",
            "hold",
            "created_at",
        ]
