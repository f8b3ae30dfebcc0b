"""Reads of credit figures shared by pages, admin and the API (always for one organisation)."""

from dataclasses import dataclass

from django.db.models import QuerySet, Sum

from clients.models import Client, Organisation
from credits.models import (
    Assignment,
    ClientAccount,
    Consumption,
    CreditPool,
    Hold,
    HoldStatus,
    LedgerEntry,
    Lot,
)


@dataclass(frozen=True)
class PoolFigures:
    balance: int
    held: int
    assigned: int

    @property
    def unassigned(self) -> int:
        """Credits waiting to be assigned (G4)."""
        return max(self.balance - self.held - self.assigned, 0)

    @property
    def available(self) -> int:
        """What can still be spent (S2): the balance less the credits held for later work."""
        return self.balance - self.held


def pool_figures(organisation: Organisation) -> PoolFigures:
    """Read fresh from the database at every call, so a page shows a debit made through the
    API a moment ago (C3)."""
    row = (
        CreditPool.objects.filter(organisation=organisation)
        .values("balance", "held", "assigned")
        .first()
    )
    if row is None:
        return PoolFigures(balance=0, held=0, assigned=0)
    return PoolFigures(**row)


def pool_of(organisation: Organisation) -> CreditPool:
    return CreditPool.objects.get(organisation=organisation)


@dataclass(frozen=True)
class ClientSummary:
    """A client's credits tab (G5): what it has, what was assigned and used, its limit."""

    client: Client
    account: ClientAccount
    assigned_total: int
    unassigned_total: int
    spent: int
    held: int


def client_summaries(organisation: Organisation) -> list[ClientSummary]:
    """One row per client, in four queries whatever the number of clients."""
    clients = list(
        Client.objects.filter(organisation=organisation).select_related("account").order_by("name")
    )
    assigned = dict(
        Assignment.objects.filter(organisation=organisation, kind="assign")
        .values_list("client_id")
        .annotate(total=Sum("credits"))
    )
    unassigned = dict(
        Assignment.objects.filter(organisation=organisation, kind="unassign")
        .values_list("client_id")
        .annotate(total=Sum("credits"))
    )
    spent = dict(
        Consumption.objects.filter(organisation=organisation)
        .values_list("client_id")
        .annotate(total=Sum("credits"))
    )
    held = dict(
        Hold.objects.filter(organisation=organisation, status=HoldStatus.ACTIVE)
        .values_list("client_id")
        .annotate(total=Sum("credits"))
    )
    return [
        ClientSummary(
            client=client,
            account=client.account,
            assigned_total=assigned.get(client.pk, 0),
            unassigned_total=unassigned.get(client.pk, 0),
            spent=spent.get(client.pk, 0),
            held=held.get(client.pk, 0),
        )
        for client in clients
    ]


def history(organisation: Organisation, client: Client | None = None) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.filter(organisation=organisation)
    if client is not None:
        entries = entries.filter(client=client)
    return entries.select_related("lot", "client", "actor").order_by("-created_at", "-pk")


def live_lots(organisation: Organisation) -> QuerySet[Lot]:
    return Lot.objects.filter(organisation=organisation, remaining__gt=0).order_by(
        "expires_at", "created_at"
    )


def active_holds(organisation: Organisation) -> QuerySet[Hold]:
    return Hold.objects.filter(organisation=organisation, status=HoldStatus.ACTIVE)
