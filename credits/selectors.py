"""Reads of credit figures shared by pages, admin and the API."""

from dataclasses import dataclass

from clients.models import Organisation
from credits.models import CreditPool


@dataclass(frozen=True)
class PoolFigures:
    balance: int
    held: int
    assigned: int

    @property
    def unassigned(self) -> int:
        return max(self.balance - self.held - self.assigned, 0)

    @property
    def available(self) -> int:
        """What can still be spent (S2): the balance less the credits held for later work."""
        return self.balance - self.held


def pool_figures(organisation: Organisation) -> PoolFigures:
    """Read fresh from the database at every call, so a page shows a debit made through the
    API a moment ago (C3)."""
    row = (
        CreditPool.objects.filter(organisation=organisation)
        .values("balance", "held", "assigned")
        .first()
    )
    if row is None:
        return PoolFigures(balance=0, held=0, assigned=0)
    return PoolFigures(**row)
