"""How credits are paid for: price lists and tiers, packages, plans and subscriptions,
purchases, invoices with gapless numbers, and the payments recorded against them.

Money is exact: `Decimal` amounts in the organisation's currency, quantized to the cent once,
with ROUND_HALF_UP, where they are computed (billing.money). Never a float.
"""

from billing.models.accounts import AutoTopUp, BillingProfile, Subscription, SubscriptionStatus
from billing.models.invoices import (
    EmailStatus,
    Invoice,
    InvoiceCounter,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)
from billing.models.offers import Package, Plan, PriceList, PriceTier, money_field
from billing.models.purchases import Purchase, PurchaseKind, PurchaseOrigin, PurchaseStatus

__all__ = [
    "AutoTopUp",
    "BillingProfile",
    "EmailStatus",
    "Invoice",
    "InvoiceCounter",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceStatus",
    "Package",
    "Payment",
    "PaymentMethod",
    "Plan",
    "PriceList",
    "PriceTier",
    "Purchase",
    "PurchaseKind",
    "PurchaseOrigin",
    "PurchaseStatus",
    "Subscription",
    "SubscriptionStatus",
    "money_field",
]
