"""API: buying credits with the card on file or on enterprise terms (S3, D1, X3, X4).

The answer says where the money stands, as `billing.services.purchase` leaves it:
201 with the purchase when it is paid or invoiced (credits usable at once); 202 with the
purchase while the payment is being processed (the gateway did not answer in time: the money
is safe, the settle job finishes it within minutes; read the purchase again); 402
`payment_declined` when the card was refused, with the bank's reason (nothing bought).
No card number travels through the API: a card is put on file by an owner in the portal.
"""

import django_filters
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from api.schema import problems
from api.serializers.purchases import PurchaseRequestSerializer, PurchaseSerializer
from api.views.invoices import OrganisationWide
from billing import services
from billing.exceptions import PaymentDeclined
from billing.models import Purchase, PurchaseOrigin, PurchaseStatus

DONE = {PurchaseStatus.PAID, PurchaseStatus.INVOICED}
REFUSED = {PurchaseStatus.DECLINED, PurchaseStatus.FAILED, PurchaseStatus.REFUNDED}


class PurchaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PurchaseStatus.choices)

    class Meta:
        model = Purchase
        fields = ["status"]


def _refusal(purchase: Purchase) -> PaymentDeclined:
    """A recorded purchase that bought nothing, as the problem the caller gets."""
    if purchase.status == PurchaseStatus.REFUNDED:
        return PaymentDeclined(
            _("The payment could not be completed and was refunded; nothing was bought.")
        )
    return PaymentDeclined(purchase.decline_reason or _("The payment was refused."))


class PurchaseList(OrganisationWide):
    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFilter

    def get_queryset(self):
        return Purchase.objects.filter(organisation=self.organisation).select_related("invoice")

    @extend_schema(
        operation_id="purchases_list",
        summary="The organisation's purchases",
        description=(
            "Every purchase of credits or of a plan period, newest first, whoever made it "
            "(a person, this API, the automatic top-up, a renewal), with where it stands."
        ),
        responses={200: PurchaseSerializer(many=True), **problems("client_not_allowed")},
        tags=["purchases"],
    )
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PurchaseSerializer(page, many=True).data)

    @extend_schema(
        operation_id="purchases_create",
        summary="Buy credits",
        description=(
            "A package or a custom quantity, priced by the server (the organisation's list "
            "and tiers, tax included), paid with the card on file or on enterprise terms. "
            "201: paid or invoiced, the credits are usable. 202: the payment is being "
            "processed; read the purchase again in a minute. 402 `payment_declined`: nothing "
            "bought. Send an `Idempotency-Key`: a retry buys once."
        ),
        request=PurchaseRequestSerializer,
        responses={
            201: PurchaseSerializer,
            202: OpenApiResponse(
                response=PurchaseSerializer,
                description="Recorded and being paid (`charging` or `charged`).",
            ),
            **problems(
                "payment_declined",
                "out_of_bounds",
                "billing_refused",
                "client_not_allowed",
                "not_found",
                write=True,
            ),
        },
        examples=[
            OpenApiExample("A custom quantity", value={"credits": 500}, request_only=True),
            OpenApiExample(
                "A package on enterprise terms",
                value={"package": 3, "method": "enterprise_terms"},
                request_only=True,
            ),
        ],
        tags=["purchases"],
    )
    def post(self, request):
        data = self.validated(PurchaseRequestSerializer)
        package = None
        if "package" in data:
            # A package not on sale to this organisation (another list's) is not found.
            on_sale = services.price_list_for(self.organisation).packages.filter(is_active=True)
            package = get_object_or_404(on_sale, pk=data["package"])
        bought = services.purchase(
            organisation=self.organisation,
            now=self.now,
            method=data["method"],
            package=package,
            credits=data.get("credits"),
            actor=self.actor,
            idempotency_key=self.ledger_key,
            origin=PurchaseOrigin.API,
        )
        if bought.status in REFUSED:
            raise _refusal(bought)
        answer = status.HTTP_201_CREATED if bought.status in DONE else status.HTTP_202_ACCEPTED
        return Response(PurchaseSerializer(bought).data, status=answer)


class PurchaseDetail(OrganisationWide):
    serializer_class = PurchaseSerializer
    pagination_class = None

    @extend_schema(
        operation_id="purchases_read",
        summary="One purchase",
        description="Where it stands: a purchase answered 202 becomes `paid` within minutes.",
        responses={200: PurchaseSerializer, **problems("client_not_allowed", "not_found")},
        tags=["purchases"],
    )
    def get(self, request, pk: int):
        found = Purchase.objects.filter(organisation=self.organisation).select_related("invoice")
        return Response(PurchaseSerializer(get_object_or_404(found, pk=pk)).data)


urlpatterns = [
    path("purchases/", PurchaseList.as_view(), name="purchases"),
    path("purchases/<id:pk>/", PurchaseDetail.as_view(), name="purchase"),
]
