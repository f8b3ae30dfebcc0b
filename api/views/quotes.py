"""API: quotes, the recap before a paid action (C5): its cost, the balance before and after,
and whether it may happen; consuming with it later charges exactly that price."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from api.schema import problems
from api.serializers.quotes import QuoteRequestSerializer, QuoteSerializer
from api.views.base import ApiView
from credits import services
from credits.models import Quote

REFUSED_EXAMPLE = {
    "id": 813,
    "client": 41,
    "action": "sms",
    "params": {"messages": 200},
    "details": {"unit_credits": 5, "units": 200},
    "credits": 1000,
    "balance_before": 980,
    "balance_after": 980,
    "allowed": False,
    "reason": "insufficient_credits",
    "message": "Not enough credits: 1000 needed, 980 available (20 short).",
    "created_at": "2025-03-14T10:00:00+01:00",
    "expires_at": "2025-03-14T10:15:00+01:00",
    "consumption": None,
}


class QuoteList(ApiView):
    serializer_class = QuoteSerializer
    pagination_class = None

    @extend_schema(
        operation_id="quotes_create",
        summary="Quote an action",
        description=(
            "Prices the action and says whether this client could spend it now, without "
            "spending anything. The quote is stored: consume with its id within 15 minutes "
            "(`expires_at`) to be charged exactly its price. A quote that is **not allowed** "
            "is still created (201): `allowed` is false and `reason` and `message` say why "
            "(`insufficient_credits`, `assignment_exhausted`, `limit_reached`, `inactive`), "
            "the recap to show before asking for more credits. An action that cannot be "
            "priced (unknown, inactive, parameters missing) is a 400 `pricing_error`."
        ),
        request=QuoteRequestSerializer,
        responses={
            201: QuoteSerializer,
            **problems("pricing_error", "not_found", write=True),
        },
        examples=[
            OpenApiExample(
                "Five SMS messages",
                value={"action": "sms", "params": {"messages": 5}},
                request_only=True,
            ),
            OpenApiExample(
                "Not allowed: a recap all the same",
                value=REFUSED_EXAMPLE,
                response_only=True,
                status_codes=["201"],
            ),
        ],
        tags=["quotes"],
    )
    def post(self, request):
        data = self.validated(QuoteRequestSerializer)
        quote = services.quote(
            client=self.client_for(data.get("client")),
            action=data["action"],
            params=data["params"],
            now=self.now,
            actor=self.actor,
        )
        return Response(QuoteSerializer(quote).data, status=status.HTTP_201_CREATED)


class QuoteDetail(ApiView):
    serializer_class = QuoteSerializer
    queryset = Quote.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="quotes_read",
        summary="Read a quote",
        description="As it was made; `consumption` is set once it has been used.",
        responses={200: QuoteSerializer, **problems("not_found")},
        tags=["quotes"],
    )
    def get(self, request, pk: int):
        quote = get_object_or_404(
            Quote.objects.filter(
                organisation=self.organisation, client__in=self.clients()
            ).select_related("action"),
            pk=pk,
        )
        return Response(QuoteSerializer(quote).data)


urlpatterns = [
    path("quotes/", QuoteList.as_view(), name="quotes"),
    path("quotes/<id:pk>/", QuoteDetail.as_view(), name="quote"),
]
