"""Assignments over the API (G3, G4, S5); the spending limit is in `api.serializers.clients`."""

from rest_framework import serializers

from credits.forms.fields import MAX_CREDITS
from credits.models import Assignment, AssignmentKind

REFERENCE_LENGTH = 200  # Assignment.reference
COMMENT_LENGTH = 2000  # what the portal's form takes


class MoveCreditsSerializer(serializers.Serializer):
    credits = serializers.IntegerField(min_value=1, max_value=MAX_CREDITS)
    reference = serializers.CharField(
        max_length=REFERENCE_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="An order number, a contract, a project…",
    )
    comment = serializers.CharField(
        max_length=COMMENT_LENGTH, required=False, allow_blank=True, default=""
    )


class AssignmentSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="client_id")
    kind = serializers.ChoiceField(
        choices=AssignmentKind.choices,
        help_text="`assign`: from the pool to the client; `unassign`: taken back to the pool.",
    )

    class Meta:
        model = Assignment
        fields = ["id", "client", "kind", "credits", "reference", "comment", "created_at"]
