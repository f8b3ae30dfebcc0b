"""Reads of credit figures shared by pages, admin and the API (always for one organisation)."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext

from clients.models import Client, Organisation
from credits.exceptions import AssignmentExhausted, InsufficientCredits, LimitExceeded
from credits.funding import decide_funding
from credits.models import (
    ClientAccount,
    CreditPool,
    SmsRate,
)
from credits.periods import held_from_pool, monthly_window_restart


@dataclass(frozen=True)
class PoolFigures:
    balance: int
    held: int
    assigned: int

    @property
    def unassigned(self) -> int:
        """Credits waiting to be assigned (G4)."""
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


@dataclass(frozen=True)
class SpendingCheck:
    allowed: bool
    reason: str = ""  # insufficient_credits, limit_reached, assignment_exhausted, inactive
    message: str = ""
    shortfall: int = 0


def spending_check(*, client: Client, credits: int, now: datetime) -> SpendingCheck:
    """Could this client spend `credits` now? The same rule the debit applies under its lock
    (credits.funding), read without one: a preview for quotes, not a promise.

    Twins: the monthly window is `credits.periods.monthly_window_restart` and
    `held_from_pool`, the funding `credits.funding.decide_funding`, as in the debit; their SQL
    twins are the window and funding blocks of `credits/sql/credits_debit.sql`."""
    if not client.is_active:
        return SpendingCheck(False, "inactive", gettext("This client is inactive."))
    pool = CreditPool.objects.get(pk=client.organisation_id)
    account = ClientAccount.objects.get(pk=client.pk)
    used = account.used
    restart = monthly_window_restart(
        limit_kind=account.limit_kind,
        window_start=account.window_start,
        now=now,
        time_zone=client.organisation.time_zone,
    )
    if restart is not None:
        used = held_from_pool(client.pk)
    try:
        decide_funding(pool=pool, account=account, credits=credits, used=used)
    except InsufficientCredits as refusal:
        return SpendingCheck(False, "insufficient_credits", str(refusal), refusal.shortfall)
    except AssignmentExhausted as refusal:
        return SpendingCheck(False, "assignment_exhausted", str(refusal), refusal.shortfall)
    except LimitExceeded as refusal:
        return SpendingCheck(False, "limit_reached", str(refusal), refusal.needed - refusal.left)
    return SpendingCheck(True)


SMS_CSV_COLUMNS = ["country", "name", "calling_code", "credits_per_segment"]


def sms_rates_csv(rates: QuerySet[SmsRate]) -> str:
    """SMS rates in the CSV that `import_sms_rates` reads back."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SMS_CSV_COLUMNS)
    for rate in rates.order_by("country"):
        writer.writerow([rate.country, rate.name, rate.calling_code, rate.credits_per_segment])
    return out.getvalue()
