import math

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from credits.models import Consumption
from credits.selectors.ratecard import number

BIG = 2**62  # ids and counts beyond any real one: refused as validation errors, not 500s

# Bounds of an action's parameters. Pricing multiplies them (units × credits, recipients ×
# parts × rate): a number past these would price beyond what a 64-bit column stores and turn
# into a database error (a 500) instead of a clear 400. Each bound is far above real use.
MAX_PARAM_NUMBER = 10**9
MAX_PARAM_TEXT = 10_000  # a long SMS is ~1,600 characters
MAX_PARAM_ITEMS = 100_000  # recipients of one campaign (the 2.5 MB body limit comes first)
MAX_PARAM_NAMES = 50
MAX_PARAM_DEPTH = 3


def _too_big() -> str:
    return _("Numbers are at most %(num)s in absolute value.") % {"num": number(MAX_PARAM_NUMBER)}


def _check_value(value: object, depth: int) -> str | None:
    """Why a parameter's value is refused, or None. Iterative over lists, recursive only
    through nesting (bounded by MAX_PARAM_DEPTH)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if abs(value) > MAX_PARAM_NUMBER:
            return _too_big()
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > MAX_PARAM_NUMBER:
            return _too_big()
        return None
    if isinstance(value, str):
        if len(value) > MAX_PARAM_TEXT:
            return _("Texts are at most %(num)s characters.") % {"num": number(MAX_PARAM_TEXT)}
        return None
    if depth >= MAX_PARAM_DEPTH:
        return _("Parameters nest at most %(num)d levels deep.") % {"num": MAX_PARAM_DEPTH}
    if isinstance(value, list):
        if len(value) > MAX_PARAM_ITEMS:
            return _("Lists hold at most %(num)s items.") % {"num": number(MAX_PARAM_ITEMS)}
        return next((why for item in value if (why := _check_value(item, depth + 1))), None)
    if isinstance(value, dict):
        if len(value) > MAX_PARAM_NAMES:
            return _("At most %(num)d names.") % {"num": MAX_PARAM_NAMES}
        if any(len(name) > 64 for name in value):
            return _("Names are at most 64 characters.")
        return next(
            (why for item in value.values() if (why := _check_value(item, depth + 1))), None
        )
    return _("Not a JSON value.")


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "maxProperties": MAX_PARAM_NAMES,
        "description": "The action's parameters, by name.",
    }
)
class ParamsField(serializers.DictField):
    """An action's parameters as the rate card names them (units, text, recipients, ...).

    The rate card decides which names an action needs (a pricing_error says which is missing);
    this field only keeps the values within bounds that pricing cannot overflow."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        why = _check_value(value, 0)
        if why is not None:
            raise serializers.ValidationError(why)
        return value


def row_id(help_text: str, **extra) -> serializers.IntegerField:
    """An optional id in a request body: bounded, so a huge one is a 400, never a 500."""
    return serializers.IntegerField(
        required=False, min_value=1, max_value=BIG, help_text=help_text, **extra
    )


class ActionRequest(serializers.Serializer):
    """What quotes, consumptions and holds all start from: an action and its parameters."""

    action = serializers.CharField(max_length=64, help_text="The action's code on the rate card.")
    params = ParamsField(
        required=False, default=dict, help_text="The action's parameters (units, text, ...)."
    )


class ConsumeSerializer(ActionRequest):
    client = row_id(
        "The client that spends; default the quote's client when consuming a quote, "
        "else the key's client, else the organisation's own."
    )
    quote = row_id("Consume at an unexpired quote's price (its action and parameters).")


class ConsumptionSerializer(serializers.Serializer):
    """Declared field by field rather than a ModelSerializer: it answers every consumption
    the API makes, and building a ModelSerializer's fields from the model is a fifth of such
    a request's Python (bench/RESULTS.md, "API over HTTP")."""

    id = serializers.IntegerField(read_only=True)
    client = serializers.IntegerField(source="client_id")
    action = serializers.CharField(source="action_code", help_text="The action's code.")
    description = serializers.CharField(help_text="The action's name when it was consumed.")
    params = serializers.DictField(help_text="The parameters and how they were priced.")
    credits = serializers.IntegerField(help_text="Credits spent (0 for a free action).")
    from_assigned = serializers.IntegerField(help_text="Of which from the client's assigned.")
    from_pool = serializers.IntegerField(help_text="Of which from the pool.")
    hold = serializers.IntegerField(
        source="hold_id", allow_null=True, help_text="The hold it captured, if any."
    )
    created_at = serializers.DateTimeField()


class PaidBySerializer(serializers.Serializer):
    lot = serializers.IntegerField(source="lot_id", help_text="The lot the credits came from.")
    credits = serializers.IntegerField(help_text="Credits taken from that lot.")
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text="When the lot's credits expire (null: never)."
    )


class ConsumptionDetailSerializer(ConsumptionSerializer):
    """One consumption with the lots that paid for it (X1): soonest expiry first, so a
    plan's allowance goes before purchased credits."""

    quote = serializers.SerializerMethodField()
    paid_by = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="The quote it was consumed from.")
    )
    def get_quote(self, consumption: Consumption) -> int | None:
        quote = self.context["detail"].quote
        return None if quote is None else quote.pk

    @extend_schema_field(PaidBySerializer(many=True))
    def get_paid_by(self, consumption: Consumption) -> list:
        return PaidBySerializer(self.context["detail"].lots, many=True).data
