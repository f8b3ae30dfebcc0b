"""API: the rate card (C1, C2, D2, M1, S1): what each action costs, and SMS rates by country.

Read from the database at every call: a price changed in admin a moment ago shows at once
(a cached card could answer with the old price)."""

from django.db.models import Prefetch, QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api.schema import problems
from api.serializers.ratecard import ActionSerializer, SmsRateSerializer
from api.views.base import ApiView
from credits.models import ActionPrice, BillableAction, SmsRate


class RateCard(ApiView):
    serializer_class = ActionSerializer
    queryset = BillableAction.objects.none()
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[BillableAction]:
        prices = Prefetch("prices", queryset=ActionPrice.objects.order_by("match_key"))
        return (
            BillableAction.objects.filter(organisation=self.organisation)
            .prefetch_related(prices)
            .order_by("category", "name", "code")
        )

    @extend_schema(
        operation_id="rate_card_read",
        summary="The rate card",
        description=(
            "Every action of the organisation's rate card, by category and name, each with "
            "its rule (`free`, `flat`, `per_unit`, `table`, `sms`), its credits and, for a "
            "table, its prices by parameter values. The whole card in one answer (it is "
            "short; not paginated). Inactive actions are listed with `active: false`. SMS "
            "prices are at `rate-card/sms-rates/`."
        ),
        responses={200: ActionSerializer(many=True), **problems()},
        tags=["rate card"],
    )
    def get(self, request):
        return Response(ActionSerializer(self.get_queryset(), many=True).data)


class SmsRates(ApiView):
    serializer_class = SmsRateSerializer
    queryset = SmsRate.objects.none()
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        operation_id="sms_rates_read",
        summary="SMS rates by country",
        description=(
            "Credits per SMS part for each destination country, by country code; an SMS "
            "costs its parts times its country's rate for each recipient (S1). The whole "
            "list in one answer; empty for an organisation without SMS."
        ),
        responses={200: SmsRateSerializer(many=True), **problems()},
        tags=["rate card"],
    )
    def get(self, request):
        rates = SmsRate.objects.filter(organisation=self.organisation).order_by("country")
        return Response(SmsRateSerializer(rates, many=True).data)


urlpatterns = [
    path("rate-card/", RateCard.as_view(), name="rate_card"),
    path("rate-card/sms-rates/", SmsRates.as_view(), name="sms_rates"),
]
