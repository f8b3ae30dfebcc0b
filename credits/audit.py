"""Recompute every stored figure from ledger entries and lots, and name any drift (X1).

Never corrects anything: a drift is a bug to understand, not a number to overwrite.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection
from django.db.models import BigIntegerField, Exists, F, Model, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce

from clients.models import Client, Organisation
from credits.models import Consumption, LedgerEntry, LimitKind, Lot


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
    found: list[tuple[int, str, str, int]] = []  # organisation, row, link, target
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
            found.append((organisation_id, label, link, target_id))
    for model in (LedgerEntry, Consumption):
        rows = model.objects.exclude(
            Exists(Organisation.objects.filter(pk=OuterRef("organisation_id")))
        )
        if organisation_ids is not None:
            rows = rows.filter(organisation_id__in=organisation_ids)
        for pk, organisation_id in rows.order_by("pk").values_list("pk", "organisation_id")[
            :REPORTED_PER_LINK
        ]:
            label = f"{model._meta.verbose_name} #{pk}"
            found.append((organisation_id, label, "organisation", organisation_id))
    names = _names({organisation_id for organisation_id, *_ in found})
    return [BrokenLink(names[organisation_id], *rest) for organisation_id, *rest in found]


def _names(organisation_ids: set[int]) -> dict[int, str]:
    """How a report names each organisation (only those it names: the check's memory does
    not grow with the number of organisations)."""
    names = {
        pk: f"{name} ({slug})"
        for pk, name, slug in Organisation.objects.filter(pk__in=organisation_ids).values_list(
            "pk", "name", "slug"
        )
    }
    return {pk: names.get(pk, f"organisation #{pk}") for pk in organisation_ids}


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
    names = _names({organisation_id for _, organisation_id, _, _ in drifted})
    return [
        Drift(
            names[organisation_id],
            f"consumption #{pk} credits",
            credits,
            paid,
        )
        for pk, organisation_id, credits, paid in drifted
    ]


REPORTED_PER_CHECK = 1000


def _scope(column: str, organisation_ids: list[int] | None) -> tuple[str, list[int]]:
    """A condition limiting `column` to the organisations asked for (all when None)."""
    if organisation_ids is None:
        return "1 = 1", []
    if not organisation_ids:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(organisation_ids))})", list(organisation_ids)


def _drifted(sql: str, params: list[int]) -> Iterator[tuple]:
    """The rows of a check, read a few at a time: the database compares; only rows that
    drifted come back, and never more than `REPORTED_PER_CHECK`."""
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} LIMIT {REPORTED_PER_CHECK}", params)
        while rows := cursor.fetchmany(100):
            yield from rows


POOLS_SQL = """
SELECT o.name, o.slug, p.balance, p.held, p.assigned,
       COALESCE(e.credits, 0), COALESCE(lo.remaining, 0), COALESCE(e.held, 0),
       COALESCE(h.credits, 0), COALESCE(e.assigned, 0), COALESCE(a.assigned, 0)
FROM credits_creditpool p
JOIN clients_organisation o ON o.id = p.organisation_id
LEFT JOIN (
    SELECT organisation_id, SUM(credits) AS credits, SUM(held_delta) AS held,
           SUM(assigned_delta) AS assigned
    FROM credits_ledgerentry WHERE {entries} GROUP BY organisation_id
) e ON e.organisation_id = p.organisation_id
LEFT JOIN (
    SELECT organisation_id, SUM(remaining) AS remaining
    FROM credits_lot WHERE {lots} GROUP BY organisation_id
) lo ON lo.organisation_id = p.organisation_id
LEFT JOIN (
    SELECT organisation_id, SUM(credits) AS credits
    FROM credits_hold WHERE status = 'active' AND {holds} GROUP BY organisation_id
) h ON h.organisation_id = p.organisation_id
LEFT JOIN (
    SELECT organisation_id, SUM(assigned_remaining) AS assigned
    FROM credits_clientaccount WHERE {accounts} GROUP BY organisation_id
) a ON a.organisation_id = p.organisation_id
WHERE {pools} AND (
    p.balance <> COALESCE(e.credits, 0) OR p.balance <> COALESCE(lo.remaining, 0)
    OR p.held <> COALESCE(e.held, 0) OR p.held <> COALESCE(h.credits, 0)
    OR p.assigned <> COALESCE(e.assigned, 0) OR p.assigned <> COALESCE(a.assigned, 0)
)
ORDER BY p.organisation_id
"""

ACCOUNTS_SQL = """
SELECT o.name, o.slug, c.name, ca.assigned_remaining, ca.used, ca.limit_kind,
       COALESCE(e.assigned, 0), COALESCE(e.used, 0), COALESCE(h.from_pool, 0)
FROM credits_clientaccount ca
JOIN clients_organisation o ON o.id = ca.organisation_id
JOIN clients_client c ON c.id = ca.client_id
LEFT JOIN (
    SELECT client_id, SUM(assigned_delta) AS assigned, SUM(used_delta) AS used
    FROM credits_ledgerentry WHERE client_id IS NOT NULL AND {entries} GROUP BY client_id
) e ON e.client_id = ca.client_id
LEFT JOIN (
    SELECT client_id, SUM(from_pool) AS from_pool
    FROM credits_hold WHERE status = 'active' AND {holds} GROUP BY client_id
) h ON h.client_id = ca.client_id
WHERE {accounts} AND (
    ca.assigned_remaining <> COALESCE(e.assigned, 0) OR ca.used <> COALESCE(e.used, 0)
    OR (ca.limit_kind = 'none' AND ca.used <> 0)
    OR (ca.limit_kind <> 'none' AND ca.used < COALESCE(h.from_pool, 0))
)
ORDER BY ca.client_id
"""

LOTS_SQL = """
SELECT o.name, o.slug, lo.id, lo.remaining, COALESCE(e.credits, 0)
FROM credits_lot lo
JOIN clients_organisation o ON o.id = lo.organisation_id
LEFT JOIN (
    SELECT lot_id, SUM(credits) AS credits
    FROM credits_ledgerentry WHERE lot_id IS NOT NULL AND {entries} GROUP BY lot_id
) e ON e.lot_id = lo.id
WHERE {lots} AND lo.remaining <> COALESCE(e.credits, 0)
ORDER BY lo.id
"""


def _check(template: str, organisation_ids: list[int] | None, **tables: str) -> Iterator[tuple]:
    """Run one check with every table scoped to the organisations asked for, in the order
    the tables' conditions appear in the SQL."""
    conditions, params = {}, []
    order = sorted(tables, key=lambda name: template.index("{" + name + "}"))
    for name in order:
        conditions[name], scoped = _scope(tables[name], organisation_ids)
        params += scoped
    return _drifted(template.format(**conditions), params)


def ledger_drift(organisation_ids: list[int] | None = None) -> list[Drift | BrokenLink]:
    """Every figure that does not equal what the entries (and lots, and holds) add up to,
    every consumption whose credits are not what its entries took (`consumption_drift`), and
    every link that misses its row (`broken_links`).

    The database adds up and compares (grouped joins); Python reads only the rows that
    drifted, the first `REPORTED_PER_CHECK` of each check. So the check runs in the same
    memory on ten lots or ten million, and each drift still names its organisation and its
    figure."""
    drifts: list[Drift | BrokenLink] = list(broken_links(organisation_ids))
    drifts.extend(consumption_drift(organisation_ids))

    def check(name: str, figure: str, stored: int, recomputed: int) -> None:
        if stored != recomputed:
            drifts.append(Drift(name, figure, stored, recomputed))

    scoped = {
        "entries": "organisation_id",
        "lots": "organisation_id",
        "holds": "organisation_id",
        "accounts": "organisation_id",
    }
    for row in _check(POOLS_SQL, organisation_ids, pools="p.organisation_id", **scoped):
        name, slug, balance, held, assigned, credits, remaining, held_sum, holds, *rest = row
        entries_assigned, accounts_assigned = rest
        name = f"{name} ({slug})"
        check(name, "balance", balance, credits)
        check(name, "balance (lots)", balance, remaining)
        check(name, "held", held, held_sum)
        check(name, "held (active holds)", held, holds)
        check(name, "assigned", assigned, entries_assigned)
        check(name, "assigned (clients)", assigned, accounts_assigned)
    accounts = {"entries": "organisation_id", "holds": "organisation_id"}
    for row in _check(ACCOUNTS_SQL, organisation_ids, accounts="ca.organisation_id", **accounts):
        name, slug, client, assigned, used, limit_kind, entries_assigned, entries_used, held = row
        name, label = f"{name} ({slug})", f"client “{client}”"
        check(name, f"{label} assigned", assigned, entries_assigned)
        check(name, f"{label} used", used, entries_used)
        if limit_kind == LimitKind.NONE:
            if used != 0:
                drifts.append(Drift(name, f"{label} used without a limit", used, 0))
        elif used < held:
            drifts.append(Drift(name, f"{label} used below its holds", used, held))
    for name, slug, lot_id, remaining, credits in _check(
        LOTS_SQL, organisation_ids, entries="organisation_id", lots="lo.organisation_id"
    ):
        check(f"{name} ({slug})", f"lot #{lot_id} remaining", remaining, credits)
    return drifts
