"""API: the ledger, every change of the organisation's figures (X1, B5).

Entries are immutable; summed they give every stored figure. The ledger is the whole
organisation's: a key tied to a client (B7) gets `client_not_allowed`."""

from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins

from api.pagination import PAGES_NOTE, RecentFirst
from api.schema import problems
from api.serializers.ledger import LedgerEntrySerializer
from api.views.accounts_filters import BoundedDateTimeFilter, IdFilter
from api.views.base import ApiView
from api.views.lots import OrganisationWide
from credits.models import EntryKind, LedgerEntry

ENTRY_EXAMPLE = {
    "id": 9071,
    "kind": "debit",
    "credits": -6,
    "held_delta": 0,
    "assigned_delta": 0,
    "used_delta": 6,
    "balance_after": 3114,
    "lot": 7,
    "client": 42,
    "consumption": 5120,
    "hold": None,
    "assignment": None,
    "reference": "",
    "created_at": "2025-04-02T14:05:00+02:00",
}


class LedgerFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=EntryKind.choices, help_text="Only entries of this kind.")
    client = IdFilter(field_name="client_id", help_text="Only entries about this client.")
    consumption = IdFilter(
        field_name="consumption_id", help_text="The entries of one consumption: the lots it drew."
    )
    lot = IdFilter(field_name="lot_id", help_text="The entries that moved this lot's credits.")
    created_after = BoundedDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Entries made at or after this time."
    )
    created_before = BoundedDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Entries made before this time."
    )

    class Meta:
        model = LedgerEntry
        fields: list[str] = []


class LedgerList(OrganisationWide, mixins.ListModelMixin, ApiView):
    pagination_class = RecentFirst
    serializer_class = LedgerEntrySerializer
    queryset = LedgerEntry.objects.none()
    filterset_class = LedgerFilter

    def get_queryset(self):
        return LedgerEntry.objects.filter(organisation=self.organisation)

    @extend_schema(
        operation_id="ledger_list",
        summary="List the ledger entries",
        description=(
            "Newest first, each with its changes of the balance, held, assigned and limit "
            "counters, and the balance after it. Keys of the whole organisation only "
            "(`client_not_allowed` for a key tied to a client)."
        )
        + PAGES_NOTE,
        responses={
            200: LedgerEntrySerializer,
            **problems("validation_error", "client_not_allowed"),
        },
        examples=[OpenApiExample("A debit", value=ENTRY_EXAMPLE, response_only=True)],
        tags=["ledger"],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


urlpatterns = [path("ledger/", LedgerList.as_view(), name="ledger")]
