"""Clients over the API (G1, G7, D4, S5, K4): what a client is, with its credit figures, and
what a caller may send to create or change one."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from clients.models import CREATABLE_KINDS, AccessMode, ClientKind
from credits.forms.fields import MAX_CREDITS
from credits.models import LimitKind

NAME_LENGTH = 200  # Client.name
EXTERNAL_ID_LENGTH = 100  # Client.external_id


class LimitSerializer(serializers.Serializer):
    """A client's spending limit on what it draws from the pool (D4, S5): read inside a
    client, and sent as is (without the counters) to `PUT clients/{id}/limit/`."""

    kind = serializers.ChoiceField(
        choices=LimitKind.choices,
        help_text=(
            "`none`; `monthly`: the used counter goes back to 0 each month (in the "
            "organisation's time zone); `fixed`: it never resets. Switching kind restarts the "
            "counter at 0."
        ),
    )
    limit = serializers.IntegerField(
        min_value=0,
        max_value=MAX_CREDITS,
        required=False,
        allow_null=True,
        help_text="Credits it may draw from the pool in the window (0: none); null for `none`.",
    )
    used = serializers.IntegerField(
        read_only=True, help_text="Drawn from the pool in the current window."
    )
    left = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="limit − used; null without a limit."
    )
    draws_from_pool = serializers.BooleanField(
        required=False,
        help_text=(
            "Whether it may draw from the unassigned pool once its assigned credits run out; "
            "unchanged when left out of a PUT (the own client always may)."
        ),
    )

    def validate(self, data: dict) -> dict:
        if data["kind"] == LimitKind.NONE:
            data["limit"] = None
        elif data.get("limit") is None:
            raise serializers.ValidationError({"limit": [_("Enter the limit in credits.")]})
        return data


class ClientSerializer(serializers.Serializer):
    """Read from `api.views.clients.ClientFigures` (the client list selector's row), so one
    client reads as the list shows it."""

    id = serializers.IntegerField(source="client.pk")
    name = serializers.CharField(source="client.name")
    kind = serializers.ChoiceField(source="client.kind", choices=ClientKind.choices)
    access_mode = serializers.ChoiceField(
        source="client.access_mode",
        choices=AccessMode.choices,
        help_text="How its learners reach the games (serious games, G7).",
    )
    external_id = serializers.CharField(
        source="client.external_id", help_text="Your own id for it; empty when none was given."
    )
    is_active = serializers.BooleanField(
        source="client.is_active", help_text="An inactive client keeps its history, spends nothing."
    )
    created_at = serializers.DateTimeField(source="client.created_at")
    assigned_remaining = serializers.IntegerField(
        help_text="Credits assigned to it, not yet spent, held or expired."
    )
    limit = LimitSerializer(help_text="Its spending limit on what it draws from the pool.")
    used = serializers.IntegerField(help_text="Every credit it ever consumed.")
    uses = serializers.IntegerField(help_text="How many consumptions it made.")


class ClientCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_LENGTH, help_text="Unique in the organisation.")
    kind = serializers.ChoiceField(
        choices=CREATABLE_KINDS,
        required=False,
        help_text="Default: the organisation's kind of client. Never `own` (G1).",
    )
    access_mode = serializers.ChoiceField(
        choices=AccessMode.choices, required=False, default=AccessMode.CAMPUS
    )
    external_id = serializers.CharField(
        max_length=EXTERNAL_ID_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Your own software's id for it; unique in the organisation when given.",
    )


class ClientUpdateSerializer(serializers.Serializer):
    """Only the fields sent change."""

    name = serializers.CharField(max_length=NAME_LENGTH, required=False)
    access_mode = serializers.ChoiceField(choices=AccessMode.choices, required=False)
    external_id = serializers.CharField(
        max_length=EXTERNAL_ID_LENGTH,
        required=False,
        allow_blank=True,
        help_text="An empty string removes it.",
    )
