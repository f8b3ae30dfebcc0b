"""The only module that writes the ledger (DESIGN: only `credits` touches it).

Every operation that changes a figure locks the organisation's pool row first, then the
client accounts it touches (by primary key), then works on lots and holds: one fixed order,
so two operations never wait on each other in a cycle. The pool lock also serialises the
organisation's idempotency keys, lots and holds, which is why lots are read without a lock of
their own. Every change of a figure is written as ledger entries in the same transaction.

Time is always passed in (`now`); expiry, hold expiry and monthly limit resets are applied
lazily by every operation under the lock as well as by the periodic jobs, so a figure read
right after the pool lock is always current.
"""

from credits.periods import month_start
from credits.selectors import SMS_CSV_COLUMNS
from credits.services.accounts import (
    POLICY_FIELDS,
    apply_preset,
    open_client_account,
    open_pool,
    update_policy,
)
from credits.services.alerts import (
    ReminderRun,
    check_balance_alerts,
    record_notice,
    run_balance_alerts,
    send_expiry_reminders,
    send_notice,
    send_pending_notices,
    set_alert_policy,
)
from credits.services.assignments import assign, reset_monthly, set_spending_limit, unassign
from credits.services.core import proportional_shares
from credits.services.expiry import ExpiryRun, expire_due, expire_holds
from credits.services.grants import DEFAULT, adjust, grant, revoke_lot
from credits.services.ratecard import (
    QUOTE_VALIDITY,
    consume,
    hold_action,
    import_sms_rates,
    install_rate_card,
    quote,
    save_action,
    save_action_price,
    save_sms_rate,
)
from credits.services.spending import capture, debit, hold, release
from credits.services.usage import UsageRollupRun, roll_up_usage

__all__ = [
    "DEFAULT",
    "POLICY_FIELDS",
    "QUOTE_VALIDITY",
    "SMS_CSV_COLUMNS",
    "ExpiryRun",
    "ReminderRun",
    "UsageRollupRun",
    "adjust",
    "apply_preset",
    "assign",
    "capture",
    "check_balance_alerts",
    "consume",
    "debit",
    "expire_due",
    "expire_holds",
    "grant",
    "hold",
    "hold_action",
    "import_sms_rates",
    "install_rate_card",
    "month_start",
    "open_client_account",
    "open_pool",
    "proportional_shares",
    "quote",
    "record_notice",
    "release",
    "reset_monthly",
    "revoke_lot",
    "roll_up_usage",
    "run_balance_alerts",
    "save_action",
    "save_action_price",
    "save_sms_rate",
    "send_expiry_reminders",
    "send_notice",
    "send_pending_notices",
    "set_alert_policy",
    "set_spending_limit",
    "unassign",
    "update_policy",
]
