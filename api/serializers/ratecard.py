from rest_framework import serializers

from credits.models import ActionPrice, BillableAction, SmsRate


class ActionPriceSerializer(serializers.ModelSerializer):
    match = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The values of the table's parameters this row prices.",
    )
    credits = serializers.IntegerField(
        help_text="Its credits (per unit when the action has a unit parameter)."
    )

    class Meta:
        model = ActionPrice
        fields = ["match", "credits"]


class ActionSerializer(serializers.ModelSerializer):
    credits = serializers.IntegerField(
        help_text="Flat: the cost. Per unit: the cost of one unit. Otherwise 0."
    )
    unit_param = serializers.CharField(
        help_text="The parameter counting the units (per unit, or a table priced per unit)."
    )
    table_params = serializers.ListField(
        child=serializers.CharField(), help_text="A table's parameters its prices depend on."
    )
    extra_params = serializers.ListField(
        child=serializers.CharField(), help_text="Free-text parameters kept with each use."
    )
    active = serializers.BooleanField(
        source="is_active", help_text="An inactive action cannot be quoted or consumed."
    )
    prices = ActionPriceSerializer(many=True, help_text="A table's prices (empty for other rules).")

    class Meta:
        model = BillableAction
        fields = [
            "code",
            "name",
            "description",
            "category",
            "rule",
            "credits",
            "unit_param",
            "table_params",
            "extra_params",
            "active",
            "prices",
        ]


class SmsRateSerializer(serializers.ModelSerializer):
    country = serializers.CharField(help_text="ISO 3166 code, e.g. FR.")
    calling_code = serializers.CharField(help_text="Digits, without + or 00, e.g. 33.")
    credits_per_segment = serializers.IntegerField(
        help_text="Credits per SMS part sent to that country."
    )

    class Meta:
        model = SmsRate
        fields = ["country", "name", "calling_code", "credits_per_segment"]
