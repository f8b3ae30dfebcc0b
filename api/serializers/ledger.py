"""Ledger entries over the API: every change of a figure, immutable (X1, B5)."""

from rest_framework import serializers

from credits.models import EntryKind, LedgerEntry


def _link(name: str, what: str) -> serializers.IntegerField:
    return serializers.IntegerField(source=f"{name}_id", allow_null=True, help_text=what)


class LedgerEntrySerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=EntryKind.choices)
    credits = serializers.IntegerField(help_text="The change of the balance (+ in, − out).")
    held_delta = serializers.IntegerField(help_text="The change of the credits held.")
    assigned_delta = serializers.IntegerField(help_text="The change of the assigned credits.")
    used_delta = serializers.IntegerField(help_text="The change of the client's limit counter.")
    balance_after = serializers.IntegerField(help_text="The organisation's balance after it.")
    lot = _link("lot", "The lot its credits came from or went to.")
    client = _link("client", "The client it concerns.")
    consumption = _link("consumption", "The consumption it paid for.")
    hold = _link("hold", "The hold it placed, captured or released.")
    assignment = _link("assignment", "The assignment it moved.")

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "credits",
            "held_delta",
            "assigned_delta",
            "used_delta",
            "balance_after",
            "lot",
            "client",
            "consumption",
            "hold",
            "assignment",
            "reference",
            "created_at",
        ]
