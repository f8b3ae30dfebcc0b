"""One consumption as its page shows it: what it was for, how it was priced, which lots paid
(C4, X1)."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import pgettext

from clients.models import Membership
from credits.models import Consumption, LedgerEntry, Quote
from credits.selectors.activity import PRICING_KEYS, PRICING_LABELS, SOURCE_LABELS, value_text


@dataclass(frozen=True)
class PaidBy:
    lot_id: int
    source: str
    reference: str
    expires_at: datetime | None
    credits: int  # taken from the lot


@dataclass(frozen=True)
class ConsumptionDetail:
    consumption: Consumption
    parameters: list[tuple[str, str]]
    pricing: list[tuple[str, str]]
    lots: list[PaidBy]
    quote: Quote | None

    @property
    def who(self) -> str:
        actor = self.consumption.actor
        if actor is None:
            return pgettext("nobody acted", "System")
        return actor.get_full_name() or actor.get_username()


def consumption_detail(membership: Membership, consumption_id: int) -> ConsumptionDetail | None:
    """A consumption the person may see (their organisation's; their client's when tied),
    with what it was for, how it was priced and which lots paid; None otherwise (404)."""
    found = Consumption.objects.filter(organisation_id=membership.organisation_id)
    if membership.client_id is not None:
        found = found.filter(client_id=membership.client_id)
    consumption = found.select_related("client", "actor", "hold").filter(pk=consumption_id).first()
    if consumption is None:
        return None
    params = consumption.params if isinstance(consumption.params, dict) else {}
    parameters = [
        (key, value_text(value))
        for key, value in params.items()
        if key not in PRICING_KEYS and key != "countries"
    ]
    pricing = [
        (str(PRICING_LABELS[key]), value_text(params[key]))
        for key in (*PRICING_KEYS, "countries")
        if key in params
    ]
    taken: dict[int, PaidBy] = {}
    entries = (
        LedgerEntry.objects.filter(consumption_id=consumption.pk, lot__isnull=False)
        .select_related("lot")
        .order_by("id")
    )
    for entry in entries:
        before = taken.get(entry.lot_id)
        taken[entry.lot_id] = PaidBy(
            lot_id=entry.lot_id,
            source=str(SOURCE_LABELS.get(entry.lot.source, entry.lot.source)),
            reference=entry.lot.reference,
            expires_at=entry.lot.expires_at,
            credits=(before.credits if before else 0) - entry.credits,
        )
    quote = Quote.objects.filter(consumption_id=consumption.pk).first()
    return ConsumptionDetail(consumption, parameters, pricing, list(taken.values()), quote)
