"""Back office for billing (K1), one module per subject."""

from billing.admin import invoices, offers, purchases, reports

__all__ = ["invoices", "offers", "purchases", "reports"]
