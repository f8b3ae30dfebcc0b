"""Every write of billing (rules of the house): purchases, plans, invoices, payments, the
billing profile. Billing never touches the ledger: paid credits enter through
`credits.services.grant`, and a voided purchase leaves through `credits.services.revoke_lot`.
Nothing outside the database (gateway, mail server, broker) is called inside a transaction.
"""

from billing.exceptions import (
    BillingError,
    IdempotencyConflict,
    InvoiceLocked,
    OutOfBounds,
    PaymentDeclined,
    PaymentPending,
)
from billing.pricing import PriceQuote, price_credits, price_list_for, price_package
from billing.services.completion import PAYMENT_TERMS_DAYS, RETRY_AFTER_DAYS
from billing.services.delivery import (
    deliver_invoice,
    email_invoice,
    invoice_pdf,
    render_invoice_pdf,
    sweep_invoices,
)
from billing.services.invoices import (
    Line,
    issue_invoice,
    mark_overdue,
    record_payment,
    void_invoice,
)
from billing.services.profiles import (
    CardDetails,
    profile_of,
    save_card,
    update_billing_profile,
)
from billing.services.purchases import (
    charge_and_complete,
    finish_now,
    purchase,
    resume,
    settle_purchases,
)
from billing.services.subscriptions import (
    cancel_subscription,
    change_plan,
    renew_due,
    resume_subscription,
    subscribe,
)
from billing.services.top_up import (
    TopUpRun,
    configure_auto_top_up,
    run_auto_top_up,
    run_auto_top_ups,
    spent_this_month,
)

__all__ = [
    "PAYMENT_TERMS_DAYS",
    "RETRY_AFTER_DAYS",
    "BillingError",
    "CardDetails",
    "IdempotencyConflict",
    "InvoiceLocked",
    "Line",
    "OutOfBounds",
    "PaymentDeclined",
    "PaymentPending",
    "PriceQuote",
    "TopUpRun",
    "cancel_subscription",
    "change_plan",
    "charge_and_complete",
    "configure_auto_top_up",
    "deliver_invoice",
    "email_invoice",
    "finish_now",
    "invoice_pdf",
    "issue_invoice",
    "mark_overdue",
    "price_credits",
    "price_list_for",
    "price_package",
    "profile_of",
    "purchase",
    "record_payment",
    "render_invoice_pdf",
    "renew_due",
    "resume",
    "resume_subscription",
    "run_auto_top_up",
    "run_auto_top_ups",
    "save_card",
    "settle_purchases",
    "spent_this_month",
    "subscribe",
    "sweep_invoices",
    "update_billing_profile",
    "void_invoice",
]
