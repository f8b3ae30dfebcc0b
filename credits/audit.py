"""Recompute every stored figure from ledger entries and lots, and name any drift (X1).

Never corrects anything: a drift is a bug to understand, not a number to overwrite.
"""

from dataclasses import dataclass

from django.db.models import BigIntegerField, Exists, F, Model, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce

from clients.models import Client, Organisation
from credits.models import (
    ClientAccount,
    Consumption,
    CreditPool,
    Hold,
    HoldStatus,
    LedgerEntry,
    Lot,
)


@dataclass(frozen=True)
class Drift:
    organisation: str
    figure: str
    stored: int
    recomputed: int

    def __str__(self) -> str:
        return (
            f"{self.organisation}: {self.figure} is {self.stored}, "
            f"entries add up to {self.recomputed}"
        )


@dataclass(frozen=True)
class BrokenLink:
    """A ledger row pointing at a row that is gone or belongs to another organisation: the
    links a debit writes carry no database constraint (see Consumption), so this is where
    they are proven, more strictly than a constraint would (S7)."""

    organisation: str
    row: str
    link: str
    target: int

    def __str__(self) -> str:
        return (
            f"{self.organisation}: {self.row} points at {self.link} #{self.target}, "
            "which is not a row of this organisation"
        )


# (rows, link, what it must point at); every target has an organisation_id.
LINKS: list[tuple[type[Model], str, type[Model]]] = [
    (LedgerEntry, "lot", Lot),
    (LedgerEntry, "client", Client),
    (LedgerEntry, "consumption", Consumption),
    (Consumption, "client", Client),
]
REPORTED_PER_LINK = 20


def broken_links(organisation_ids: list[int] | None = None) -> list[BrokenLink]:
    """Every link of entries and consumptions that misses its row in the same organisation
    (the first few per kind of link), and rows whose organisation is gone."""
    names = {
        pk: f"{name} ({slug})"
        for pk, name, slug in Organisation.objects.values_list("pk", "name", "slug")
    }
    found: list[BrokenLink] = []
    for model, link, target in LINKS:
        rows = model.objects.filter(**{f"{link}_id__isnull": False})
        if organisation_ids is not None:
            rows = rows.filter(organisation_id__in=organisation_ids)
        same_organisation = target.objects.filter(
            pk=OuterRef(f"{link}_id"), organisation_id=OuterRef("organisation_id")
        )
        broken = rows.exclude(Exists(same_organisation)).order_by("pk")
        for pk, organisation_id, target_id in broken.values_list(
            "pk", "organisation_id", f"{link}_id"
        )[:REPORTED_PER_LINK]:
            label = f"{model._meta.verbose_name} #{pk}"
            found.append(
                BrokenLink(
                    names.get(organisation_id, f"organisation #{organisation_id}"),
                    label,
                    link,
                    target_id,
                )
            )
    for model in (LedgerEntry, Consumption):
        rows = model.objects.exclude(
            Exists(Organisation.objects.filter(pk=OuterRef("organisation_id")))
        )
        if organisation_ids is not None:
            rows = rows.filter(organisation_id__in=organisation_ids)
        for pk, organisation_id in rows.order_by("pk").values_list("pk", "organisation_id")[
            :REPORTED_PER_LINK
        ]:
            found.append(
                BrokenLink(
                    f"organisation #{organisation_id}",
                    f"{model._meta.verbose_name} #{pk}",
                    "organisation",
                    organisation_id,
                )
            )
    return found


def consumption_drift(organisation_ids: list[int] | None = None) -> list[Drift]:
    """Every consumption whose credits differ from what its entries took from the lots (the
    first few, oldest first). A debit writes one entry per lot that paid, a capture one more
    with no credits, a free action none: their credits add up to minus the consumption's.
    The pool's figures cannot show a consumption whose own credits were rewritten (the
    entries, and so the balance, still agree), and usage, exports and invoices read the
    consumption: so it is proven here, by one grouped query, whatever the number of rows.
    The database refuses the change too (`credits/sql/consumption_figures_fixed.*.sql`)
    unless its owner disabled the trigger."""
    consumptions = Consumption.objects.all()
    if organisation_ids is not None:
        consumptions = consumptions.filter(organisation_id__in=organisation_ids)
    paid = Coalesce(-Sum("entries__credits"), Value(0), output_field=BigIntegerField())
    drifted = list(
        consumptions.annotate(paid=paid)
        .filter(~Q(credits=F("paid")))
        .order_by("pk")
        .values_list("pk", "organisation_id", "credits", "paid")[:REPORTED_PER_LINK]
    )
    names = {
        pk: f"{name} ({slug})"
        for pk, name, slug in Organisation.objects.filter(
            pk__in={organisation_id for _, organisation_id, _, _ in drifted}
        ).values_list("pk", "name", "slug")
    }
    return [
        Drift(
            names.get(organisation_id, f"organisation #{organisation_id}"),
            f"consumption #{pk} credits",
            credits,
            paid,
        )
        for pk, organisation_id, credits, paid in drifted
    ]


def _sums(queryset, group: str, *fields: str) -> dict[int, dict[str, int]]:
    rows = queryset.values(group).annotate(**{f: Sum(f) for f in fields})
    return {row[group]: {f: row[f] or 0 for f in fields} for row in rows}


def ledger_drift(organisation_ids: list[int] | None = None) -> list[Drift | BrokenLink]:
    """Every figure that does not equal what the entries (and lots, and holds) add up to,
    every consumption whose credits are not what its entries took (`consumption_drift`), and
    every link that misses its row (`broken_links`). A handful of grouped queries,
    whatever the number of organisations."""
    pools = CreditPool.objects.select_related("organisation")
    entries = LedgerEntry.objects.all()
    lots = Lot.objects.all()
    accounts = ClientAccount.objects.select_related("client", "organisation")
    holds = Hold.objects.filter(status=HoldStatus.ACTIVE)
    if organisation_ids is not None:
        pools = pools.filter(pk__in=organisation_ids)
        entries = entries.filter(organisation_id__in=organisation_ids)
        lots = lots.filter(organisation_id__in=organisation_ids)
        accounts = accounts.filter(organisation_id__in=organisation_ids)
        holds = holds.filter(organisation_id__in=organisation_ids)

    by_org = _sums(entries, "organisation_id", "credits", "held_delta", "assigned_delta")
    lots_by_org = _sums(lots, "organisation_id", "remaining")
    accounts_by_org = _sums(accounts, "organisation_id", "assigned_remaining")
    holds_by_org = _sums(holds, "organisation_id", "credits")
    by_client = _sums(
        entries.filter(client__isnull=False), "client_id", "assigned_delta", "used_delta"
    )
    by_lot = _sums(entries.filter(lot__isnull=False), "lot_id", "credits")
    active_holds_pool = _sums(holds, "client_id", "from_pool")

    drifts: list[Drift | BrokenLink] = list(broken_links(organisation_ids))
    drifts.extend(consumption_drift(organisation_ids))

    def check(name: str, figure: str, stored: int, recomputed: int) -> None:
        if stored != recomputed:
            drifts.append(Drift(name, figure, stored, recomputed))

    for pool in pools:
        name = f"{pool.organisation.name} ({pool.organisation.slug})"
        sums = by_org.get(pool.pk, {"credits": 0, "held_delta": 0, "assigned_delta": 0})
        check(name, "balance", pool.balance, sums["credits"])
        check(
            name, "balance (lots)", pool.balance, lots_by_org.get(pool.pk, {}).get("remaining", 0)
        )
        check(name, "held", pool.held, sums["held_delta"])
        check(
            name, "held (active holds)", pool.held, holds_by_org.get(pool.pk, {}).get("credits", 0)
        )
        check(name, "assigned", pool.assigned, sums["assigned_delta"])
        check(
            name,
            "assigned (clients)",
            pool.assigned,
            accounts_by_org.get(pool.pk, {}).get("assigned_remaining", 0),
        )
    for account in accounts:
        name = f"{account.organisation.name} ({account.organisation.slug})"
        sums = by_client.get(account.pk, {"assigned_delta": 0, "used_delta": 0})
        label = f"client “{account.client.name}”"
        check(name, f"{label} assigned", account.assigned_remaining, sums["assigned_delta"])
        check(name, f"{label} used", account.used, sums["used_delta"])
        reserved = active_holds_pool.get(account.pk, {}).get("from_pool", 0)
        if not account.counts_use:
            if account.used != 0:
                drifts.append(Drift(name, f"{label} used without a limit", account.used, 0))
        elif account.used < reserved:
            drifts.append(Drift(name, f"{label} used below its holds", account.used, reserved))
    for lot in lots.select_related("organisation"):
        name = f"{lot.organisation.name} ({lot.organisation.slug})"
        check(
            name,
            f"lot #{lot.pk} remaining",
            lot.remaining,
            by_lot.get(lot.pk, {}).get("credits", 0),
        )
    return drifts
