from rest_framework import serializers


class BalanceSerializer(serializers.Serializer):
    balance = serializers.IntegerField(help_text="Credits the organisation holds.")
    held = serializers.IntegerField(help_text="Reserved by active holds for later work.")
    assigned = serializers.IntegerField(help_text="Assigned to clients and not yet spent.")
    unassigned = serializers.IntegerField(help_text="Waiting to be assigned.")
    available = serializers.IntegerField(help_text="What can be spent now: balance − held.")
    next_expiry_at = serializers.DateTimeField(
        allow_null=True, help_text="When credits next expire, if any do."
    )
