"""API: consumptions, the spend of credits on a priced action (C1, C4, C5, X1)."""

from datetime import UTC

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from api.pagination import CURSOR_NOTE, RecentFirst
from api.schema import problems
from api.serializers.consumptions import (
    BIG,
    ConsumeSerializer,
    ConsumptionDetailSerializer,
    ConsumptionSerializer,
)
from api.views.base import ApiView
from clients.models import Membership
from credits import services
from credits.models import Consumption, Quote
from credits.selectors.consumption import consumption_detail


class IdFilter(django_filters.Filter):
    """An id in a query string: a whole number in range, else a 400 (never a database
    overflow)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIG)
        super().__init__(*args, **kwargs)


class _MomentField(IsoDateTimeField):
    """An ISO 8601 moment, turned to UTC here so that a date at the edge of the calendar with
    an offset is a 400, not an overflow in the database adapter."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:
            raise forms.ValidationError(_("This moment is out of range.")) from error


class MomentFilter(django_filters.IsoDateTimeFilter):
    field_class = _MomentField


class ConsumptionFilter(django_filters.FilterSet):
    client = IdFilter(field_name="client_id", help_text="Only this client's consumptions.")
    action = django_filters.CharFilter(
        field_name="action_code", max_length=64, help_text="Only this action's (its code)."
    )
    created_after = MomentFilter(
        field_name="created_at", lookup_expr="gte", help_text="Made at or after (ISO 8601)."
    )
    created_before = MomentFilter(
        field_name="created_at", lookup_expr="lt", help_text="Made before (ISO 8601)."
    )
    hold = IdFilter(field_name="hold_id", help_text="The consumption that captured this hold.")

    class Meta:
        model = Consumption
        fields: list[str] = []


def as_member(view: ApiView) -> Membership:
    """The key seen as a member of its organisation, tied to the key's client when the key is
    tied, so that the portal's selectors scope it exactly as they scope a person (X5).
    Never saved."""
    return Membership(organisation=view.organisation, client_id=view.api_key.client_id)


class ConsumptionList(mixins.ListModelMixin, ApiView):
    pagination_class = RecentFirst
    serializer_class = ConsumptionSerializer
    queryset = Consumption.objects.none()  # the model, for the schema; see get_queryset
    filterset_class = ConsumptionFilter

    def get_queryset(self) -> QuerySet[Consumption]:
        return Consumption.objects.filter(organisation=self.organisation, client__in=self.clients())

    @extend_schema(
        operation_id="consumptions_list",
        summary="List consumptions",
        description=CURSOR_NOTE + " A key tied to a client sees that client's only.",
        responses={
            200: ConsumptionSerializer(many=True),
            **problems("validation_error", "not_found"),
        },
        tags=["consumptions"],
    )
    def get(self, request):
        return self.list(request)

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
                value={"action": "ai_summary", "params": {}},
                request_only=True,
            ),
            OpenApiExample(
                "An SMS to two countries",
                value={"action": "sms", "params": {"text": "Hello", "recipients": ["FR", "BE"]}},
                request_only=True,
            ),
            OpenApiExample(
                "At a quote's price",
                value={"action": "sms", "quote": 812},
                request_only=True,
            ),
        ],
        tags=["consumptions"],
    )
    def post(self, request):
        data = self.validated(ConsumeSerializer)
        quote = None
        if "quote" in data:
            # A quote of a client the key does not act for is not found, as its id would be.
            quote = get_object_or_404(
                Quote.objects.filter(
                    organisation=self.organisation, client__in=self.clients()
                ).select_related("client__organisation"),
                pk=data["quote"],
            )
        if quote is not None and "client" not in data:
            client = quote.client  # the quote says who spends
        else:
            client = self.client_for(data.get("client"))
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


class ConsumptionDetail(ApiView):
    serializer_class = ConsumptionDetailSerializer
    queryset = Consumption.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="consumptions_read",
        summary="Read a consumption and the lots that paid",
        description=(
            "`paid_by` lists each lot the credits came from, soonest expiry first (a plan's "
            "allowance before purchased credits), with what was taken from it."
        ),
        responses={200: ConsumptionDetailSerializer, **problems("not_found")},
        tags=["consumptions"],
    )
    def get(self, request, pk: int):
        detail = consumption_detail(as_member(self), pk) if pk <= BIG else None
        if detail is None:
            raise Http404
        serializer = ConsumptionDetailSerializer(detail.consumption, context={"detail": detail})
        return Response(serializer.data)


urlpatterns = [
    path("consumptions/", ConsumptionList.as_view(), name="consumptions"),
    path("consumptions/<id:pk>/", ConsumptionDetail.as_view(), name="consumption"),
]
