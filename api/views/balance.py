"""API: the organisation's balance and figures (C3)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api.schema import problems
from api.serializers.balance import BalanceSerializer
from api.views.base import ApiView
from credits.models import CreditPool


class BalanceView(ApiView):
    serializer_class = BalanceSerializer
    pagination_class = None

    @extend_schema(
        operation_id="balance_read",
        summary="The organisation's balance",
        description="Read fresh at every call: a consumption made a moment ago shows.",
        responses={200: BalanceSerializer, **problems()},
        tags=["balance"],
    )
    def get(self, request):
        pool = CreditPool.objects.filter(organisation=self.organisation).values(
            "balance", "held", "assigned", "next_expiry_at"
        )
        row = pool.first() or {"balance": 0, "held": 0, "assigned": 0, "next_expiry_at": None}
        row["available"] = row["balance"] - row["held"]
        row["unassigned"] = max(row["balance"] - row["held"] - row["assigned"], 0)
        return Response(BalanceSerializer(row).data)


urlpatterns = [path("balance/", BalanceView.as_view(), name="balance")]
