"""Rows of the activity: where a row stands in its order (the keyset), and the run of
ledger entries that one operation wrote, grouped into one row."""

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.db.models import Q
from django.utils.translation import pgettext

from credits.models import EntryKind
from credits.selectors.activity.labels import (
    CONSUMPTION_KINDS,
    INSTANT_KINDS,
    SOURCE_LABELS,
    compact_params,
    kind_label,
)

ENTRY = 0  # rank of a ledger entry in the activity's order
FREE = 1  # rank of a free consumption: above the entries of the same instant


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


def entries_below(position: Position) -> Q:
    """Entries after `position` in the order (the first condition lets the index range)."""
    moment = position.created_at
    if position.rank == FREE:
        return Q(created_at__lte=moment)
    return Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(id__lt=position.id))


def free_below(position: Position) -> Q:
    moment = position.created_at
    if position.rank == ENTRY:
        return Q(created_at__lt=moment)
    return Q(created_at__lte=moment) & (Q(created_at__lt=moment) | Q(id__lt=position.id))


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
    if kind in CONSUMPTION_KINDS:
        return ("consumption", row[CONSUMPTION], row[CREATED])
    if kind in INSTANT_KINDS:
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


def grouped(rows: Iterable[Sequence]) -> Iterator[Operation]:
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


def free_operation(row: Sequence) -> Operation:
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
