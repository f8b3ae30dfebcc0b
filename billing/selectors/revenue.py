"""Deferred revenue (B6): paid credits not yet used or expired, valued at their purchase price,
per organisation and month, for staff.

**Which credits are "paid".** A lot counts when it was bought through a `Purchase` whose
invoice was issued: by card the invoice is issued paid, on enterprise terms it is issued open
(due in 30 days) and the credits are usable at once. Deferred revenue is what the seller owes
in service for credits it has invoiced, so an enterprise-terms lot counts from its issue,
whether or not the transfer has arrived yet (that is the receivables' business, not this
report's). A voided invoice's lot counts too, up to its void: voiding takes the lot's credits
back (a revocation entry, `credits.services.revoke_lot`), which this report shows in
"cancelled" in the month of the void, so a closed month's figures never change afterwards.
Promotions, adjustments, plan allowances and purchase lots granted without a `Purchase` (no
invoice, no price) are not paid credits and are left out.

**Months** end at midnight on the first of the next month *in each organisation's time zone*
(as every other month in the portal: limits, usage, invoices' dates), so one organisation's
January is the same in its usage report, its invoices and here.

**Figures.** A lot's credits remaining at a moment are the sum of its ledger entries up to it
(grant +, consumed/captured −, expired −, revoked or adjusted −), so the deferred balance at a
month's end is Σ entries' credits × their lot's `unit_cost` up to then, and each month's
movements are the same sum over the month, split by the entries' kinds:

* sold: credits granted (recognised into deferred revenue when invoiced);
* recognised: credits used (debits and captured holds): earned revenue;
* expired: credits that lapsed unused (breakage);
* cancelled: credits taken back (a voided purchase, a back-office correction);
* closing = opening + sold − recognised − expired − cancelled.

Values are before tax (the lot's price per credit), in the purchase's currency, never added
across currencies. They are summed exactly and rounded to the cent once per figure shown, so a
row's rounded figures may differ from their rounded sum by a cent.

**Cost.** Set-based, three queries whatever the number of lots and organisations: the time
zones in use; one aggregate of every relevant ledger entry by lot, local month and kind
(months before the report's first are folded into one "opening" group in SQL; the month is
found by comparing with each zone's month boundaries, no per-row time-zone conversion); and
the paid lots' organisation, currency and price. Credits are summed as integers by the
database and multiplied by the price in Python with `Decimal`, so the figures are exact on
SQLite too (whose decimals are floats). The rows returned grow with lots × months, not with
entries. Measured in `bench/purchase.py --part revenue` (bench/RESULTS.md).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Case, CharField, IntegerField, Sum, Value, When
from django.db.models.functions import Coalesce

from billing.money import cents
from clients.models import Organisation
from credits.models import EntryKind, LedgerEntry, Lot, LotSource

MAX_MONTHS = 120  # a report spans at most ten years
UNIT_COST_PLACES = Decimal("0.0001")  # Lot.unit_cost and Purchase.unit_price
OPENING = 0  # the month key of every entry before the report's first month

SOLD, RECOGNISED, EXPIRED, CANCELLED = "sold", "recognised", "expired", "cancelled"
# Sold adds to the deferred balance; the other movements take from it.
_SIGN = {SOLD: 1, RECOGNISED: -1, EXPIRED: -1, CANCELLED: -1}


def month_key(month: date) -> int:
    return month.year * 100 + month.month


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every first of the month from `first` to `last`, both included."""
    span = (last.year - first.year) * 12 + last.month - first.month
    return [add_months(first, n) for n in range(span + 1)]


def local_month_start(month: date, time_zone: str) -> datetime:
    """Midnight on the first of `month` in the time zone (the moment the month begins there)."""
    return datetime(month.year, month.month, 1, tzinfo=ZoneInfo(time_zone))


@dataclass(frozen=True)
class Figures:
    """One period's roll-forward, in a currency, rounded to the cent."""

    opening: Decimal
    sold: Decimal
    recognised: Decimal
    expired: Decimal
    cancelled: Decimal
    closing: Decimal


@dataclass(frozen=True)
class RevenueRow:
    organisation_id: int
    organisation: str
    currency: str
    month: date  # the first of the month (in the organisation's time zone)
    figures: Figures


@dataclass(frozen=True)
class CurrencyTotals:
    """Every organisation's figures in one currency: month by month, and over the period
    (opening at its start, movements over it, closing at its end)."""

    currency: str
    months: list[tuple[date, Figures]]
    period: Figures


@dataclass(frozen=True)
class DeferredRevenue:
    first_month: date
    last_month: date
    rows: list[RevenueRow]
    totals: list[CurrencyTotals]


class _Exact:
    """Unrounded money of one period, rounded only when shown."""

    def __init__(self, opening: Decimal = Decimal(0)) -> None:
        self.opening = opening
        self.moves: dict[str, Decimal] = dict.fromkeys(_SIGN, Decimal(0))

    def add(self, other: "_Exact") -> None:
        self.opening += other.opening
        for kind, value in other.moves.items():
            self.moves[kind] += value

    @property
    def closing(self) -> Decimal:
        return self.opening + sum(_SIGN[kind] * value for kind, value in self.moves.items())

    @property
    def is_empty(self) -> bool:
        return self.opening == 0 and not any(self.moves.values())

    def rounded(self) -> Figures:
        return Figures(
            opening=cents(self.opening),
            sold=cents(self.moves[SOLD]),
            recognised=cents(self.moves[RECOGNISED]),
            expired=cents(self.moves[EXPIRED]),
            cancelled=cents(self.moves[CANCELLED]),
            closing=cents(self.closing),
        )


def _price(unit_cost: Decimal | None) -> Decimal:
    """The price per credit as stored (4 decimals): SQLite hands decimals back through a
    float, with 15 significant digits of which only the first 4 decimals are the price."""
    return Decimal(unit_cost or 0).quantize(UNIT_COST_PLACES)


def _kind_of_move() -> Case:
    return Case(
        When(kind=EntryKind.GRANT, then=Value(SOLD)),
        When(kind__in=[EntryKind.DEBIT, EntryKind.CAPTURE], then=Value(RECOGNISED)),
        When(kind=EntryKind.EXPIRY, then=Value(EXPIRED)),
        # Revocations (a voided purchase) and back-office adjustments.
        default=Value(CANCELLED),
        output_field=CharField(),
    )


def _local_month(time_zones: list[str], months: list[date]) -> Case:
    """The entry's month (yyyymm) in its organisation's time zone, OPENING before the first.

    Found by comparing `created_at` with each zone's month boundaries rather than by
    converting every entry to local time: SQLite converts time zones in Python, once per
    row (a third of a second for 20,000 entries), while a comparison costs next to nothing
    on both databases."""

    def in_zone(time_zone: str) -> Case:
        ends = [
            When(
                created_at__lt=local_month_start(add_months(month, 1), time_zone),
                then=Value(month_key(month)),
            )
            for month in months
        ]
        return Case(
            When(created_at__lt=local_month_start(months[0], time_zone), then=Value(OPENING)),
            *ends,
            output_field=IntegerField(),
        )

    if len(time_zones) == 1:
        return in_zone(time_zones[0])
    return Case(
        *(When(organisation__time_zone=zone, then=in_zone(zone)) for zone in time_zones),
        output_field=IntegerField(),
    )


def _moves(
    *,
    time_zones: list[str],
    months: list[date],
    organisation: Organisation | None,
    currency: str | None,
):
    """Credits of paid lots' entries up to the end of the last month, summed by lot, local
    month and kind of move: one query.

    Grouped by lot rather than by organisation, currency and price: on PostgreSQL the groups
    are sorted, and a narrow key sorts twice as fast as one that carries names and prices
    (1M entries). The lots' attributes are one more query (`_paid_lots`)."""
    ends = [local_month_start(add_months(months[-1], 1), zone) for zone in time_zones]
    entries = LedgerEntry.objects.filter(
        created_at__lt=max(ends),  # an entry past its own zone's end has no month (NULL)
        lot__source=LotSource.PURCHASE,
        lot__purchase__invoice__isnull=False,
    ).exclude(credits=0)
    if organisation is not None:
        entries = entries.filter(organisation_id=organisation.pk)
    if currency:
        entries = entries.filter(lot__purchase__currency=currency)
    return (
        entries.values("lot_id", month=_local_month(time_zones, months), move=_kind_of_move())
        .annotate(credits=Sum("credits"))
        .order_by()
    )


@dataclass(frozen=True)
class _PaidLot:
    organisation_id: int
    organisation: str
    currency: str
    price: Decimal


def _paid_lots(*, organisation: Organisation | None, currency: str | None) -> dict[int, _PaidLot]:
    """Who bought each paid lot, in which currency, at what price per credit: one query."""
    lots = Lot.objects.filter(source=LotSource.PURCHASE, purchase__invoice__isnull=False)
    if organisation is not None:
        lots = lots.filter(organisation_id=organisation.pk)
    if currency:
        lots = lots.filter(purchase__currency=currency)
    found = lots.values_list(
        "pk",
        "organisation_id",
        "organisation__name",
        "purchase__currency",
        Coalesce("unit_cost", "purchase__unit_price"),
    ).order_by()
    return {
        pk: _PaidLot(organisation_id, name, money, _price(price))
        for pk, organisation_id, name, money, price in found
    }


def deferred_revenue(
    *,
    first_month: date,
    last_month: date,
    organisation: Organisation | None = None,
    currency: str | None = None,
) -> DeferredRevenue:
    """The report from `first_month` to `last_month` (firsts of months, both included), for
    every organisation or one, every currency or one: a row per organisation, currency and
    month with anything deferred or moving, and each currency's totals."""
    first_month, last_month = first_month.replace(day=1), last_month.replace(day=1)
    if last_month < first_month:
        raise ValueError("the report's last month comes before its first")
    if organisation is not None:
        time_zones = [organisation.time_zone]
    else:
        time_zones = sorted(
            Organisation.objects.order_by().values_list("time_zone", flat=True).distinct()
        )
    if not time_zones:
        return DeferredRevenue(first_month, last_month, [], [])
    months = months_between(first_month, last_month)

    moves = list(
        _moves(time_zones=time_zones, months=months, organisation=organisation, currency=currency)
    )
    lots = _paid_lots(organisation=organisation, currency=currency)  # after: every lot is there

    names: dict[int, str] = {}
    periods: dict[tuple[int, str], dict[int, _Exact]] = defaultdict(lambda: defaultdict(_Exact))
    for group in moves:
        if group["month"] is None:  # after the last month in its organisation's time zone
            continue
        lot = lots[group["lot_id"]]
        names[lot.organisation_id] = lot.organisation
        value = group["credits"] * lot.price
        period = periods[(lot.organisation_id, lot.currency)][group["month"]]
        if group["month"] == OPENING:
            period.opening += value
        else:
            # Entries carry their sign (a grant +, a debit −); a move is shown positive.
            period.moves[group["move"]] += _SIGN[group["move"]] * value

    rows: list[RevenueRow] = []
    by_currency: dict[str, dict[date, _Exact]] = defaultdict(lambda: defaultdict(_Exact))
    ordered = sorted(periods, key=lambda key: (names[key[0]].lower(), key[0], key[1]))
    for organisation_id, money in ordered:
        known = periods[(organisation_id, money)]
        running = known[OPENING].opening
        for month in months:
            period = _Exact(running)
            period.add(known.get(month_key(month), _Exact()))
            running = period.closing
            by_currency[money][month].add(period)
            if not period.is_empty:
                rows.append(
                    RevenueRow(
                        organisation_id, names[organisation_id], money, month, period.rounded()
                    )
                )

    totals = []
    for money in sorted(by_currency):
        monthly = by_currency[money]
        period = _Exact(monthly[months[0]].opening)
        for month in months:
            for kind, value in monthly[month].moves.items():
                period.moves[kind] += value
        totals.append(
            CurrencyTotals(
                currency=money,
                months=[(month, monthly[month].rounded()) for month in months],
                period=period.rounded(),
            )
        )
    return DeferredRevenue(first_month, last_month, rows, totals)
