"""Lots over the API: the blocks of credits the pool is made of, with their expiry (M1, S4)."""

from rest_framework import serializers

from credits.models import Lot, LotSource


class LotSerializer(serializers.ModelSerializer):
    source = serializers.ChoiceField(choices=LotSource.choices)
    quantity = serializers.IntegerField(help_text="The credits the lot brought in.")
    remaining = serializers.IntegerField(help_text="Its credits not yet spent nor expired.")
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When its remaining credits expire; null: never."
    )
    unit_cost = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        allow_null=True,
        help_text="What one of its credits cost, in the organisation's currency (exact).",
    )
    live = serializers.BooleanField(help_text="Whether credits remain in it.")

    class Meta:
        model = Lot
        fields = [
            "id",
            "source",
            "quantity",
            "remaining",
            "expires_at",
            "unit_cost",
            "reference",
            "live",
            "created_at",
        ]
