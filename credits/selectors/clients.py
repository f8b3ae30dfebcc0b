"""Credit reads of the client pages: every visible client's figures for the list in a fixed
number of queries, and one client's credits tab (G4, G5, D4, S5).

Figures come from the stored counters (`ClientAccount`) where one exists, and from grouped
sums otherwise; nothing here writes, so a monthly window that the job has not rolled yet is
read as the debit would see it (the window restarts from the client's active holds)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from clients.models import Client, ClientKind, Membership
from clients.selectors import visible_clients
from credits.models import (
    Assignment,
    AssignmentKind,
    ClientAccount,
    Consumption,
    CreditPool,
    EntryKind,
    Hold,
    HoldStatus,
    LedgerEntry,
    LimitKind,
)
from credits.periods import monthly_window_restart
from credits.selectors.activity import compact_params

LATEST_CONSUMPTIONS = 20


@dataclass(frozen=True)
class LimitFigures:
    """A client's spending limit on what it draws from the pool, and its window (D4)."""

    kind: str
    limit: int | None
    used: int

    @property
    def has_limit(self) -> bool:
        return self.kind != LimitKind.NONE

    @property
    def left(self) -> int | None:
        if not self.has_limit:
            return None
        return max(self.limit - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.has_limit and self.left == 0


def _sum(name: str, **filters: object) -> Coalesce:
    return Coalesce(Sum(name, filter=Q(**filters) if filters else None), 0)


def _window_is_stale(account: ClientAccount, now: datetime, time_zone: str) -> bool:
    """A monthly window from an earlier month: the next debit (or the monthly job) starts a
    new one, from what the client's active holds reserve (`_held_from_pool`, the batched
    `credits.periods.held_from_pool`)."""
    restart = monthly_window_restart(
        limit_kind=account.limit_kind,
        window_start=account.window_start,
        now=now,
        time_zone=time_zone,
    )
    return restart is not None


def _held_from_pool(client_ids: Iterable[int]) -> dict[int, int]:
    rows = (
        Hold.objects.filter(client_id__in=list(client_ids), status=HoldStatus.ACTIVE)
        .values("client_id")
        .annotate(total=_sum("from_pool"))
    )
    return {row["client_id"]: row["total"] for row in rows}


def _limits(
    accounts: list[ClientAccount], now: datetime, time_zone: str
) -> dict[int, LimitFigures]:
    stale = [a.pk for a in accounts if _window_is_stale(a, now, time_zone)]
    carried = _held_from_pool(stale) if stale else {}
    return {
        account.pk: LimitFigures(
            kind=account.limit_kind,
            limit=account.limit,
            used=carried.get(account.pk, 0) if account.pk in stale else account.used,
        )
        for account in accounts
    }


@dataclass(frozen=True)
class ClientRow:
    client: Client
    assigned_left: int  # assigned credits not yet spent, held or expired
    used: int  # every credit the client consumed, from assigned credits and from the pool
    uses: int
    limit: LimitFigures
    draws_from_pool: bool

    @property
    def is_own(self) -> bool:
        return self.client.kind == ClientKind.OWN


@dataclass(frozen=True)
class ClientList:
    rows: list[ClientRow]
    unassigned: int  # the pool's credits waiting to be assigned (G4)


def list_order(clients: QuerySet[Client]) -> QuerySet[Client]:
    """The own client first (G1), inactive clients last, each part by name."""
    own_first = Case(
        When(kind=ClientKind.OWN, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return clients.order_by(own_first, "-is_active", "name")


def client_list(clients: QuerySet[Client], *, now: datetime) -> ClientList:
    """The rows of the client list for these (already visible) clients: three queries
    whatever their number (four when a monthly window is due to roll), because the used
    credits are summed per client in one grouped query."""
    found = list(list_order(clients).select_related("account"))
    if not found:
        return ClientList(rows=[], unassigned=0)
    organisation = found[0].organisation_id
    used = {
        row["client_id"]: (row["total"], row["uses"])
        for row in Consumption.objects.filter(
            organisation_id=organisation, client_id__in=clients.order_by().values("pk")
        )
        .values("client_id")
        .annotate(total=_sum("credits"), uses=Count("pk"))
        .order_by()
    }
    pool = CreditPool.objects.filter(pk=organisation).select_related("organisation").get()
    accounts = [c.account for c in found]
    limits = _limits(accounts, now, pool.organisation.time_zone)
    rows = [
        ClientRow(
            client=client,
            assigned_left=client.account.assigned_remaining,
            used=used.get(client.pk, (0, 0))[0],
            uses=used.get(client.pk, (0, 0))[1],
            limit=limits[client.pk],
            draws_from_pool=client.account.draws_from_pool,
        )
        for client in found
    ]
    return ClientList(rows=rows, unassigned=pool.unassigned)


def visible_client_list(membership: Membership, *, now: datetime) -> ClientList:
    """The list a person may see: all the organisation's clients, or the one a tied member
    is tied to (clients.roles)."""
    return client_list(visible_clients(membership), now=now)


@dataclass(frozen=True)
class ClientSummary:
    """What the assign, take-back and limit forms show beside their fields."""

    client: Client
    assigned_left: int
    unassigned: int
    reversible: bool  # the policy lets assigned credits be taken back (G3)
    limit: LimitFigures
    draws_from_pool: bool

    @property
    def is_own(self) -> bool:
        return self.client.kind == ClientKind.OWN


def client_summary(client: Client, *, now: datetime) -> ClientSummary:
    account = ClientAccount.objects.get(pk=client.pk)
    pool = CreditPool.objects.select_related("organisation").get(pk=client.organisation_id)
    return ClientSummary(
        client=client,
        assigned_left=account.assigned_remaining,
        unassigned=pool.unassigned,
        reversible=pool.assignments_reversible,
        limit=_limits([account], now, pool.organisation.time_zone)[client.pk],
        draws_from_pool=account.draws_from_pool,
    )


@dataclass(frozen=True)
class ConsumptionLine:
    consumption: Consumption
    params: str  # a one-line summary of the parameters


@dataclass(frozen=True)
class ClientCredits:
    """Everything assigned to and used by one client (G5).

    assigned − taken_back − used_from_assigned − expired − held_from_assigned = assigned_left:
    the stored counter and the history it comes from, side by side."""

    summary: ClientSummary
    assigned: int
    taken_back: int
    used: int
    used_from_assigned: int
    used_from_pool: int
    uses: int
    expired: int  # assigned credits that lapsed with their lots (S8)
    held_from_assigned: int
    held_from_pool: int
    assignments: list[Assignment] = field(default_factory=list)
    latest: list[ConsumptionLine] = field(default_factory=list)

    @property
    def assigned_net(self) -> int:
        return self.assigned - self.taken_back

    @property
    def more_consumptions(self) -> bool:
        return self.uses > len(self.latest)


def client_credits(client: Client, *, now: datetime) -> ClientCredits:
    """The client page's credits section, in a fixed number of queries."""
    assignments = Assignment.objects.filter(client=client)
    moved = assignments.aggregate(
        assigned=_sum("credits", kind=AssignmentKind.ASSIGN),
        taken_back=_sum("credits", kind=AssignmentKind.UNASSIGN),
    )
    consumptions = Consumption.objects.filter(client=client)
    spent = consumptions.aggregate(
        used=_sum("credits"),
        from_assigned=_sum("from_assigned"),
        from_pool=_sum("from_pool"),
        uses=Count("pk"),
    )
    expired = LedgerEntry.objects.filter(client=client, kind=EntryKind.EXPIRY).aggregate(
        total=_sum("assigned_delta")
    )["total"]
    held = Hold.objects.filter(client=client, status=HoldStatus.ACTIVE).aggregate(
        from_assigned=_sum("from_assigned"), from_pool=_sum("from_pool")
    )
    latest = consumptions.select_related("actor").order_by("-created_at", "-pk")[
        :LATEST_CONSUMPTIONS
    ]
    return ClientCredits(
        summary=client_summary(client, now=now),
        assigned=moved["assigned"],
        taken_back=moved["taken_back"],
        used=spent["used"],
        used_from_assigned=spent["from_assigned"],
        used_from_pool=spent["from_pool"],
        uses=spent["uses"],
        expired=-expired,
        held_from_assigned=held["from_assigned"],
        held_from_pool=held["from_pool"],
        assignments=list(assignments.select_related("actor").order_by("-created_at", "-pk")),
        latest=[ConsumptionLine(c, compact_params(c.params)) for c in latest],
    )
