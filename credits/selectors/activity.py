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
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from clients.models import Membership
from credits.models import (
    BillableAction,
    Consumption,
    EntryKind,
    LedgerEntry,
    LotSource,
)

PAGE_SIZE = 50
# Entries read per query for a page: a page is usually one read (most operations write one
# or two entries); an operation with more (an expiry shared by many clients) reads on.
PAGE_CHUNK = 80
EXPORT_CHUNK = 2000

ENTRY = 0  # rank of a ledger entry in the activity's order
FREE = 1  # rank of a free consumption: above the entries of the same instant


class ActivityKind:
    """The `kind` filter's values (other pages link with them; keep the names)."""

    CONSUMPTION = "consumption"
    PURCHASE = "purchase"
    ALLOWANCE = "allowance"
    PROMOTION = "promotion"
    ASSIGNMENT = "assignment"
    EXPIRY = "expiry"
    ADJUSTMENT = "adjustment"
    HOLD = "hold"

    choices = [
        (CONSUMPTION, pgettext_lazy("activity filter", "Consumptions")),
        (PURCHASE, pgettext_lazy("activity filter", "Purchases")),
        (ALLOWANCE, pgettext_lazy("activity filter", "Plan allowances")),
        (PROMOTION, pgettext_lazy("activity filter", "Promotions")),
        (ASSIGNMENT, pgettext_lazy("activity filter", "Assignments")),
        (EXPIRY, pgettext_lazy("activity filter", "Expiries")),
        (ADJUSTMENT, pgettext_lazy("activity filter", "Adjustments")),
        (HOLD, pgettext_lazy("activity filter", "Holds")),
    ]


# Each kind is an explicit list of entry kinds (plus the lot's source for grants), so that a
# partial index on the rare kinds can serve them later.
_GRANT = EntryKind.GRANT
KIND_FILTERS: dict[str, Q] = {
    ActivityKind.CONSUMPTION: Q(kind__in=[EntryKind.DEBIT, EntryKind.CAPTURE]),
    ActivityKind.PURCHASE: Q(kind__in=[_GRANT], lot__source=LotSource.PURCHASE)
    | Q(kind__in=[EntryKind.REVOCATION]),
    ActivityKind.ALLOWANCE: Q(kind__in=[_GRANT], lot__source=LotSource.PLAN_ALLOWANCE),
    ActivityKind.PROMOTION: Q(kind__in=[_GRANT], lot__source=LotSource.PROMOTION),
    ActivityKind.ASSIGNMENT: Q(kind__in=[EntryKind.ASSIGN, EntryKind.UNASSIGN]),
    ActivityKind.EXPIRY: Q(kind__in=[EntryKind.EXPIRY, EntryKind.EXTENSION]),
    ActivityKind.ADJUSTMENT: Q(kind__in=[EntryKind.ADJUSTMENT])
    | Q(kind__in=[_GRANT], lot__source=LotSource.ADJUSTMENT),
    ActivityKind.HOLD: Q(kind__in=[EntryKind.HOLD, EntryKind.RELEASE, EntryKind.HOLD_EXPIRY]),
}

# Entry kinds whose operation may write several entries, and what ties them together: the
# consumption (a debit or capture paid by several lots), or the instant (an expiry run over
# several lots and clients, the lots a purchase extended, a negative adjustment over lots).
_CONSUMPTION_KINDS = (EntryKind.DEBIT, EntryKind.CAPTURE)
_INSTANT_KINDS = (EntryKind.EXPIRY, EntryKind.EXTENSION, EntryKind.ADJUSTMENT)

KIND_LABELS = {
    EntryKind.DEBIT: pgettext_lazy("activity kind", "Consumption"),
    EntryKind.CAPTURE: pgettext_lazy("activity kind", "Consumption"),
    EntryKind.HOLD: pgettext_lazy("activity kind", "Hold placed"),
    EntryKind.RELEASE: pgettext_lazy("activity kind", "Hold released"),
    EntryKind.HOLD_EXPIRY: pgettext_lazy("activity kind", "Hold expired"),
    EntryKind.ASSIGN: pgettext_lazy("activity kind", "Assigned"),
    EntryKind.UNASSIGN: pgettext_lazy("activity kind", "Taken back"),
    EntryKind.EXPIRY: pgettext_lazy("activity kind", "Expired"),
    EntryKind.EXTENSION: pgettext_lazy("activity kind", "Expiry extended"),
    EntryKind.LIMIT_RESET: pgettext_lazy("activity kind", "Spending limit reset"),
    EntryKind.ADJUSTMENT: pgettext_lazy("activity kind", "Adjustment"),
    EntryKind.REVOCATION: pgettext_lazy("activity kind", "Purchase cancelled"),
}
GRANT_LABELS = {
    LotSource.PURCHASE: pgettext_lazy("activity kind", "Purchase"),
    LotSource.PLAN_ALLOWANCE: pgettext_lazy("activity kind", "Plan allowance"),
    LotSource.PROMOTION: pgettext_lazy("activity kind", "Promotion"),
    LotSource.ADJUSTMENT: pgettext_lazy("activity kind", "Adjustment lot"),
}
SOURCE_LABELS = dict(LotSource.choices)

# What pricing adds to a consumption's parameters (credits.pricing): shown as how the price
# was computed, not as parameters the person chose.
PRICING_KEYS = ("units", "unit_credits", "segments", "encoding", "characters", "recipients")
PRICING_LABELS = {
    "units": pgettext_lazy("pricing detail", "Units"),
    "unit_credits": pgettext_lazy("pricing detail", "Credits per unit"),
    "segments": pgettext_lazy("pricing detail", "Parts per message"),
    "encoding": pgettext_lazy("pricing detail", "Encoding"),
    "characters": pgettext_lazy("pricing detail", "Characters"),
    "recipients": pgettext_lazy("pricing detail", "Recipients"),
    "countries": pgettext_lazy("pricing detail", "Recipients by country"),
}
PARAMS_SHOWN = 120  # characters of the compact parameters in a row
VALUE_SHOWN = 40  # characters of one parameter's value in a row


# --- where a row stands in the activity's order ---------------------------------------------


_TOKEN = re.compile(r"^(-?\d{1,17})\.([01])\.(\d{1,18})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Position(NamedTuple):
    """(created_at, rank, id): rows are shown from the greatest down. The cursor of a page is
    the position of its last row; the next page starts just below it. (A tuple: the export
    compares one per row when it merges its two streams.)"""

    created_at: datetime
    rank: int
    id: int

    def token(self) -> str:
        micros = (self.created_at - _EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.rank}.{self.id}"

    @classmethod
    def parse(cls, text: str) -> "Position | None":
        """The position a cursor names, or None for anything that is not one (a link edited
        by hand, a probe): the page then says so instead of failing."""
        found = _TOKEN.match(text)
        if found is None:
            return None
        try:
            moment = _EPOCH + timedelta(microseconds=int(found.group(1)))
        except OverflowError:
            return None
        return cls(moment, int(found.group(2)), int(found.group(3)))


def _entries_below(position: Position) -> Q:
    """Entries after `position` in the order (the first condition lets the index range)."""
    moment = position.created_at
    if position.rank == FREE:
        return Q(created_at__lte=moment)
    return Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(id__lt=position.id))


def _free_below(position: Position) -> Q:
    moment = position.created_at
    if position.rank == ENTRY:
        return Q(created_at__lt=moment)
    return Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(id__lt=position.id))


# --- what to show ---------------------------------------------------------------------------


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


ENTRY_FIELDS = (
    "id", "created_at", "kind", "credits", "held_delta", "assigned_delta", "balance_after",
    "reference", "lot_id", "lot__source", "client_id", "client__name",
    "consumption_id", "consumption__action_code", "consumption__description",
    "consumption__params", "hold_id", "hold__action_code", "hold__description", "hold__params",
    "actor__username", "actor__first_name", "actor__last_name",
)  # fmt: skip
# Rows are tuples (a dict per entry was a fifth of an export's time): their columns by name.
(ID, CREATED, KIND, CREDITS, HELD, ASSIGNED, BALANCE, REFERENCE, LOT, SOURCE, CLIENT,
 CLIENT_NAME, CONSUMPTION, C_ACTION, C_NAME, C_PARAMS, HOLD, H_ACTION, H_NAME, H_PARAMS,
 USERNAME, FIRST_NAME, LAST_NAME) = range(len(ENTRY_FIELDS))  # fmt: skip
FREE_FIELDS = (
    "id", "created_at", "client_id", "client__name", "action_code", "description", "params",
    "balance_after", "actor__username", "actor__first_name", "actor__last_name",
)  # fmt: skip
NEWEST_FIRST = ("-created_at", "-id")


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


# --- one row per operation ------------------------------------------------------------------


def kind_label(kind: str, source: str = "") -> object:
    """A row's kind in words: a grant by its lot's source, a free consumption as any other."""
    if kind == "free":
        return KIND_LABELS[EntryKind.DEBIT]
    if kind == EntryKind.GRANT:
        return GRANT_LABELS.get(source, EntryKind.GRANT.label)
    return KIND_LABELS.get(kind, kind)


@dataclass
class LotPart:
    lot_id: int
    source: str
    credits: int  # signed, as the ledger: what the operation took from (or put in) the lot

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS.get(self.source, self.source))

    @property
    def magnitude(self) -> int:
        return abs(self.credits)


@dataclass(slots=True)
class Operation:
    """One row of the activity: the entries one operation wrote (or one free consumption)."""

    position: Position
    kind: str  # an EntryKind, or "free" for a consumption that moved no credits
    actor_username: str | None
    actor_name: str
    balance_after: int
    credits: int = 0
    held: int = 0
    assigned: int = 0
    source: str = ""  # of a grant's lot
    consumption_id: int | None = None
    hold_id: int | None = None
    action_code: str = ""
    action_name: str = ""
    params: dict = field(default_factory=dict)
    reference: str = ""
    clients: dict[int, str] = field(default_factory=dict)
    lots: dict[int, LotPart] = field(default_factory=dict)

    @property
    def created_at(self) -> datetime:
        return self.position.created_at

    @property
    def label(self) -> str:
        return str(kind_label(self.kind, self.source))

    @property
    def who(self) -> str:
        if self.actor_username is None:
            return pgettext("nobody acted", "System")
        return self.actor_name or self.actor_username

    @property
    def client_names(self) -> str:
        return ", ".join(self.clients.values())

    @property
    def magnitude(self) -> int:
        return abs(self.credits)

    @property
    def lot_parts(self) -> list[LotPart]:
        return list(self.lots.values())

    @property
    def params_text(self) -> str:
        return compact_params(self.params)

    @property
    def is_consumption(self) -> bool:
        return self.consumption_id is not None


def _actor_name(first: str | None, last: str | None) -> str:
    return f"{first or ''} {last or ''}".strip()


def _group_key(row: Sequence) -> tuple:
    kind = row[KIND]
    if kind in _CONSUMPTION_KINDS:
        return ("consumption", row[CONSUMPTION], row[CREATED])
    if kind in _INSTANT_KINDS:
        return (kind, row[CREATED])
    return ("entry", row[ID])


def _operation(rows: list[Sequence]) -> Operation:
    """The rows of one operation, newest first: the first is its last entry (balance after)."""
    first = rows[0]
    operation = Operation(
        position=Position(first[CREATED], ENTRY, rows[-1][ID]),
        kind=first[KIND],
        actor_username=first[USERNAME],
        actor_name=_actor_name(first[FIRST_NAME], first[LAST_NAME]),
        balance_after=first[BALANCE],
        source=first[SOURCE] or "" if first[KIND] == EntryKind.GRANT else "",
    )
    for row in reversed(rows):  # in the order written
        operation.credits += row[CREDITS]
        operation.held += row[HELD]
        operation.assigned += row[ASSIGNED]
        if row[CLIENT] is not None:
            operation.clients[row[CLIENT]] = row[CLIENT_NAME]
        if row[LOT] is not None:
            part = operation.lots.get(row[LOT])
            if part is None:
                part = operation.lots[row[LOT]] = LotPart(row[LOT], row[SOURCE], 0)
            part.credits += row[CREDITS]
        if row[REFERENCE] and not operation.reference:
            operation.reference = row[REFERENCE]
        if row[CONSUMPTION] is not None:
            operation.consumption_id = row[CONSUMPTION]
            operation.action_code = row[C_ACTION]
            operation.action_name = row[C_NAME] or row[C_ACTION]
            operation.params = row[C_PARAMS] or {}
        elif row[HOLD] is not None and operation.consumption_id is None:
            operation.hold_id = row[HOLD]
            operation.action_code = row[H_ACTION]
            operation.action_name = row[H_NAME] or row[H_ACTION]
            operation.params = row[H_PARAMS] or {}
    return operation


def _grouped(rows: Iterable[Sequence]) -> Iterator[Operation]:
    """Consecutive entries with the same key are one operation."""
    current: list[Sequence] = []
    key = None
    for row in rows:
        row_key = _group_key(row)
        if current and row_key != key:
            yield _operation(current)
            current = []
        key = row_key
        current.append(row)
    if current:
        yield _operation(current)


def _free_operation(row: Sequence) -> Operation:
    pk, created_at, client_id, client_name, code, name, params, balance, *actor = row
    return Operation(
        position=Position(created_at, FREE, pk),
        kind="free",
        actor_username=actor[0],
        actor_name=_actor_name(actor[1], actor[2]),
        balance_after=balance,
        consumption_id=pk,
        action_code=code,
        action_name=name or code,
        params=params or {},
        clients={client_id: client_name},
    )


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def value_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {value_text(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(value_text(item) for item in value)
    return str(value)


def compact_params(params: dict) -> str:
    """A consumption's parameters on one short line: `learners: 20, game: …`. An SMS shows
    its parts × recipients by country, not its text; pricing details are left to its page."""
    if not isinstance(params, dict) or not params:
        return ""
    if isinstance(params.get("countries"), dict) and "segments" in params:
        segments = params["segments"]
        return ngettext(
            "%(parts)s part × %(countries)s",
            "%(parts)s parts × %(countries)s",
            segments if isinstance(segments, int) else 2,
        ) % {"parts": segments, "countries": value_text(params["countries"])}
    shown = [
        f"{key}: {_shorten(value_text(value), VALUE_SHOWN)}"
        for key, value in params.items()
        if key not in PRICING_KEYS
    ]
    return _shorten(", ".join(shown), PARAMS_SHOWN)


# --- a page, its totals, the export ---------------------------------------------------------


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
        chunk = rows.filter(_entries_below(position)) if position is not None else rows
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
    operations = list(islice(_grouped(_page_entries(scope, after)), size + 1))
    free = _free_consumptions(scope)
    if free is not None:
        if after is not None:
            free = free.filter(_free_below(after))
        if len(operations) > size:
            # The page ends at or above the last of these operations: only free
            # consumptions from then on can be on it (the read stays within the page's time).
            free = free.filter(created_at__gte=operations[size - 1].created_at)
        operations += [_free_operation(row) for row in _free_rows(free)[: size + 1]]
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
    wrote several entries counts once (by its consumption, or its instant)."""
    figures = _entries(scope).aggregate(
        credits_in=Coalesce(Sum("credits", filter=Q(credits__gt=0)), 0),
        credits_out=Coalesce(Sum("credits", filter=Q(credits__lt=0)), 0),
        single=Count("id", filter=~Q(kind__in=[*_CONSUMPTION_KINDS, *_INSTANT_KINDS])),
        consumptions=Count("consumption_id", distinct=True, filter=Q(kind__in=_CONSUMPTION_KINDS)),
        **{
            f"instants_{kind}": Count("created_at", distinct=True, filter=Q(kind=kind))
            for kind in _INSTANT_KINDS
        },
    )
    free = _free_consumptions(scope)
    operations = (
        figures["single"]
        + figures["consumptions"]
        + sum(figures[f"instants_{kind}"] for kind in _INSTANT_KINDS)
        + (free.count() if free is not None else 0)
    )
    return ActivityTotals(operations, figures["credits_in"], figures["credits_out"])


def activity_operations(scope: ActivityFilter) -> Iterator[Operation]:
    """Every operation of the filtered list, newest first, from two queries read in chunks
    (flat memory, the same number of queries whatever the number of rows)."""
    entries = _grouped(_entry_rows(scope).iterator(chunk_size=EXPORT_CHUNK))
    free = _free_consumptions(scope)
    if free is None:
        return entries
    frees = (_free_operation(row) for row in _free_rows(free).iterator(chunk_size=EXPORT_CHUNK))
    return heapq.merge(entries, frees, key=lambda operation: operation.position, reverse=True)


# --- the filter form's choices --------------------------------------------------------------


def action_choices(organisation_id: int) -> list[tuple[str, str]]:
    """The organisation's actions, for the `action` filter (rate card order)."""
    actions = BillableAction.objects.filter(organisation_id=organisation_id).order_by(
        "category", "name"
    )
    return [(code, name) for code, name in actions.values_list("code", "name")]
