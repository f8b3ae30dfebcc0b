"""Recompute every stored figure from ledger entries and lots, and name any drift (X1).

Never corrects anything: a drift is a bug to understand, not a number to overwrite.
"""

from dataclasses import dataclass

from django.db.models import Sum

from credits.models import ClientAccount, CreditPool, Hold, HoldStatus, LedgerEntry, Lot


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


def _sums(queryset, group: str, *fields: str) -> dict[int, dict[str, int]]:
    rows = queryset.values(group).annotate(**{f: Sum(f) for f in fields})
    return {row[group]: {f: row[f] or 0 for f in fields} for row in rows}


def ledger_drift(organisation_ids: list[int] | None = None) -> list[Drift]:
    """Every figure that does not equal what the entries (and lots, and holds) add up to.
    A handful of grouped queries, whatever the number of organisations."""
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

    drifts: list[Drift] = []

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
        if account.used < reserved:
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
