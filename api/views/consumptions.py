"""API: consumptions, the spend of credits on a priced action (C1, C4, C5)."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from api.schema import problems
from api.serializers.consumptions import ConsumeSerializer, ConsumptionSerializer
from api.views.base import ApiView
from credits import services
from credits.models import Quote


class ConsumptionList(ApiView):
    serializer_class = ConsumptionSerializer

    @extend_schema(
        operation_id="consumptions_create",
        summary="Consume credits on an action",
        description=(
            "Prices the action from the rate card (or takes the quote's price) and debits it "
            "at once: assigned credits first, then the pool within the client's limit, or "
            "nothing at all. Send an `Idempotency-Key`: a retry with the same key and body "
            "returns the same consumption (header `Idempotent-Replayed: true`)."
        ),
        request=ConsumeSerializer,
        responses={
            201: ConsumptionSerializer,
            **problems(
                "insufficient_credits",
                "assignment_exhausted",
                "limit_reached",
                "quote_expired",
                "quote_used",
                "quote_mismatch",
                "pricing_error",
                "client_inactive",
                "not_found",
                write=True,
            ),
        },
        examples=[
            OpenApiExample(
                "A flat action",
                value={"action": "contact_export", "params": {}},
                request_only=True,
            ),
            OpenApiExample(
                "An SMS to two countries",
                value={"action": "sms", "params": {"text": "Hello", "recipients": ["FR", "BE"]}},
                request_only=True,
            ),
        ],
        tags=["consumptions"],
    )
    def post(self, request):
        given = ConsumeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        client = self.client_for(data.get("client"))
        quote = None
        if "quote" in data:
            quote = get_object_or_404(
                Quote.objects.filter(organisation=self.organisation), pk=data["quote"]
            )
        consumption = services.consume(
            client=client,
            action=data["action"],
            params=data["params"] if "params" in request.data else None,
            quote=quote,
            now=self.now,
            actor=self.actor,
            idempotency_key=self.ledger_key,
        )
        return Response(ConsumptionSerializer(consumption).data, status=status.HTTP_201_CREATED)


urlpatterns = [path("consumptions/", ConsumptionList.as_view(), name="consumptions")]
