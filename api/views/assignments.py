"""API: assignments of credits to clients and their spending limits (G3, G4, S5, D4).

Moving credits between the pool and a client, and setting what a client may draw, is the
organisation's business: keys tied to a client get `client_not_allowed` (a client's limit is
the budget of its key, B7, so it must not be the key's to raise). Each route is one call of
`credits.services`; its refusals (not enough unassigned credits, credits that may not be
taken back, an inactive client) come back as problems, and nothing moves."""

from django.urls import path
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from api.schema import problems
from api.serializers.assignments import AssignmentSerializer, MoveCreditsSerializer
from api.serializers.clients import ClientSerializer, LimitSerializer
from api.views.base import ApiView
from api.views.clients import ClientFigures
from clients.models import Client
from credits import services

_MOVE_EXAMPLE = OpenApiExample(
    "120 credits for a project",
    value={"credits": 120, "reference": "PO-2025-118", "comment": "Spring campaign"},
    request_only=True,
)


class _MoveCredits(ApiView):
    serializer_class = AssignmentSerializer
    queryset = Client.objects.none()
    pagination_class = None

    def move(self, request, pk: int, service) -> Response:
        client = self.client_for(pk)
        self.refuse_tied_key()
        data = self.validated(MoveCreditsSerializer)
        assignment = service(
            organisation=self.organisation,
            client=client,
            now=self.now,
            actor=self.actor,
            idempotency_key=self.ledger_key,
            **data,
        )
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


def _move_schema(*, operation_id: str, summary: str, description: str, refusal: str):
    """Assigning and taking back are the two directions of one move: the same request,
    answer and example, and the same refusals but the one each direction has of its own."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        request=MoveCreditsSerializer,
        responses={
            201: AssignmentSerializer,
            **problems(
                "insufficient_credits",
                refusal,
                "client_not_allowed",
                "not_found",
                write=True,
            ),
        },
        examples=[_MOVE_EXAMPLE],
        tags=["clients"],
    )


class ClientAssign(_MoveCredits):
    @_move_schema(
        operation_id="clients_assign",
        summary="Assign credits to a client",
        description=(
            "Moves credits from the pool's unassigned credits to the client (G3), with a "
            "reference and a comment. More than the unassigned credits is "
            "`insufficient_credits` with the figures; an inactive client is `client_inactive`. "
            "Send an `Idempotency-Key`: a retry assigns once. Keys of the whole organisation "
            "only."
        ),
        refusal="client_inactive",
    )
    def post(self, request, pk: int):
        return self.move(request, pk, services.assign)


class ClientUnassign(_MoveCredits):
    @_move_schema(
        operation_id="clients_unassign",
        summary="Take assigned credits back from a client",
        description=(
            "Moves credits the client has not spent back to the pool's unassigned credits, "
            "where the organisation's policy allows it (`not_reassignable` otherwise: serious "
            "games never take credits back, G3). More than it has left is "
            "`insufficient_credits`. Send an `Idempotency-Key`: a retry takes back once. Keys "
            "of the whole organisation only."
        ),
        refusal="not_reassignable",
    )
    def post(self, request, pk: int):
        return self.move(request, pk, services.unassign)


class ClientLimit(ClientFigures, ApiView):
    serializer_class = ClientSerializer
    queryset = Client.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="clients_set_limit",
        summary="Set a client's spending limit",
        description=(
            "What the client may draw from the pool once its assigned credits are spent (D4, "
            "S5): no limit, a monthly limit (its used counter goes back to 0 each month) or a "
            "fixed one (never resets). Switching kind restarts the counter at 0; keeping the "
            "kind keeps it. Answers the client with its new figures. Keys of the whole "
            "organisation only."
        ),
        request=LimitSerializer,
        responses={
            200: ClientSerializer,
            **problems("client_not_allowed", "not_found", write=True),
        },
        examples=[
            OpenApiExample(
                "500 credits a month", value={"kind": "monthly", "limit": 500}, request_only=True
            ),
            OpenApiExample("No limit", value={"kind": "none"}, request_only=True),
        ],
        tags=["clients"],
    )
    def put(self, request, pk: int):
        client = self.client_for(pk)
        self.refuse_tied_key()
        data = self.validated(LimitSerializer)
        services.set_spending_limit(client=client, now=self.now, actor=self.actor, **data)
        return Response(self.render(client))


urlpatterns = [
    path("clients/<id:pk>/assignments/", ClientAssign.as_view(), name="client_assign"),
    path("clients/<id:pk>/unassignments/", ClientUnassign.as_view(), name="client_unassign"),
    path("clients/<id:pk>/limit/", ClientLimit.as_view(), name="client_limit"),
]
