"""The activity: every movement of an organisation's credits, one row per operation (C4, X1, B5).

Rows are read from the ledger (immutable entries that, summed, give every figure), plus the
free consumptions, which move no credits and so write no entry but are operations all the
same (C1: "0 for a free action"). The entries one operation wrote share `created_at` and are
consecutive by id, so a row is a run of consecutive entries with the same link (the
consumption of a debit paid by several lots, the lot of a grant, the hold, the assignment...).

Both streams are read newest first, in the order of the (organisation|client, -created_at)
indexes, and merged on one key, `Position` = (created_at, rank, id): a free consumption ranks
above the entries of the same instant. A page's cursor is the position of its last row, so
rows written after a page was read never shift the older pages (keyset pagination), and no
page counts the whole list. Totals are separate (one aggregate), loaded after the page.
"""

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from clients.models import Membership
from credits.models import BillableAction, Consumption, LedgerEntry
from credits.models.ledger import RARE_KINDS
from credits.selectors.activity.labels import (
    INSTANT_KINDS,
    KIND_FILTERS,
    PRICING_KEYS,
    PRICING_LABELS,
    SOURCE_LABELS,
    ActivityKind,
    compact_params,
    kind_label,
    value_text,
)
from credits.selectors.activity.rows import (
    CREATED,
    ENTRY,
    ENTRY_FIELDS,
    FREE_FIELDS,
    ID,
    NEWEST_FIRST,
    LotPart,
    Operation,
    Position,
    entries_below,
    free_below,
    free_operation,
    grouped,
)
from credits.selectors.usage import Consumed, consumed_between

__all__ = [
    "KIND_FILTERS",
    "PRICING_KEYS",
    "PRICING_LABELS",
    "SOURCE_LABELS",
    "ActivityFilter",
    "ActivityKind",
    "ActivityPage",
    "ActivityTotals",
    "LotPart",
    "Operation",
    "Position",
    "action_choices",
    "activity_filter",
    "activity_operations",
    "activity_page",
    "activity_totals",
    "compact_params",
    "kind_label",
    "value_text",
]

PAGE_SIZE = 50
# Entries read per query for a page: a page is usually one read (most operations write one
# or two entries); an operation with more (an expiry shared by many clients) reads on.
PAGE_CHUNK = 80
EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class ActivityFilter:
    """What a person asked to see, already narrowed to what they may see (a tied member's
    client is always set)."""

    organisation_id: int
    time_zone: str
    client_id: int | None = None
    actor_id: int | None = None
    action_code: str = ""
    kind: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def activity_filter(
    membership: Membership,
    *,
    client: int | None = None,
    member: int | None = None,
    action: str = "",
    kind: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> ActivityFilter:
    """Dates are whole days in the organisation's time zone, both included. A member tied to
    one client sees only its entries (grants and the expiry of unassigned credits are
    nobody's client's, so not theirs); asking for another client finds nothing."""
    organisation = membership.organisation
    zone = ZoneInfo(organisation.time_zone)
    if membership.client_id is not None:
        client = membership.client_id if client in (None, membership.client_id) else 0
    if kind and kind not in KIND_FILTERS:
        raise ValueError(f"unknown kind {kind!r}")
    return ActivityFilter(
        organisation_id=organisation.pk,
        time_zone=organisation.time_zone,
        client_id=client,
        actor_id=member,
        action_code=action or "",
        kind=kind or "",
        since=datetime.combine(date_from, time.min, tzinfo=zone) if date_from else None,
        until=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=zone)
        if date_to
        else None,
    )


def _narrowed(found: QuerySet, scope: ActivityFilter) -> QuerySet:
    """The filters entries and free consumptions share (the action's differs)."""
    if scope.client_id is not None:
        found = found.filter(client_id=scope.client_id)
    if scope.actor_id is not None:
        found = found.filter(actor_id=scope.actor_id)
    if scope.since is not None:
        found = found.filter(created_at__gte=scope.since)
    if scope.until is not None:
        found = found.filter(created_at__lt=scope.until)
    return found


def _entries(scope: ActivityFilter) -> QuerySet[LedgerEntry]:
    found = _narrowed(LedgerEntry.objects.filter(organisation_id=scope.organisation_id), scope)
    if scope.action_code:
        code = scope.action_code
        found = found.filter(Q(consumption__action_code=code) | Q(hold__action_code=code))
    if scope.kind:
        found = found.filter(KIND_FILTERS[scope.kind])
    return found


def _free_consumptions(scope: ActivityFilter) -> QuerySet[Consumption] | None:
    """Consumptions of free actions (no entry), or None when the filter excludes them."""
    if scope.kind and scope.kind != ActivityKind.CONSUMPTION:
        return None
    found = Consumption.objects.filter(organisation_id=scope.organisation_id, credits=0)
    if scope.action_code:
        found = found.filter(action_code=scope.action_code)
    return _narrowed(found, scope)


def _entry_rows(scope: ActivityFilter) -> QuerySet:
    return _entries(scope).order_by(*NEWEST_FIRST).values_list(*ENTRY_FIELDS)


def _free_rows(found: QuerySet[Consumption]) -> QuerySet:
    """With the pool's balance at that moment: the balance after the latest entry written
    up to then (one index probe per row, in the same query)."""
    balance = (
        LedgerEntry.objects.filter(
            organisation_id=OuterRef("organisation_id"), created_at__lte=OuterRef("created_at")
        )
        .order_by(*NEWEST_FIRST)
        .values("balance_after")[:1]
    )
    return (
        found.annotate(
            balance_after=Coalesce(Subquery(balance), Value(0), output_field=IntegerField())
        )
        .order_by(*NEWEST_FIRST)
        .values_list(*FREE_FIELDS)
    )


@dataclass(frozen=True)
class ActivityPage:
    operations: list[Operation]
    next_cursor: str | None  # the older page's cursor; None on the last page
    is_first: bool


def _page_entries(scope: ActivityFilter, after: Position | None) -> Iterator[Sequence]:
    """Entries after `after`, read a chunk at a time (each chunk from where the last ended)."""
    rows = _entry_rows(scope)
    position = after
    while True:
        chunk = rows.filter(entries_below(position)) if position is not None else rows
        batch = list(chunk[:PAGE_CHUNK])
        yield from batch
        if len(batch) < PAGE_CHUNK:
            return
        position = Position(batch[-1][CREATED], ENTRY, batch[-1][ID])


def activity_page(
    scope: ActivityFilter, *, after: Position | None = None, size: int | None = None
) -> ActivityPage:
    """One page of operations below `after` (the first page without it), newest first. An
    operation is never cut in two: entries are read on until the next operation begins."""
    size = size or PAGE_SIZE
    operations = list(islice(grouped(_page_entries(scope, after)), size + 1))
    free = _free_consumptions(scope)
    if free is not None:
        if after is not None:
            free = free.filter(free_below(after))
        if len(operations) > size:
            # The page ends at or above the last of these operations: only free
            # consumptions from then on can be on it (the read stays within the page's time).
            free = free.filter(created_at__gte=operations[size - 1].created_at)
        operations += [free_operation(row) for row in _free_rows(free)[: size + 1]]
        operations.sort(key=lambda operation: operation.position, reverse=True)
    shown = operations[:size]
    more = len(operations) > size
    return ActivityPage(
        operations=shown,
        next_cursor=shown[-1].position.token() if more else None,
        is_first=after is None,
    )


@dataclass(frozen=True)
class ActivityTotals:
    operations: int
    credits_in: int
    credits_out: int  # negative, as in the ledger

    @property
    def net(self) -> int:
        return self.credits_in + self.credits_out

    @property
    def spent(self) -> int:
        """Credits out as a positive number, for display beside a minus sign."""
        return -self.credits_out

    @property
    def net_magnitude(self) -> int:
        return abs(self.net)


def activity_totals(scope: ActivityFilter) -> ActivityTotals:
    """Totals of the whole filtered list, counted as the rows are grouped: an operation that
    wrote several entries counts once (by its consumption, or its instant).

    Consumptions, nearly every row, are counted from the usage roll-up and a live tail
    (their entries add up to the same credits), the rest from the few entries of the rare
    kinds (`entry_org_rare_recent`): a few small queries rather than an aggregate over every
    entry."""
    consumed = Consumed(0, 0)
    if scope.kind in ("", ActivityKind.CONSUMPTION):
        consumed = consumed_between(
            scope.organisation_id,
            scope.time_zone,
            scope.since,
            scope.until,
            client_id=scope.client_id,
            action_code=scope.action_code,
            actor_id=scope.actor_id,
        )
    rare = ActivityTotals(0, 0, 0)
    if scope.kind != ActivityKind.CONSUMPTION:
        rare = _rare_totals(scope)
    return ActivityTotals(
        consumed.uses + rare.operations, rare.credits_in, rare.credits_out - consumed.credits
    )


def _rare_totals(scope: ActivityFilter) -> ActivityTotals:
    """Operations and credits of the entries that are not a consumption's: an entry is one
    operation, but an expiry, extension or adjustment run over several lots counts once."""
    figures = (
        _entries(scope)
        .filter(kind__in=RARE_KINDS)
        .aggregate(
            credits_in=Coalesce(Sum("credits", filter=Q(credits__gt=0)), 0),
            credits_out=Coalesce(Sum("credits", filter=Q(credits__lt=0)), 0),
            single=Count("id", filter=~Q(kind__in=INSTANT_KINDS)),
            **{
                f"instants_{kind}": Count("created_at", distinct=True, filter=Q(kind=kind))
                for kind in INSTANT_KINDS
            },
        )
    )
    operations = figures["single"] + sum(figures[f"instants_{kind}"] for kind in INSTANT_KINDS)
    return ActivityTotals(operations, figures["credits_in"], figures["credits_out"])


def activity_operations(scope: ActivityFilter) -> Iterator[Operation]:
    """Every operation of the filtered list, newest first, from two queries read in chunks
    (flat memory, the same number of queries whatever the number of rows)."""
    entries = grouped(_entry_rows(scope).iterator(chunk_size=EXPORT_CHUNK))
    free = _free_consumptions(scope)
    if free is None:
        return entries
    frees = (free_operation(row) for row in _free_rows(free).iterator(chunk_size=EXPORT_CHUNK))
    return heapq.merge(entries, frees, key=lambda operation: operation.position, reverse=True)


def action_choices(organisation_id: int) -> list[tuple[str, str]]:
    """The organisation's actions, for the `action` filter (rate card order)."""
    actions = BillableAction.objects.filter(organisation_id=organisation_id).order_by(
        "category", "name"
    )
    return [(code, name) for code, name in actions.values_list("code", "name")]
