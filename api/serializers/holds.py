from datetime import timedelta

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.consumptions import BIG, ActionRequest, row_id
from credits.models import Consumption, Hold

# A hold keeps credits out of what can be spent until it resolves; one left for longer than
# a year is a forgotten one, and a far-off date only risks overflowing date arithmetic.
MAX_HOLD_DURATION = timedelta(days=366)


class HoldRequestSerializer(ActionRequest):
    client = row_id(
        "The client that reserves; default the key's client, else the organisation's own."
    )
    expires_at = serializers.DateTimeField(
        help_text="When the hold releases itself if neither captured nor released: in the "
        "future, at most 366 days ahead."
    )

    def validate_expires_at(self, value):
        now = self.context["now"]
        if value <= now:
            raise serializers.ValidationError(_("A hold must expire in the future."))
        if value > now + MAX_HOLD_DURATION:
            raise serializers.ValidationError(_("A hold expires within 366 days."))
        return value


class CaptureSerializer(serializers.Serializer):
    credits = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=BIG,
        help_text="Credits to spend, at most the hold's; default all of it. The rest goes "
        "back where it came from (assigned credits or the pool).",
    )


class HoldSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="client_id")
    action = serializers.CharField(source="action_code", help_text="The action's code.")
    credits = serializers.IntegerField(help_text="Credits reserved.")
    from_assigned = serializers.IntegerField(help_text="Of which from the client's assigned.")
    from_pool = serializers.IntegerField(help_text="Of which from the pool.")
    consumption = serializers.SerializerMethodField()

    class Meta:
        model = Hold
        fields = [
            "id",
            "client",
            "action",
            "description",
            "params",
            "credits",
            "from_assigned",
            "from_pool",
            "status",
            "expires_at",
            "created_at",
            "resolved_at",
            "consumption",
        ]

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="The consumption it was captured as.")
    )
    def get_consumption(self, hold: Hold) -> int | None:
        try:
            return hold.consumption.pk
        except Consumption.DoesNotExist:
            return None
