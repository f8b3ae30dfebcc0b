"""API: clients, the units of the organisation that spend its credits (G1, G7, K4).

A key tied to one client (B7) sees that client only, and changes none: creating, editing and
(de)activating clients is the organisation's business, as it is the portal's owners' and
admins' (clients.roles: manage_clients). Another client's id is a 404 for it, as any id of
another organisation is for every key."""

from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from api.pagination import PAGES_NOTE
from api.schema import problems
from api.serializers.clients import (
    ClientCreateSerializer,
    ClientSerializer,
    ClientUpdateSerializer,
)
from api.views.accounts_filters import StrictBooleanFilter
from api.views.base import ApiView
from clients import services
from clients.models import Client, ClientKind
from credits.selectors import clients as credit_selectors

CLIENT_EXAMPLE = {
    "id": 42,
    "name": "Globex",
    "kind": "customer",
    "access_mode": "campus",
    "external_id": "crm-1187",
    "is_active": True,
    "created_at": "2025-03-01T09:30:00+01:00",
    "assigned_remaining": 120,
    "limit": {"kind": "monthly", "limit": 500, "used": 40, "left": 460, "draws_from_pool": True},
    "used": 1380,
    "uses": 96,
}


class ClientFilter(filters.FilterSet):
    active = StrictBooleanFilter(
        field_name="is_active", help_text="`true`: active clients only; `false`: inactive ones."
    )
    kind = filters.ChoiceFilter(choices=ClientKind.choices, help_text="Only clients of this kind.")
    external_id = filters.CharFilter(
        max_length=100, help_text="The client with this id of yours (exact match)."
    )

    class Meta:
        model = Client
        fields: list[str] = []


class ClientFigures:
    """Every client the API answers with comes with its credit figures, read through the
    client list's selector (a fixed number of queries per page, whatever its size)."""

    def rows(self, clients: list[Client]) -> list[dict]:
        if not clients:
            return []
        found = credit_selectors.client_list(
            Client.objects.filter(pk__in=[c.pk for c in clients]), now=self.now
        )
        by_id = {row.client.pk: row for row in found.rows}
        return [self._row(by_id[c.pk]) for c in clients]

    @staticmethod
    def _row(row: credit_selectors.ClientRow) -> dict:
        return {
            "client": row.client,
            "assigned_remaining": row.assigned_left,
            "limit": {
                "kind": row.limit.kind,
                "limit": row.limit.limit,
                "used": row.limit.used,
                "left": row.limit.left,
                "draws_from_pool": row.draws_from_pool,
            },
            "used": row.used,
            "uses": row.uses,
        }

    def render(self, client: Client) -> dict:
        return ClientSerializer(self.rows([client])[0]).data


class ClientList(ClientFigures, mixins.ListModelMixin, ApiView):
    serializer_class = ClientSerializer
    queryset = Client.objects.none()  # the model, for the schema; rows come from get_queryset
    filterset_class = ClientFilter

    def get_queryset(self):
        return self.clients()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ClientSerializer(self.rows(page), many=True).data)

    @extend_schema(
        operation_id="clients_list",
        summary="List the clients",
        description=(
            "Newest first, each with its credit figures. A key tied to a client lists that "
            "client only. Find a client by your own id with `?external_id=`."
        )
        + PAGES_NOTE,
        responses={200: ClientSerializer, **problems("validation_error")},
        examples=[OpenApiExample("A client", value=CLIENT_EXAMPLE, response_only=True)],
        tags=["clients"],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @extend_schema(
        operation_id="clients_create",
        summary="Create a client",
        description=(
            "A new client of the organisation's kind unless `kind` names another, with no "
            "credits assigned and no limit. The name must be unique in the organisation (a "
            "duplicate is `client_name_taken`, also when another request took it a moment "
            "ago), and so must the `external_id` when given (a `validation_error` on it). "
            "Keys of the whole organisation only: a key tied to a client gets "
            "`client_not_allowed`."
        ),
        request=ClientCreateSerializer,
        responses={
            201: ClientSerializer,
            **problems("client_not_allowed", "client_name_taken", write=True),
        },
        examples=[
            OpenApiExample(
                "A customer with your own id",
                value={"name": "Globex", "external_id": "crm-1187"},
                request_only=True,
            ),
        ],
        tags=["clients"],
    )
    def post(self, request):
        self.refuse_tied_key()
        data = self.validated(ClientCreateSerializer)
        client = services.create_client(organisation=self.organisation, **data)
        return Response(self.render(client), status=status.HTTP_201_CREATED)


class ClientDetail(ClientFigures, ApiView):
    serializer_class = ClientSerializer
    queryset = Client.objects.none()
    pagination_class = None

    @extend_schema(
        operation_id="clients_read",
        summary="Read a client",
        description="The client with its credit figures: assigned credits, limit, use.",
        responses={200: ClientSerializer, **problems("not_found")},
        examples=[OpenApiExample("A client", value=CLIENT_EXAMPLE, response_only=True)],
        tags=["clients"],
    )
    def get(self, request, pk: int):
        return Response(self.render(self.client_for(pk)))

    @extend_schema(
        operation_id="clients_update",
        summary="Rename a client, change its access or external id",
        description=(
            "Only the fields sent change. A name another client has is `client_name_taken`, "
            "an `external_id` another client has a `validation_error` on that field, and "
            "nothing changes. Keys of the whole "
            "organisation only."
        ),
        request=ClientUpdateSerializer,
        responses={
            200: ClientSerializer,
            **problems("client_not_allowed", "not_found", "client_name_taken", write=True),
        },
        examples=[
            OpenApiExample(
                "A new external id", value={"external_id": "crm-2204"}, request_only=True
            ),
        ],
        tags=["clients"],
    )
    def patch(self, request, pk: int):
        client = self.client_for(pk)
        self.refuse_tied_key()
        data = self.validated(ClientUpdateSerializer)
        services.update_client(client=client, **data)
        return Response(self.render(client))


class ClientStatus(ClientFigures, ApiView):
    """Deactivate or activate: the state asked for, so a retry changes nothing more."""

    serializer_class = ClientSerializer
    queryset = Client.objects.none()
    pagination_class = None
    active: bool

    def post(self, request, pk: int):
        client = self.client_for(pk)
        self.refuse_tied_key()
        services.set_client_active(client=client, active=self.active)
        return Response(self.render(client))


def _status_schema(*, operation_id: str, summary: str, description: str, refusals=()):
    """Deactivating and activating answer alike: no body, the client as it now is, the same
    refusals (deactivating adds `own_client`)."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        request=None,
        responses={
            200: ClientSerializer,
            **problems("client_not_allowed", "not_found", *refusals, write=True),
        },
        tags=["clients"],
    )


@extend_schema_view(
    post=_status_schema(
        operation_id="clients_deactivate",
        summary="Deactivate a client",
        description=(
            "It keeps its credits and history but spends, holds and receives nothing until it "
            "is activated again. Deactivating an inactive client changes nothing. The "
            "organisation's own client cannot be deactivated (`own_client`, G1). Keys of the "
            "whole organisation only. Send no body."
        ),
        refusals=("own_client",),
    )
)
class ClientDeactivate(ClientStatus):
    active = False


@extend_schema_view(
    post=_status_schema(
        operation_id="clients_activate",
        summary="Activate a client again",
        description=(
            "It spends again, with the credits it kept. Activating an active client changes "
            "nothing. Keys of the whole organisation only. Send no body."
        ),
    )
)
class ClientActivate(ClientStatus):
    active = True


urlpatterns = [
    path("clients/", ClientList.as_view(), name="clients"),
    path("clients/<id:pk>/", ClientDetail.as_view(), name="client"),
    path("clients/<id:pk>/deactivate/", ClientDeactivate.as_view(), name="client_deactivate"),
    path("clients/<id:pk>/activate/", ClientActivate.as_view(), name="client_activate"),
]
