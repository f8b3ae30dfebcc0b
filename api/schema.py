"""What the OpenAPI schema says about errors: one problem+json shape, and for each stable
code its status and an example, so every operation lists the refusals it can answer."""

from collections import defaultdict

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

from api.problems import CONTENT_TYPE, TITLES, TYPE_PREFIX


class ProblemSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="A URN naming the code.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(help_text="A sentence for people, in the request's language.")
    instance = serializers.CharField(help_text="The path that answered.")
    code = serializers.CharField(help_text="Stable; branch on it.")
    needed = serializers.IntegerField(required=False)
    available = serializers.IntegerField(required=False)
    shortfall = serializers.IntegerField(required=False)
    limit = serializers.IntegerField(required=False)
    retry_after = serializers.IntegerField(required=False)
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field name → messages (validation_error).",
    )


# code → (status, example detail, figures)
CODES: dict[str, tuple[int, str, dict]] = {
    "validation_error": (400, "The request is not valid: credits: Ensure this value is…", {}),
    "malformed_request": (400, "JSON parse error.", {}),
    "pricing_error": (400, "Unknown action “sms”.", {}),
    "invalid_request": (400, "The request is not valid.", {}),
    "unauthenticated": (401, "This API key is not valid.", {}),
    "insufficient_credits": (
        402,
        "Not enough credits: 120 needed, 100 available (20 short).",
        {"needed": 120, "available": 100, "shortfall": 20},
    ),
    "assignment_exhausted": (
        402,
        "Not enough credits assigned to this client: 50 needed, 30 assigned (20 short).",
        {"needed": 50, "available": 30, "shortfall": 20},
    ),
    "limit_reached": (
        402,
        "Spending limit reached: 40 credits needed from the pool, 10 left of the limit of 500.",
        {"needed": 40, "available": 10, "shortfall": 30, "limit": 500},
    ),
    "payment_declined": (402, "The card was declined.", {}),
    "forbidden": (403, "You do not have permission to perform this action.", {}),
    "read_only_key": (403, "This API key may only read; create a read-and-write key to write.", {}),
    "client_not_allowed": (403, "This API key acts for one client only.", {}),
    "not_found": (404, "Not found.", {}),
    "idempotency_conflict": (
        409,
        "This Idempotency-Key was used with another request body; use a new key.",
        {},
    ),
    "request_in_progress": (409, "A request with this Idempotency-Key is still running.", {}),
    "quote_expired": (409, "This quote expired at 14:05; ask for a new one.", {}),
    "quote_used": (409, "This quote was already used.", {}),
    "quote_mismatch": (409, "This quote was made for another action or other parameters.", {}),
    "hold_not_active": (409, "This hold is already captured.", {}),
    "hold_expired": (409, "This hold expired; its credits were released.", {}),
    "client_inactive": (409, "This client is inactive.", {}),
    "not_reassignable": (409, "These credits cannot be taken back.", {}),
    "own_client": (409, "The organisation's own client cannot be deactivated.", {}),
    "client_name_taken": (409, "The name “Globex” is already used in this organisation.", {}),
    "rate_limited": (429, "Request was throttled. Expected available in 12 seconds.", {}),
    "out_of_bounds": (
        400,
        "One purchase is limited to 10,000,000.00 EUR; contact us for larger orders.",
        {},
    ),
    "billing_refused": (400, "Enterprise terms are not open to this organisation.", {}),
}
COMMON = ("unauthenticated", "rate_limited")
COMMON_WRITE = (
    "validation_error",
    "malformed_request",
    "read_only_key",
    "idempotency_conflict",
    "request_in_progress",
)


def problems(*codes: str, write: bool = False) -> dict[tuple[int, str], OpenApiResponse]:
    """`responses=` entries for these codes (plus the ones every operation can answer)."""
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in (*codes, *COMMON, *(COMMON_WRITE if write else ())):
        by_status[CODES[code][0]].append(code)
    return {
        (status, CONTENT_TYPE): OpenApiResponse(
            response=ProblemSerializer,
            description=f"{TITLES.get(status, 'Error')}: " + ", ".join(f"`{c}`" for c in found),
            examples=[
                OpenApiExample(
                    code,
                    value={
                        "type": TYPE_PREFIX + code,
                        "title": TITLES.get(status, "Error"),
                        "status": status,
                        "detail": CODES[code][1],
                        "instance": "/api/v1/…",
                        "code": code,
                        **CODES[code][2],
                    },
                    media_type=CONTENT_TYPE,
                    response_only=True,
                    status_codes=[str(status)],
                )
                for code in dict.fromkeys(found)
            ],
        )
        for status, found in sorted(by_status.items())
    }
