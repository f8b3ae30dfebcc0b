"""Each process's rate cards: what `consume`, `quote` and `hold_action` price with, without a
query per call, and exact across processes.

How it stays exact: every change of an organisation's rate card (its billable actions, their
prices by parameters, its SMS rates) sets the pool's `rate_card_version` anew, by database
triggers (credits/sql/rate_card_version.*.sql). A card is cached with the version it
was read at, and whoever prices with it hands that version to the write that follows: the debit
compares it with the pool row it locks anyway and answers "repriced" (`Repriced`) when they
differ; the caller then forgets the card, reads it again and prices again. So a stale price is
never charged, and a card costs a query only when first read and after each change.

A refusal priced from a cached card (an unknown action, a missing price) is checked against a
fresh read before it stands, so a card changed a moment ago never refuses what it now allows.
"""

import contextlib
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils.translation import gettext as _

from credits.exceptions import PricingError
from credits.models import BillableAction, CreditPool, RuleKind, SmsRate
from credits.pricing import Price, price

MAX_CARDS = 5000  # organisations whose cards one process keeps; the oldest read goes first
READ_ATTEMPTS = 3  # reads that may straddle a change before one is made under the pool lock

ACTION_FIELDS = list(BillableAction._meta.concrete_fields)
RATE_FIELDS = list(SmsRate._meta.concrete_fields)


class Repriced(Exception):
    """The rate card changed after the card the caller priced with was read: forget that card,
    read it again and price again. Raised by the debit and the hold before anything is
    written; never leaves `credits.services`."""


@dataclass(frozen=True)
class RateCard:
    """One organisation's rate card as it was at `version`. Shared by the threads of a
    process: read it, never change it (copy an action before changing it)."""

    organisation_id: int
    version: int
    by_code: dict[str, BillableAction]
    by_pk: dict[int, BillableAction]
    table_prices: dict[int, dict[str, int]]  # table rules: action id → match key → credits
    sms_rates: dict[str, SmsRate]  # by country

    def action(self, action: BillableAction | str) -> BillableAction:
        """The card's action for a code, or for an action (by its id): refused when the card
        has none."""
        if isinstance(action, BillableAction):
            found = self.by_pk.get(action.pk)
            if found is None or action.organisation_id != self.organisation_id:
                raise PricingError(_("This action is not on the organisation's rate card."))
            return found
        found = self.by_code.get(action)
        if found is None:
            raise PricingError(_("Unknown action “%(code)s”.") % {"code": action})
        return found

    def price(self, action: BillableAction, params: dict) -> Price:
        """Pure Python: the card holds every row the action's rule needs."""
        return price(
            action, params, prices=self.table_prices.get(action.pk, {}), rates=self.sms_rates
        )


_cards: dict[int, RateCard] = {}


def card(organisation_id: int) -> RateCard:
    """The organisation's card: cached, or read now (then kept)."""
    found = _cards.get(organisation_id)
    return found if found is not None else reload(organisation_id)


def reload(organisation_id: int) -> RateCard:
    """Read the card from the database and keep it, replacing the one cached."""
    fresh = _read(organisation_id)
    if fresh.version >= 0:  # an organisation without a pool has nothing to price
        if organisation_id not in _cards and len(_cards) >= MAX_CARDS:
            with contextlib.suppress(StopIteration, RuntimeError, KeyError):
                del _cards[next(iter(_cards))]
        _cards[organisation_id] = fresh
    return fresh


def forget(organisation_id: int, version: int | None = None) -> None:
    """Drop the cached card (only if it is still the one read at `version`, when given: another
    thread may have read a newer one meanwhile)."""
    cached = _cards.get(organisation_id)
    if cached is not None and (version is None or cached.version == version):
        _cards.pop(organisation_id, None)


def clear() -> None:
    """Forget every card (tests)."""
    _cards.clear()


def _current(card: RateCard) -> RateCard:
    """After a refusal from `card`: the card as it is now, or the same one if the pool's
    version says it did not change (a query on the pool's primary key, not a full read)."""
    version = (
        CreditPool.objects.filter(pk=card.organisation_id)
        .values_list("rate_card_version", flat=True)
        .first()
    )
    return card if version in (None, card.version) else reload(card.organisation_id)


def find(current: RateCard, action: BillableAction | str) -> tuple[RateCard, BillableAction]:
    """The action on `current`, or, when `current` has none, on the card as it is now: a
    refusal stands only if the card did not change."""
    try:
        return current, current.action(action)
    except PricingError:
        fresh = _current(current)
        if fresh is current:
            raise
    return fresh, fresh.action(action)


def priced(
    current: RateCard, action: BillableAction | str, params: dict
) -> tuple[RateCard, BillableAction, Price]:
    """The card, its action and the price of these parameters. A refusal from `current` is
    checked against a fresh read: it stands only if the card did not change."""
    try:
        found = current.action(action)
        return current, found, current.price(found, params)
    except PricingError:
        fresh = _current(current)
        if fresh is current:
            raise
    found = fresh.action(action)
    return fresh, found, fresh.price(found, params)


def lock_pool(organisation_id: int) -> None:
    """Inside a transaction: hold the pool's row lock, which every change of the rate card
    needs (its triggers update the row), so the card read next stays current until commit."""
    CreditPool.objects.select_for_update().filter(pk=organisation_id).values_list("pk").first()


def _read(organisation_id: int) -> RateCard:
    """The version and the actions in one query; a table's prices and the SMS rates, when a
    rule needs them, in one query each that returns the version again. Reads that disagree
    on the version straddled a change: read again, and at last under the pool lock."""
    for _attempt in range(READ_ATTEMPTS):
        read = _read_once(organisation_id)
        if read is not None:
            return read
    with transaction.atomic():
        lock_pool(organisation_id)
        read = _read_once(organisation_id)
    assert read is not None, "no rate-card change can commit while the pool is locked"
    return read


def _pool_rows(organisation_id: int, *columns: str) -> list[tuple]:
    """(version, columns...) for the organisation, one row per related row, from the pool
    (LEFT JOINs): at least one row, with the version, whenever the pool exists."""
    return list(
        CreditPool.objects.filter(pk=organisation_id).values_list("rate_card_version", *columns)
    )


def _read_once(organisation_id: int) -> RateCard | None:
    names = [f"organisation__billable_actions__{field.name}" for field in ACTION_FIELDS]
    rows = _pool_rows(organisation_id, *names)
    if not rows:
        return RateCard(organisation_id, -1, {}, {}, {}, {})
    version = rows[0][0]
    attnames = [field.attname for field in ACTION_FIELDS]
    actions = [
        BillableAction.from_db(DEFAULT_DB_ALIAS, attnames, row[1:])
        for row in rows
        if row[1] is not None
    ]
    table_prices: dict[int, dict[str, int]] = {
        action.pk: {} for action in actions if action.rule == RuleKind.TABLE
    }
    if table_prices:
        prefix = "organisation__billable_actions__prices__"
        rows = _pool_rows(
            organisation_id, f"{prefix}action", f"{prefix}match_key", f"{prefix}credits"
        )
        if any(row[0] != version for row in rows):
            return None
        for _version, action_id, key, credits in rows:
            if action_id in table_prices:
                table_prices[action_id][key] = credits
    rates: dict[str, SmsRate] = {}
    if any(action.rule == RuleKind.SMS for action in actions):
        rows = _pool_rows(
            organisation_id, *(f"organisation__sms_rates__{field.name}" for field in RATE_FIELDS)
        )
        if any(row[0] != version for row in rows):
            return None
        rate_attnames = [field.attname for field in RATE_FIELDS]
        for row in rows:
            if row[1] is not None:
                rate = SmsRate.from_db(DEFAULT_DB_ALIAS, rate_attnames, row[1:])
                rates[rate.country] = rate
    return RateCard(
        organisation_id=organisation_id,
        version=version,
        by_code={action.code: action for action in actions},
        by_pk={action.pk: action for action in actions},
        table_prices=table_prices,
        sms_rates=rates,
    )
