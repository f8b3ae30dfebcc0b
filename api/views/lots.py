"""API: lots, the blocks of credits the organisation's pool is made of, each with its source
and expiry (M1, S4, B4).

Lots belong to the organisation, not to a client: a key tied to a client (B7) gets
`client_not_allowed` here, as it does on the ledger."""

from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from api.pagination import PAGES_NOTE
from api.schema import problems
from api.serializers.lots import LotSerializer
from api.views.accounts_filters import BoundedDateTimeFilter, StrictBooleanFilter
from api.views.base import ApiView
from credits.models import Lot, LotSource

LOT_EXAMPLE = {
    "id": 7,
    "source": "purchase",
    "quantity": 5000,
    "remaining": 3120,
    "expires_at": "2027-03-01T00:00:00+01:00",
    "unit_cost": "0.0500",
    "reference": "INV-2025-0042",
    "live": True,
    "created_at": "2025-03-01T09:30:00+01:00",
}


class OrganisationWide:
    """For reads of the whole organisation: a key tied to one client may not make them."""

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        self.refuse_tied_key()


class LotFilter(filters.FilterSet):
    live = StrictBooleanFilter(
        help_text="`true`: lots with credits left; `false`: spent or expired ones."
    )
    source = filters.ChoiceFilter(choices=LotSource.choices, help_text="Only lots of this source.")
    expires_before = BoundedDateTimeFilter(
        field_name="expires_at",
        lookup_expr="lt",
        help_text="Lots expiring before this time (never-expiring lots are left out).",
    )
    expires_after = BoundedDateTimeFilter(
        field_name="expires_at",
        lookup_expr="gte",
        help_text="Lots expiring at or after this time (never-expiring lots are left out).",
    )

    class Meta:
        model = Lot
        fields: list[str] = []


class LotList(OrganisationWide, mixins.ListModelMixin, ApiView):
    serializer_class = LotSerializer
    queryset = Lot.objects.none()
    filterset_class = LotFilter

    def get_queryset(self):
        return Lot.objects.filter(organisation=self.organisation)

    @extend_schema(
        operation_id="lots_list",
        summary="List the lots",
        description=(
            "Newest first: each lot's source, original and remaining credits, and expiry. "
            "Keys of the whole organisation only (`client_not_allowed` for a key tied to a "
            "client)."
        )
        + PAGES_NOTE,
        responses={
            200: LotSerializer,
            **problems("validation_error", "client_not_allowed"),
        },
        examples=[OpenApiExample("A purchased lot", value=LOT_EXAMPLE, response_only=True)],
        tags=["lots"],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class LotDetail(OrganisationWide, ApiView):
    serializer_class = LotSerializer
    queryset = Lot.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="lots_read",
        summary="Read a lot",
        description="Keys of the whole organisation only.",
        responses={200: LotSerializer, **problems("client_not_allowed", "not_found")},
        examples=[OpenApiExample("A purchased lot", value=LOT_EXAMPLE, response_only=True)],
        tags=["lots"],
    )
    def get(self, request, pk: int):
        lot = get_object_or_404(Lot.objects.filter(organisation=self.organisation), pk=pk)
        return Response(LotSerializer(lot).data)


urlpatterns = [
    path("lots/", LotList.as_view(), name="lots"),
    path("lots/<id:pk>/", LotDetail.as_view(), name="lot"),
]
