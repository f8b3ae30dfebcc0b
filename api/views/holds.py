"""API: holds, credits set aside for work that runs later (S2): create, read, capture all or
part (the rest goes back), release. Each hold resolves once; an expired one released itself."""

import django_filters
from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from api.pagination import CURSOR_NOTE
from api.schema import problems
from api.serializers.consumptions import ConsumptionSerializer
from api.serializers.holds import CaptureSerializer, HoldRequestSerializer, HoldSerializer
from api.views.base import ApiView
from api.views.consumptions import IdFilter
from credits import services
from credits.models import Hold, HoldStatus


class HoldFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=HoldStatus.choices, help_text="Only these.")
    client = IdFilter(field_name="client_id", help_text="Only this client's holds.")

    class Meta:
        model = Hold
        fields: list[str] = []


class _Scoped(ApiView):
    serializer_class = HoldSerializer
    queryset = Hold.objects.none()  # the model, for the schema; see get_queryset

    def get_queryset(self) -> QuerySet[Hold]:
        return Hold.objects.filter(
            organisation=self.organisation, client__in=self.clients()
        ).select_related("consumption")


class HoldList(mixins.ListModelMixin, _Scoped):
    filterset_class = HoldFilter

    @extend_schema(
        operation_id="holds_list",
        summary="List holds",
        description=CURSOR_NOTE,
        responses={200: HoldSerializer(many=True), **problems("validation_error", "not_found")},
        tags=["holds"],
    )
    def get(self, request):
        return self.list(request)

    @extend_schema(
        operation_id="holds_create",
        summary="Hold credits for an action that runs later",
        description=(
            "Prices the action and sets its credits aside: they leave what is available now "
            "and count against the client's assigned credits and limit as a consumption "
            "would, so the later capture cannot fall short. Capture or release it before "
            "`expires_at`; after that it releases itself. Send an `Idempotency-Key`."
        ),
        request=HoldRequestSerializer,
        responses={
            201: HoldSerializer,
            **problems(
                "insufficient_credits",
                "assignment_exhausted",
                "limit_reached",
                "pricing_error",
                "client_inactive",
                "not_found",
                write=True,
            ),
        },
        examples=[
            OpenApiExample(
                "A campaign scheduled for tomorrow",
                value={
                    "action": "sms",
                    "params": {"text": "Sale starts now", "recipients": ["FR", "BE"]},
                    "expires_at": "2025-03-15T18:00:00+01:00",
                },
                request_only=True,
            )
        ],
        tags=["holds"],
    )
    def post(self, request):
        data = self.validated(HoldRequestSerializer, now=self.now)
        reservation = services.hold_action(
            client=self.client_for(data.get("client")),
            action=data["action"],
            params=data["params"],
            expires_at=data["expires_at"],
            now=self.now,
            actor=self.actor,
            idempotency_key=self.ledger_key,
        )
        return Response(HoldSerializer(reservation).data, status=status.HTTP_201_CREATED)


class HoldDetail(_Scoped):
    pagination_class = None

    @extend_schema(
        operation_id="holds_read",
        summary="Read a hold",
        responses={200: HoldSerializer, **problems("not_found")},
        tags=["holds"],
    )
    def get(self, request, pk: int):
        return Response(HoldSerializer(get_object_or_404(self.get_queryset(), pk=pk)).data)


class HoldCapture(_Scoped):
    pagination_class = None

    @extend_schema(
        operation_id="holds_capture",
        summary="Capture a hold: spend all or part of it",
        description=(
            "Turns the hold into a consumption of `credits` (all of it by default). A smaller "
            "amount gives the rest back where it came from: the client's assigned credits, "
            "the pool, the room under its limit. More than held is a 400 "
            "`validation_error`; a hold already captured or released is a 409 "
            "`hold_not_active`, one past its expiry a 409 `hold_expired` (its credits were "
            "released)."
        ),
        request=CaptureSerializer,
        responses={
            200: ConsumptionSerializer,
            **problems("hold_not_active", "hold_expired", "not_found", write=True),
        },
        examples=[
            OpenApiExample("Part of it", value={"credits": 30}, request_only=True),
            OpenApiExample("All of it", value={}, request_only=True),
        ],
        tags=["holds"],
    )
    def post(self, request, pk: int):
        data = self.validated(CaptureSerializer)
        consumption = services.capture(
            hold=get_object_or_404(self.get_queryset(), pk=pk),
            credits=data.get("credits"),
            now=self.now,
            actor=self.actor,
        )
        return Response(ConsumptionSerializer(consumption).data)


class HoldRelease(_Scoped):
    pagination_class = None

    @extend_schema(
        operation_id="holds_release",
        summary="Release a hold, spending nothing",
        description=(
            "Gives the credits back where they came from. A hold already captured or released "
            "is a 409 `hold_not_active`, one past its expiry a 409 `hold_expired`."
        ),
        request=None,
        responses={
            200: HoldSerializer,
            **problems("hold_not_active", "hold_expired", "not_found", write=True),
        },
        tags=["holds"],
    )
    def post(self, request, pk: int):
        released = services.release(
            hold=get_object_or_404(self.get_queryset(), pk=pk), now=self.now, actor=self.actor
        )
        return Response(HoldSerializer(released).data)


urlpatterns = [
    path("holds/", HoldList.as_view(), name="holds"),
    path("holds/<id:pk>/", HoldDetail.as_view(), name="hold"),
    path("holds/<id:pk>/capture/", HoldCapture.as_view(), name="hold_capture"),
    path("holds/<id:pk>/release/", HoldRelease.as_view(), name="hold_release"),
]
