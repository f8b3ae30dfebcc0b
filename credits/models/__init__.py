"""The credits app's models: the ledger, and the rate card that prices what credits buy."""

from credits.models.alerts import (
    ExpiryReminder,
    LowBalanceAlert,
    Notice,
    NoticeKind,
    NoticeStatus,
)
from credits.models.idempotency import IdempotencyKey
from credits.models.ledger import (
    Assignment,
    AssignmentKind,
    ClientAccount,
    CreditPool,
    EntryKind,
    ExpiryKind,
    LedgerEntry,
    LimitKind,
    Lot,
    LotSource,
    Preset,
)
from credits.models.ratecard import ActionPrice, BillableAction, Quote, RuleKind, SmsRate
from credits.models.spending import Consumption, Hold, HoldStatus
from credits.models.usage import UsageDay, UsagePersonDay, UsageRollup

__all__ = [
    "ActionPrice",
    "Assignment",
    "AssignmentKind",
    "BillableAction",
    "ClientAccount",
    "Consumption",
    "CreditPool",
    "EntryKind",
    "ExpiryKind",
    "ExpiryReminder",
    "Hold",
    "HoldStatus",
    "IdempotencyKey",
    "LedgerEntry",
    "LimitKind",
    "Lot",
    "LotSource",
    "LowBalanceAlert",
    "Notice",
    "NoticeKind",
    "NoticeStatus",
    "Preset",
    "Quote",
    "RuleKind",
    "SmsRate",
    "UsageDay",
    "UsagePersonDay",
    "UsageRollup",
]
